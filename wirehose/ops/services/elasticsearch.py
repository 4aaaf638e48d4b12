"""A single-node Elasticsearch 8.x, from the zip distribution Maven Central publishes.

That distribution (``org.elasticsearch.distribution.integ-test-zip``) is the real server with
security available but without the optional modules; wirehose adds back the one it needs, the
``english`` analyzer, as a tiny plugin compiled here against the distribution's own jars.

Elasticsearch refuses to run as root. When wirehose runs as root it creates (or reuses) an
unprivileged system user (``WIREHOSE_ES_RUN_AS``), keeps the node's files in a folder that user
owns (``/var/lib/wirehose``, since root's home is closed to other users), and runs it as them.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from wirehose.core.errors import ServiceError
from wirehose.ops.services.runtime import NativeService, find_java_home, maven_fetch, port_open

log = logging.getLogger(__name__)

_PLUGIN_SOURCE = Path(__file__).parent / "elasticsearch_plugin" / "WirehoseAnalysisPlugin.java"
_ROOT_RUNTIME = Path("/var/lib/wirehose")

_DOWNLOAD_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.wirehose</groupId>
  <artifactId>elasticsearch-download</artifactId>
  <version>1</version>
</project>
"""


class ElasticsearchService(NativeService):
    name = "es"

    @property
    def port(self) -> int:
        return self.settings.es_port

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.settings.es_port}"

    # --- where things live ------------------------------------------------------------------
    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def runtime_root(self) -> Path:
        # Keyed by port so two nodes on one machine (a second WIREHOSE_HOME, the fault tests'
        # private node) never share files.
        if self.as_root:
            return _ROOT_RUNTIME / f"elasticsearch-{self.settings.es_port}"
        return self.settings.home / "elasticsearch"

    @property
    def es_home(self) -> Path:
        return self.runtime_root / f"elasticsearch-{self.settings.es_version}"

    @property
    def zip_path(self) -> Path:
        return self.settings.home / "downloads" / f"elasticsearch-{self.settings.es_version}.zip"

    @property
    def node_log(self) -> Path:
        return self.runtime_root / "logs" / "wirehose.log"

    def logs_hint(self) -> str:
        return f"{self.node_log} (and {self.log_file})"

    def run_as(self) -> str | None:
        return self.settings.es_run_as if self.as_root else None

    # --- provisioning -----------------------------------------------------------------------
    def install(self) -> None:
        if not self.zip_path.exists():
            self._download()
        if not (self.es_home / ".complete").exists():
            self._extract()
        self._install_plugin()
        self._write_config()
        if self.as_root:
            self._ensure_user()
            self._chown(self.runtime_root)

    def _download(self) -> None:
        version = self.settings.es_version
        log.info("downloading Elasticsearch version=%s (about 105 MB, once)", version)
        maven_fetch(
            _DOWNLOAD_POM,
            [
                "--strict-checksums",
                "dependency:copy",
                f"-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip",
                f"-DoutputDirectory={self.zip_path.parent}",
            ],
            workdir=self.settings.home / "dist" / "es-maven",
            repository=self.settings.home / "maven",
        )
        if not self.zip_path.exists():
            raise ServiceError(f"Maven finished but {self.zip_path} is missing")

    def _extract(self) -> None:
        target = self.es_home
        if target.exists():
            shutil.rmtree(target)
        self.runtime_root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(self.zip_path) as archive:
            archive.extractall(self.runtime_root)
            # zipfile drops the executable bit; the launcher scripts need it back.
            for info in archive.infolist():
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    (self.runtime_root / info.filename).chmod(mode)
        (target / ".complete").touch()

    def _install_plugin(self) -> None:
        plugin_dir = self.es_home / "plugins" / "wirehose-analysis"
        if (plugin_dir / "wirehose-analysis.jar").exists():
            return
        java_home = find_java_home(self.settings)
        javac = java_home / "bin" / "javac"
        if not javac.exists():
            log.warning(
                "no javac in %s: the native Elasticsearch will lack the `english` analyzer and "
                "the index falls back to the standard one; install a full JDK to fix",
                java_home,
            )
            return
        build = self.settings.home / "dist" / f"es-plugin-{self.settings.es_version}"
        classes = build / "classes"
        shutil.rmtree(build, ignore_errors=True)
        classes.mkdir(parents=True)
        result = subprocess.run(
            [
                str(javac),
                "--release",
                "17",
                "-cp",
                str(self.es_home / "lib" / "*"),
                "-d",
                str(classes),
                str(_PLUGIN_SOURCE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"compiling the analysis plugin failed:\n{result.stderr[-2000:]}")
        plugin_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(plugin_dir / "wirehose-analysis.jar", "w") as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        (plugin_dir / "plugin-descriptor.properties").write_text(
            "description=The english analyzer for the slim Elasticsearch distribution\n"
            f"version={self.settings.es_version}\n"
            "name=wirehose-analysis\n"
            "classname=io.wirehose.analysis.WirehoseAnalysisPlugin\n"
            "java.version=17\n"
            f"elasticsearch.version={self.settings.es_version}\n"
        )
        log.info("installed the english analyzer plugin into=%s", plugin_dir)

    def _write_config(self) -> None:
        s = self.settings
        for sub in ("data", "logs", "tmp"):
            (self.runtime_root / sub).mkdir(parents=True, exist_ok=True)
        config = {
            "cluster.name": "wirehose",
            "node.name": "wirehose-1",
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": s.es_port,
            "transport.port": s.es_transport_port,
            "path.data": str(self.runtime_root / "data"),
            "path.logs": str(self.runtime_root / "logs"),
            # A development node on loopback: no TLS, no users. Point WIREHOSE_ES_URL at a
            # secured cluster for anything shared.
            "xpack.security.enabled": False,
            # A nearly full laptop or CI disk must not turn every index read-only mid-test.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
        }
        (self.es_home / "config" / "elasticsearch.yml").write_text(
            "".join(f"{key}: {json.dumps(value)}\n" for key, value in config.items())
        )
        heap = s.es_heap
        (self.es_home / "config" / "jvm.options.d" / "wirehose.options").write_text(
            f"-Xms{heap}\n-Xmx{heap}\n"
        )

    def _ensure_user(self) -> None:
        user = self.settings.es_run_as
        try:
            pwd.getpwnam(user)
            return
        except KeyError:
            pass
        log.info("creating unprivileged user for Elasticsearch user=%s", user)
        result = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"Elasticsearch refuses to run as root and creating user {user!r} failed: "
                f"{result.stderr.strip()}. Create it yourself or set WIREHOSE_ES_RUN_AS to an "
                "existing unprivileged user."
            )

    def _chown(self, root: Path) -> None:
        entry = pwd.getpwnam(self.settings.es_run_as)
        _ROOT_RUNTIME.mkdir(parents=True, exist_ok=True)
        os.chown(_ROOT_RUNTIME, entry.pw_uid, entry.pw_gid)
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            stat = path.stat()
            if stat.st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        java_home = find_java_home(self.settings)
        env = {
            "ES_JAVA_HOME": str(java_home),
            "ES_TMPDIR": str(self.runtime_root / "tmp"),
            "ES_PATH_CONF": str(self.es_home / "config"),
        }
        if self.as_root:
            env["HOME"] = str(self.runtime_root)
        argv = [
            str(self.es_home / "bin" / "elasticsearch"),
            "-p",
            str(self.runtime_root / "es.pid"),
        ]
        return argv, env, self.es_home

    # --- health -------------------------------------------------------------------------------
    def health(self) -> dict[str, object] | None:
        if not port_open("127.0.0.1", self.settings.es_port):
            return None
        try:
            url = f"{self.address}/_cluster/health?timeout=2s"
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback URL
                payload: dict[str, object] = json.load(response)
                return payload
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def healthy(self) -> bool:
        health = self.health()
        return health is not None and health.get("status") in {"green", "yellow"}
