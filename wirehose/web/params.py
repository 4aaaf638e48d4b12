"""Request parameters as a ``SearchRequest``, and the links that add or remove one filter.

The page and the JSON API read the same parameters, named like ``wirehose search``'s options:
``q``, ``person``, ``org``, ``place``, ``entity``, ``entity_type``, ``publisher``, ``agency``,
``language``, ``story`` (repeatable), ``since``, ``until``, ``sort``, ``limit``, ``offset``,
``facets``, ``timeline``, ``duplicates`` and ``collapse``. Every value becomes a field of the
request; none is ever handed to Elasticsearch as query syntax (``sinks.search`` builds the query
from the fields). Anything else, or a value out of range, is a ``ParamError`` naming the
parameter, which the app answers with 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sinks.request import SearchRequest, TimelineInterval
from sinks.search import parse_when
from sinks.timeline import resolve_when

# parameter -> SearchRequest field, for the filters that may be given several times
MULTI: dict[str, str] = {
    "person": "people",
    "org": "organizations",
    "place": "places",
    "entity": "entities",
    "entity_type": "entity_types",
    "publisher": "publishers",
    "agency": "agencies",
    "language": "languages",
    "story": "stories",
}
SINGLE = ("q", "since", "until", "sort", "limit", "offset", "facets", "timeline", "duplicates",
          "collapse")  # fmt: skip
# facet name (sinks.search.FACET_FIELDS) -> the parameter that filters on one of its values
FACET_PARAM: dict[str, str] = {
    "people": "person",
    "organizations": "org",
    "places": "place",
    "publishers": "publisher",
    "agencies": "agency",
    "languages": "language",
    "stories": "story",
}
LABELS: dict[str, str] = {
    "q": "Words", "person": "Person", "org": "Organization", "place": "Place",
    "entity": "Entity", "entity_type": "Entity type", "publisher": "Publisher",
    "agency": "Agency", "language": "Language", "story": "Story", "since": "Since",
    "until": "Until", "duplicates": "Wire copies", "collapse": "One row per",
}  # fmt: skip
# Parameters that are filters (shown as removable chips); the others shape the page.
FILTERS = ("q", *MULTI, "since", "until", "duplicates", "collapse")
IGNORED = frozenset({"token"})  # read by the access check, not a search parameter
MAX_QUERY = 1000
MAX_VALUE = 200
MAX_VALUES = 20
MAX_WINDOW = 10_000  # Elasticsearch's index.max_result_window: offset + limit
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_ENTITY_TYPE = re.compile(r"^[A-Z_]{2,20}$")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


class ParamError(ValueError):
    """A request parameter that cannot be used; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Defaults and bounds that differ between the page and the API."""

    size: int = 20
    max_size: int = 100
    timeline: TimelineInterval | None = None


PAGE = Limits(size=20, max_size=100, timeline="day")
API = Limits(size=10, max_size=1000, timeline=None)


def pairs_of(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters as (name, value) pairs in order, blank values and the token left out."""
    return [(k, v.strip()) for k, v in items if k not in IGNORED and v.strip()]


def parse_search(items: Iterable[tuple[str, str]], limits: Limits = API) -> SearchRequest:
    """``items`` (query-string pairs) as a ``SearchRequest``; ``ParamError`` when one is bad."""
    pairs = pairs_of(items)
    unknown = sorted({k for k, _ in pairs if k not in MULTI and k not in SINGLE})
    if unknown:
        known = ", ".join([*SINGLE, *MULTI])
        raise ParamError(unknown[0], f"unknown parameter; known ones are {known}")
    single: dict[str, str] = {}
    for key, value in pairs:
        if key in SINGLE:
            if key in single:
                raise ParamError(key, "given more than once")
            single[key] = value
    fields: dict[str, Any] = {name: _values(pairs, key) for key, name in MULTI.items()}
    query = single.get("q", "")
    if len(query) > MAX_QUERY:
        raise ParamError("q", f"longer than {MAX_QUERY} characters")
    size = _integer(single, "limit", limits.size, 1, limits.max_size)
    offset = _integer(single, "offset", 0, 0, MAX_WINDOW - 1)
    if offset + size > MAX_WINDOW:
        raise ParamError("offset", f"offset + limit may not pass {MAX_WINDOW}: narrow the search")
    sort = single.get("sort", "relevance")
    if sort not in ("relevance", "date"):
        raise ParamError("sort", "relevance or date")
    return SearchRequest(
        query=query,
        since=_when(single, "since", end=False),
        until=_when(single, "until", end=True),
        include_duplicates=_flag(single, "duplicates", default=False),
        collapse=_flag(single, "collapse", default=True),
        sort="date" if sort == "date" else "relevance",
        size=size,
        offset=offset,
        facet_size=_integer(single, "facets", 10, 0, 100),
        timeline=_timeline(single, limits.timeline),
        **fields,
    )


def _values(pairs: Sequence[tuple[str, str]], key: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v for k, v in pairs if k == key))  # repeats once
    if len(values) > MAX_VALUES:
        raise ParamError(key, f"at most {MAX_VALUES} values")
    for value in values:
        if len(value) > MAX_VALUE:
            raise ParamError(key, f"a value longer than {MAX_VALUE} characters")
    if key == "language":
        values = tuple(v.lower() for v in values)
        bad = [v for v in values if v != "und" and not _LANGUAGE.match(v)]
        if bad:
            raise ParamError(key, f"{bad[0]!r} is not a language code (en, fr, de, ...; und)")
    if key == "entity_type":
        values = tuple(v.upper() for v in values)
        bad = [v for v in values if not _ENTITY_TYPE.match(v)]
        if bad:
            raise ParamError(key, f"{bad[0]!r} is not an entity type (PERSON, ORG, GPE, ...)")
    return values


def _integer(single: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    if key not in single:
        return default
    try:
        value = int(single[key])
    except ValueError:
        raise ParamError(key, f"a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ParamError(key, f"a whole number from {low} to {high}")
    return value


def _flag(single: dict[str, str], key: str, *, default: bool) -> bool:
    value = single.get(key, "").lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ParamError(key, "1 or 0")


def _when(single: dict[str, str], key: str, *, end: bool) -> str | None:
    value = single.get(key)
    if value is None:
        return None
    try:
        resolve_when(parse_when(value, end=end), now=datetime.now(UTC), round_up=end)
    except (ValueError, OverflowError) as exc:
        raise ParamError(key, str(exc)) from None
    return value


def _timeline(single: dict[str, str], default: TimelineInterval | None) -> TimelineInterval | None:
    value = single.get("timeline")
    if value is None:
        return default
    if value == "day":
        return "day"
    if value == "hour":
        return "hour"
    if value == "none":
        return None
    raise ParamError("timeline", "day, hour or none")


class Link:
    """The current search's parameters, to make links that change one of them.

    Every change starts again at the first page: the old offset means nothing in a new search.
    """

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def has(self, key: str, value: str) -> bool:
        return (key, value) in self.pairs

    def get(self, key: str) -> str:
        return next((v for k, v in self.pairs if k == key), "")

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]

    def _href(self, pairs: Iterable[tuple[str, str]]) -> str:
        kept = [(k, v) for k, v in pairs if k != "offset"]
        return "/?" + urlencode(kept) if kept else "/"

    def adding(self, key: str, value: str) -> str:
        """The link that adds ``key=value`` (a repeatable filter), or keeps it when present."""
        extra = [] if self.has(key, value) else [(key, value)]
        return self._href([*self.pairs, *extra])

    def removing(self, key: str, value: str | None = None) -> str:
        """The link without ``key=value`` (without every ``key`` when ``value`` is None)."""
        return self._href((k, v) for k, v in self.pairs if k != key or value not in (None, v))

    def setting(self, **values: str) -> str:
        """The link with each of ``values`` set to that value alone."""
        kept = [(k, v) for k, v in self.pairs if k not in values]
        return self._href([*kept, *values.items()])

    def page(self, offset: int) -> str:
        """The same search from row ``offset``."""
        kept = [(k, v) for k, v in self.pairs if k != "offset"]
        if offset:
            kept.append(("offset", str(offset)))
        return "/?" + urlencode(kept) if kept else "/"

    def active(self) -> list[tuple[str, str, str]]:
        """The filters in force, as (label, value, link that removes it)."""
        chips = []
        for key, value in self.pairs:
            if key in FILTERS:
                shown = value
                if key == "duplicates":
                    shown = "included" if value.lower() in _TRUE else "left out"
                elif key == "collapse":
                    shown = "story" if value.lower() not in _FALSE else "article"
                chips.append((LABELS.get(key, key), shown, self.removing(key, value)))
        return chips

    def query_string(self, keys: Iterable[str]) -> str:
        """The pairs among ``keys``, url-encoded (to carry a search over to another page)."""
        wanted = set(keys)
        return urlencode([(k, v) for k, v in self.pairs if k in wanted])
