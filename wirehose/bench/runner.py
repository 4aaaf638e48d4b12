"""One benchmark run: every stage alone, the whole pipeline twice, dedup scaling, one report.

Every measurement uses the same generated corpus (``size`` articles); dedup scaling needs
bigger windows and uses a longer corpus from the same generator and seed, whose first ``size``
articles are those very ones. Kafka and Elasticsearch are private instances started for the
run (a benchmark on the shared ones would measure, and disturb, everyone else's work), unless
``shared`` is set, in which case the run uses the configured services with unique names.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wirehose.bench import alerts, corpus, dedup_scaling, dedup_state, pipeline, report, stages
from wirehose.bench.private import private_services
from wirehose.core.article import Article
from wirehose.core.settings import Settings
from wirehose.ops.services import resolve_endpoints

log = logging.getLogger(__name__)


@dataclass
class BenchConfig:
    size: int = 1000
    dedup_windows: Sequence[int] = (1000, 10_000, 100_000)
    dedup_probe: int = 500
    seed: int = 7
    # Real wire archives carry a few percent of copies; None is the generator's own mix (~55%).
    copy_rate: float | None = 0.05
    out: Path = Path("bench/results")
    shared: bool = False
    skip_pipeline: bool = False
    # Latency needs many samples, not a long run: paced at half speed, a 100k corpus would take
    # as long as NER alone twice over. The paced run replays this corpus's first N articles
    # (in generation order, so the same mix of originals and copies), at half the saturated rate.
    paced_articles: int = 10_000
    # Produce-to-alert latency: a paced run of this many of those, one alert on every story.
    alert_articles: int = 2_000
    worker_tagging: bool = True
    # Backlog runs at 1 worker x 1 NER process, 1 x 2 and 2 x 1, besides the configured one.
    scale: bool = False
    progress: Callable[[str], None] = field(default=lambda message: None)


def corpus_of(generated: Sequence[corpus.Labelled], size: int) -> list[Article]:
    """The benchmark corpus of ``size`` articles: a prefix in generation order (so it has the
    stream's mix of originals and copies), replayed in publishing order."""
    return [item.article for item in sorted(generated[:size], key=corpus.publishing_order)]


@contextlib.contextmanager
def _services(config: BenchConfig, base: Settings) -> Iterator[Settings]:
    if config.shared:
        endpoints = resolve_endpoints(base)
        yield base.model_copy(
            update={"kafka_bootstrap": endpoints.kafka_bootstrap, "es_url": endpoints.es_url}
        )
        return

    with (
        tempfile.TemporaryDirectory(prefix="wirehose-bench-") as tmp,
        private_services(Path(tmp) / "home", base=base, heap="512m") as stack,
    ):
        yield stack.settings.model_copy(update={"home": Path(tmp) / "work"})


def _scale(
    config: BenchConfig, settings: Settings, articles: Sequence[Article], logs: Path
) -> list[dict[str, Any]]:
    """Backlog runs with one worker and one NER process, one worker and two, two workers."""
    rows = []
    for workers, processes in ((1, 1), (1, 2), (2, 1)):
        label = f"backlog-{workers}w-{processes}ner"
        config.progress(f"whole pipeline, {label}")
        own = settings.model_copy(update={"ner_processes": processes})
        measured = pipeline.run(
            own, articles, rate=None, label=label, logs=logs, backlog=True, workers=workers
        )
        config.progress(f"  {measured.rate:.1f} articles/s, NER busy {measured.ner_busy_share:.0%}")
        rows.append(measured.as_dict())
    return rows


def run(
    config: BenchConfig, base: Settings | None = None
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run everything and write the report; returns the results and the written paths."""
    base = base or Settings()
    say = config.progress
    longest = max([config.size, *(w + config.dedup_probe for w in config.dedup_windows)])
    say(f"generating corpus articles={longest}")
    # Generation order: every prefix has the stream's mix of originals and copies (see generate).
    everything = corpus.generate(
        longest, seed=config.seed, in_time_order=False, copy_rate=config.copy_rate
    )
    chosen = sorted(everything[: config.size], key=corpus.publishing_order)
    articles = corpus_of(everything, config.size)
    kinds: dict[str, int] = {}
    for item in chosen:
        kinds["original" if item.kind in {"original", "robot"} else "variant"] = (
            kinds.get("original" if item.kind in {"original", "robot"} else "variant", 0) + 1
        )
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "corpus": {
            "articles": config.size,
            "seed": config.seed,
            "copy_rate": config.copy_rate,
            "description": f"seeds + syndicated variants + unrelated ({kinds})",
        },
    }
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    with _services(config, base) as settings:
        settings = settings.model_copy(
            update={"index_alias": f"bench-bulk-{uuid.uuid4().hex[:6]}", "log_level": "WARNING"}
        )
        say("stage: produce")
        produced = stages.produce(settings, articles, f"bench-produce-{uuid.uuid4().hex[:6]}")
        say(f"  {produced.rate:.0f} articles/s")
        say("stage: dedup")
        deduped, marked = stages.dedup(settings, articles)
        say(f"  {deduped.rate:.0f} articles/s")
        say("stage: NER (spaCy, nlp.pipe)")
        ner, tagging, tagged = stages.ner(
            settings, articles, marked, worker_way=config.worker_tagging
        )
        say(f"  NER {ner.rate:.1f} articles/s")
        if tagging:
            say(f"  worker-style tagging {tagging.rate:.1f} articles/s")
        say("stage: Elasticsearch bulk")
        bulk = stages.es_bulk(settings, tagged)
        say(f"  {bulk.rate:.0f} articles/s")
        alone = [produced, deduped, ner, bulk]
        results["stages"] = [s.as_dict() for s in [*alone, *([tagging] if tagging else [])]]
        slowest = min(alone, key=lambda s: s.rate)
        results["slowest_stage"] = f"{slowest.name} at {slowest.rate:.1f} articles/s"
        if not config.skip_pipeline:
            logs = out / "logs"
            say("whole pipeline, saturated (first produce to last searchable)")
            full = pipeline.run(settings, articles, rate=None, label="saturated", logs=logs)
            say(f"  {full.rate:.1f} articles/s")
            results["pipeline"] = full.as_dict()
            results["pipeline_vs_slowest_stage"] = round(full.rate / slowest.rate, 3)
            if tagging:
                results["pipeline_vs_worker_tagging"] = round(full.rate / tagging.rate, 3)
            say("whole pipeline, backlog (every article in Kafka before the worker starts)")
            backlog = pipeline.run(
                settings, articles, rate=None, label="backlog", logs=logs, backlog=True
            )
            say(
                f"  {backlog.rate:.1f} articles/s, first searchable after "
                f"{backlog.first_searchable:.0f}s, NER busy {backlog.ner_busy_share:.0%}"
            )
            results["pipeline_backlog"] = backlog.as_dict()
            if tagging:
                results["backlog_vs_worker_tagging"] = round(backlog.rate / tagging.rate, 3)
            if config.scale:
                results["scale"] = _scale(config, settings, articles, logs)
            half = full.rate / 2
            paced_corpus = corpus_of(everything, min(config.size, config.paced_articles))
            say(
                f"whole pipeline, paced at {half:.1f} articles/s (50%), {len(paced_corpus)} articles"
            )
            paced = pipeline.run(settings, paced_corpus, rate=half, label="paced", logs=logs)
            say(f"  p50={paced.percentile(0.5):.2f}s p99={paced.percentile(0.99):.2f}s")
            results["pipeline_paced"] = paced.as_dict()
            alert_corpus = paced_corpus[: config.alert_articles]
            say(f"alerts, paced at {half:.1f} articles/s, {len(alert_corpus)} articles")
            alerted = alerts.run(settings, alert_corpus, rate=half, logs=logs)
            figures = alerted.as_dict()
            say(
                f"  produce to alert p50={figures['latency_p50_s']}s p99={figures['latency_p99_s']}s"
            )
            results["alerts_paced"] = alerted.as_dict()
    say(f"dedup scaling windows={list(config.dedup_windows)} probe={config.dedup_probe}")
    started = time.perf_counter()
    del everything  # the fresh process generates its own copy; free this one first
    scaling = dedup_scaling.measure_in_fresh_process(
        base,
        longest,
        config.seed,
        config.dedup_windows,
        config.dedup_probe,
        copy_rate=config.copy_rate,
    )
    say(f"  done in {time.perf_counter() - started:.0f}s")
    results["dedup_scaling"] = [row.as_dict() for row in scaling]
    say(f"dedup table state, {base.topic_partitions} partitions")
    state = dedup_state.measure(base, articles, base.topic_partitions)
    say(f"  {state.per_article:.0f} bytes per article")
    results["dedup_state"] = state.as_dict()
    results["verdicts"] = report.verdicts(results)
    return results, report.write(results, out)
