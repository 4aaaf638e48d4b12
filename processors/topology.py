"""The worker's topics and tables, declared once: names, keys, partition counts, changelogs.

::

    {topic_raw} ─[validate]─> articles ─[dedup-sign]─┬─> dedup-bands ─[dedup-band]─┐
                   (same partition: one origin each) └─> dedup-verdicts <──────────┘
                                                               │ [dedup-decide]
                                                               ▼
                  {topic_enriched} <─[stories]─ stories <─[tag]─ deduped
                         ├──────────────────────────┐
                      [index] ──> Elasticsearch   [alerts-match] ──> alert-matches (by story)
                                                                         │ [alerts-decide]
                      rejects ──> {topic_dead_letter}                    ▼ once per story
                                                                    {topic_alerts}

Everything else - the Faust topics and tables the agents use, the topics ``wirehose worker``
creates before it starts, what ``wirehose status`` and the tests read - is derived from
``TOPICS`` and ``TABLES`` here, so a new stage changes one list and nothing can drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wirehose.core.clients import ensure_topics, kafka_access
from wirehose.core.settings import Settings

Width = Literal["all", "one"]  # WIREHOSE_TOPIC_PARTITIONS partitions, or a single one


@dataclass(frozen=True)
class TopicSpec:
    """One topic: ``setting`` names a user-facing topic; otherwise ``{app_id}-{suffix}``."""

    role: str
    key: str  # what the records are keyed by (documentation, and the reason for the width)
    width: Width = "all"
    setting: str | None = None  # a Settings attribute holding the topic's name
    read: bool = True  # some agent reads it (the dead-letter topic is only written)

    def name(self, settings: Settings) -> str:
        if self.setting is not None:
            return str(getattr(settings, self.setting))
        return f"{settings.app_id}-{self.role}"

    def partitions(self, settings: Settings) -> int:
        return 1 if self.width == "one" else settings.topic_partitions


@dataclass(frozen=True)
class TableSpec:
    """One changelog-backed Faust table; its changelog is ``{app_id}-{name}-changelog``."""

    name: str
    key: str
    width: Width = "all"
    help: str = ""
    # "json": JSON keys and values; "binary": keys and values are bytes the stage encodes itself
    # (the dedup tables' compact records, processors.dedup.wire)
    encoding: Literal["json", "binary"] = "json"

    def changelog(self, settings: Settings) -> str:
        return f"{settings.app_id}-{self.name}-changelog"

    def partitions(self, settings: Settings) -> int:
        return 1 if self.width == "one" else settings.topic_partitions


TOPICS = (
    TopicSpec("raw", "article_id (any producer)", setting="topic_raw"),
    TopicSpec("articles", "article_id, in the partition of its raw record: one origin each"),
    TopicSpec("dedup-bands", "none (the probe names its article): the LSH bucket's partition"),
    TopicSpec("dedup-verdicts", "article_id: an article, its partials, backfills"),
    TopicSpec("deduped", "article_id; re-marks follow their article"),
    TopicSpec("stories", "article_id; one partition, every article meets every story", "one"),
    TopicSpec("enriched", "article_id", setting="topic_enriched"),
    TopicSpec(
        "dead-letters", "article_id or the record's key", setting="topic_dead_letter", read=False
    ),
    TopicSpec("alert-matches", "story key: every match of one story meets one alert state"),
    TopicSpec(
        "alerts",
        "delivery id, in the partition of its story's matches (read back after a crash)",
        setting="topic_alerts",
        read=False,
    ),
)

TABLES = (
    TableSpec(
        "dedup-entries", "bands partition:article_id", help="sketch, buckets", encoding="binary"
    ),
    TableSpec(
        "dedup-decisions", "article_id", help="pending partials, then the mark", encoding="binary"
    ),
    TableSpec("story-members", "article_id", "one", help="StoryFeatures in the story window"),
    TableSpec(
        "alert-fired",
        "alert and story key; per partition, how far the alerts topic is recorded",
        help="which alerts fired for which stories",
    ),
)


def topic(role: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.role == role:
            return spec
    raise KeyError(role)


def table(name: str) -> TableSpec:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def topic_names(settings: Settings, *, read_only: bool = False) -> dict[str, int]:
    """Every topic the worker reads or writes (or only reads), with its partition count."""
    return {
        spec.name(settings): spec.partitions(settings)
        for spec in TOPICS
        if spec.read or not read_only
    }


def changelog_names(settings: Settings) -> dict[str, int]:
    """Every table's changelog topic (Faust's naming), with its partition count."""
    return {spec.changelog(settings): spec.partitions(settings) for spec in TABLES}


def create_topics(settings: Settings) -> None:
    """Create every topic and changelog before a worker starts.

    A topic Faust declares itself can be missing from the group's first assignment when several
    workers start at once, and then nobody consumes it; two workers starting against a new
    broker each asked Faust to create a changelog, and one crashed on a changelog it saw with
    0 partitions.
    """
    access = kafka_access(settings)
    for topics, configs in (
        (topic_names(settings), None),
        (changelog_names(settings), {"cleanup.policy": "compact"}),  # as Faust creates them
    ):
        by_count: dict[int, list[str]] = {}
        for name, count in topics.items():
            by_count.setdefault(count, []).append(name)
        for count, names in sorted(by_count.items()):
            ensure_topics(access, names, partitions=count, configs=configs)
