"""A single-node Apache Kafka broker in KRaft mode (no ZooKeeper), built from Maven Central jars.

Kafka 3.9 is pinned: both kafka-python and aiokafka (inside faust-streaming) speak its protocol
versions fully. The broker's jars come from ``org.apache.kafka:kafka_2.13`` and its runtime
dependencies, copied once by Maven into the cache; the broker then runs straight from them
(``kafka.Kafka``), exactly as the Apache tarball's scripts would.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from wirehose.core.clients import kafka_admin
from wirehose.core.errors import ServiceError
from wirehose.ops.services.runtime import NativeService, find_java_home, maven_fetch, port_open

log = logging.getLogger(__name__)

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.wirehose</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
"""


class KafkaService(NativeService):
    name = "kafka"

    @property
    def port(self) -> int:
        return self.settings.kafka_port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def dist_dir(self) -> Path:
        return self.settings.home / "dist" / f"kafka-{self.settings.kafka_version}"

    @property
    def data_dir(self) -> Path:
        return self.settings.home / "data" / "kafka"

    @property
    def server_log(self) -> Path:
        return self.state_dir / "server.log"

    def logs_hint(self) -> str:
        return f"{self.server_log} (and {self.log_file})"

    def install(self) -> None:
        libs = self.dist_dir / "libs"
        marker = self.dist_dir / ".complete"
        if marker.exists():
            return
        log.info("downloading Kafka version=%s into=%s", self.settings.kafka_version, libs)
        maven_fetch(
            _POM.format(version=self.settings.kafka_version),
            [
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
                "-DincludeScope=runtime",
            ],
            workdir=self.dist_dir / "maven",
            repository=self.settings.home / "maven",
        )
        marker.touch()

    def _write_config(self) -> Path:
        config = self.state_dir / "server.properties"
        s = self.settings
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": str(s.topic_partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # A lone broker has nobody to wait for; rebalances in tests start at once.
            "group.initial.rebalance.delay.ms": "0",
            # Tests create and delete many short-lived topics.
            "delete.topic.enable": "true",
            "auto.create.topics.enable": "true",
            "message.max.bytes": str(32 * 1024 * 1024),
            "replica.fetch.max.bytes": str(32 * 1024 * 1024),
            "log.retention.hours": "168",
        }
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("".join(f"{key}={value}\n" for key, value in props.items()))
        (self.state_dir / "log4j.properties").write_text(_LOG4J.format(log=self.server_log))
        return config

    def _java(self) -> tuple[str, list[str]]:
        java = str(find_java_home(self.settings) / "bin" / "java")
        classpath = str(self.dist_dir / "libs" / "*")
        log4j = f"-Dlog4j.configuration=file:{self.state_dir / 'log4j.properties'}"
        return java, ["-cp", classpath, log4j]

    def _format_storage(self, config: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        java, base = self._java()
        cmd = [
            java,
            *base,
            "kafka.tools.StorageTool",
            "format",
            # One argument, "--cluster-id=<id>": a random base64 id can start with "-", and
            # argparse would then read it as an option (it did, once in 64 formats).
            f"--cluster-id={cluster_id}",
            "-c",
            str(config),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
        log.info("formatted Kafka storage cluster_id=%s dir=%s", cluster_id, self.data_dir)

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        config = self._write_config()
        self._format_storage(config)
        java, base = self._java()
        heap = self.settings.kafka_heap
        argv = [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            *base,
            "kafka.Kafka",
            str(config),
        ]
        return argv, {}, self.state_dir

    def healthy(self) -> bool:
        """A metadata request answered by a broker that is also its own controller."""
        if not port_open("127.0.0.1", self.settings.kafka_port):
            return False
        from kafka.errors import KafkaError

        try:
            admin = kafka_admin(
                self.address,
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                client_id="wirehose-health",
            )
        except (KafkaError, OSError, ValueError):
            return False
        try:
            cluster = admin.describe_cluster()
            return bool(cluster.get("brokers")) and cluster.get("controller_id") is not None
        except (KafkaError, OSError, ValueError):
            return False
        finally:
            admin.close()
