"""Dead letters: a rejected record, why it was rejected, and the exact bytes, on their own topic.

Nothing that enters wirehose is silently dropped. A step that cannot use a record raises
``DropArticle(reason)``; the agent turns it into a ``DeadLetter`` and publishes it to
``WIREHOSE_TOPIC_DEAD_LETTER``, keyed like the original, then moves on. The original bytes travel
base64-encoded, so ``wirehose deadletters replay`` can re-send them unchanged once the cause
is fixed.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from wirehose.errors import DropArticle

log = logging.getLogger(__name__)

DEAD_LETTER_VERSION = 1


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record with its provenance."""

    reason: str
    detail: str
    step: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    article_id: str | None = None
    original_b64: str = ""
    failed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    version: int = DEAD_LETTER_VERSION

    @classmethod
    def from_drop(
        cls,
        drop: DropArticle,
        *,
        step: str,
        original: bytes | None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | str | None = None,
        article_id: str | None = None,
    ) -> DeadLetter:
        return cls(
            reason=drop.reason,
            detail=drop.detail[:2000],
            step=step,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
            article_id=article_id,
            original_b64=base64.b64encode(original or b"").decode("ascii"),
        )

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> DeadLetter:
        payload = json.loads(data)
        return cls(**payload)

    def log(self) -> None:
        log.warning(
            "dead-lettered record reason=%s step=%s topic=%s partition=%s offset=%s id=%s detail=%s",
            self.reason,
            self.step,
            self.topic,
            self.partition,
            self.offset,
            self.article_id or self.key,
            self.detail[:200],
        )
