"""The story evaluation harness: B-cubed scores, halves and the dense replay (no model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wirehose.bench.stories_eval import bcubed, dense, halves
from wirehose.core.article import Article, event_time

T0 = datetime(2015, 6, 1, 12, tzinfo=UTC)


def test_bcubed_scores_what_it_should() -> None:
    assert bcubed(["a", "a", "b"], ["x", "x", "y"]) == (1.0, 1.0, 1.0)
    precision, recall, _ = bcubed(["a", "a", "a"], ["x", "x", "y"])
    assert (round(precision, 3), recall) == (0.556, 1.0)
    precision, recall, _ = bcubed(["a", "b", "c"], ["x", "x", "x"])
    assert (precision, round(recall, 3)) == (1.0, 0.333)


def _labelled() -> list[tuple[Article, str]]:
    out = []
    for event in range(4):
        for outlet in range(3):
            when = T0 + timedelta(days=30 * event, hours=outlet)
            article = Article.create(
                title=f"event {event}",
                body=f"outlet {outlet} on event {event}",
                producer="test",
                published_at=when,
                url=f"https://example.invalid/{event}/{outlet}",
            )
            out.append((article, f"e{event}"))
    return out


def test_halves_split_by_event_and_dense_keeps_each_events_spread() -> None:
    labelled = _labelled()
    parts = halves(labelled)
    assert {e for _, e in parts["even"]} == {"e0", "e2"}
    assert {e for _, e in parts["odd"]} == {"e1", "e3"}
    packed = dense(labelled, per_day=2)
    times = {e: sorted(event_time(a) for a, x in packed if x == e) for e in ("e0", "e1", "e3")}
    assert times["e1"][0] - times["e0"][0] == timedelta(hours=12)
    assert times["e3"][-1] - times["e3"][0] == timedelta(hours=2)
    assert [event_time(a) for a, _ in packed] == sorted(event_time(a) for a, _ in packed)
