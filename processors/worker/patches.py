"""A correction to faust-streaming's offset bookkeeping that "nothing lost" depends on.

Faust commits, per partition, the end of the first run of consecutive acknowledged offsets. Two
parts of that are unsafe for us, and a rebalance reaches both:

- Its guard against a hole at the head of that run is off by one: with committed offset ``C``
  (the next offset to read) it refuses to commit when the lowest acked offset is above ``C + 1``,
  so an unacknowledged message at exactly ``C`` can be committed past.
- It counts every offset in its "gap" as acknowledged. A gap is any jump between the offset last
  read and the next one; it is meant for compacted topics and transaction markers, which we do
  not have. We get gaps only when Faust drops messages it has taken from the client: at a
  rebalance ``getmany`` stops mid-batch, and a ``perform_seek`` during a batch resets the read
  offset under it. Counting those as acked can commit past messages nobody processed, which then
  nothing reads again: the likely way the live-takeover fault test stranded 1-3 articles for good.

``strict_new_offset`` is Faust's method with the guard made exact and without the gap: never
commit past ``C`` until ``C`` itself is acknowledged (with no commit yet, ``C`` is the start of
the log), and never commit blind (no known ``C``) during a rebalance. A hole at the head that
outlives ``rereads.HOLE_SEEK_SECONDS`` makes the consumer re-read the partition from ``C``
(``processors.worker.rereads``); the pipeline, idempotent by ``article_id``, absorbs the
repeats, and offsets that re-read proves absent count as done. If re-reads do not close the
hole, the worker rejoins its group, and Faust reads every partition again from its committed
offset, as a restart would. Lost becomes late, never gone.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from importlib import metadata
from typing import Any

from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers

from processors.worker import rereads
from processors.worker.rereads import hole_closed, hole_open
from wirehose.core.errors import IncompatibleDependency

log = logging.getLogger(__name__)

# The versions these patches were written against (pyproject.toml pins them exactly).
WRITTEN_FOR = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
# What the patches replace, wrap, or rely on the bookkeeping of (``_acked``, ``_acked_index``,
# ``_committed_offset``, ``_gap``, ``_read_offset``), as SHA-256 prefixes of their source. A new
# release that changes any of them may break the delivery guarantee silently; the worker refuses
# to start instead (``check_targets``).
FINGERPRINTS = {
    "Consumer._new_offset": "1d2c7ea89a7ad4f1",
    "Consumer.ack": "5fcf41cf45153475",
    "Consumer._add_gap": "4df2573ded7c1c2c",
    "Consumer._drain_messages": "44a2500309e83c63",
    "Consumer.on_partitions_revoked": "d04b7ae72c6fc206",
    "Consumer.perform_seek": "0e8c130ff4b0afd8",
    "Consumer._commit_offsets": "1a69799041188441",
    "ThreadDelegateConsumer._getmany": "f9d47aa9010b5ff2",
}
_ORIGINALS: dict[str, Any] = {
    "Consumer._new_offset": Consumer._new_offset,
    "ThreadDelegateConsumer._getmany": rereads.original_getmany,
}


def fingerprint(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def _target(name: str) -> Any:
    if name in _ORIGINALS:
        return _ORIGINALS[name]
    owner, attribute = name.split(".")
    return getattr(
        {"Consumer": Consumer, "ThreadDelegateConsumer": ThreadDelegateConsumer}[owner], attribute
    )


def check_targets() -> None:
    """Refuse to run on faust-streaming or aiokafka other than what the patches were written for."""
    wrong = []
    for package, wanted in WRITTEN_FOR.items():
        installed = metadata.version(package)
        if installed != wanted:
            wrong.append(f"{package} {installed} is installed, the patches fit {wanted}")
    for name, expected in FINGERPRINTS.items():
        if fingerprint(_target(name)) != expected:
            wrong.append(f"faust {name} is not the code the patches were written for")
    if wrong:
        raise IncompatibleDependency(
            "wirehose's delivery guarantee patches Faust internals (processors/worker/patches.py) "
            "and will not run on other versions: "
            + "; ".join(wrong)
            + ". Reinstall the pinned versions with `pip install -e .` (or `make clean demo`)."
        )


def strict_new_offset(self: Any, tp: TP) -> int | None:
    """The offset to commit for ``tp``, or None when the next unread message is not yet acked."""
    _distrust_gap(self, tp)
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    committed = self._committed_offset[tp]
    if committed is None and getattr(getattr(self, "app", None), "rebalancing", False):
        # Faust forgets C when partitions are revoked, then acks what is in flight: committing
        # that run blind could jump a hole; the next owner re-reads from the last commit instead.
        return None
    acked.sort()
    # No commit yet means the head is the start of the log (we read from "earliest"), not "any
    # offset": messages 0 and 1 of a partition dropped at the group's first rebalance were
    # otherwise committed past by the first acked run, and lost (the live-takeover fault test,
    # 6 of 1200 articles, 2026-11-22). Faust also keeps a committed 0 as None.
    head = committed if committed is not None else 0
    if acked[0] > head:
        hole_open(self, tp)
        return None  # the message at the head is not acknowledged yet: never commit past it
    hole_closed(self, tp)
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def _distrust_gap(consumer: Any, tp: TP) -> None:
    """Drop Faust's gap for ``tp``: its offsets were dropped unread, not acknowledged."""
    gap = consumer._gap.pop(tp, None)
    if gap:
        log.warning(
            "not counting skipped offsets as acknowledged topic=%s partition=%d offsets=%d-%d",
            tp.topic,
            tp.partition,
            gap.begin(),
            gap.end() - 1,
        )


def install() -> None:
    """Replace Faust's methods once per process, after checking they are the ones we know."""
    check_targets()
    rereads.install()
    if getattr(Consumer._new_offset, "__wirehose__", False):
        return
    strict_new_offset.__wirehose__ = True  # type: ignore[attr-defined]
    Consumer._new_offset = strict_new_offset  # type: ignore[method-assign]
    log.debug("installed the strict commit-offset guard on faust Consumer")
