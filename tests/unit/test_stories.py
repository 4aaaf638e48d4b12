"""StoryClusterer rules on hand-built articles (entities given, no spaCy model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.stories.clustering import MemoryStoryState, StoryClusterer
from processors.stories.features import StoryFeatures, extract, figures, lede_end, name_key
from processors.worker.stories import TableStoryState, evict_old
from wirehose.core.article import Article, DedupMark, Entity

T0 = datetime(2023, 10, 16, 15, tzinfo=UTC)
CALL_BODY = (
    "Israeli Prime Minister Benjamin Netanyahu told Russian President Vladimir Putin on Monday "
    "that Israel would destroy Hamas, in their first phone call since the war began. "
    "Putin offered condolences and described his calls with regional leaders to Netanyahu."
)
PEOPLE = ["Benjamin Netanyahu", "Vladimir Putin", "Sergei Lavrov", "Joe Biden"]
ORGS = ["Hamas", "Harbor Foods", "Bank of England", "Israel", "London"]


def article(title: str, body: str, when: datetime | None = T0, **fields: object) -> Article:
    """An article whose entities are every occurrence of the listed names."""
    entities = []
    for field, text in (("title", title), ("body", body)):
        taken: list[tuple[int, int]] = []
        for name in [*PEOPLE, "Netanyahu", "Putin", "Lavrov", "Biden", *ORGS]:
            start = text.find(name)
            while start >= 0:
                end = start + len(name)
                if not any(s <= start < e for s, e in taken):
                    taken.append((start, end))
                    full = next((p for p in PEOPLE if p.endswith(name)), name)
                    label = "PERSON" if full in PEOPLE else "ORG"
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


def test_the_people_a_story_leads_with_must_be_named_by_the_article() -> None:
    """Netanyahu alone, the same day, saying the same about Hamas, is not his call with Putin."""
    clusterer = StoryClusterer()
    call = clusterer.process(article("Netanyahu tells Putin Israel will destroy Hamas", CALL_BODY))
    speech = clusterer.process(
        article(
            "Netanyahu tells Israel it will destroy Hamas",
            "Israeli Prime Minister Benjamin Netanyahu told Israel on Monday that it would "
            "destroy Hamas, in his first speech since the war began. Netanyahu described the "
            "war and the calls he had with regional leaders.",
            T0 + timedelta(hours=1),
        )
    )
    assert speech.story_id == speech.article_id != call.story_id


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


def test_one_shared_name_is_a_topic_not_an_event() -> None:
    """Two briefs that share only their leading name and some wording are two stories."""
    clusterer = StoryClusterer()
    first = clusterer.process(
        article(
            "Harbor Foods opens a plant",
            "Harbor Foods opened a new packaging plant on Monday, adding 300 jobs in the north "
            "of the country as demand for its frozen meals grew.",
        )
    )
    second = clusterer.process(
        article(
            "Harbor Foods recalls frozen meals",
            "Harbor Foods recalled frozen meals on Monday after finding plastic in a batch, "
            "saying demand for the meals had grown in the north of the country.",
            T0 + timedelta(hours=2),
        )
    )
    assert second.story_id == second.article_id != first.story_id


def _edition(day: int, assistance: int, shortage: int) -> Article:
    return article(
        f"Money market given {assistance} mln stg assistance",
        f"London - The Bank of England said it had provided the money market with {assistance} "
        f"mln stg assistance in the morning session. This compares with the bank's forecast of "
        f"a shortage in the system of around {shortage} mln stg today.\nREUTER",
        T0 + timedelta(days=day),
    )


def test_daily_editions_of_a_scheduled_report_are_a_story_each() -> None:
    clusterer = StoryClusterer()
    editions = [
        clusterer.process(_edition(day, 100 + 15 * day, 700 + 50 * day)) for day in range(5)
    ]
    assert [e.story_id for e in editions] == [e.article_id for e in editions]


def test_a_copy_the_next_day_keeps_its_figures_and_its_story() -> None:
    clusterer = StoryClusterer()
    first = clusterer.process(_edition(0, 215, 700))
    copy = _edition(1, 215, 700)
    copy = copy.model_copy(update={"title": "UPDATE 1-" + copy.title})
    assert clusterer.process(copy).story_id == first.story_id


def _token(k: int) -> str:
    return "x" + "".join(chr(97 + int(d)) for d in f"{k:03d}")  # 7 -> "xaah"


def _link(n: int, when: datetime) -> Article:
    """The n-th of a chain of notes: each shares half its words and names with the one before."""
    names = [_token(k).capitalize() for k in range(2 * n, 2 * n + 4)]
    words = " ".join(_token(100 + k) for k in range(5 * n, 5 * n + 10))
    title = " and ".join(names)
    body = f"{title} agreed on {words}."
    entities = [
        Entity(label="ORG", text=name, canonical=name, field=field, start=i, end=i + len(name))
        for field, text in (("title", title), ("body", body))
        for name in names
        if (i := text.index(name)) >= 0
    ]
    return Article.create(
        title=title, body=body, producer="test", published_at=when, entities=tuple(entities)
    )


@pytest.mark.parametrize(("compare", "one_story"), [("centroid", False), ("member", True)])
def test_a_story_is_measured_as_a_whole_not_hop_by_hop(compare: str, one_story: bool) -> None:
    """Every note resembles the one before; the last has nothing in common with the first.
    Against the nearest member (the control) they chain into one story; against the story's
    centroid, the chain breaks."""
    clusterer = StoryClusterer(compare=compare)  # type: ignore[arg-type]
    stories = {clusterer.process(_link(n, T0 + timedelta(hours=n))).story_id for n in range(12)}
    assert (len(stories) == 1) is one_story


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
    assert state.stories[one.article_id].size == 1


def test_undated_articles_use_fetched_at() -> None:
    clusterer = StoryClusterer()
    undated = article("Netanyahu tells Putin", CALL_BODY, when=None)
    features = extract(undated, undated.article_id)
    assert features.when == undated.fetched_at
    assert features.dated is False
    dated_long_ago = clusterer.process(article("Netanyahu tells Putin", CALL_BODY + " More."))
    assert clusterer.process(undated).story_id != dated_long_ago.story_id


def test_eviction_forgets_old_members_and_moves_the_story() -> None:
    state = MemoryStoryState()
    clusterer = StoryClusterer(state)
    first = clusterer.process(article("Netanyahu tells Putin", CALL_BODY))
    later = clusterer.process(
        article("Netanyahu tells Putin again", CALL_BODY + " Later.", T0 + timedelta(days=2))
    )
    story = state.stories[first.story_id]
    assert later.story_id == first.story_id
    assert story.size == 2
    assert state.evict(T0 + timedelta(days=1)) == 1
    assert story.size == 1
    assert story.center == T0 + timedelta(days=2)
    window = (T0 - timedelta(days=9), T0 + timedelta(days=9))
    assert [s.story_id for s in state.candidates({"e:putin"}, *window)] == [first.story_id]
    assert state.evict(T0 + timedelta(days=3)) == 1
    assert state.stories == {}
    assert state.candidates({"e:putin"}, *window) == []


def test_features_round_trip_through_plain_data() -> None:
    features = extract(article("Netanyahu tells Putin", CALL_BODY), "story-1")
    assert StoryFeatures.from_dict(features.to_dict()) == features
    assert features.leads == {"netanyahu", "putin"}
    assert features.actors >= {"netanyahu", "putin"}


def test_names_are_keyed_by_surname_and_folded_form() -> None:
    def entity(canonical: str, label: str) -> Entity:
        return Entity(label=label, text=canonical, canonical=canonical, start=0, end=1)

    assert name_key(entity("Donald J. Trump", "PERSON")) == name_key(entity("Trump", "PERSON"))
    assert name_key(entity("Bashar al-Assad", "PERSON")) == "assad"
    assert name_key(entity("N.A.A.C.P.", "ORG")) == name_key(entity("NAACP", "ORG"))


def test_a_headline_name_the_body_never_names_does_not_count() -> None:
    over_read = Entity(
        label="PERSON", text="Beck Wows", canonical="Beck Wows", field="title", start=0, end=9
    )
    base = article("Beck Wows the crowd", "Glenn Beck spoke to the conference on Saturday.")
    named = base.model_copy(update={"entities": (over_read,)})
    assert extract(named, "s").entities == {}


def test_figures_are_the_numbers_as_written() -> None:
    assert figures("given 1,500 mln stg at 10-7/8 pct; won 3-0 at 6:45") == {
        "1500",
        "10-7/8",
        "3-0",
        "6:45",
    }


def test_lede_skips_debris_lines() -> None:
    body = "Facebook Twitter WhatsApp Email\nBy Jane Porter\n" + CALL_BODY
    cut = lede_end(body)
    assert body[:cut].endswith("since the war began. ")
    assert "Putin offered" not in body[:cut]


def _features(article_id: str, story_id: str, terms: list[str], hours: float = 0) -> StoryFeatures:
    return StoryFeatures(
        article_id=article_id,
        story_id=story_id,
        when=T0 + timedelta(hours=hours),
        dated=True,
        words={},
        entities=dict.fromkeys(terms, 1.0),
    )


def test_candidates_are_limited_to_those_sharing_the_most_index_terms() -> None:
    state = MemoryStoryState()
    for n in range(6):  # share only "netanyahu" with the call
        state.add(_features(f"plant{n}", f"plant{n}", ["netanyahu", f"plant{n}"]))
    state.add(_features("call", "call", ["netanyahu", "putin"]))
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    terms = {"e:netanyahu", "e:putin"}
    assert len(state.candidates(terms, *window)) == 7
    assert [s.story_id for s in state.candidates(terms, *window, limit=1)] == ["call"]


def test_a_common_terms_posting_is_read_newest_first_and_only_so_far(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.stories import clustering as stories

    monkeypatch.setattr(stories, "POSTING_SCAN", 3)
    state = MemoryStoryState()
    for n in range(6):
        state.add(_features(f"plant{n}", f"plant{n}", ["netanyahu"], hours=n))
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    found = {s.story_id for s in state.candidates({"e:netanyahu"}, *window)}
    assert found == {"plant3", "plant4", "plant5"}  # the cost per term is bounded
    state.add(_features("late", "plant0", ["netanyahu"], hours=7))  # plant0 is news again
    found = {s.story_id for s in state.candidates({"e:netanyahu"}, *window)}
    assert found == {"plant0", "plant4", "plant5"}
    state.evict(T0 + timedelta(days=30))
    assert state.candidates({"e:netanyahu"}, *window) == []


def test_the_table_state_rebuilds_the_same_stories_after_a_restart() -> None:
    table: dict[str, object] = {}
    clusterer = StoryClusterer(TableStoryState(table))
    assigned = [
        clusterer.process(a).story_id
        for a in (
            article("Netanyahu tells Putin Israel will destroy Hamas", CALL_BODY),
            article("Putin and Netanyahu speak", CALL_BODY + " Details.", T0 + timedelta(hours=2)),
            _edition(0, 215, 700),
        )
    ]
    before = clusterer.state
    assert isinstance(before, TableStoryState)
    restarted = TableStoryState(table)
    assert restarted.stories.keys() == before.stories.keys() == set(assigned)
    for story_id, story in before.stories.items():
        again = restarted.stories[story_id]
        assert again.members == story.members
        assert again.words == pytest.approx(story.words)
        assert again.core() == story.core()
    rewrite = article("Netanyahu, Putin call", CALL_BODY + " More.", T0 + timedelta(hours=4))
    assert StoryClusterer(restarted).process(rewrite).story_id == assigned[0]


def test_eviction_in_the_worker_follows_event_time() -> None:
    table: dict[str, object] = {}
    state = TableStoryState(table)
    clusterer = StoryClusterer(state)
    clusterer.process(article("Netanyahu tells Putin", CALL_BODY))
    clusterer.process(_edition(30, 215, 700))
    assert evict_old(state, timedelta(days=3)) == 1
    assert len(table) == 1
    assert len(state.stories) == 1
