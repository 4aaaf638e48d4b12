"""Run the whole pipeline on this machine: a worker process, a replay, and a wait for the index.

The demo, the end-to-end tests and the benchmarks all need the same three moves, so they live
here once. The worker runs as a child process (``python -m wirehose worker``) with the caller's
settings passed through the environment, exactly as a user would start it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from elasticsearch import Elasticsearch, NotFoundError
from pydantic import SecretStr

from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``WIREHOSE_*`` variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"WIREHOSE_{name.upper()}"] = str(value)
    return env


@contextmanager
def worker_process(
    settings: Settings, *, log_path: Path | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``wirehose worker`` child process, stopped cleanly (SIGTERM, then SIGKILL) on exit."""
    env = {**os.environ, **settings_env(settings), **(extra_env or {})}
    log_path = log_path or settings.home / "logs" / f"worker-{settings.worker_web_port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wirehose", "worker", "--no-services"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.info("worker started pid=%d log=%s", process.pid, log_path)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("worker ignored SIGTERM, killing pid=%d", process.pid)
        process.kill()
        process.wait(timeout=10)


def count_indexed(
    client: Elasticsearch,
    alias: str,
    ids: Collection[str],
    *,
    processed_since: datetime | None = None,
) -> int:
    """How many of ``ids`` are searchable in ``alias`` right now.

    With ``processed_since``, only documents the pipeline (re)processed since then count: a
    second demo run must show its own work, not find the first run's documents.
    """
    try:
        client.indices.refresh(index=alias)
        found = 0
        id_list = list(ids)
        for start in range(0, len(id_list), 5000):
            chunk = id_list[start : start + 5000]
            query: dict[str, object] = {"ids": {"values": chunk}}
            if processed_since is not None:
                since = {"range": {"processed_at": {"gte": processed_since.isoformat()}}}
                query = {"bool": {"filter": [query, since]}}
            found += int(client.count(index=alias, query=query)["count"])
        return found
    except NotFoundError:
        return 0


def wait_indexed(
    client: Elasticsearch,
    alias: str,
    ids: Collection[str],
    *,
    timeout: float,
    worker: subprocess.Popen[bytes] | None = None,
    on_progress: Callable[[int], None] | None = None,
    processed_since: datetime | None = None,
) -> int:
    """Wait until every id is searchable; return how many are. Fails fast if the worker dies."""
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = count_indexed(client, alias, ids, processed_since=processed_since)
        if on_progress:
            on_progress(found)
        if found >= len(ids):
            return found
        if worker is not None and worker.poll() is not None:
            raise ServiceError(
                f"the worker exited with status {worker.returncode} before indexing finished"
            )
        time.sleep(0.5)
    return found
