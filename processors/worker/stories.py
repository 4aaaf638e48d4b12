"""Story clustering as a Faust stage: one partition, state in a changelog-backed table.

Stories cut across every partition of the article topics (seed 000 and seed 003 are one story
whatever their keys), so the clusterer must see every article: the stage reads a one-partition
topic. That makes it the one serial stage of the pipeline; it is cheap (a candidate lookup in an
inverted index per article), but it bounds scale-out, and is named as such in the README.

Durability: each article's ``StoryFeatures`` (with its ``story_id``) is written to a table keyed
by ``article_id``; a restarted or rebalanced worker rebuilds everything else from the table on its
first event: the stories (their centroids are sums over members, so they come back the same) and
the inverted index. Document frequencies are rebuilt from the members in the window, so words
seen only in evicted articles are forgotten after a restart — a small drift in weighting, never a
wrong merge gate.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from typing import Any

import faust

from processors.pipeline import is_remark
from processors.stories.clustering import MemoryStoryState, StoryClusterer
from processors.stories.features import StoryFeatures
from processors.worker.base import faust_table, faust_topic, pass_remark, record_of
from wirehose.core.article import Article
from wirehose.core.errors import DropArticle
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

EVICT_EVERY = 500  # articles between two evictions of members older than the window


class TableStoryState(MemoryStoryState):
    """``MemoryStoryState`` that mirrors its members into a table (a dict in unit tests)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        super().__init__()
        self.table = table
        stored = [StoryFeatures.from_dict(v) for v in list(table.values()) if v is not None]
        # In filing order, as they came: the index reads the most recent stories first.
        for features in sorted(stored, key=lambda f: (f.when, f.article_id)):
            super().add(features)
        log.info("story state loaded members=%d stories=%d", len(self.members), len(self.stories))

    def add(self, features: StoryFeatures) -> None:
        if features.article_id in self.members:
            return
        super().add(features)
        self.table[features.article_id] = features.to_dict()

    def evict(self, before: datetime) -> int:
        old = [m.article_id for m in self.members.values() if m.when < before]
        count = super().evict(before)
        for article_id in old:
            self.table.pop(article_id, None)
        return count


def evict_old(state: MemoryStoryState, window: timedelta) -> int:
    """Forget members more than two windows behind the newest one.

    Event time, not the wall clock: a replayed archive from 2023 must cluster like live news.
    """
    if not state.members:
        return 0
    newest = max(member.when for member in state.members.values())
    evicted = state.evict(newest - 2 * window)
    log.debug("story state evicted count=%d", evicted)
    return evicted


def install_stories(app: faust.App, settings: Settings, *, sink: faust.TopicT) -> faust.TopicT:
    """Add the stories topic, table and agent; return the topic to send tagged articles to."""
    window = timedelta(hours=settings.story_window_hours)
    topic = faust_topic(app, settings, "stories")
    table = faust_table(app, settings, "story-members")

    @app.agent(topic, name="stories", concurrency=1)
    async def stories(stream: faust.StreamT[Any]) -> None:
        clusterer: StoryClusterer | None = None
        state: TableStoryState
        seen = 0
        async for event in stream.events():
            if clusterer is None:
                # Built on the first event: by then Faust has recovered the table from its changelog.
                state = TableStoryState(table)
                clusterer = StoryClusterer(state, window=window)
            if is_remark(event.message.headers):
                await pass_remark(sink, record_of(event))
                continue
            try:
                article = Article.from_internal(event.message.value)
            except DropArticle:  # validated upstream; a bad record here is a bug, not input
                log.exception(
                    "unreadable article in the stories stage offset=%s", event.message.offset
                )
                raise
            clustered = clusterer.process(article)
            await sink.send(key=clustered.article_id.encode(), value=clustered.to_bytes())
            seen += 1
            if seen % EVICT_EVERY == 0:
                evict_old(state, window)

    return topic
