"""Story-stage cost per article as the window fills: 1k, 10k, 100k articles already in it.

The story stage is the one serial stage of the worker, so its cost per article must not grow
with the window. One clusterer is filled with the benchmark corpus in generation order (the
corpus spreads over two days: every article is inside the three-day window); at each window
size the next ``probe`` articles are timed (CPU time; they join the window too). Reported next
to the cost: the stories the window holds, and the growth of the resident set per 1k articles
(members, story centroids and the index), measured in a fresh process as in
``wirehose.bench.dedup_scaling``.

Entities: running spaCy over 100k articles would take most of an hour, and the corpus is made of
the seeds' and hand-written stories' sentences. So those stories are tagged once and their
entities found again in every article by string search, as the worker does for copies
(``processors.entities.tagger.reanchor``), in one pass over a combined pattern.

    python -m wirehose.bench.story_scaling --windows 1000,10000,100000
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from processors.entities.tagger import EntityTagger
from processors.stories.clustering import MemoryStoryState, StoryClusterer
from wirehose.bench import corpus
from wirehose.bench.dedup_scaling import rss_bytes
from wirehose.core.article import Article, Entity

log = logging.getLogger(__name__)


@dataclass
class WindowCost:
    window: int
    probe: int
    seconds: float
    stories: int
    memory_bytes: int

    @property
    def per_article_ms(self) -> float:
        return self.seconds / self.probe * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "probe_articles": self.probe,
            "cost_per_article_ms": round(self.per_article_ms, 3),
            "stories_in_window": self.stories,
            "state_mb_per_1k_articles": round(self.memory_bytes / self.window * 1000 / 2**20, 2),
        }


class Anchors:
    """The entities of the corpus's source stories, found again in any article by one pattern."""

    def __init__(self, entities: Sequence[Entity]) -> None:
        self.forms: dict[str, Entity] = {}
        for entity in entities:
            self.forms.setdefault(entity.text, entity)
        alternatives = "|".join(re.escape(t) for t in sorted(self.forms, key=lambda t: -len(t)))
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    @classmethod
    def from_corpus(cls) -> Anchors:
        stories = [Article.create(title=t, body=b, producer="bench") for t, b in corpus._stories()]
        tagged = EntityTagger(learn=False).process_batch(stories)
        return cls([e for article in tagged for e in article.entities])

    def tag(self, article: Article) -> Article:
        found = []
        for field, text in (("title", article.title), ("body", article.body)):
            for match in self.pattern.finditer(text):
                known = self.forms[match.group(0)]
                found.append(
                    known.model_copy(
                        update={"field": field, "start": match.start(), "end": match.end()}
                    )
                )
        return article.model_copy(update={"entities": tuple(found)})


def measure(articles: Sequence[Article], windows: Sequence[int], probe: int) -> list[WindowCost]:
    """Cost per article at each window size; ``articles`` must hold max(windows) + probe."""
    windows = sorted(windows)
    if len(articles) < windows[-1] + probe:
        raise ValueError(f"need {windows[-1] + probe} articles, got {len(articles)}")
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    base = rss_bytes()
    filled = 0
    results = []
    for window in windows:
        for article in articles[filled:window]:
            clusterer.process(article)
        filled = window
        memory = rss_bytes() - base
        # CPU time of this process: the stage is single-threaded, and on a shared machine the
        # wall clock also counts whatever else ran.
        start = time.process_time()
        for article in articles[filled : filled + probe]:
            clusterer.process(article)
        seconds = time.process_time() - start
        results.append(WindowCost(window, probe, seconds, len(state.stories), memory))
        log.info("story window measured window=%d ms=%.3f", window, results[-1].per_article_ms)
        filled += probe
        later = [w for w in windows if w > window]
        if later and filled > later[0]:
            raise ValueError("window sizes must differ by more than the probe")
    return results


def measure_generated(windows: Sequence[int], probe: int = 200, seed: int = 7) -> list[WindowCost]:
    """:func:`measure` on the benchmark corpus, with entities anchored from its sources."""
    anchors = Anchors.from_corpus()
    generated = corpus.generate(max(windows) + probe, seed=seed, in_time_order=False)
    return measure([anchors.tag(item.article) for item in generated], windows, probe)


def measure_in_fresh_process(
    windows: Sequence[int], probe: int = 200, seed: int = 7
) -> list[WindowCost]:
    """:func:`measure_generated` in a spawned process, so that its resident set starts clean."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure_generated, windows, probe, seed).result()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Story-stage cost per article by window size.")
    parser.add_argument("--windows", default="1000,10000", help="comma-separated window sizes")
    parser.add_argument("--probe", type=int, default=200, help="articles timed per window size")
    args = parser.parse_args(argv)
    windows = [int(w) for w in args.windows.split(",")]
    print("window | ms per article | stories in window | state MB per 1k articles")
    for row in measure_in_fresh_process(windows, args.probe):
        d = row.as_dict()
        print(
            f"{d['window']} | {d['cost_per_article_ms']} | {d['stories_in_window']} | "
            f"{d['state_mb_per_1k_articles']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
