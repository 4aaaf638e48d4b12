"""Attention over time: articles, distinct stories and distinct outlets per day or hour.

A timeline counts every article that matches the search and its filters, wire copies included:
a copy adds to the articles of its interval but not to its stories (it carries its original's
``story_id``). Intervals are calendar days or hours in UTC of the event time (``date``, the
field ``--since``/``--until`` filter on), and every interval of the range is present, with 0s
where nothing was published.

Stories and outlets are Elasticsearch ``cardinality`` counts (of ``story_id`` and
``publisher``): practically exact below ``PRECISION_THRESHOLD`` distinct values per interval,
within a few percent above. Articles without a ``story_id`` (never clustered) count as articles
only.

The range is ``--since``/``--until`` where given; an open end stops at the first or last matching
article. Its length is checked before Elasticsearch is asked (``MAX_INTERVALS``).

Everything here is pure: the aggregation is built and its response parsed without a client
(``sinks.search`` sends the requests).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sinks.request import TimelineInterval
from wirehose.core.errors import TimelineTooLong

TIME_FIELD = "date"
TIME_ZONE = "UTC"
AGGREGATION = "timeline"
MAX_INTERVALS = 10_000
PRECISION_THRESHOLD = 40_000  # Elasticsearch's maximum
STEP: dict[TimelineInterval, timedelta] = {"day": timedelta(days=1), "hour": timedelta(hours=1)}

_MILLISECOND = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
         "H": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}  # fmt: skip
_MATH = re.compile(r"(?:(?P<sign>[+-])(?P<amount>\d*)|/)(?P<unit>[yMwdhHms])")


@dataclass(frozen=True)
class TimelineBucket:
    """One interval: when it starts (UTC) and what matched in it."""

    start: datetime
    articles: int
    stories: int
    outlets: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "articles": self.articles,
            "stories": self.stories,
            "outlets": self.outlets,
        }


@dataclass(frozen=True)
class Timeline:
    """Every interval of the searched range, in order, including the empty ones."""

    interval: TimelineInterval
    buckets: tuple[TimelineBucket, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``wirehose search --json`` prints under ``timeline``."""
        return {
            "interval": self.interval,
            "time_zone": TIME_ZONE,
            "buckets": [bucket.to_dict() for bucket in self.buckets],
        }


def resolve_when(expression: str, *, now: datetime, round_up: bool = False) -> datetime:
    """A date as ``sinks.search.parse_when`` gives it (ISO, ``now-7d``, ``2023-12-10||/d``) as
    the instant Elasticsearch takes it for; ``round_up`` as for an ``lte`` bound, where ``/d``
    means the last millisecond of the day. Naive times are UTC, as Elasticsearch reads them."""
    if expression.startswith("now"):
        anchor, math = now, expression[3:]
    else:
        text, _, math = expression.partition("||")
        anchor = _instant(text)
    moment = anchor.astimezone(UTC) if anchor.tzinfo else anchor.replace(tzinfo=UTC)
    position = 0
    while position < len(math):
        match = _MATH.match(math, position)
        if match is None:
            raise ValueError(f"{expression!r}: cannot read the date math at {math[position:]!r}")
        unit = match["unit"]
        if match["sign"] is None:
            moment = _round(moment, unit, up=round_up)
        else:
            amount = int(match["amount"] or 1)
            moment = _shift(moment, -amount if match["sign"] == "-" else amount, unit)
        position = match.end()
    return moment


def interval_start(moment: datetime, interval: TimelineInterval) -> datetime:
    """The start of the UTC day or hour that ``moment`` falls in."""
    utc = moment.astimezone(UTC)
    if interval == "day":
        return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
    return datetime(utc.year, utc.month, utc.day, utc.hour, tzinfo=UTC)


def interval_count(first: datetime, last: datetime, interval: TimelineInterval) -> int:
    """How many intervals ``first`` to ``last`` (both included) touch; 0 when last < first."""
    if last < first:
        return 0
    span = interval_start(last, interval) - interval_start(first, interval)
    return span // STEP[interval] + 1


def check_length(first: datetime, last: datetime, interval: TimelineInterval) -> None:
    """Refuse a timeline of more than ``MAX_INTERVALS`` intervals, saying what to change."""
    count = interval_count(first, last, interval)
    if count <= MAX_INTERVALS:
        return
    fix = "narrow --since/--until" + (" or use --timeline day" if interval == "hour" else "")
    raise TimelineTooLong(
        f"--timeline {interval} from {_show(first)} to {_show(last)} would have {count:,} "
        f"intervals (at most {MAX_INTERVALS:,}): {fix}"
    )


def aggregation(interval: TimelineInterval, first: datetime, last: datetime) -> dict[str, Any]:
    """The ``date_histogram`` over ``first`` .. ``last``: every interval present, empty ones too,
    with the distinct stories and outlets of each."""
    return {
        "date_histogram": {
            "field": TIME_FIELD,
            "calendar_interval": interval,
            "time_zone": TIME_ZONE,
            "min_doc_count": 0,
            # Concrete milliseconds: Elasticsearch rounds date math in these bounds down, so
            # "2023-12-10||/d" would cut an hourly timeline at the day's first hour.
            "extended_bounds": {"min": _millis(first), "max": _millis(last)},
        },
        "aggs": {
            "stories": {
                "cardinality": {"field": "story_id", "precision_threshold": PRECISION_THRESHOLD}
            },
            "outlets": {
                "cardinality": {"field": "publisher", "precision_threshold": PRECISION_THRESHOLD}
            },
        },
    }


def range_aggregations() -> dict[str, Any]:
    """The first and last event time among the matching articles: the timeline's open ends."""
    return {"first": {"min": {"field": TIME_FIELD}}, "last": {"max": {"field": TIME_FIELD}}}


def parse_range(response: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The response to ``range_aggregations``; (None, None) when nothing matched."""
    aggs = response.get("aggregations", {})
    first, last = aggs.get("first", {}).get("value"), aggs.get("last", {}).get("value")
    if first is None or last is None:
        return None, None
    return _from_millis(first), _from_millis(last)


def parse_timeline(response: dict[str, Any], interval: TimelineInterval) -> Timeline:
    """The response to ``aggregation`` (under ``AGGREGATION``) as a ``Timeline``."""
    raw = response.get("aggregations", {}).get(AGGREGATION, {}).get("buckets", [])
    buckets = tuple(
        TimelineBucket(
            start=_from_millis(bucket["key"]),
            articles=int(bucket["doc_count"]),
            stories=int(bucket.get("stories", {}).get("value", 0)),
            outlets=int(bucket.get("outlets", {}).get("value", 0)),
        )
        for bucket in raw
    )
    return Timeline(interval=interval, buckets=buckets)


def _instant(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime(day.year, day.month, day.day)


def _round(moment: datetime, unit: str, *, up: bool) -> datetime:
    """Down to the start of the unit, or up to its last millisecond (Elasticsearch's ``/unit``)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    start = {
        "y": midnight.replace(month=1, day=1),
        "M": midnight.replace(day=1),
        "w": midnight - timedelta(days=moment.weekday()),  # weeks start on Monday
        "d": midnight,
        "h": moment.replace(minute=0, second=0, microsecond=0),
        "H": moment.replace(minute=0, second=0, microsecond=0),
        "m": moment.replace(second=0, microsecond=0),
        "s": moment.replace(microsecond=0),
    }[unit]
    return _shift(start, 1, unit) - _MILLISECOND if up else start


def _shift(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])  # Jan 31 + 1M = Feb 28/29
        return moment.replace(year=year, month=month, day=day)
    return moment + amount * _UNIT[unit]


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _from_millis(value: float) -> datetime:
    return _EPOCH + int(value) * _MILLISECOND


def _show(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
