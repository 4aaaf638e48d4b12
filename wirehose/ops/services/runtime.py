"""What both native services share: finding a JDK, fetching from Maven, and running a daemon.

A service runs in its own session (process group) so that ``down`` can stop the launcher and
every JVM it spawned, and records its process-group id in a pid file so a later command — or a
later shell — can find it. ``up`` is idempotent: a healthy service is reused, a stale pid file
from a crash is cleaned up, and a port held by something else is reported, not fought over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wirehose.core.errors import ServiceError, ServiceTimeout
from wirehose.core.files import atomic_write_text
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_JAVA = (17, 21)


def java_major(java_home: Path) -> int | None:
    """The major version of the JDK at ``java_home``, or None when it is not a JDK."""
    release = java_home / "release"
    if release.is_file():
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match:
            return int(match.group(1))
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', out.stderr)
    return int(match.group(1)) if match else None


def find_java_home(settings: Settings) -> Path:
    """The JDK for the native services: the setting, JAVA_HOME, then a JDK 17/21 in /usr/lib/jvm."""
    candidates: list[Path] = []
    if settings.java_home:
        candidates.append(settings.java_home)
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    seen: list[str] = []
    for home in candidates:
        major = java_major(home)
        seen.append(f"{home} ({major or 'not a JDK'})")
        if major in SUPPORTED_JAVA:
            return home
    raise ServiceError(
        "no JDK 17 or 21 found for Kafka and Elasticsearch; install one (e.g. "
        "`apt-get install openjdk-17-jdk-headless`) or set WIREHOSE_JAVA_HOME. Looked at: "
        + ", ".join(seen or ["nothing"])
    )


def maven_fetch(pom: str, goal_args: Sequence[str], *, workdir: Path, repository: Path) -> None:
    """Run Maven on a generated pom; Maven's own settings (mirrors, proxies) apply."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            "Maven (`mvn`) is needed once to fetch Kafka and Elasticsearch from Maven Central; "
            "install it (`apt-get install maven`) or point WIREHOSE_KAFKA_BOOTSTRAP and "
            "WIREHOSE_ES_URL at running services."
        )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pom.xml").write_text(pom)
    # A Maven repository of our own under WIREHOSE_HOME: one folder holds every download, and
    # removing it really starts from cold.
    cmd = [
        mvn,
        "-B",
        "-q",
        f"-Dmaven.repo.local={repository}",
        "-f",
        str(workdir / "pom.xml"),
        *goal_args,
    ]
    log.info("fetching from Maven Central cmd=%s", " ".join(cmd[1:]))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(
            f"Maven could not fetch the artifacts (exit {result.returncode}). Is Maven Central "
            f"reachable? Output:\n{(result.stdout + result.stderr)[-3000:]}"
        )


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServiceState:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    address: str
    detail: str = ""


def alive(pid: int, *, group: bool = False) -> bool:
    """Whether process ``pid`` (or, with ``group``, process group ``pid``) still exists."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to another user (Elasticsearch's)
        return True
    return True


class NativeService(ABC):
    """A JVM daemon that wirehose provisions, starts, checks and stops by itself."""

    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = settings.home / "run" / self.name
        self.pid_file = self.state_dir / "pid"
        self.log_file = self.state_dir / "console.log"

    # --- what each service defines ------------------------------------------------------------
    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    @abstractmethod
    def port(self) -> int: ...

    @abstractmethod
    def install(self) -> None:
        """Fetch and lay out the distribution; fast when it is already there."""

    @abstractmethod
    def command(self) -> tuple[list[str], dict[str, str], Path]:
        """argv, extra environment and working directory of the daemon."""

    @abstractmethod
    def healthy(self) -> bool:
        """True when the service answers real requests, not merely accepts connections."""

    def run_as(self) -> str | None:
        """User to run the daemon as, or None for the current user."""
        return None

    def logs_hint(self) -> str:
        return str(self.log_file)

    # --- the shared life cycle ----------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid, group=True) else None

    def status(self) -> ServiceState:
        pid = self.pid()
        healthy = self.healthy() if port_open("127.0.0.1", self.port) else False
        return ServiceState(self.name, pid is not None, healthy, pid, self.address)

    def up(self) -> ServiceState:
        """Start the service unless it is already healthy; wait until it is."""
        if self.healthy():
            pid = self.pid()
            log.info("service already up name=%s address=%s pid=%s", self.name, self.address, pid)
            return ServiceState(self.name, True, True, pid, self.address, "reused")
        if self.pid() is None:
            self.pid_file.unlink(missing_ok=True)
            if port_open("127.0.0.1", self.port):
                raise ServiceError(
                    f"port {self.port} is taken by another program, not a healthy {self.name}. "
                    f"Stop it, or choose another port with WIREHOSE_{self.name.upper()}_PORT, "
                    f"or point wirehose at it with an endpoint variable (see `wirehose settings`)."
                )
            self.install()
            self._spawn()
        self.wait_healthy()
        log.info("service up name=%s address=%s pid=%s", self.name, self.address, self.pid())
        return ServiceState(self.name, True, True, self.pid(), self.address, "started")

    def _spawn(self) -> None:
        argv, env, cwd = self.command()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        user = self.run_as()
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )
        atomic_write_text(self.pid_file, f"{process.pid}\n")
        log.info("service starting name=%s pid=%d log=%s", self.name, process.pid, self.logs_hint())

    def wait_healthy(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.settings.service_timeout)
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if self.pid() is None:
                raise ServiceError(
                    f"{self.name} exited during start-up; see its log: {self.logs_hint()}"
                    + self._log_tail()
                )
            time.sleep(0.5)
        raise ServiceTimeout(
            f"{self.name} did not become healthy within {timeout or self.settings.service_timeout:.0f}s; "
            f"see its log: {self.logs_hint()} (WIREHOSE_SERVICE_TIMEOUT raises the limit)"
            + self._log_tail()
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\nlast lines:\n  " + "\n  ".join(tail) if tail else ""

    def down(self, timeout: float = 60.0) -> bool:
        """Stop the service and every process it spawned. True when something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self._signal(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            log.warning("service ignored SIGTERM, killing name=%s pid=%d", self.name, pid)
            self._signal(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        self.pid_file.unlink(missing_ok=True)
        log.info("service stopped name=%s pid=%d", self.name, pid)
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would: for fault tests and for `down --force`."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)

    @staticmethod
    def _signal(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)

    @staticmethod
    def _wait_gone(pgid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pgid, group=True):
                return True
            # Reap our own child if it was spawned by this process, so it does not linger as a zombie.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pgid, os.WNOHANG)
            time.sleep(0.2)
        return False
