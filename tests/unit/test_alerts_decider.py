"""Once per story, without Kafka: the decision, its state, delivery ids, and the matching step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.alerts import decider as decider_module
from processors.alerts.decider import OncePerStory, pair_key
from processors.alerts.messages import (
    NEW_STORY,
    STORY_UPDATE,
    Candidate,
    Delivery,
    delivery_id,
)
from processors.worker.alerts import AlertStage
from sinks.percolate import AlertRef
from tests.factories import make_article
from wirehose.core.article import Article, DedupMark
from wirehose.core.settings import Settings

T0 = datetime(2023, 10, 16, 12, tzinfo=UTC)


def match(
    article: str, story: str = "s1", alert: str = "gaza", *, updates: bool = False, hours: float = 0
) -> Candidate:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return Candidate(
        alert=alert,
        story=story,
        article={"article_id": article, "title": f"About {article}", "date": when},
        updates=updates,
        webhook="https://hooks.example.com/x",
    )


def run(decider: OncePerStory, candidate: Candidate, **where: Any) -> Delivery | None:
    """What the agent does: decide, send (here: nothing), then settle."""
    delivery = decider.decide(candidate, **where)
    if delivery is not None:
        decider.settle(delivery)
    return delivery


def test_the_first_match_of_a_story_delivers_once_and_later_ones_deliver_nothing() -> None:
    state: dict[str, Any] = {}
    once = OncePerStory(state, keep=timedelta(days=10))
    first = run(once, match("a1"))
    assert first is not None
    assert first.kind == NEW_STORY
    assert first.delivery_id == delivery_id("gaza", "s1", NEW_STORY, "a1")
    assert first.webhook == "https://hooks.example.com/x"
    assert run(once, match("a2")) is None  # another article of the story, no --updates
    assert run(once, match("a1")) is None  # the same match again: a redelivery
    assert state[pair_key("gaza", "s1")]["first"] == "a1"


def test_each_story_and_each_alert_fires_on_its_own() -> None:
    once = OncePerStory({}, keep=timedelta(days=10))
    fired = [
        run(once, candidate)
        for candidate in (match("a1"), match("b1", "s2"), match("a1", alert="lavrov"))
    ]
    assert [d.kind if d else None for d in fired] == [NEW_STORY] * 3
    assert len({d.delivery_id for d in fired if d}) == 3


def test_with_updates_each_new_article_of_the_story_delivers_once() -> None:
    once = OncePerStory({}, keep=timedelta(days=10))
    kinds = [
        (d.kind, d.article["article_id"]) if d else None
        for d in (
            run(once, match(a, updates=True, hours=n))
            for n, a in enumerate(["a1", "a2", "a2", "a1", "a3"])
        )
    ]
    assert kinds == [(NEW_STORY, "a1"), (STORY_UPDATE, "a2"), None, None, (STORY_UPDATE, "a3")]


def test_a_delivery_not_yet_settled_is_decided_again_the_same_way() -> None:
    """A crash between sending and settling: the replayed match delivers again, same id."""
    state: dict[str, Any] = {}
    once = OncePerStory(state, keep=timedelta(days=10))
    sent = once.decide(match("a1"))
    assert sent is not None
    assert state == {}
    again = OncePerStory(state, keep=timedelta(days=10)).decide(match("a1"))
    assert again is not None
    assert again.delivery_id == sent.delivery_id
    once.settle(sent)
    assert OncePerStory(state, keep=timedelta(days=10)).decide(match("a1")) is None


def test_the_state_is_all_a_restarted_decider_needs() -> None:
    state: dict[str, Any] = {}
    run(OncePerStory(state, keep=timedelta(days=10)), match("a1", updates=True))
    run(OncePerStory(state, keep=timedelta(days=10)), match("a2", updates=True, hours=1))
    restarted = OncePerStory(dict(state), keep=timedelta(days=10))
    assert run(restarted, match("a2", updates=True, hours=1)) is None
    assert run(restarted, match("a1", updates=True)) is None
    late = run(restarted, match("a3", updates=True, hours=2))
    assert late is not None
    assert late.kind == STORY_UPDATE


def test_delivery_ids_are_deterministic_and_differ_in_every_part() -> None:
    base = ("gaza", "s1", NEW_STORY, "a1")
    assert delivery_id(*base) == delivery_id(*base)
    assert len(delivery_id(*base)) == 32
    variants = {delivery_id(*base[:n], "x", *base[n + 1 :]) for n in range(4)}
    assert len(variants | {delivery_id(*base)}) == 5
    # The parts are kept apart: ("ab", "c") is not ("a", "bc").
    assert delivery_id("ab", "c", NEW_STORY, "a1") != delivery_id("a", "bc", NEW_STORY, "a1")


def test_deliveries_survive_the_topic_and_the_webhook_body_leaves_out_the_url() -> None:
    delivery = Delivery.of(match("a1"), NEW_STORY)
    assert Delivery.from_bytes(delivery.to_bytes()) == delivery
    body = delivery.payload()
    assert "webhook" not in body
    assert body["delivery_id"] == delivery.delivery_id
    assert body["version"] == 1
    assert Candidate.from_bytes(match("a1").to_bytes()) == match("a1")


def test_quiet_pairs_are_forgotten_after_keep_but_not_while_their_match_may_be_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decider_module, "EXPIRE_EVERY", 1)
    state: dict[str, Any] = {}
    once = OncePerStory(state, keep=timedelta(hours=24))
    run(once, match("old", "s-old"), partition=0, offset=10)
    run(once, match("other", "s-other"), partition=1, offset=3)
    run(once, match("new", "s-new", hours=30), partition=0, offset=11)
    assert once.expire(0, committed=10) == 0  # offset 10 may still be read again
    assert once.expire(0, committed=11) == 1
    assert set(state) == {pair_key("gaza", "s-other"), pair_key("gaza", "s-new")}
    # The story is new again for the alert once forgotten.
    again = run(once, match("old2", "s-old", hours=31), partition=0, offset=12)
    assert again is not None
    assert again.kind == NEW_STORY


def test_a_story_that_keeps_matching_stays_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decider_module, "EXPIRE_EVERY", 1)
    state: dict[str, Any] = {}
    once = OncePerStory(state, keep=timedelta(hours=24))
    run(once, match("a1"), offset=1)
    for hour in range(6, 60, 6):
        assert run(once, match(f"a{hour}", hours=hour), offset=hour) is None
        once.expire(0, committed=hour + 1)
    assert pair_key("gaza", "s1") in state


class FakeMatcher:
    def __init__(self, refs: list[AlertRef]) -> None:
        self.refs = refs
        self.documents: list[dict[str, Any]] = []

    def match(self, documents: Sequence[dict[str, Any]]) -> list[list[AlertRef]]:
        self.documents.extend(documents)
        return [list(self.refs) for _ in documents]


def enriched(story: str, copy_of: Article | None = None) -> Article:
    mark = (
        DedupMark(is_canonical=False, duplicate_of=copy_of.article_id, similarity=0.95)
        if copy_of
        else DedupMark(is_canonical=True)
    )
    return make_article(story_id=story, dedup=mark)


def test_the_matching_step_sends_canonical_articles_only_keyed_by_their_story() -> None:
    original = enriched("s1")
    copy = enriched("s1", copy_of=original)
    unclustered = make_article()  # never deduped nor clustered: its own story
    stage = AlertStage(Settings(), es=None)  # type: ignore[arg-type]
    stage.matcher = FakeMatcher([AlertRef("gaza", updates=True, webhook="https://h.example/")])
    found = stage.candidates([original, copy, unclustered])
    assert [(c.alert, c.story, c.article_id) for c in found] == [
        ("gaza", "s1", original.article_id),
        ("gaza", f"article:{unclustered.article_id}", unclustered.article_id),
    ]
    assert found[0].updates
    assert found[0].webhook == "https://h.example/"
    assert [d["article_id"] for d in stage.matcher.documents] == [  # type: ignore[attr-defined]
        original.article_id,
        unclustered.article_id,
    ]
