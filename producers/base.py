"""A small base for live sources, and the runner that polls them and publishes to Kafka.

Modelled on bytewax's ``SimplePollingSource``: a source only knows how to fetch what is new;
the runner owns the schedule, the retries and the producer. A source implements

``setup()``
    open connections, load saved state (called again after a failure in ``setup``)
``poll() -> list[Article]``
    return what is new since the last poll, or raise ``Retry(after=seconds)`` when it knows
    it has nothing yet (rate limited, upstream not ready); any other exception is an error
``ack(delivered)``
    the broker confirmed these articles: now is the time to remember them as seen, so a
    crash between poll and delivery re-polls them instead of losing them
``close()``
    release resources

and has a stable ``step_id`` (``"rss:example.com/feed"``) used in logs and as ``producer``.

The runner polls every due source in a thread pool (so a slow source does not hold up the
others), publishes what they return with one ``ArticleProducer``, and backs each source off
exponentially on errors, independently of the others. See docs/producers.md for a worked
example.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from producers.kafka import ArticleProducer, DeliveryReport
from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess, ensure_topics

log = logging.getLogger(__name__)


class Retry(Exception):  # named like bytewax's SimplePollingSource.Retry
    """Raised by ``poll()``: nothing now, ask again in ``after`` seconds. Not an error."""

    def __init__(self, after: float, reason: str = "") -> None:
        self.after = max(0.0, after)
        self.reason = reason
        super().__init__(f"retry in {after:g}s" + (f": {reason}" if reason else ""))


class PollingSource(ABC):
    """Base class for a live source polled every ``interval`` seconds."""

    #: Seconds between successful polls.
    interval: float = 60.0

    def __init__(self, step_id: str, *, interval: float | None = None) -> None:
        self.step_id = step_id
        if interval is not None:
            self.interval = interval

    def setup(self) -> None:  # noqa: B027 - optional hook, deliberately empty
        """Prepare to poll; raise to be retried with backoff."""

    @abstractmethod
    def poll(self) -> list[Article]:
        """Return the new articles, or raise ``Retry``; must not block past its own deadline."""

    def ack(self, delivered: Sequence[Article]) -> None:  # noqa: B027 - optional hook
        """Called with the articles the broker confirmed; persist "seen" state here."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def backoff_delay(failures: int, *, base: float, cap: float) -> float:
    """``base``, 2×, 4×, ... after consecutive failures, capped: a broken source is retried
    less and less often instead of hammering the upstream or the logs."""
    return min(cap, base * 2 ** max(0, failures - 1))


@dataclass
class _State:
    source: PollingSource
    next_due: float = 0.0
    failures: int = 0
    ready: bool = False
    last_error: str | None = None


@dataclass
class _Outcome:
    state: _State
    articles: list[Article] | None = None
    retry_after: float | None = None
    error: BaseException | None = None


class SourceRunner:
    """Polls sources when due, publishes their articles, backs off failing sources."""

    def __init__(
        self,
        sources: Sequence[PollingSource],
        producer: ArticleProducer,
        *,
        backoff_base: float = 5.0,
        backoff_cap: float = 900.0,
        max_workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        ids = [s.step_id for s in sources]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step_id must be unique per source, got {ids}")
        self.producer = producer
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._states = [_State(s) for s in sources]
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(sources))))

    def state(self, step_id: str) -> _State:
        return next(s for s in self._states if s.source.step_id == step_id)

    def tick(self, now: float | None = None) -> DeliveryReport:
        """Poll every source due at ``now`` once (concurrently) and publish the results."""
        now = self._clock() if now is None else now
        due = [s for s in self._states if s.next_due <= now]
        report = DeliveryReport()
        # Publish each source's articles as soon as its poll returns, not after the slowest.
        for future in as_completed([self._pool.submit(self._poll, state) for state in due]):
            report.merge(self._settle(future.result(), now))
        return report

    def next_due(self) -> float:
        return min((s.next_due for s in self._states), default=self._clock())

    def run(self, *, once: bool = False, stop: threading.Event | None = None) -> DeliveryReport:
        """Poll until ``stop`` is set (or one round with ``once``); return the running total."""
        stop = stop or threading.Event()
        total = DeliveryReport()
        try:
            while not stop.is_set():
                total.merge(self.tick())
                if once:
                    break
                stop.wait(max(0.0, self.next_due() - self._clock()))
        finally:
            self.close()
        return total

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for state in self._states:
            try:
                state.source.close()
            except Exception:
                log.exception("source close failed step_id=%s", state.source.step_id)

    def _poll(self, state: _State) -> _Outcome:
        try:
            if not state.ready:
                state.source.setup()
                state.ready = True
            return _Outcome(state, articles=state.source.poll())
        except Retry as retry:
            return _Outcome(state, retry_after=retry.after)
        except Exception as exc:  # a broken source must not stop the others
            return _Outcome(state, error=exc)

    def _settle(self, outcome: _Outcome, now: float) -> DeliveryReport:
        state, source = outcome.state, outcome.state.source
        if outcome.error is not None:
            state.failures += 1
            state.last_error = f"{type(outcome.error).__name__}: {outcome.error}"
            delay = backoff_delay(state.failures, base=self.backoff_base, cap=self.backoff_cap)
            state.next_due = now + delay
            log.warning(
                "source failed step_id=%s failures=%d retry_in=%.0fs error=%s",
                source.step_id, state.failures, delay, state.last_error,
            )  # fmt: skip
            return DeliveryReport()
        if outcome.retry_after is not None:
            state.next_due = now + outcome.retry_after
            return DeliveryReport()
        articles = outcome.articles or []
        report = self.producer.publish(articles) if articles else DeliveryReport()
        failed_ids = {article_id for article_id, _ in report.failures}
        if report.failed > len(failed_ids):  # failures list is capped: cannot tell which
            delivered: list[Article] = []
        else:
            delivered = [a for a in articles if a.article_id not in failed_ids]
        if delivered:
            try:
                source.ack(delivered)
            except Exception:  # unacked articles come back next poll; keys keep them single
                log.exception("source ack failed step_id=%s", source.step_id)
        state.failures, state.last_error = 0, None
        state.next_due = now + source.interval
        log.info(
            "polled step_id=%s new=%d sent=%d failed=%d",
            source.step_id, len(articles), report.sent, report.failed,
        )  # fmt: skip
        return report


def run_sources(
    sources: Sequence[PollingSource],
    *,
    access: KafkaAccess,
    topic: str,
    partitions: int | None = None,
    once: bool = False,
    stop: threading.Event | None = None,
    backoff_base: float = 5.0,
    backoff_cap: float = 900.0,
) -> DeliveryReport:
    """Create the topic if asked (``partitions``), then poll ``sources`` into ``topic``."""
    if partitions is not None:
        ensure_topics(access, [topic], partitions=partitions)
    with ArticleProducer(access, topic) as producer:
        runner = SourceRunner(sources, producer, backoff_base=backoff_base, backoff_cap=backoff_cap)
        return runner.run(once=once, stop=stop)
