"""Search over what the whole pipeline indexed: the five seeds plus syndicated copies of them.

The copies are the seed clusters of the labelled wire-copy corpus (tests/corpus/wirecopy.jsonl):
new headlines, datelines, boilerplate, trims and edits of each seed, attributed to various
outlets. They go through the real worker (validate, dedup, tag, stories, index), and every
assertion is about what `wirehose search` returns, checked against the indexed documents.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from producers.jsonl import article_from_object
from producers.kafka import ArticleProducer
from producers.replay import iter_inputs, replay
from sinks.search import SearchRequest, search
from tests.es_support import alias_cleanup
from wirehose.core.article import Article
from wirehose.core.clients import ensure_topics, kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import wait_indexed, worker_process

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "wirecopy.jsonl"
OUTLETS = ["Daily Ledger", "Metro Wire", "Coastal Times", "Global Post", "Evening Star"]
INDEX_TIMEOUT = 300.0


def seed_copies() -> list[Article]:
    """The corpus variants of the five seeds (their originals are the seed files themselves)."""
    copies = []
    for number, line in enumerate(CORPUS.read_text("utf-8").splitlines()):
        row = json.loads(line)
        if not row["cluster"].startswith("seed") or row["tier"] == "original":
            continue
        fields = {k: row[k] for k in ("title", "body", "url", "published_at")}
        fields["publisher"] = OUTLETS[number % len(OUTLETS)]
        copies.append(article_from_object(fields, source=f"{row['cluster']}/{row['tier']}"))
    return copies


@pytest.fixture
def settings(make_settings: Callable[..., Settings], es: Elasticsearch) -> Iterator[Settings]:
    built = make_settings()
    with alias_cleanup(es, built.index_alias):
        yield built


def test_search_over_the_seeds_and_their_syndicated_copies(
    settings: Settings, es: Elasticsearch, seeds_dir: Path, tmp_path: Path
) -> None:
    ensure_topics(
        kafka_access(settings),
        [settings.topic_raw, settings.topic_enriched, settings.topic_dead_letter],
        partitions=settings.topic_partitions,
    )
    seeds = list(iter_inputs([seeds_dir]))
    copies = seed_copies()
    assert len(seeds) == 5
    assert len(copies) == 5 * 12
    ids = {a.article_id for a in seeds + copies}
    log = tmp_path / "worker.log"
    with worker_process(settings, log_path=log) as worker:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            assert replay(seeds, producer).ok
            assert replay(copies, producer).ok
        found = wait_indexed(es, settings.index_alias, ids, timeout=INDEX_TIMEOUT, worker=worker)
        assert found == len(ids), log.read_text()[-3000:]
    es.indices.refresh(index=settings.index_alias)
    docs: dict[str, dict[str, Any]] = {
        hit["_id"]: hit["_source"] for hit in helpers.scan(es, index=settings.index_alias)
    }
    assert set(docs) == ids
    by_source = {a.source: a.article_id for a in seeds}
    lavrov_seed = next(i for s, i in by_source.items() if s and s.startswith("004"))

    # --- copies collapse under their canonical -------------------------------------------
    duplicates = {i: d for i, d in docs.items() if not d["is_canonical"]}
    assert duplicates, "dedup marked no copy at all"
    for doc_id, doc in duplicates.items():
        # A copy may point at an article that a better-ranked original later demoted; following
        # duplicate_of must still end at a canonical article, all within one story.
        chain = [doc_id]
        while not docs[chain[-1]]["is_canonical"]:
            chain.append(docs[chain[-1]]["duplicate_of"])
            assert len(chain) <= len(docs), f"duplicate_of cycle from {doc_id}"
        assert {docs[i]["story_key"] for i in chain} == {doc["story_key"]}, chain
    marked_per_seed = Counter(
        d["story_key"] for i, d in duplicates.items() if i in {a.article_id for a in copies}
    )
    assert len(marked_per_seed) >= 2  # copies of several seeds were recognised

    hamas = search(settings, SearchRequest(query="Hamas", size=50, facet_size=100))
    hit_ids = [hit.article_id for hit in hamas.hits]
    assert not set(hit_ids) & set(duplicates)  # canonical only
    assert len({hit.story_key for hit in hamas.hits}) == len(hamas.hits)  # one row per story
    assert hamas.stories == len(hamas.hits)
    assert all("Hamas" in docs[i]["title"] + docs[i]["body"] for i in hit_ids)
    for hit in hamas.hits:
        group = [d for d in docs.values() if d["story_key"] == hit.story_key]
        matching = [d for d in group if "hamas" in (d["title"] + " " + d["body"]).lower()]
        assert hit.coverage is not None
        assert hit.coverage.articles == len(matching)
        assert hit.coverage.copies == sum(not d["is_canonical"] for d in matching)
        assert hit.coverage.outlet_count == len(
            {d["publisher"] for d in matching if d["publisher"]}
        )
    assert sum(hit.coverage.articles for hit in hamas.hits if hit.coverage) > len(hamas.hits)

    # --- facet counts match the indexed documents -----------------------------------------
    flat = search(settings, SearchRequest(query="Hamas", collapse=False, size=500, facet_size=100))
    matched = [docs[hit.article_id] for hit in flat.hits]
    assert len(matched) == flat.total == hamas.total
    assert all(d["is_canonical"] for d in matched)
    for facet, field in (
        ("people", "people"),
        ("places", "places"),
        ("organizations", "organizations"),
    ):
        expected = Counter(value for d in matched for value in d[field])
        assert {b.value: b.count for b in hamas.facets[facet]} == dict(expected), facet
    publishers = Counter(d["publisher"] for d in matched if d["publisher"])
    assert {b.value: b.count for b in hamas.facets["publishers"]} == dict(publishers)
    stories = Counter(d["story_id"] for d in matched if d["story_id"])
    assert {b.value: b.count for b in hamas.facets["stories"]} == dict(stories)

    # --- a person: only the 10 December article ------------------------------------------
    # One story: seed 004's (a reworded copy the dedup kept as its own original may be the row
    # shown, with the seed under it); none of the October call's coverage names Lavrov.
    lavrov = search(settings, SearchRequest(people=("Sergei Lavrov",)))
    assert lavrov.stories == 1
    (row,) = lavrov.hits
    assert row.story_key == docs[lavrov_seed]["story_key"]
    assert lavrov_seed in {row.article_id} | {r.article_id for r in row.related}
    assert docs[lavrov_seed]["date"].startswith("2023-12-10")
    assert "hot call" in docs[lavrov_seed]["title"].lower()
    with_copies = search(
        settings,
        SearchRequest(people=("sergei lavrov",), include_duplicates=True, collapse=False, size=50),
    )
    assert lavrov_seed in {h.article_id for h in with_copies.hits}
    assert {docs[h.article_id]["story_key"] for h in with_copies.hits} == {row.story_key}
    assert all((h.date or "") >= "2023-12-10" for h in with_copies.hits)
    october = search(settings, SearchRequest(people=("Sergei Lavrov",), until="2023-11-30"))
    assert october.total == 0
