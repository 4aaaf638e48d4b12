"""``wirehose bench``: throughput and latency of each stage and of the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from wirehose.core.settings import get_settings


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part.replace("k", "000")) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"expected sizes like 1k,10k,100k: {value}") from exc
    if not sizes or min(sizes) <= 0:
        raise click.BadParameter("sizes must be positive")
    return sizes


def _rate(value: str) -> float | None:
    if value.strip().lower() == "mixed":
        return None
    try:
        rate = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
    except ValueError as exc:
        raise click.BadParameter(f"expected a share like 5% or 0.05, or 'mixed': {value}") from exc
    if not 0 <= rate < 1:
        raise click.BadParameter(f"the copy rate must be at least 0% and below 100%: {value}")
    return rate


@click.command("bench")
@click.option(
    "--size",
    default="1k",
    show_default=True,
    help="Articles in the corpus every stage and the pipeline run on (1k, 10k, 100k, ...).",
)
@click.option(
    "--dedup-windows",
    default="1k,10k,100k",
    show_default=True,
    help="Window sizes at which dedup cost per article is measured.",
)
@click.option("--dedup-probe", default=500, show_default=True, help="Articles timed per window.")
@click.option("--seed", default=7, show_default=True, help="Corpus generator seed.")
@click.option(
    "--copy-rate",
    default="5%",
    show_default=True,
    help="Share of copies in the corpus, as wire archives carry them; 'mixed' for the "
    "generator's own ~55% (a dedup stress test, and flattering: copies skip NER).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("bench/results"),
    show_default=True,
    help="Where bench.md, bench.json and bench.png go.",
)
@click.option(
    "--shared",
    is_flag=True,
    help="Use the configured Kafka/Elasticsearch (unique names) instead of private instances.",
)
@click.option("--skip-pipeline", is_flag=True, help="Stages and dedup scaling only, no worker.")
@click.option(
    "--paced-articles",
    default="10k",
    show_default=True,
    help="Articles in the paced (latency) run: the corpus's first N, or all if fewer.",
)
@click.option(
    "--worker-tagging/--no-worker-tagging",
    default=True,
    show_default=True,
    help="Also time tagging as the worker does it (NER for non-copies only).",
)
@click.option(
    "--ner-processes",
    type=click.IntRange(min=1),
    default=None,
    help="NER processes per worker, in the pipeline runs and in worker-style tagging alone "
    "(default: WIREHOSE_NER_PROCESSES).",
)
@click.option(
    "--scale",
    is_flag=True,
    help="Also replay the backlog with 1 worker x 1 NER process, 1 x 2 and 2 workers x 1.",
)
def command(
    size: str,
    dedup_windows: str,
    dedup_probe: int,
    seed: int,
    copy_rate: str,
    out: Path,
    shared: bool,
    skip_pipeline: bool,
    paced_articles: str,
    worker_tagging: bool,
    ner_processes: int | None,
    scale: bool,
) -> None:
    """Measure each stage alone and the whole pipeline on ONE generated corpus.

    Stages alone: kafka-python produce, dedup, spaCy NER (nlp.pipe), Elasticsearch bulk, and
    tagging as the worker does it (NER for non-copies, with the worker's NER processes). Then
    the whole pipeline with a real worker: saturated (first produce to last searchable), a
    backlog (everything in Kafka before the worker starts: time to first searchable, and the
    share of time NER was busy, from the worker's metrics), and paced at half the saturated
    rate (produce-to-indexed latency p50/p99). Then dedup cost per article
    with 1k, 10k and 100k articles in the window, and its memory per 1k articles. Results go to
    OUT as markdown, JSON and a PNG. Kafka and Elasticsearch are private instances started for
    the run, so the shared ones are neither disturbed nor measured.

    On 2 cores the default (1k corpus) takes about 11 minutes and a 10k corpus about 25: NER
    is the slow part (~38 articles/s) and runs four times: alone, as the worker tags, and in
    the saturated and the paced pipeline runs. The paced run uses at most --paced-articles
    of the corpus. A 100k corpus takes about 1.5 hours without --worker-tagging.

    Ctrl-C (or SIGTERM) stops the run, its worker and its private Kafka and Elasticsearch. If
    a run is killed outright, the next run stops what it left running and removes its folders.

    \b
    Examples:
      wirehose bench
      wirehose bench --size 10k
      wirehose bench --copy-rate mixed   # the generator's ~55% copies: dedup under stress
      wirehose bench --size 100k --no-worker-tagging   # ~1.5 hours: NER on 100k
      wirehose bench --skip-pipeline --dedup-windows 1k,10k    # a quick look at the stages
      wirehose bench --size 10k --scale   # 1 vs 2 NER processes, 1 vs 2 workers
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.bench.runner import BenchConfig, run
    from wirehose.cli.terminate import terminate_like_interrupt

    (corpus_size,) = _sizes(size)[:1]
    config = BenchConfig(
        size=corpus_size,
        dedup_windows=_sizes(dedup_windows),
        dedup_probe=dedup_probe,
        seed=seed,
        copy_rate=_rate(copy_rate),
        out=out,
        shared=shared,
        skip_pipeline=skip_pipeline,
        paced_articles=_sizes(paced_articles)[0],
        worker_tagging=worker_tagging,
        scale=scale,
        progress=lambda message: click.echo(message, err=True),
    )
    # Ctrl-C or SIGTERM stops the worker and the private Kafka and Elasticsearch before exiting.
    with terminate_like_interrupt():
        base = get_settings()
        if ner_processes is not None:
            base = base.model_copy(update={"ner_processes": ner_processes})
        results, paths = run(config, base)
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.bench.report import markdown

    click.echo(markdown(results))
    for kind, path in paths.items():
        click.echo(f"{kind}: {path}", err=True)
