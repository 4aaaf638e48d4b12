"""StoryClusterer rules on hand-built articles (entities given, no spaCy model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.stories.clustering import MemoryStoryState, StoryClusterer
from processors.stories.features import StoryFeatures, extract, lede_end, named_in
from wirehose.core.article import Article, DedupMark, Entity

T0 = datetime(2023, 10, 16, 15, tzinfo=UTC)
CALL_BODY = (
    "Israeli Prime Minister Benjamin Netanyahu told Russian President Vladimir Putin on Monday "
    "that Israel would destroy Hamas, in their first phone call since the war began. "
    "Putin offered condolences and described his calls with regional leaders to Netanyahu."
)


def article(title: str, body: str, when: datetime | None = T0, **fields: object) -> Article:
    """An article whose entities are every occurrence of the listed names (PERSON or ORG)."""
    entities = []
    people = ["Benjamin Netanyahu", "Vladimir Putin", "Sergei Lavrov", "Joe Biden"]
    for field, text in (("title", title), ("body", body)):
        taken: list[tuple[int, int]] = []
        for name in [*people, "Netanyahu", "Putin", "Lavrov", "Biden", "Hamas", "Harbor Foods"]:
            start = text.find(name)
            while start >= 0:
                end = start + len(name)
                if not any(s <= start < e for s, e in taken):
                    taken.append((start, end))
                    full = next((p for p in people if p.endswith(name)), name)
                    label = "ORG" if name in {"Hamas", "Harbor Foods"} else "PERSON"
                    entities.append(
                        Entity(
                            label=label,
                            text=name,
                            canonical=full,
                            field=field,  # type: ignore[arg-type]
                            start=start,
                            end=end,
                        )
                    )
                start = text.find(name, end)
    return Article.create(
        title=title,
        body=body,
        producer="test",
        published_at=when,
        entities=tuple(entities),
        **fields,
    )


def test_first_article_founds_the_story_and_a_rewrite_joins_it() -> None:
    clusterer = StoryClusterer()
    first = clusterer.process(article("Netanyahu tells Putin Israel will destroy Hamas", CALL_BODY))
    rewrite = clusterer.process(
        article(
            "Putin, Netanyahu speak by phone",
            "Russian President Vladimir Putin called Israeli Prime Minister Benjamin Netanyahu on "
            "Monday in their first phone call since the war with Hamas began, offering "
            "condolences. Netanyahu told Putin that Israel would destroy Hamas.",
            T0 + timedelta(hours=3),
        )
    )
    assert first.story_id == first.article_id
    assert rewrite.story_id == first.article_id


def test_same_people_weeks_apart_are_two_stories() -> None:
    clusterer = StoryClusterer()
    first = clusterer.process(article("Netanyahu tells Putin Israel will destroy Hamas", CALL_BODY))
    later = clusterer.process(
        article(
            "Netanyahu tells Putin Israel will destroy Hamas",
            CALL_BODY + " Again.",
            T0 + timedelta(days=55),
        )
    )
    assert later.story_id == later.article_id != first.story_id


def test_a_different_lead_person_is_a_different_story() -> None:
    clusterer = StoryClusterer()
    clusterer.process(article("Netanyahu tells Putin Israel will destroy Hamas", CALL_BODY))
    biden = clusterer.process(
        article(
            "Biden tells Netanyahu Israel will get aid",
            CALL_BODY.replace("Vladimir Putin", "Joe Biden").replace("Putin", "Biden"),
            T0 + timedelta(hours=1),
        )
    )
    assert biden.story_id == biden.article_id


def test_without_a_shared_leading_name_only_near_copies_merge() -> None:
    clusterer = StoryClusterer()
    base = "reported quarterly revenue of 4.2 billion dollars, up 1% from a year earlier, as "
    first = clusterer.process(article("Quarterly results", "The company " + base + "costs eased."))
    copy = clusterer.process(article("Quarterly results", "The company " + base + "costs eased!"))
    other = clusterer.process(
        article("Harbor Foods quarterly results", "Harbor Foods " + base + "demand held up.")
    )
    assert copy.story_id == first.story_id
    assert other.story_id == other.article_id


def test_a_marked_copy_takes_its_originals_story_without_comparison() -> None:
    clusterer = StoryClusterer(threshold=1.1)  # nothing could join by similarity
    original = clusterer.process(article("Netanyahu tells Putin", CALL_BODY))
    mark = DedupMark(is_canonical=False, duplicate_of=original.article_id, method="minhash")
    copy = clusterer.process(
        article("Unrelated words", "Completely different text here.", dedup=mark)
    )
    assert copy.story_id == original.story_id


def test_redelivery_keeps_the_story_and_counts_once() -> None:
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    one = article("Netanyahu tells Putin", CALL_BODY)
    assert clusterer.process(one).story_id == clusterer.process(one).story_id == one.article_id
    assert state.doc_count() == 1


def test_undated_articles_use_fetched_at() -> None:
    clusterer = StoryClusterer()
    undated = article("Netanyahu tells Putin", CALL_BODY, when=None)
    features = extract(undated, undated.article_id)
    assert features.when == undated.fetched_at
    assert features.dated is False
    dated_long_ago = clusterer.process(article("Netanyahu tells Putin", CALL_BODY + " More."))
    assert clusterer.process(undated).story_id != dated_long_ago.story_id


def test_eviction_forgets_old_articles() -> None:
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    clusterer.process(article("Netanyahu tells Putin", CALL_BODY))
    assert state.evict(T0 + timedelta(days=1)) == 1
    assert (
        state.candidates({"e:Vladimir Putin"}, T0 - timedelta(days=9), T0 + timedelta(days=9)) == []
    )


def test_features_round_trip_through_plain_data() -> None:
    features = extract(article("Netanyahu tells Putin", CALL_BODY), "story-1")
    assert StoryFeatures.from_dict(features.to_dict()) == features
    assert features.protagonists == {"Benjamin Netanyahu", "Vladimir Putin"}


def test_lede_skips_debris_lines() -> None:
    body = "Facebook Twitter WhatsApp Email\nBy Jane Porter\n" + CALL_BODY
    cut = lede_end(body)
    assert body[:cut].endswith("since the war began. ")
    assert "Putin offered" not in body[:cut]


def test_named_in_compares_surnames() -> None:
    assert named_in({"Netanyahu"}, {"Benjamin Netanyahu", "Vladimir Putin"}) == 1.0
    assert named_in({"Benjamin Netanyahu", "Joe Biden"}, {"Netanyahu"}) == 0.5


def test_candidates_are_limited_to_those_sharing_the_most_index_terms() -> None:
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    for n in range(6):  # share only "Netanyahu" with the call
        clusterer.process(
            article(f"Netanyahu visits plant {n}", f"Netanyahu toured factory number {n} today.")
        )
    call = clusterer.process(article("Netanyahu tells Putin", CALL_BODY))
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    terms = {"e:Benjamin Netanyahu", "e:Vladimir Putin"}
    everyone = state.candidates(terms, *window)
    assert len(everyone) == 7
    assert [m.article_id for m in state.candidates(terms, *window, limit=1)] == [call.article_id]


def test_a_common_terms_posting_is_read_newest_first_and_only_so_far(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.stories import clustering as stories

    monkeypatch.setattr(stories, "POSTING_SCAN", 3)
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    filed = [
        clusterer.process(
            article(f"Netanyahu visits plant {n}", f"Netanyahu toured factory number {n} today.")
        ).article_id
        for n in range(6)
    ]
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    found = {m.article_id for m in state.candidates({"e:Benjamin Netanyahu"}, *window)}
    assert found == set(filed[-3:])  # the cost per term is bounded, whatever the window holds
    state.evict(T0 + timedelta(days=30))
    assert state.candidates({"e:Benjamin Netanyahu"}, *window) == []
