"""Operating a real worker: `wirehose status --json`, /metrics, /live, /ready, and re-sending
dead letters once their cause is fixed.

The story the test tells: the worker runs with WIREHOSE_MAX_BODY_CHARS set too low, so two of
the five seeds are dead-lettered as oversized, next to three poisoned records. Status and the
worker's endpoints must show exactly that. Then the operator raises the limit, re-sends only the
oversized dead letters (a dry run first), and the two articles arrive; a second re-send sends
nothing, and the dead-letter topic still holds every record.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from producers.kafka import ArticleProducer
from producers.replay import iter_inputs, replay
from wirehose.core.clients import ensure_topics, kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import settings_env, wait_indexed, worker_process

TIMEOUT = 240.0
POISON = [
    (b"{not json", "invalid-json"),
    (bytes(range(256)), "invalid-json"),
    (
        json.dumps(
            {"schema_version": 1, "article_id": "a" * 32, "body": "  ", "producer": "t"}
        ).encode(),
        "empty-body",
    ),
]


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings)}
    return subprocess.run(
        [sys.executable, "-m", "wirehose", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _status(settings: Settings) -> dict[str, Any]:
    result = _cli(settings, "status", "--json")
    assert result.stdout, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    data["exit_code"] = result.returncode
    return data


def _status_when(
    settings: Settings, done: Callable[[dict[str, Any]], bool], worker: Any
) -> dict[str, Any]:
    """Poll `wirehose status --json` until ``done`` holds (or give up and return the last)."""
    deadline = time.monotonic() + TIMEOUT
    data = _status(settings)
    while not done(data) and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker died"
        time.sleep(1.0)
        data = _status(settings)
    return data


def _http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _flowed(expected_in: int, documents: int, dead: int) -> Callable[[dict[str, Any]], bool]:
    def done(data: dict[str, Any]) -> bool:
        return (
            data["stages"][0]["messages_in"] == expected_in
            and (data["index"] or {}).get("documents") == documents
            and (data["dead_letters"] or {}).get("total") == dead
            and data["total_lag"] == 0
            and bool(data["lag"])
            and data["worker"]["ready"] is True
        )

    return done


def test_status_metrics_health_and_dead_letter_resend(
    make_settings: Callable[..., Settings], es: Elasticsearch, seeds_dir: Path, tmp_path: Path
) -> None:
    articles = list(iter_inputs([seeds_dir]))
    limit = sorted(len(a.body) for a in articles)[2]
    short = {a.article_id for a in articles if len(a.body) <= limit}
    long = {a.article_id for a in articles if len(a.body) > limit}
    assert (len(short), len(long)) == (3, 2)
    settings = make_settings(max_body_chars=limit, metrics_lag_interval=1.0)
    ensure_topics(
        kafka_access(settings),
        [settings.topic_raw, settings.topic_enriched, settings.topic_dead_letter],
        partitions=settings.topic_partitions,
    )
    raw = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all")
    for number, (value, _) in enumerate(POISON):
        raw.send(settings.topic_raw, key=f"poison-{number}".encode(), value=value).get(timeout=30)
    raw.close()
    base = f"http://127.0.0.1:{settings.worker_web_port}"

    with worker_process(settings, log_path=tmp_path / "worker-1.log") as worker:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            assert replay(articles, producer).sent == 5
        assert wait_indexed(es, settings.index_alias, short, timeout=TIMEOUT, worker=worker) == 3
        data = _status_when(settings, _flowed(8, 3, 5), worker)
        log = (tmp_path / "worker-1.log").read_text()[-3000:]
        assert data["stages"][0]["messages_in"] == 8, log
        assert data["total_lag"] == 0
        assert {row["topic"] for row in data["lag"]} >= {settings.topic_raw}
        assert data["dead_letters"]["total"] == 5
        assert dict(map(tuple, data["dead_letters"]["reasons"])) == {
            "invalid-json": 2,
            "oversized-body": 2,
            "empty-body": 1,
        }
        assert data["index"]["documents"] == 3
        assert data["index"]["canonical"] + data["index"]["duplicates"] == 3
        assert data["index"]["indices"] == [f"{settings.index_alias}-v1"]
        assert data["worker"]["ready"] is True
        assert data["stages"][0]["worker"]["records_in"] == 8
        assert data["stages"][1]["worker"]["documents_indexed"] == 3
        assert data["problems"] == []
        assert data["exit_code"] == 0

        status, text = _http(f"{base}/metrics")
        assert status == 200
        samples = _samples(text)
        validate, sink = (("step", "validate"),), (("step", "sink.elasticsearch"),)
        assert samples[("wirehose_enrich_records_total", validate)] == 8
        assert samples[("wirehose_enrich_articles_total", validate)] == 3
        assert samples[("wirehose_sink_documents_indexed_total", sink)] == 3
        oversized = (("reason", "oversized-body"), ("step", "validate"))
        assert samples[("wirehose_deadletter_records_total", oversized)] == 2
        assert samples[("wirehose_sink_batch_documents_sum", sink)] == 3
        lag = [v for (name, _), v in samples.items() if name == "wirehose_consumer_lag_messages"]
        assert lag, "the lag gauge has no series for the partitions this worker owns"
        # The gauge is sampled every metrics_lag_interval (1 s here), so right after the status
        # check it may still show the last sample taken mid-run: scrape until a fresh one lands.
        for _ in range(20):
            if set(lag) == {0.0}:
                break
            time.sleep(0.5)
            lag = [
                v
                for (name, _), v in _samples(_http(f"{base}/metrics")[1]).items()
                if name == "wirehose_consumer_lag_messages"
            ]
        assert set(lag) == {0.0}
        lag_steps = {
            dict(labels)["topic"]: dict(labels)["step"]
            for name, labels in samples
            if name == "wirehose_consumer_lag_messages"
        }
        assert lag_steps[settings.topic_raw] == "validate"  # labelled by the consuming agent
        assert lag_steps[settings.topic_enriched] == "index"

        assert _http(f"{base}/live") == (200, json.dumps({"live": True}).replace(" ", ""))
        status, body = _http(f"{base}/ready")
        ready = json.loads(body)
        assert status == 200, body
        assert ready["checks"]["kafka"] is True
        assert ready["checks"]["elasticsearch"] is True
        assert ready["checks"]["assigned_partitions"] > 0

    # The worker is gone: status says so, with what to do, and exits 1.
    data = _status(settings)
    assert data["exit_code"] == 1
    assert any("no worker answers" in p and "wirehose worker" in p for p in data["problems"])

    # The cause is fixed: raise the limit, then re-send only what it rejected.
    fixed = settings.model_copy(update={"max_body_chars": 1_000_000})
    dry = _cli(fixed, "deadletters", "replay", "--reason", "oversized-body", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would re-send") == 2
    sent = _cli(fixed, "deadletters", "replay", "--reason", "oversized-body")
    assert sent.returncode == 0, sent.stderr
    assert "re-sent=2 failed=0" in sent.stderr
    again = _cli(fixed, "deadletters", "replay", "--reason", "oversized-body")
    assert "re-sent=0 failed=0 already_resent=2" in again.stderr

    with worker_process(fixed, log_path=tmp_path / "worker-2.log") as worker:
        assert wait_indexed(es, fixed.index_alias, long, timeout=TIMEOUT, worker=worker) == 2
        data = _status_when(fixed, _flowed(10, 5, 5), worker)
        assert data["index"]["documents"] == 5
        assert data["dead_letters"]["total"] == 5  # nothing was removed from the topic
        assert data["total_lag"] == 0

    listed = _cli(fixed, "deadletters", "list", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 5
    assert sorted((r["reason"], r["resent"]) for r in rows if r["resent"]) == [
        ("oversized-body", True),
        ("oversized-body", True),
    ]
