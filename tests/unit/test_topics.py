"""The worker's topics and tables come from one declaration (no broker needed)."""

from __future__ import annotations

from processors.topology import TABLES, TOPICS, changelog_names, topic_names
from processors.worker.app import create_app
from wirehose.core.settings import Settings


def test_the_app_uses_exactly_the_declared_tables_and_changelogs() -> None:
    settings = Settings(app_id="topics-test", topic_partitions=3)
    app = create_app(settings)
    declared = {
        table.changelog_topic.get_topic_name(): table.partitions or settings.topic_partitions
        for table in app.tables.values()
    }
    assert declared == changelog_names(settings)
    assert len(declared) == len(TABLES)


def test_the_app_reads_and_writes_exactly_the_declared_topics() -> None:
    settings = Settings(app_id="topics-test", topic_partitions=3)
    app = create_app(settings)
    used = {
        name
        for agent in app.agents.values()
        for name in agent.channel.topics  # type: ignore[attr-defined]
    }
    declared = topic_names(settings)
    # Every topic an agent reads is declared, and every declared topic but those only written
    # (the dead letters, the alert deliveries) is read by some agent.
    assert used <= set(declared)
    assert set(declared) - used == {settings.topic_dead_letter, settings.topic_alerts}
    assert declared[f"{settings.app_id}-stories"] == 1
    assert {n for n, count in declared.items() if count == 3} == set(declared) - {
        f"{settings.app_id}-stories"
    }
    assert len(declared) == len(TOPICS)
