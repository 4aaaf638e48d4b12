"""The worker's operational endpoints on its Faust web server: ``/metrics``, ``/live``, ``/ready``.

- ``/live`` answers 200 while the process and its event loop run (the answer itself is served by
  the loop, so a blocked loop times out) and the app has not crashed. A liveness probe that
  failed on a dependency outage would restart healthy workers in a loop, so it checks nothing
  outside the process.
- ``/ready`` answers 200 only when Kafka and Elasticsearch both answer *and* this worker's
  consumer owns partitions; otherwise 503 with a JSON ``reason``. A worker without partitions
  (more workers than partitions, or mid-rebalance) does no work, and saying so lets an
  orchestrator or ``wirehose status`` tell "up" from "useful". docker-compose's healthcheck
  calls this path.
- ``/metrics`` is the Prometheus text exposition of ``wirehose.core.metrics``. Consumer lag for the
  partitions this worker owns is refreshed by a timer every ``WIREHOSE_METRICS_LAG_INTERVAL``
  seconds, computed like ``wirehose status`` does (``wirehose.core.offsets``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust

from wirehose.core import metrics
from wirehose.core.clients import es_client, kafka_access
from wirehose.core.offsets import KafkaOffsets, group_lag
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None
    checks: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"ready": self.ready, "reason": self.reason, "checks": self.checks}


def assess(*, kafka: bool, elasticsearch: bool, partitions: int) -> Readiness:
    """Ready only with both dependencies answering and at least one partition owned."""
    checks = {"kafka": kafka, "elasticsearch": elasticsearch, "assigned_partitions": partitions}
    missing = [name for name in ("kafka", "elasticsearch") if not checks[name]]
    if missing:
        return Readiness(False, " and ".join(missing) + " unreachable", checks)
    if partitions == 0:
        return Readiness(False, "no partitions assigned to this worker (yet)", checks)
    return Readiness(True, None, checks)


class DependencyProbe:
    """Asks Kafka and Elasticsearch whether they answer, each within ``PROBE_TIMEOUT``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._es: Any = None

    async def kafka(self) -> bool:
        for server in self.settings.kafka_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host or "127.0.0.1", int(port)), PROBE_TIMEOUT
                )
            except (OSError, ValueError, TimeoutError):
                continue
            writer.close()
            return True
        return False

    async def elasticsearch(self) -> bool:
        if self._es is None:
            self._es = es_client(self.settings, request_timeout=PROBE_TIMEOUT)
        client = self._es.options(request_timeout=PROBE_TIMEOUT, max_retries=0)
        loop = asyncio.get_running_loop()
        # Cluster health, not ping() or info(): the slim native node has no handler for "/".
        try:
            await loop.run_in_executor(None, client.cluster.health)
        except Exception:  # any failure to answer is "unreachable"; the reason is in the log
            log.debug("elasticsearch probe failed", exc_info=True)
            return False
        return True


def assigned_partitions(app: faust.App) -> int:
    try:
        return len(app.consumer.assignment())
    except Exception:  # the consumer is not started yet, or is being rebuilt
        return 0


class Probe(Protocol):
    async def kafka(self) -> bool: ...

    async def elasticsearch(self) -> bool: ...


def agent_steps(app: faust.App) -> dict[str, str]:
    """Topic -> short name of the agent consuming it, the ``step`` label of its lag."""
    steps = {}
    for agent in app.agents.values():
        for topic in getattr(agent.channel, "topics", ()):
            steps[str(topic)] = str(agent.name).rsplit(".", 1)[-1]
    return steps


def install_health(app: faust.App, settings: Settings, *, probe: Probe | None = None) -> None:
    """Add ``/metrics``, ``/live`` and ``/ready`` to ``app``'s web server, and the lag timer."""
    dependencies: Probe = probe or DependencyProbe(settings)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        body, content_type = metrics.exposition()
        return web.bytes(body, headers={"Content-Type": content_type})

    @app.page("/live")
    async def live_page(web: Any, request: Any) -> Any:
        if getattr(app, "crashed", False):
            return web.json({"live": False, "reason": "the app crashed"}, status=503)
        return web.json({"live": True})

    @app.page("/ready")
    async def ready_page(web: Any, request: Any) -> Any:
        kafka, es = await asyncio.gather(
            dependencies.kafka(), dependencies.elasticsearch(), return_exceptions=True
        )  # a probe that raised counts as unreachable
        readiness = assess(
            kafka=kafka is True, elasticsearch=es is True, partitions=assigned_partitions(app)
        )
        return web.json(readiness.body(), status=200 if readiness.ready else 503)

    lag = LagGauge(settings)

    @app.timer(interval=settings.metrics_lag_interval, name="wirehose-consumer-lag")
    async def refresh_lag() -> None:
        lag.steps.update(agent_steps(app))
        try:
            # Only topics an agent consumes: Faust reads changelogs for table recovery without
            # ever committing, so "lag" there would be a meaningless, ever-growing number.
            owned = {
                (tp.topic, tp.partition)
                for tp in app.consumer.assignment()
                if tp.topic in lag.steps
            }
        except Exception:  # not started yet: nothing owned, nothing to report
            owned = set()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, lag.refresh, owned)
        except Exception as exc:  # a lag refresh must never take the worker down
            log.warning("consumer lag refresh failed error=%s", exc)


class LagGauge:
    """Keeps ``wirehose_consumer_lag_messages`` equal to the lag of the partitions owned."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.steps: dict[str, str] = {}
        self._offsets: Any = None
        self._shown: set[tuple[str, str, str]] = set()

    def refresh(self, owned: set[tuple[str, int]]) -> None:

        if self._offsets is None:
            self._offsets = KafkaOffsets(kafka_access(self.settings))
        committed = self._offsets.group_offsets(self.settings.app_id)
        shown: set[tuple[str, str, str]] = set()
        for topic in sorted({topic for topic, _ in owned}):
            offsets = self._offsets.topic_offsets(topic)
            if offsets is None:
                continue
            step = self.steps[topic]
            for row in group_lag(offsets, committed):
                if (topic, row.partition) in owned:
                    labels = (step, topic, str(row.partition))
                    metrics.CONSUMER_LAG.labels(*labels).set(row.lag)
                    shown.add(labels)
        for labels in self._shown - shown:  # partitions this worker lost in a rebalance
            metrics.CONSUMER_LAG.remove(*labels)
        self._shown = shown
