"""A private Kafka broker and Elasticsearch node, for fault tests and benchmarks.

The native services on 9092/9200 are shared by every engineer and test on the machine; a fault
test that stops them would break everyone else's run, and a benchmark on them would measure
everyone else's load. So both get their own pair: another ``WIREHOSE_HOME`` and free ports.

The downloads are not repeated: the private home links the shared cache's Kafka jars and
Elasticsearch zip (read-only use). Everything a node writes (config, data, logs, the compiled
analyzer plugin) stays in the private home, or for Elasticsearch run as root in its port-keyed
folder under /var/lib/wirehose, which ``stop`` removes. A run killed before ``stop`` leaves both
services running and its folders behind; every run leaves a record (``RunRecord``), so the next
private start cleans up after runs whose owner is gone.

``private_kafka`` starts a broker alone, optionally with a ``SecuredListener`` (TLS, SASL) beside
its PLAINTEXT one: the shared broker's configuration is never touched to test a secured one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wirehose.core.settings import Settings
from wirehose.ops.services import ElasticsearchService, KafkaService
from wirehose.ops.services.kafka import SecuredListener
from wirehose.ops.services.runtime import alive, free_port

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class RunRecord:
    """What a private run left where the next one can find it: who owns it, where its files are.

    Records live in the shared cache (``<WIREHOSE_HOME>/run/private``), written by the owner
    itself: never in the node's own folder, which as root belongs to the user Elasticsearch runs
    as, and which that user could rewrite to name any folder for root to delete.
    """

    owner: int  # the process that started the services (the bench, a fault test session)
    home: Path  # the private WIREHOSE_HOME: both pid files, Kafka's data, logs
    es_root: Path  # the node's folder: inside ``home``, or port-keyed under /var/lib as root

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"owner": self.owner, "home": str(self.home), "es_root": str(self.es_root)}
        path.write_text(json.dumps(data) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunRecord | None:
        try:
            data = json.loads(path.read_text())
            return cls(int(data["owner"]), Path(data["home"]), Path(data["es_root"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # half-written by a run that is starting: not ours to judge


def sweep_orphans(records: Path, base: Settings) -> list[RunRecord]:
    """Clean up after private runs whose owning process has exited.

    Killed outright (SIGKILL, a lost session), a run leaves its broker and node running (they
    have sessions of their own) and its folders behind, about 120 MB for the node alone. Its
    services are stopped through the pid files in its home, then both folders are removed.
    """
    swept = []
    for path in sorted(records.glob("*.json")):
        record = RunRecord.read(path)
        if record is None or alive(record.owner):
            continue
        orphaned = base.model_copy(update={"home": record.home})
        for service in (KafkaService(orphaned), ElasticsearchService(orphaned)):
            with contextlib.suppress(Exception):
                if service.down(timeout=30):
                    log.warning(
                        "stopped a service a killed run left running name=%s home=%s",
                        service.name,
                        record.home,
                    )
        for folder in (record.es_root, record.home):
            shutil.rmtree(folder, ignore_errors=True)
        path.unlink(missing_ok=True)
        swept.append(record)
    if swept:
        log.info("cleaned up after private runs that were killed count=%d", len(swept))
    return swept


@dataclass
class PrivateServices:
    """One private broker and node; ``settings`` points at them (endpoints set, nothing managed)."""

    service_settings: Settings
    records: Path  # where run records live: the shared cache's run/private folder

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
    def _record_path(self) -> Path:
        return self.records / f"{self.service_settings.es_port}.json"

    def start(self) -> None:
        sweep_orphans(self.records, self.service_settings)
        es = self.es
        RunRecord(os.getpid(), self.service_settings.home, es.runtime_root).write(self._record_path)
        self.kafka.up()
        es.up()

    def stop(self) -> None:
        """Stop both and remove what the node left outside the private home."""
        with contextlib.suppress(Exception):
            self.kafka.down(timeout=30)
        es = self.es
        with contextlib.suppress(Exception):
            es.down(timeout=30)
        if es.runtime_root.parent != self.service_settings.home:  # root: port-keyed /var/lib
            shutil.rmtree(es.runtime_root, ignore_errors=True)
        self._record_path.unlink(missing_ok=True)


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
    services = PrivateServices(service_settings, records=cache / "run" / "private")
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


@contextlib.contextmanager
def private_kafka(
    home: Path,
    *,
    listener: SecuredListener | None = None,
    cache: Path | None = None,
    heap: str = "384m",
    base: Settings | None = None,
) -> Iterator[KafkaService]:
    """Start a private Kafka broker alone under ``home``, with ``listener`` beside its PLAINTEXT
    one; stop it on exit. ``service.settings.kafka_servers`` is the PLAINTEXT address."""
    base = base or Settings()
    cache = cache or base.home
    home.mkdir(parents=True, exist_ok=True)
    service_settings = base.model_copy(
        update={
            "home": home,
            "kafka_bootstrap": None,
            "kafka_port": free_port(),
            "kafka_controller_port": free_port(),
            "kafka_heap": heap,
            "service_timeout": max(base.service_timeout, 180.0),
        }
    )
    _link_cache(home, cache, service_settings)
    service = KafkaService(service_settings, listener=listener)
    records = cache / "run" / "private"
    sweep_orphans(records, service_settings)
    # No node: the record's node folder is the home itself, removed with it by a sweep.
    record = records / f"kafka-{service_settings.kafka_port}.json"
    RunRecord(os.getpid(), home, home).write(record)
    try:
        service.up()
        log.info(
            "private kafka up plaintext=%s secured=%s",
            service_settings.kafka_servers,
            listener.address if listener is not None else "-",
        )
        yield service
    finally:
        with contextlib.suppress(Exception):
            service.down(timeout=30)
        record.unlink(missing_ok=True)
