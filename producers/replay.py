"""Replay articles from seed text files and JSONL into Kafka, optionally paced and looped.

Replays are repeatable by construction: inputs are read in a fixed order and every article
keeps its deterministic ``article_id`` as the Kafka key, so replaying the same files twice
produces the same keys and downstream dedup and the Elasticsearch ``_id`` never double up.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from producers.jsonl import iter_jsonl_articles
from producers.kafka import ArticleProducer, DeliveryReport
from producers.seeds import default_seeds_dir, iter_seed_articles, parse_seed_file
from wirehose.core.article import Article

log = logging.getLogger(__name__)

PRODUCER = "replay"


def iter_inputs(
    paths: Sequence[Path] = (), jsonl: Sequence[Path] = (), *, producer: str = PRODUCER
) -> Iterator[Article]:
    """Articles from each path in turn: a directory of ``.txt`` seeds, a ``.txt`` file or a
    ``.jsonl`` file, then each ``jsonl`` file. No input at all means the packaged seeds."""
    if not paths and not jsonl:
        paths = [default_seeds_dir()]
    for path in paths:
        if path.is_dir():
            yield from iter_seed_articles(path, producer=producer)
        elif path.suffix in {".jsonl", ".ndjson"}:
            yield from iter_jsonl_articles(path, producer=producer)
        else:
            yield parse_seed_file(path, producer=producer)
    for path in jsonl:
        yield from iter_jsonl_articles(path, producer=producer)


class Pacer:
    """Spaces calls to ``wait()`` at most ``rate`` per second.

    The schedule is absolute (each slot is ``1/rate`` after the previous one), so time spent
    sending does not slow the replay below the asked rate; a stall is not made up with a burst.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be a positive number of articles per second")
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self._clock()
        if self._next is not None and self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def replay(
    articles: Sequence[Article],
    producer: ArticleProducer,
    *,
    rate: float | None = None,
    loops: int = 1,
    on_queued: Callable[[Article], None] | None = None,
    pacer: Pacer | None = None,
) -> DeliveryReport:
    """Send ``articles`` ``loops`` times (0 = until interrupted) and confirm every send.

    Each loop sends the same records with the same keys: a loop is a load generator and a
    redelivery test, not a source of new articles.
    """
    if loops < 0:
        raise ValueError("loops must be 0 (forever) or a positive count")
    pacer = pacer or Pacer(rate)
    rounds: Iterable[int] = itertools.count() if loops == 0 else range(loops)
    for round_no in rounds:
        for article in articles:
            pacer.wait()
            producer.send(article)
            if on_queued is not None:
                on_queued(article)
        log.debug("replay round done round=%d articles=%d", round_no + 1, len(articles))
    return producer.flush()
