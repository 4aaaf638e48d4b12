"""Long commands clean up when stopped, and a killed run's leftovers are swept later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wirehose.bench.private import RunRecord, sweep_orphans
from wirehose.cli.terminate import terminate_like_interrupt
from wirehose.core.settings import Settings

# A child that enters the block, says it is ready, and records whether its cleanup ran.
_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from wirehose.cli.terminate import terminate_like_interrupt

    done = Path(sys.argv[1])
    with terminate_like_interrupt():
        try:
            print("ready", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            done.write_text("interrupted")
            raise SystemExit(130)
        finally:
            if not done.exists():
                done.write_text("finally only")
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_from_outside_runs_the_cleanup(tmp_path: Path, sig: signal.Signals) -> None:
    done = tmp_path / "done"
    # SIGINT ignored at start, as for a command a non-interactive shell runs in the background:
    # the block must still make SIGINT interrupt.
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(done)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(sig)
    assert child.wait(timeout=30) == 130
    assert done.read_text() == "interrupted"


def test_handlers_are_restored_after_the_block() -> None:
    before_term = signal.getsignal(signal.SIGTERM)
    before_int = signal.getsignal(signal.SIGINT)
    with terminate_like_interrupt(), pytest.raises(KeyboardInterrupt):
        _terminate_self()
    assert signal.getsignal(signal.SIGTERM) is before_term
    assert signal.getsignal(signal.SIGINT) is before_int


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler runs between bytecodes; this sleep is interrupted at once


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_cleans_up_only_after_runs_whose_owner_is_gone(tmp_path: Path) -> None:
    records = tmp_path / "cache" / "run" / "private"

    def run(name: str, owner: int) -> RunRecord:
        home, es_root = tmp_path / name / "home", tmp_path / "var" / f"elasticsearch-{name}"
        for folder in (home / "run" / "kafka", es_root / "data"):
            folder.mkdir(parents=True)
        record = RunRecord(owner, home, es_root)
        record.write(records / f"{name}.json")
        return record

    killed = run("killed", _dead_pid())
    running = run("running", os.getpid())
    (records / "starting.json").write_text('{"owner": ')  # a run writing its record right now

    swept = sweep_orphans(records, Settings(home=tmp_path / "cache"))

    assert swept == [killed]
    assert not killed.home.exists()
    assert not killed.es_root.exists()
    assert not (records / "killed.json").exists()
    assert running.home.exists()
    assert running.es_root.exists()
    assert sorted(p.name for p in records.iterdir()) == ["running.json", "starting.json"]
