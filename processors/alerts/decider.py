"""Once per story: which matches of an alert deliver, and what the state remembers.

State, per (alert, story) pair that has fired, under ``pair_key``: ``{"p": partition, "first":
article_id, "updates": [article_id, ...], "when": newest event time, "o": offset}`` (``first``
is ``None`` for a pair restored from an update alone). JSON values, reassigned on each change
so that a changelog-backed table records them. The same table holds each partition's mark
(``processors.alerts.recovery``), which is not a pair.

Deciding is two steps, as in the dedup decider: ``decide`` returns the delivery to send, and
``settle`` (called once the delivery is acknowledged by Kafka) records it. Recorded earlier, a
crash between the two would leave a pair marked as fired whose delivery never went out, and
the redelivered match would then deliver nothing: an alert lost for good. Recorded after, the
same crash leaves a delivery on the alerts topic that the state lacks; ``restore`` records it
when the worker reads the topic back on recovery (``processors.alerts.recovery``), so the
redelivered match finds its pair and delivers nothing.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from typing import Any

from processors.alerts.messages import NEW_STORY, STORY_UPDATE, Candidate, Delivery

log = logging.getLogger(__name__)

EXPIRE_EVERY = 1000  # decisions between two sweeps of forgotten pairs
ACTIVITY_STEP = timedelta(hours=1)  # a quiet pair's "when" moves in steps: fewer state writes


def pair_key(alert: str, story: str) -> str:
    return f"{alert}\x1f{story}"


class OncePerStory:
    """The first match of an (alert, story) pair is a ``new_story``; later matches are a
    ``story_update`` for alerts saved with ``updates``, nothing otherwise; a match seen before
    is nothing.

    ``keep`` is how long (event time) a pair is remembered after its newest match: a story that
    matches again after that is new again. It must be longer than a story stays open.
    """

    def __init__(self, state: MutableMapping[str, Any], *, keep: timedelta) -> None:
        self.state = state
        self.keep = keep
        self._unsettled: dict[str, tuple[str, dict[str, Any]]] = {}
        self._newest: dict[int, datetime] = {}
        self._decisions = 0

    def decide(
        self, candidate: Candidate, *, partition: int = 0, offset: int | None = None
    ) -> Delivery | None:
        """The delivery ``candidate`` fires, if any; ``settle`` it once it is in Kafka."""
        self._see(partition, candidate.when)
        key = pair_key(candidate.alert, candidate.story)
        current = self.state.get(key)
        article_id = candidate.article_id
        when = candidate.when.isoformat()
        if current is None:
            delivery = Delivery.of(candidate, NEW_STORY)
            value = {"p": partition, "first": article_id, "updates": [], "when": when, "o": offset}
        elif article_id == current["first"] or article_id in current["updates"]:
            return None  # delivered before: this match is a redelivery
        elif not candidate.updates:
            self._touch(key, current, candidate.when, offset)
            return None
        else:
            delivery = Delivery.of(candidate, STORY_UPDATE)
            value = {
                **current,
                "updates": [*current["updates"], article_id],
                "when": max(current["when"], when, key=datetime.fromisoformat),
                "o": offset,
            }
        self._unsettled[delivery.delivery_id] = (key, value)
        return delivery

    def settle(self, delivery: Delivery) -> None:
        """Record ``delivery`` as made: call once Kafka has acknowledged it."""
        unsettled = self._unsettled.pop(delivery.delivery_id, None)
        if unsettled is None:
            return
        key, value = unsettled
        self.state[key] = value

    def restore(self, delivery: Delivery, *, partition: int, offset: int | None) -> bool:
        """Record ``delivery``, found on the alerts topic, as made: the settle a crash lost
        (``processors.alerts.recovery``). ``False`` when the state has it already.

        The alerts topic is newer than the state it is restored into: a ``new_story`` replaces
        whatever the pair held (it can only have fired anew after being forgotten), and a
        ``story_update`` whose pair is gone records the update without its first article.
        """
        key = pair_key(delivery.alert, delivery.story_id)
        current = self.state.get(key)
        article_id = str(delivery.article["article_id"])
        when = str(delivery.article["date"])
        if current is not None and (
            article_id == current["first"] or article_id in current["updates"]
        ):
            return False
        if delivery.kind == NEW_STORY:
            value = {"p": partition, "first": article_id, "updates": [], "when": when, "o": offset}
        elif current is None:
            value = {
                "p": partition,
                "first": None,
                "updates": [article_id],
                "when": when,
                "o": offset,
            }
        else:
            value = {
                **current,
                "updates": [*current["updates"], article_id],
                "when": max(current["when"], when, key=datetime.fromisoformat),
                "o": offset,
            }
        self.state[key] = value
        return True

    def expire(self, partition: int, *, committed: int | None) -> int:
        """Forget this partition's pairs quiet for longer than ``keep``; how many went.

        Every ``EXPIRE_EVERY`` decisions it sweeps; otherwise it returns 0 at once. A pair whose
        latest match may still be read again (at or above the ``committed`` offset) stays:
        forgotten, the re-read match would fire as new.
        """
        self._decisions += 1
        newest = self._newest.get(partition)
        if self._decisions % EXPIRE_EVERY or newest is None:
            return 0
        cutoff = newest - self.keep
        gone = 0
        for key, value in list(self.state.items()):
            if (
                isinstance(value, dict)
                and value.get("p") == partition
                and datetime.fromisoformat(value["when"]) < cutoff
                and (value.get("o") is None or (committed is not None and value["o"] < committed))
            ):
                del self.state[key]
                gone += 1
        if gone:
            log.info("alert state expired partition=%d pairs=%d", partition, gone)
        return gone

    def _see(self, partition: int, when: datetime) -> None:
        newest = self._newest.get(partition)
        if newest is None or when > newest:
            self._newest[partition] = when

    def _touch(self, key: str, current: dict[str, Any], when: datetime, offset: int | None) -> None:
        """Keep a pair that keeps matching alive, without a write for every match."""
        if when - datetime.fromisoformat(current["when"]) >= ACTIVITY_STEP:
            self.state[key] = {**current, "when": when.isoformat(), "o": offset}
