"""What a stalled worker was doing, captured before the test stops it.

A pipeline that never drains fails its test by deadline, and by then the only evidence is in the
running worker processes. Before the test tears them down this asks each one for its asyncio
tasks (SIGUSR1: the worker prints every task's stack to its log) and, when ``py-spy`` is
installed, takes every thread's Python stack from outside, which works even when the event loop
itself is blocked and cannot answer a signal. Everything goes into the test's log directory.
``keep`` copies a failed run's logs (stalled or not) under ``WIREHOSE_INCIDENTS`` (default
``~/.cache/wirehose/incidents``), since pytest removes old temporary directories.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def capture(procs: Sequence[Any], logs: Path, name: str) -> str:
    """Stacks of every live worker in ``procs``; returns a summary for the assertion message."""
    alive = [(n, p) for n, p in enumerate(procs) if p.poll() is None]
    for _, proc in alive:
        os.kill(proc.pid, signal.SIGUSR1)
    spy = _py_spy()
    summary = []
    for n, proc in alive:
        if spy is None:
            summary.append(f"worker{n}: py-spy not installed, only the SIGUSR1 task dump")
            continue
        dumped = subprocess.run(
            [spy, "dump", "--pid", str(proc.pid), "--subprocesses"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        text = dumped.stdout + dumped.stderr
        (logs / f"py-spy-worker{n}.txt").write_text(text)
        summary.append(f"--- py-spy worker{n}\n{_main_thread(text)}")
    time.sleep(3.0)  # the task dump is written by the worker's own event loop
    summary.append(f"logs and stacks kept in {keep(logs, name)}")
    return "\n".join(summary)


def keep(logs: Path, name: str) -> Path:
    """Copy a failed run's logs where pytest's clean-up of old temporary directories won't
    reach them; returns where."""
    kept = (
        Path(
            os.environ.get("WIREHOSE_INCIDENTS", Path.home() / ".cache" / "wirehose" / "incidents")
        )
        / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    shutil.copytree(logs, kept, ignore=shutil.ignore_patterns("*.sock"), dirs_exist_ok=True)
    return kept


def _main_thread(dump: str, limit: int = 40) -> str:
    """The first thread of each process in a py-spy dump: the event loop's."""
    lines = dump.splitlines()
    out: list[str] = []
    taking = False
    for line in lines:
        if line.startswith("Process ") or (line.startswith("Thread ") and "MainThread" in line):
            taking = True
            out.append(line)
            continue
        if line.startswith("Thread "):
            taking = False
        elif taking:
            out.append(line)
    return "\n".join(out[: limit * 4])
