"""Search results and stories shaped for the templates: facets with their links, story rows with
their wire-copy relations. Plain functions over ``SearchResult`` and ``StoryView``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sinks.render import FACET_TITLES
from sinks.results import FacetBucket, SearchResult
from sinks.story import StoryArticle, StoryView
from sinks.story_render import elapsed as since_first
from wirehose.web.params import FACET_PARAM, Link


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    active: bool
    href: str  # adds the filter, or removes it when active


@dataclass(frozen=True)
class Facet:
    name: str
    title: str
    values: list[FacetValue]


def facets(result: SearchResult, link: Link) -> list[Facet]:
    """The facets in ``FACET_TITLES`` order, each value linking to the search filtered by it."""
    shown = []
    for name, title in FACET_TITLES.items():
        buckets: list[FacetBucket] = result.facets.get(name, [])
        param = FACET_PARAM[name]
        if not buckets:
            continue
        values = []
        for bucket in buckets:
            active = link.has(param, bucket.value)
            label = bucket.label or bucket.value
            if name == "stories" and not bucket.label:
                label = f"story {bucket.value[:12]}"
            values.append(
                FacetValue(
                    value=bucket.value,
                    label=label,
                    count=bucket.count,
                    active=active,
                    href=link.removing(param, bucket.value)
                    if active
                    else link.adding(param, bucket.value),
                )
            )
        shown.append(Facet(name=name, title=title, values=values))
    return shown


@dataclass
class StoryRow:
    number: int
    article: StoryArticle
    after: str  # "first", or how long after the first report
    copy_of: int | None = None  # the row of the original this copies, when listed
    copy_of_outlet: str | None = None
    copy_of_unlisted: str | None = None  # the original's id when it is not in the list
    copied_by: list[int] = field(default_factory=list)


def story_rows(view: StoryView) -> list[StoryRow]:
    """One row per listed article, earliest first, with the rows its copy relations point at."""
    numbers = {article.article_id: n for n, article in enumerate(view.articles, start=1)}
    start = view.first_report.date if view.first_report else None
    rows = []
    for number, article in enumerate(view.articles, start=1):
        row = StoryRow(
            number=number,
            article=article,
            after="first" if number == 1 else since_first(start, article.date),
            copied_by=sorted(numbers[c] for c in article.copies if c in numbers),
        )
        if not article.is_canonical:
            target = article.duplicate_of
            if target in numbers:
                row.copy_of = numbers[target]
                row.copy_of_outlet = view.articles[numbers[target] - 1].publisher
            else:
                row.copy_of_unlisted = target or "an unknown article"
        rows.append(row)
    return rows


def headline(view: StoryView) -> str:
    """The story's earliest headline; articles pasted without one are passed over."""
    return next((a.title.strip() for a in view.articles if a.title.strip()), "")
