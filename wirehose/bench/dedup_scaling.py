"""Dedup cost per article as the window fills: 1k, 10k, 100k articles already in it.

One detector is filled in the corpus's generation order (each original followed by its copies,
so the mix of originals and copies is the same at every window size); at each window size the next ``probe`` articles
are timed one by one (they join the window too, a small drift). Cost per article should stay
flat: LSH looks up buckets, not the whole window. What can make it grow is the number of
candidates per lookup, so that is reported next to the cost.

Memory is the growth of the resident set while the window filled, per 1k articles: the
in-memory store (entries with their sketches, and the bucket index). The worker keeps the
same entries in Faust tables, so this is the right order of magnitude for its state too. It is
measured in a fresh process (``measure_in_fresh_process``): in the benchmark's own process the
store would reuse memory the earlier stages freed, and small windows would read near zero.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from processors.dedup.detector import WireCopyDetector
from wirehose.bench import corpus
from wirehose.core.article import Article
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class WindowCost:
    window: int
    probe: int
    seconds: float
    candidates: int
    copies: int
    memory_bytes: int

    @property
    def per_article_ms(self) -> float:
        return self.seconds / self.probe * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "probe_articles": self.probe,
            "cost_per_article_ms": round(self.per_article_ms, 3),
            "candidates_per_article": round(self.candidates / self.probe, 2),
            "copies_in_probe": self.copies,
            "state_mb_per_1k_articles": round(self.memory_bytes / self.window * 1000 / 2**20, 2),
        }


def measure_in_fresh_process(
    settings: Settings,
    articles: int,
    seed: int,
    windows: Sequence[int],
    probe: int,
    *,
    copy_rate: float | None = None,
) -> list[WindowCost]:
    """:func:`measure` on the corpus ``corpus.generate(articles, seed, in_time_order=False)``,
    generated again in a spawned process so that its resident set starts clean."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(
            _measure_generated, settings, articles, seed, windows, probe, copy_rate
        ).result()


def _measure_generated(
    settings: Settings,
    articles: int,
    seed: int,
    windows: Sequence[int],
    probe: int,
    copy_rate: float | None,
) -> list[WindowCost]:
    generated = corpus.generate(articles, seed=seed, in_time_order=False, copy_rate=copy_rate)
    return measure(settings, [item.article for item in generated], windows, probe)


def measure(
    settings: Settings, articles: Sequence[Article], windows: Sequence[int], probe: int
) -> list[WindowCost]:
    """Cost per article at each window size; ``articles`` must hold max(windows) + probe."""

    windows = sorted(windows)
    if len(articles) < windows[-1] + probe:
        raise ValueError(f"need {windows[-1] + probe} articles, got {len(articles)}")
    detector = WireCopyDetector.from_settings(settings)
    base = rss_bytes()
    filled = 0
    results = []
    for window in windows:
        for article in articles[filled:window]:
            detector.classify(article)
        filled = window
        memory = rss_bytes() - base
        candidates = copies = 0
        start = time.perf_counter()
        for article in articles[filled : filled + probe]:
            verdict = detector.classify(article)
            candidates += verdict.candidates
            copies += 0 if verdict.mark.is_canonical else 1
        seconds = time.perf_counter() - start
        results.append(WindowCost(window, probe, seconds, candidates, copies, memory))
        log.info(
            "dedup window measured window=%d per_article_ms=%.3f",
            window,
            results[-1].per_article_ms,
        )
        # The probe articles joined the window; the next fill starts after them.
        filled += probe
        windows_left = [w for w in windows if w > window]
        if windows_left and filled > windows_left[0]:
            raise ValueError("window sizes must differ by more than the probe")
    return results
