"""A fake backend for the web page's unit tests: canned results, and a record of what was asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from sinks.alerts import AlertSpec
from sinks.request import SearchRequest
from sinks.results import Coverage, FacetBucket, Hit, SearchResult
from sinks.story import Count, StoryArticle, StoryView
from sinks.timeline import Timeline, TimelineBucket
from wirehose.core.errors import ServiceError, StoryNotFound
from wirehose.core.settings import Settings
from wirehose.web.app import create_app
from wirehose.web.backend import Backend

EVIL = "<script>alert(1)</script>"
STORY = "3f9a1c2b4d5e6f708192a3b4c5d6e7f8"


def hit(title: str = "Truce talks resume", **overrides: Any) -> Hit:
    values: dict[str, Any] = {
        "article_id": "a" * 32, "title": title, "url": "https://daily.example/truce",
        "publisher": "Daily Ledger", "agencies": ["Reuters"], "date": "2023-10-16T12:05:00Z",
        "score": 1.0, "story_id": STORY, "story_key": STORY, "is_canonical": True,
        "duplicate_of": None, "people": ["Sergei Lavrov"], "organizations": ["Hamas"],
        "places": ["Gaza"],
        "coverage": Coverage(articles=7, copies=5, outlet_count=3,
                             outlets=["Daily Ledger", "Metro Wire", "Coastal Times"]),
    }  # fmt: skip
    values.update(overrides)
    return Hit(**values)


def result(*hits: Hit, timeline: Timeline | None = None) -> SearchResult:
    return SearchResult(
        total=12,
        stories=len(hits),
        took_ms=3,
        hits=list(hits),
        facets={
            "people": [FacetBucket("Sergei Lavrov", 4)],
            "places": [FacetBucket("Gaza", 9)],
            "publishers": [FacetBucket("Daily Ledger", 5), FacetBucket(EVIL, 1)],
            "stories": [FacetBucket(STORY, 7, label="Truce talks resume")],
        },
        timeline=timeline,
    )


def timeline(interval: str = "day") -> Timeline:
    return Timeline(
        interval="day" if interval == "day" else "hour",
        buckets=(
            TimelineBucket(datetime(2023, 10, 16, tzinfo=UTC), articles=4, stories=2, outlets=3),
            TimelineBucket(datetime(2023, 10, 17, tzinfo=UTC), articles=0, stories=0, outlets=0),
            TimelineBucket(datetime(2023, 10, 18, tzinfo=UTC), articles=8, stories=1, outlets=4),
        ),
    )


def article(number: int, **overrides: Any) -> StoryArticle:
    values: dict[str, Any] = {
        "article_id": f"{number:032d}", "date": f"2023-10-16T1{number}:00:00Z",
        "published_at": f"2023-10-16T1{number}:00:00Z", "publisher": f"Outlet {number}",
        "agencies": [], "title": f"Headline {number}", "url": f"https://o{number}.example/a",
        "is_canonical": True, "duplicate_of": None, "similarity": None,
    }  # fmt: skip
    values.update(overrides)
    return StoryArticle(**values)


def story_view() -> StoryView:
    first = article(1, copies=[f"{2:032d}"])
    copy = article(2, is_canonical=False, duplicate_of=first.article_id, similarity=0.93,
                   title=EVIL, url="javascript:alert(1)")  # fmt: skip
    third = article(3)
    return StoryView(
        story_id=STORY, index="articles", total=3, copies=1, outlet_count=3,
        outlets=[Count("Outlet 1", 1), Count("Outlet 2", 1), Count("Outlet 3", 1)],
        agencies=[], first_date=first.date, last_date=third.date,
        articles=[first, copy, third],
    )  # fmt: skip


@dataclass
class Fake:
    """Records what the app asked; ``fail`` makes every call raise it."""

    results: SearchResult = field(default_factory=lambda: result(hit()))
    searches: list[SearchRequest] = field(default_factory=list)
    alerts: list[AlertSpec] = field(default_factory=list)
    fail: Exception | None = None

    def search(self, request: SearchRequest) -> SearchResult:
        self.searches.append(request)
        if self.fail:
            raise self.fail
        if request.timeline and self.results.timeline is None:
            self.results.timeline = timeline(request.timeline)
        return self.results

    def story(self, story_id: str, limit: int) -> StoryView:
        if self.fail:
            raise self.fail
        if not STORY.startswith(story_id):
            raise StoryNotFound(f"no story {story_id!r} in index 'articles'")
        return story_view()

    def list_alerts(self) -> list[AlertSpec]:
        if self.fail:
            raise self.fail
        return list(self.alerts)

    def save_alert(self, spec: AlertSpec) -> bool:
        replaced = any(a.name == spec.name for a in self.alerts)
        self.alerts = [a for a in self.alerts if a.name != spec.name] + [spec]
        return replaced

    def remove_alert(self, name: str) -> bool:
        before = len(self.alerts)
        self.alerts = [a for a in self.alerts if a.name != name]
        return len(self.alerts) < before

    def backend(self) -> Backend:
        return Backend(
            search=self.search,
            story=self.story,
            list_alerts=self.list_alerts,
            save_alert=self.save_alert,
            remove_alert=self.remove_alert,
        )


DOWN = ServiceError(
    "Elasticsearch at http://127.0.0.1:9200 is not reachable: run `wirehose services up`, or "
    "point WIREHOSE_ES_URL at a running cluster"
)


def client(fake: Fake | None = None, **settings: Any) -> TestClient:
    """A test client on a loopback name (the open page answers to no other)."""
    app = create_app(Settings(**settings), (fake or Fake()).backend())
    return TestClient(app, base_url="http://127.0.0.1:8080", follow_redirects=False)
