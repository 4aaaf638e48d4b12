"""The benchmark's corpus and report logic (the measuring itself runs in `make bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from wirehose.bench import corpus, dedup_state
from wirehose.bench.dedup_quality import load_corpus
from wirehose.bench.pipeline import PipelineRun
from wirehose.bench.report import markdown, verdicts
from wirehose.cli.bench import _rate
from wirehose.core.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "wirecopy.jsonl"


def results(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "started_at": "2026-11-22T00:00:00+00:00",
        "machine": "test",
        "corpus": {"articles": 1000, "seed": 7, "description": "test corpus"},
        "stages": [],
        "slowest_stage": "NER alone at 40.0 articles/s",
        "pipeline_vs_slowest_stage": 0.75,
        "pipeline_vs_worker_tagging": 0.5,
        "pipeline_paced": {
            "articles": 1000,
            "seconds": 100.0,
            "articles_per_s": 10.0,
            "latency_p50_s": 0.5,
            "latency_p99_s": 1.5,
            "latency_max_s": 1.9,
        },
        "dedup_scaling": [
            {
                "window": w,
                "cost_per_article_ms": ms,
                "candidates_per_article": 5.0,
                "state_mb_per_1k_articles": 17.0,
            }
            for w, ms in ((1000, 1.0), (100000, 1.6))
        ],
    }
    return {**base, **overrides}


def test_verdicts_compare_each_measurement_with_its_v1_target() -> None:
    found = verdicts(results())
    assert found["end to end / slowest stage"] == {"value": 0.75, "target": ">= 0.8", "met": False}
    assert found["dedup cost 100k / 1k"]["value"] == 1.6
    assert found["dedup cost 100k / 1k"]["met"] is False
    assert found["p99 latency at half load (s)"]["met"] is True


def test_report_states_the_ratio_to_the_same_ner_work() -> None:
    text = markdown({**results(), "verdicts": verdicts(results())})
    assert "0.500 of that rate" in text
    assert "| end to end / slowest stage | 0.75 | >= 0.8 | **no** |" in text


def test_every_prefix_of_the_generated_corpus_has_the_streams_mix_of_copies() -> None:
    items = corpus.generate(900, in_time_order=False)
    shares = []
    for start in range(300, 900, 200):  # after the seeds and hand-written stories, every tier each
        chunk = items[start : start + 200]
        shares.append(sum(item.kind not in {"original", "robot"} for item in chunk) / len(chunk))
    assert max(shares) - min(shares) < 0.2, shares
    by_time = corpus.generate(900)
    times = [corpus.publishing_order(item) for item in by_time]
    assert times == sorted(times)
    assert {i.article.article_id for i in by_time} == {i.article.article_id for i in items}


def test_the_paced_run_of_a_big_corpus_replays_the_smaller_benchmark_corpus() -> None:
    from wirehose.bench.runner import corpus_of

    generated = corpus.generate(900, in_time_order=False)
    paced = corpus_of(generated, 300)
    alone = corpus_of(corpus.generate(300, in_time_order=False), 300)  # a 300-article run
    assert [a.article_id for a in paced] == [a.article_id for a in alone]
    assert {a.article_id for a in paced} <= {a.article_id for a in corpus_of(generated, 900)}
    times = [(a.published_at, a.article_id) for a in paced]
    assert times == sorted(times)


def test_dedup_scaling_runs_in_a_fresh_process_on_the_same_generated_corpus() -> None:
    from wirehose.bench.dedup_scaling import measure, measure_in_fresh_process
    from wirehose.core.settings import Settings

    fresh = measure_in_fresh_process(Settings(), 400, 7, [100, 300], 50)
    generated = [item.article for item in corpus.generate(400, seed=7, in_time_order=False)]
    here = measure(Settings(), generated, [100, 300], 50)
    assert [(r.window, r.candidates, r.copies) for r in fresh] == [
        (r.window, r.candidates, r.copies) for r in here
    ]
    assert all(row.copies > 0 and row.memory_bytes >= 0 for row in fresh)


def test_kafka_bytes_are_reported_per_raw_byte_against_the_target() -> None:
    run = PipelineRun(
        10,
        1.0,
        None,
        topic_bytes={
            "raw": 1000,
            "articles": 1000,
            "dedup-bands": 2000,
            "dedup-entries-changelog": 2500,
            "enriched": 9999,  # the product, not overhead
            "dead-letters": 50,
        },
    )
    assert run.internal_per_raw() == 5.5
    measured = results(pipeline=run.as_dict())
    found = verdicts(measured)["internal Kafka bytes per raw byte"]
    assert found == {"value": 5.5, "target": "<= 5.0", "met": False}
    text = markdown({**measured, "verdicts": verdicts(measured)})
    assert "| dedup-entries-changelog | 0.00 | 2.50 |" in text


def test_dedup_state_counts_every_partitions_copy_of_an_entry() -> None:
    articles = [doc.article for doc in load_corpus(CORPUS)][:60]
    one = dedup_state.measure(Settings(), articles, 1)
    four = dedup_state.measure(Settings(), articles, 4)
    assert one.articles == four.articles == 60
    # An article is filed on every bands partition that owns one of its buckets.
    assert four.entries_bytes > 2 * one.entries_bytes
    # Decisions are kept once per article; only each partition's expiry cutoff is extra.
    assert 0 <= four.decisions_bytes - one.decisions_bytes <= 4 * 64
    measured = results(dedup_state=four.as_dict())
    assert verdicts(measured)["dedup table bytes per article"]["target"] == "<= 1024"
    assert f"{four.as_dict()['state_bytes_per_article']} bytes per article" in markdown(measured)


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.2])
def test_a_copy_rate_holds_for_the_corpus_and_its_long_prefixes(rate: float) -> None:
    items = corpus.generate(2000, in_time_order=False, copy_rate=rate)
    for size in (500, 1000, 2000):
        prefix = items[:size]
        share = sum(item.kind not in {"original", "robot"} for item in prefix) / size
        assert abs(share - rate) < 0.01, (size, share)
    assert len({item.article.article_id for item in items}) == 2000


def test_the_bench_reads_copy_rates_as_people_write_them() -> None:
    assert _rate("5%") == 0.05
    assert _rate("0.2") == 0.2
    assert _rate("mixed") is None
    for wrong in ("100%", "-1%", "lots"):
        with pytest.raises(click.BadParameter):
            _rate(wrong)


def test_a_backlog_run_reports_first_searchable_and_ner_busy_against_their_targets() -> None:
    backlog = PipelineRun(
        1000, 50.0, None, first_searchable=12.5, ner_busy_share=0.62, backlog=True
    ).as_dict()
    measured = results(pipeline_backlog=backlog, backlog_vs_worker_tagging=0.93)
    found = verdicts(measured)
    assert found["NER busy share, backlog"] == {"value": 0.62, "target": ">= 0.9", "met": False}
    assert found["backlog / worker-style NER alone"]["met"] is True
    assert found["saturated / worker-style NER alone"]["met"] is False  # 0.5 in results()
    text = markdown({**measured, "verdicts": verdicts(measured)})
    assert (
        "| whole pipeline, backlog | 1000 | 50.0 | 20.0 | first searchable 12.5s, NER busy 0.62 |"
        in text
    )
