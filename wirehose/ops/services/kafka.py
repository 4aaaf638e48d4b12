"""A single-node Apache Kafka broker in KRaft mode (no ZooKeeper), built from Maven Central jars.

Kafka 3.9 is pinned: both kafka-python and aiokafka (inside faust-streaming) speak its protocol
versions fully. The broker's jars come from ``org.apache.kafka:kafka_2.13`` and its runtime
dependencies, copied once by Maven into the cache; the broker then runs straight from them
(``kafka.Kafka``), exactly as the Apache tarball's scripts would.

The broker listens in PLAINTEXT on 127.0.0.1. A ``SecuredListener`` adds a second client
listener that speaks TLS, SASL or both, for tests of wirehose against a secured broker; the
PLAINTEXT listener stays, for the broker's own health check and its controller.
"""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from wirehose.core.clients import KafkaAccess, kafka_admin
from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings
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


_SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_TLS = ("SSL", "SASL_SSL")
_SASL = ("SASL_SSL", "SASL_PLAINTEXT")
# What the storage tool's --add-scram and a JAAS line can carry without quoting.
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class SecuredListener:
    """A client listener beside PLAINTEXT that speaks TLS (``SSL``), SASL over TLS
    (``SASL_SSL``) or SASL alone (``SASL_PLAINTEXT``), on 127.0.0.1.

    ``keystore`` is a PKCS12 file with the broker's key and certificate chain (its password
    also opens the key); with ``truststore`` (PKCS12 of CAs) the listener requires client
    certificates signed by them. ``users`` are ``(name, password)`` logins, created for each
    SASL mechanism the listener enables: SCRAM credentials when the storage is formatted (KRaft
    keeps them in its metadata, so a data folder formatted before has none), PLAIN logins in
    the listener's JAAS configuration.
    """

    port: int
    protocol: str = "SASL_SSL"
    keystore: Path | None = None
    keystore_password: str = ""
    truststore: Path | None = None
    truststore_password: str = ""
    mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
    users: tuple[tuple[str, str], ...] = ()
    name: str = "SECURED"

    def __post_init__(self) -> None:
        if self.protocol not in _TLS + _SASL:
            raise ValueError(
                f"protocol must be SSL, SASL_SSL or SASL_PLAINTEXT, not {self.protocol}"
            )
        if self.protocol in _TLS and self.keystore is None:
            raise ValueError(f"a {self.protocol} listener needs a keystore")
        unknown = set(self.mechanisms) - {*_SCRAM, "PLAIN"}
        if unknown:
            raise ValueError(f"unsupported SASL mechanisms: {sorted(unknown)}")
        for user, password in self.users:
            if not (_PLAIN_WORD.match(user) and _PLAIN_WORD.match(password)):
                raise ValueError("user names and passwords: letters, digits and _.@- only")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def properties(self) -> dict[str, str]:
        """This listener's own broker settings (``listener.name.<name>.*``); ``KafkaService``
        adds the listener itself to ``listeners`` and the protocol map."""
        prefix = f"listener.name.{self.name.lower()}."
        props: dict[str, str] = {}
        if self.protocol in _TLS:
            assert self.keystore is not None  # checked in __post_init__
            props[prefix + "ssl.keystore.type"] = "PKCS12"
            props[prefix + "ssl.keystore.location"] = str(self.keystore)
            props[prefix + "ssl.keystore.password"] = self.keystore_password
            props[prefix + "ssl.key.password"] = self.keystore_password
            if self.truststore is not None:
                props[prefix + "ssl.truststore.type"] = "PKCS12"
                props[prefix + "ssl.truststore.location"] = str(self.truststore)
                props[prefix + "ssl.truststore.password"] = self.truststore_password
                props[prefix + "ssl.client.auth"] = "required"
        if self.protocol in _SASL:
            props[prefix + "sasl.enabled.mechanisms"] = ",".join(self.mechanisms)
            for mechanism in self.mechanisms:
                if mechanism in _SCRAM:
                    module = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                else:
                    logins = "".join(f' user_{u}="{pw}"' for u, pw in self.users)
                    module = (
                        f"org.apache.kafka.common.security.plain.PlainLoginModule required{logins};"
                    )
                props[f"{prefix}{mechanism.lower()}.sasl.jaas.config"] = module
        return props

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create the SCRAM credentials."""
        if self.protocol not in _SASL:
            return []
        return [
            argument
            for mechanism in self.mechanisms
            if mechanism in _SCRAM
            for user, password in self.users
            for argument in ("--add-scram", f"{mechanism}=[name={user},password={password}]")
        ]


class KafkaService(NativeService):
    name = "kafka"

    def __init__(self, settings: Settings, *, listener: SecuredListener | None = None) -> None:
        super().__init__(settings)
        self.listener = listener

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
        if self.listener is not None:
            extra = self.listener
            props["listeners"] += f",{extra.name}://{extra.address}"
            props["advertised.listeners"] += f",{extra.name}://{extra.address}"
            props["listener.security.protocol.map"] += f",{extra.name}:{extra.protocol}"
            props.update(extra.properties())
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
            *(self.listener.scram_arguments() if self.listener is not None else []),
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
        """A metadata request answered by a broker that is also its own controller (and the
        secured listener, when there is one, accepting connections)."""
        if not port_open("127.0.0.1", self.settings.kafka_port):
            return False
        if self.listener is not None and not port_open("127.0.0.1", self.listener.port):
            return False
        from kafka.errors import KafkaError

        try:
            # The PLAINTEXT listener this service configured itself: no TLS, no login, whatever
            # WIREHOSE_KAFKA_SECURITY_PROTOCOL says about the brokers clients use.
            admin = kafka_admin(
                KafkaAccess(self.address),
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                client_id="wirehose-health",
            )
        except (KafkaError, ServiceError, OSError, ValueError):
            return False
        try:
            cluster = admin.describe_cluster()
            return bool(cluster.get("brokers")) and cluster.get("controller_id") is not None
        except (KafkaError, OSError, ValueError):
            return False
        finally:
            admin.close()
