"""A timeline as bars to draw in inline SVG, computed on the server (no chart library, no script).

Each interval is one bar of its articles, with a narrower bar of its distinct stories inside it;
an empty interval keeps its place but has no markup (a range of years by the day is mostly
empty, and the page stays small); a bar links to the same search narrowed to its day (counted by the hour) or its hour. The SVG
stretches to the page's width, so its coordinates are in a fixed box of ``WIDTH`` x ``HEIGHT``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sinks.timeline import Timeline, TimelineBucket

WIDTH = 1000.0
HEIGHT = 160.0
TOP = 4.0  # room above the tallest bar
GAP = 0.15  # share of each slot left empty between bars, when bars are wide enough to show it


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    articles_y: float
    articles_height: float
    stories_x: float
    stories_width: float
    stories_y: float
    stories_height: float
    title: str  # the tooltip: when, and what was counted
    href: str  # the search narrowed to this interval


@dataclass(frozen=True)
class Chart:
    interval: str
    bars: tuple[Bar, ...]  # the intervals with articles
    intervals: int  # every interval of the range, empty ones included
    peak: int
    articles: int
    first: str
    last: str
    width: float = WIDTH
    height: float = HEIGHT


def when(bucket: TimelineBucket, interval: str) -> str:
    """How an interval is named on the page: ``2023-10-16`` or ``2023-10-16 14:00``."""
    return bucket.start.strftime("%Y-%m-%d" if interval == "day" else "%Y-%m-%d %H:00")


def narrowed(start: datetime, interval: str) -> dict[str, str]:
    """The parameters that narrow a search to one interval (a day is then counted by the hour)."""
    if interval == "day":
        day = start.strftime("%Y-%m-%d")
        return {"since": day, "until": day, "timeline": "hour"}
    end = start + timedelta(hours=1) - timedelta(milliseconds=1)
    return {
        "since": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "until": end.strftime("%Y-%m-%dT%H:%M:%S.") + f"{end.microsecond // 1000:03d}Z",
        "timeline": "hour",
    }


def chart(timeline: Timeline, link: Callable[[dict[str, str]], str]) -> Chart | None:
    """The bars of ``timeline``; None when it has no interval. ``link`` makes a bar's href from
    the parameters that narrow the search to it."""
    buckets = timeline.buckets
    if not buckets:
        return None
    peak = max(max(b.articles for b in buckets), 1)
    slot = WIDTH / len(buckets)
    width = slot * (1 - GAP) if slot >= 3 else slot
    scale = (HEIGHT - TOP) / peak
    bars = []
    for number, bucket in enumerate(buckets):
        if not bucket.articles:
            continue
        x = number * slot
        tall = bucket.articles * scale
        story_tall = min(bucket.stories, bucket.articles) * scale
        inner = width / 2
        bars.append(
            Bar(
                x=round(x, 3),
                width=round(width, 3),
                articles_y=round(HEIGHT - tall, 3),
                articles_height=round(tall, 3),
                stories_x=round(x + (width - inner) / 2, 3),
                stories_width=round(inner, 3),
                stories_y=round(HEIGHT - story_tall, 3),
                stories_height=round(story_tall, 3),
                title=(
                    f"{when(bucket, timeline.interval)} UTC: {_n(bucket.articles, 'article')}, "
                    f"{_n(bucket.stories, 'story', 'stories')}, "
                    f"{_n(bucket.outlets, 'outlet')}"
                ),
                href=link(narrowed(bucket.start, timeline.interval)),
            )
        )
    return Chart(
        interval=timeline.interval,
        bars=tuple(bars),
        intervals=len(buckets),
        peak=peak,
        articles=sum(b.articles for b in buckets),
        first=when(buckets[0], timeline.interval),
        last=when(buckets[-1], timeline.interval),
    )


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"
