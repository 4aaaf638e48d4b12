"""The worker's topics are known up front, table changelogs included (no broker needed)."""

from __future__ import annotations

from processors.app import changelog_topics, create_app
from wirehose.settings import Settings


def test_every_table_changelog_is_created_up_front_with_its_partition_count() -> None:
    settings = Settings(app_id="topics-test", topic_partitions=3)
    app = create_app(settings)
    declared = {
        table.changelog_topic.get_topic_name(): table.partitions or settings.topic_partitions
        for table in app.tables.values()
    }
    assert declared == changelog_topics(settings)
