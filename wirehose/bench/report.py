"""Benchmark results as a markdown table, JSON and a PNG plot, in one folder.

The markdown is what goes into an issue or a review; the JSON is what a later run compares
against; the plot shows the stage ceilings against the pipeline and the dedup cost curve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "pipeline_vs_slowest_stage": 0.8,  # end to end >= 0.8 of the slowest stand-alone stage
    # end to end >= 0.9 of tagging as the worker does it (the same NER work, the same number of
    # NER processes), saturated and in a backlog; and NER busy >= 90% of a backlog replay
    "pipeline_vs_worker_tagging": 0.9,
    "ner_busy_share_backlog": 0.9,
    "dedup_100k_vs_1k": 1.5,  # cost per article at 100k within 1.5x of 1k
    "p99_half_load_s": 2.0,  # p99 produce-to-indexed latency at half of max throughput
    "internal_bytes_per_raw_byte": 5.0,  # the worker's topics and changelogs, per raw byte
    "dedup_state_bytes_per_article": 1024,  # both dedup tables, all partitions, per article
}


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each v1 target: the measured value, the target, and whether it is met."""
    out: dict[str, dict[str, Any]] = {}
    ratio = results.get("pipeline_vs_slowest_stage")
    if ratio is not None:
        out["end to end / slowest stage"] = _verdict(
            ratio, TARGETS["pipeline_vs_slowest_stage"], ">="
        )
    for key, name in (
        ("pipeline_vs_worker_tagging", "saturated / worker-style NER alone"),
        ("backlog_vs_worker_tagging", "backlog / worker-style NER alone"),
    ):
        if results.get(key) is not None:
            out[name] = _verdict(results[key], TARGETS["pipeline_vs_worker_tagging"], ">=")
    busy = (results.get("pipeline_backlog") or {}).get("ner_busy_share")
    if busy is not None:
        out["NER busy share, backlog"] = _verdict(busy, TARGETS["ner_busy_share_backlog"], ">=")
    scaling = results.get("dedup_scaling", [])
    by_window = {row["window"]: row["cost_per_article_ms"] for row in scaling}
    if 1000 in by_window and 100000 in by_window and by_window[1000] > 0:
        growth = by_window[100000] / by_window[1000]
        out["dedup cost 100k / 1k"] = _verdict(growth, TARGETS["dedup_100k_vs_1k"], "<=")
    paced = results.get("pipeline_paced") or {}
    if paced.get("latency_p99_s") is not None:
        out["p99 latency at half load (s)"] = _verdict(
            paced["latency_p99_s"], TARGETS["p99_half_load_s"], "<"
        )
    state = results.get("dedup_state") or {}
    if state.get("state_bytes_per_article") is not None:
        out["dedup table bytes per article"] = _verdict(
            state["state_bytes_per_article"], TARGETS["dedup_state_bytes_per_article"], "<="
        )
    saturated = results.get("pipeline") or {}
    if saturated.get("internal_bytes_per_raw_byte") is not None:
        out["internal Kafka bytes per raw byte"] = _verdict(
            saturated["internal_bytes_per_raw_byte"],
            TARGETS["internal_bytes_per_raw_byte"],
            "<=",
        )
    return out


def _verdict(value: float, target: float, op: str) -> dict[str, Any]:
    met = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return {"value": round(value, 3), "target": f"{op} {target}", "met": met}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# wirehose benchmark ({results['corpus']['articles']} articles, {results['started_at']})",
        "",
        f"Machine: {results['machine']}. Corpus: {results['corpus']['description']}.",
        "",
        "| stage | articles | seconds | articles/s | notes |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for stage in results["stages"]:
        notes = ", ".join(
            f"{k}={v}"
            for k, v in stage.items()
            if k not in {"name", "articles", "seconds", "articles_per_s"}
        )
        lines.append(
            f"| {stage['name']} | {stage['articles']} | {stage['seconds']} | {stage['articles_per_s']} | {notes} |"
        )
    runs = [
        (results.get("pipeline"), "whole pipeline, saturated"),
        (results.get("pipeline_backlog"), "whole pipeline, backlog"),
        (results.get("pipeline_paced"), "whole pipeline, paced at 50%"),
    ]
    for row in results.get("scale") or []:
        runs.append((row, f"backlog, {row['workers']} worker(s) x {row['ner_processes']} NER"))
    for run, title in runs:
        if run:
            lines.append(
                f"| {title} | {run['articles']} | {run['seconds']} | {run['articles_per_s']} | "
                + _run_notes(run)
                + " |"
            )
    alerted = results.get("alerts_paced")
    if alerted:
        lines += [
            "",
            f"Produce to alert, paced at {alerted['rate_asked']} articles/s with one alert on "
            f"every story ({alerted['articles']} articles, {alerted['alerts']} stories alerted): "
            f"p50={alerted['latency_p50_s']}s p99={alerted['latency_p99_s']}s "
            f"max={alerted['latency_max_s']}s.",
        ]
    sizes = (results.get("pipeline") or {}).get("topic_bytes") or {}
    if sizes.get("raw"):
        lines += [
            "",
            "| Kafka topic (saturated run) | MB | per raw byte |",
            "| --- | ---: | ---: |",
        ]
        for role, size in sorted(sizes.items(), key=lambda item: -item[1]):
            lines.append(f"| {role} | {size / 2**20:.2f} | {size / sizes['raw']:.2f} |")
    lines += ["", "| dedup window | cost/article (ms) | candidates/article | state MB per 1k articles |",
              "| ---: | ---: | ---: | ---: |"]  # fmt: skip
    for row in results.get("dedup_scaling", []):
        lines.append(
            f"| {row['window']} | {row['cost_per_article_ms']} | {row['candidates_per_article']} | "
            f"{row['state_mb_per_1k_articles']} |"
        )
    state = results.get("dedup_state")
    if state:
        lines += [
            "",
            f"Dedup table state on {state['partitions']} partitions, {state['articles']} articles: "
            f"{state['state_bytes_per_article']} bytes per article (entries "
            f"{state['entries_bytes_per_article']}, decisions {state['decisions_bytes_per_article']}).",
        ]
    lines += ["", "| v1 target | measured | target | met |", "| --- | ---: | --- | --- |"]
    for name, v in results.get("verdicts", {}).items():
        lines.append(
            f"| {name} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
        )
    if results.get("slowest_stage"):
        lines += ["", f"Slowest stand-alone stage: {results['slowest_stage']}."]
    if results.get("pipeline_vs_worker_tagging") is not None:
        lines += [
            "",
            "The pipeline runs NER only for articles that are not copies, so it can beat NER "
            "alone; against tagging as the worker does it (the same NER work), it runs at "
            f"{results['pipeline_vs_worker_tagging']:.3f} of that rate.",
        ]
    return "\n".join(lines) + "\n"


def _run_notes(run: dict[str, Any]) -> str:
    if run.get("backlog"):
        return (
            f"first searchable {run.get('first_searchable_s')}s, "
            f"NER busy {run.get('ner_busy_share')}"
        )
    notes = f"p50={run['latency_p50_s']}s p99={run['latency_p99_s']}s max={run['latency_max_s']}s"
    if run.get("ner_busy_share") is not None:
        notes += f", NER busy {run['ner_busy_share']}"
    return notes


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    names = [s["name"] for s in results["stages"]]
    rates = [s["articles_per_s"] for s in results["stages"]]
    for key, label in (
        ("pipeline", "pipeline (saturated)"),
        ("pipeline_paced", "pipeline (paced 50%)"),
    ):
        if results.get(key):
            names.append(label)
            rates.append(results[key]["articles_per_s"])
    left.barh(
        names,
        rates,
        color=["#4c72b0"] * len(results["stages"])
        + ["#dd8452"] * (len(names) - len(results["stages"])),
    )
    left.set_xscale("log")
    left.set_xlabel("articles/s (log scale)")
    left.set_title("Stages alone vs the whole pipeline")
    scaling = results.get("dedup_scaling", [])
    if scaling:
        windows = [row["window"] for row in scaling]
        right.plot(
            windows, [row["cost_per_article_ms"] for row in scaling], marker="o", label="ms/article"
        )
        right.set_xscale("log")
        right.set_xlabel("articles in the dedup window")
        right.set_ylabel("dedup cost per article (ms)")
        right.set_ylim(bottom=0)  # from zero: "flat" must not be judged on a zoomed axis
        right.set_title("Dedup cost as the window fills")
        twin = right.twinx()
        twin.plot(
            windows,
            [row["candidates_per_article"] for row in scaling],
            marker="s",
            color="#c44e52",
            label="candidates",
        )
        twin.set_ylabel("LSH candidates per article")
        twin.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``bench.md``, ``bench.json`` and ``bench.png`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "bench.md", "json": out / "bench.json", "plot": out / "bench.png"}
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n")
    paths["markdown"].write_text(markdown(results))
    plot(results, paths["plot"])
    return paths
