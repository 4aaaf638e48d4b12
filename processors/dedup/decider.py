"""Stage 3 of the partitioned detector: collect an article's partials, decide, re-mark.

See ``processors.dedup`` for how the three stages fit together.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from processors.dedup.decisions import ARTICLE_SUFFIX, DecisionTable
from processors.dedup.detector import (
    CANONICAL,
    Watermarks,
    combine,
    decide,
    mark_article,
)
from processors.dedup.messages import Remark, Table, decode_verdict, match_from_json
from processors.dedup.wire import micros
from processors.progress import Progress
from wirehose.core.article import Article, DedupMark, event_time

log = logging.getLogger(__name__)


def _order(match: dict[str, Any]) -> tuple[datetime, str, bool]:
    """How good a JSON match is for a mark, best first: by the rank it points at, and for the
    same article, found by its exact bucket before found by a band. Marks only ever move to a
    better match, so every order of arrival ends with the same one."""
    return (datetime.fromisoformat(match["when"]), match["id"], match["method"] != "exact")


def _better(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """The better of two JSON matches (either may be missing)."""
    if a is None or b is None:
        return a or b
    return a if _order(a) <= _order(b) else b


class Decider:
    """Stage 3: collect an article and its partials; decide; remember the mark; re-mark.

    State per article_id (reassigned on each change so the changelog has them; stored as
    compact records by ``processors.dedup.decisions.DecisionTable``):
    pending ``{"p", "when", "parts", "partials", "extra", "ao"}``, then decided ``{"p", "when",
    "mark", "to", "route", "ao"}`` (``to``: the rank the mark points at, its own for a
    canonical, and whether by exact text; ``route``: see ``route``; ``ao``: the offset of the
    article's own message); and, while pending, the article itself under ``article_id + ARTICLE_SUFFIX``. The article is kept apart because it
    is the large part (body and raw text) and is written once, while the small record is
    rewritten with every partial. A redelivered article gets its remembered mark again; late
    partials are ignored. A backfill - an earlier-ranked copy found after the decision - moves
    the mark to it, and only ever to a better rank, so redeliveries and any order of backfills
    end at the same mark: the best-ranked copy there is, as the reference detector decides.

    Deciding is two steps: ``handle`` returns the marked article (or a ``Remark``), and
    ``settle`` (called once that is safely in Kafka) records the mark and lets the held
    article go. Recorded any earlier, a crash between the two would leave a mark whose article
    never went out, and the redelivered message would then be ignored: the article or its new
    mark lost for good. Until settled, a redelivery simply decides again, the same way. The
    worker settles a batch of decisions at once, after Kafka has all their output; within the
    batch, a decision not yet settled counts as taken, so a backfill behind it re-marks it
    rather than deciding it a second time.
    """

    ARTICLE_SUFFIX = ARTICLE_SUFFIX

    def __init__(
        self,
        state: Table,
        *,
        window: timedelta,
        lateness: timedelta = timedelta(hours=72),
        origins: int = 1,
    ) -> None:
        self.state = DecisionTable(state)
        self.window, self.lateness, self.origins = window, lateness, origins
        # Per verdicts partition, the progress each bands partition reported in its partials.
        self._bands: dict[int, Watermarks] = {}
        self._progress: dict[int, Progress] = {}
        self._unsettled: dict[str, tuple[int, dict[str, Any]]] = {}
        # Per verdicts partition, the event time below which marks may have been forgotten.
        self._forgotten: dict[int, datetime] = {}

    def handle(
        self,
        partition: int,
        message: bytes,
        *,
        offset: int | None = None,
        progress: Progress | None = None,
        committed: int | None = None,
    ) -> Article | Remark | None:
        """The marked article once it can be decided (or again, on redelivery), a ``Remark``
        when a backfill improves a decided mark, else None.

        ``progress`` tracks what this verdicts partition has processed (see ``BandWorker``);
        ``committed`` is the group's committed offset of it, below which nothing is read again.
        """
        if progress is None:
            progress = self._progress.setdefault(partition, Progress(0))
        self._progress[partition] = progress  # the agent's, when it passes one: _expire reads it
        progress.commit(committed)
        if progress.done(offset):
            return None
        raw = decode_verdict(message)
        kind, key = raw["kind"], raw["id"]
        low = raw.get("low") if kind == "partial" else None
        progress.see(
            offset if offset is not None else progress.front or 0,
            raw.get("partition"),
            datetime.fromisoformat(low) if low else None,
        )
        for band, reported in progress.released.items():
            self._observe(partition, int(band), reported)  # type: ignore[call-overload]
        unsettled = self._unsettled.get(key)
        if unsettled is not None:  # decided, its output not yet in Kafka: decided all the same
            current = dict(unsettled[1])
        else:
            current = dict(self.state.get(key) or {"p": partition, "partials": {}})
        if "mark" in current:
            if kind == "article":
                mark = DedupMark(**current["mark"])
                return mark_article(Article.from_bytes(raw["article"]), mark)
            if kind == "backfill":
                return self._remark(key, partition, current, raw["match"])
            return None  # a redelivered partial: the decision had all of them
        held = self.state.get(key + self.ARTICLE_SUFFIX)
        if kind == "article":
            held = raw["article"]
            if len(current["partials"]) < raw["parts"]:
                self.state[key + self.ARTICLE_SUFFIX] = held
            current["parts"], current["when"] = raw["parts"], raw["when"]
            if offset is not None:
                current["ao"] = offset  # where the article is: re-read from there, it re-decides
        elif kind == "partial":
            # A partial read again may have been computed after state expired: keep the better.
            band = str(raw["partition"])
            known = current["partials"].get(band)
            current["partials"] = {**current["partials"], band: _better(known, raw["best"])}
            current.setdefault("parts", raw["parts"])
            if raw.get("when"):
                current.setdefault("when", raw["when"])
        else:  # a backfill before the decision: one more candidate for it
            current["extra"] = _better(current.get("extra"), raw["match"])
            current.setdefault("when", raw["when"])
        if held is None or len(current["partials"]) < current.get("parts", 1 << 30):
            self.state[key] = current
            return None
        return self._decide(key, partition, held, current)

    def _decide(self, key: str, partition: int, held: str, current: dict[str, Any]) -> Article:
        article = Article.from_bytes(held)
        when = event_time(article)
        found = [current.get("extra"), *current["partials"].values()]
        matches = combine([[match_from_json(m)] for m in found if m is not None])
        mark = decide((when, article.article_id), matches)
        forgotten = self.forgotten_before(partition)
        if forgotten is not None and when < forgotten:
            # Its own mark, decided in time, may be among what expired: this one is written
            # only where no document is (``DedupMark.late``), so a redelivery cannot undo it.
            mark = mark.model_copy(update={"late": True})
        to = (when, article.article_id) if mark.is_canonical else None
        for match in matches:
            if match.article_id == mark.duplicate_of:
                to = match.rank
        assert to is not None
        decided = {
            "p": partition,
            "when": when.isoformat(),
            "mark": mark.model_dump(),
            "to": [to[0].isoformat(), to[1], mark.method == "exact"],
            # Where it and its re-marks go downstream, fixed at the first decision so that a
            # re-mark always travels behind its article: with its original, whose entities the
            # tagger there still holds.
            "route": mark.duplicate_of or key,
        }
        if "ao" in current:
            decided["ao"] = current["ao"]
        self._unsettled[key] = (partition, decided)
        return mark_article(article, mark)

    def _remark(
        self, key: str, partition: int, current: dict[str, Any], match: dict[str, Any]
    ) -> Remark | None:
        when, to_id, exact = current["to"]
        if _order(match) >= (datetime.fromisoformat(when), to_id, not exact):
            return None  # not better than what the mark points at: a redelivery, a worse copy
        mark = decide((datetime.fromisoformat(current["when"]), key), [match_from_json(match)])
        if mark == CANONICAL:
            return None
        log.info("late original re-marks id=%s duplicate_of=%s", key, mark.duplicate_of)
        self._unsettled[key] = (
            partition,
            {
                **current,
                "mark": mark.model_dump(),
                "to": [match["when"], match["id"], match["method"] == "exact"],
            },
        )
        return Remark(key, mark)

    def route(self, article_id: str) -> str:
        """The id whose partition ``article_id``'s output goes to (see ``route_partition``)."""
        unsettled = self._unsettled.get(article_id)
        decided = unsettled[1] if unsettled is not None else self.state.get(article_id) or {}
        return str(decided.get("route", article_id))

    def settle(self, article_id: str) -> None:
        """Record the decision for ``article_id``: call once its output is in Kafka."""
        unsettled = self._unsettled.pop(article_id, None)
        if unsettled is None:
            return  # a redelivered, already settled article: its mark is recorded
        partition, decided = unsettled
        self.state[article_id] = decided
        self.state.pop(article_id + self.ARTICLE_SUFFIX, None)
        self._expire(partition)

    FORGOTTEN_PREFIX = "#forgotten-"

    def forgotten_before(self, partition: int) -> datetime | None:
        """The event time below which this partition's marks may have expired (kept in the
        table too, so a worker that takes the partition over knows it)."""
        known = self._forgotten.get(partition)
        if known is None:
            stored = self.state.get(f"{self.FORGOTTEN_PREFIX}{partition}")
            if isinstance(stored, str):
                known = self._forgotten[partition] = datetime.fromisoformat(stored)
        return known

    def _observe(self, partition: int, band: int, low: datetime) -> None:
        bands = self._bands.get(partition)
        if bands is None:
            # As many bands partitions as origins: every topic has WIREHOSE_TOPIC_PARTITIONS.
            bands = Watermarks(self.origins, window=self.window, lateness=self.lateness)
            self._bands[partition] = bands
        bands.advance(band, low)

    def _expire(self, partition: int) -> None:
        """Forget this partition's marks that no bands partition can backfill any more.

        A bands partition backfills only articles at most ``lateness`` behind the low watermark
        it reported, since it only files on-time probes' matches; so behind the lowest report
        of all bands partitions, less window and lateness, nothing can come. The sign stage's
        progress would not do: in a backlog it runs weeks of event time ahead of the bands.

        A mark also stays while its article's own message may still be read again (at or above
        the committed offset): forgotten, a re-read would decide that article anew against state
        that has expired meanwhile, and overwrite its mark.
        """
        marks = self._bands.get(partition)
        cutoff = marks.due() if marks is not None else None
        if cutoff is None:
            return
        self._forgotten[partition] = cutoff
        self.state[f"{self.FORGOTTEN_PREFIX}{partition}"] = cutoff.isoformat()
        known = self._progress.get(partition)
        committed = known.committed if known is not None else None
        before = micros(cutoff)
        # A held article is not scanned; it goes when its article is decided.
        for key, p, when, offset in self.state.scan():
            if (
                p == partition
                and when is not None
                and when < before
                and (offset is None or (committed is not None and offset < committed))
            ):
                del self.state[key]
