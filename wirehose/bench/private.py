"""A private Kafka broker and Elasticsearch node, for fault tests and benchmarks.

The native services on 9092/9200 are shared by every engineer and test on the machine; a fault
test that stops them would break everyone else's run, and a benchmark on them would measure
everyone else's load. So both get their own pair: another ``WIREHOSE_HOME`` and free ports.

The downloads are not repeated: the private home links the shared cache's Kafka jars and
Elasticsearch zip (read-only use). Everything a node writes (config, data, logs, the compiled
analyzer plugin) stays in the private home, or for Elasticsearch run as root in its port-keyed
folder under /var/lib/wirehose, which ``stop`` removes. A run killed before ``stop`` (SIGKILL, a
lost session) leaves that folder behind, about 120 MB; it carries an owner marker, so the next
private start removes folders whose owner is gone. The shared node's folder has no marker and is
never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wirehose.services import ElasticsearchService, KafkaService
from wirehose.settings import Settings

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _link_cache(home: Path, cache: Path, settings: Settings) -> None:
    """Point the private home at the shared downloads instead of fetching them again."""
    (home / "dist").mkdir(parents=True, exist_ok=True)
    kafka_dist = cache / "dist" / f"kafka-{settings.kafka_version}"
    target = home / "dist" / kafka_dist.name
    if kafka_dist.is_dir() and not target.exists():
        target.symlink_to(kafka_dist, target_is_directory=True)
    downloads = cache / "downloads"
    if downloads.is_dir() and not (home / "downloads").exists():
        (home / "downloads").symlink_to(downloads, target_is_directory=True)


OWNER_MARKER = ".wirehose-private-owner"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_orphans(parent: Path) -> list[Path]:
    """Remove private node folders under ``parent`` whose owning process has exited."""
    removed = []
    for marker in parent.glob(f"*/{OWNER_MARKER}"):
        try:
            owner = int(marker.read_text().strip())
        except (OSError, ValueError):
            continue  # half-written by a starting run: not ours to judge
        if not _alive(owner):
            shutil.rmtree(marker.parent, ignore_errors=True)
            removed.append(marker.parent)
    if removed:
        log.info("removed folders of private nodes whose run is gone count=%d", len(removed))
    return removed


@dataclass
class PrivateServices:
    """One private broker and node; ``settings`` points at them (endpoints set, nothing managed)."""

    service_settings: Settings

    @property
    def settings(self) -> Settings:
        """Settings for clients and workers: explicit endpoints, so nothing starts anything."""
        s = self.service_settings
        return s.model_copy(
            update={"kafka_bootstrap": s.kafka_servers, "es_url": s.elasticsearch_url}
        )

    @property
    def kafka(self) -> KafkaService:
        return KafkaService(self.service_settings)

    @property
    def es(self) -> ElasticsearchService:
        return ElasticsearchService(self.service_settings)

    @property
    def _outside_home(self) -> bool:
        return self.es.runtime_root.parent != self.service_settings.home

    def start(self) -> None:
        es = self.es
        if self._outside_home:
            sweep_orphans(es.runtime_root.parent)
            es.runtime_root.mkdir(parents=True, exist_ok=True)
            (es.runtime_root / OWNER_MARKER).write_text(f"{os.getpid()}\n")
        self.kafka.up()
        es.up()

    def stop(self) -> None:
        """Stop both and remove what the node left outside the private home."""
        with contextlib.suppress(Exception):
            self.kafka.down(timeout=30)
        es = self.es
        with contextlib.suppress(Exception):
            es.down(timeout=30)
        if self._outside_home:  # root: the port-keyed /var/lib folder
            shutil.rmtree(es.runtime_root, ignore_errors=True)


@contextlib.contextmanager
def private_services(
    home: Path,
    *,
    cache: Path | None = None,
    heap: str = "384m",
    base: Settings | None = None,
) -> Iterator[PrivateServices]:
    """Start a private Kafka and Elasticsearch under ``home``; stop them on exit."""
    base = base or Settings()
    cache = cache or base.home
    home.mkdir(parents=True, exist_ok=True)
    service_settings = base.model_copy(
        update={
            "home": home,
            "kafka_bootstrap": None,
            "es_url": None,
            "kafka_port": free_port(),
            "kafka_controller_port": free_port(),
            "es_port": free_port(),
            "es_transport_port": free_port(),
            "kafka_heap": heap,
            "es_heap": heap,
            "service_timeout": max(base.service_timeout, 180.0),
        }
    )
    _link_cache(home, cache, service_settings)
    services = PrivateServices(service_settings)
    try:
        services.start()
        log.info(
            "private services up kafka=%s es=%s",
            service_settings.kafka_servers,
            service_settings.elasticsearch_url,
        )
        yield services
    finally:
        services.stop()
