"""Dead letters: a rejected record, why it was rejected, and the exact bytes, on their own topic.

Nothing that enters wirehose is silently dropped. A step that cannot use a record raises
``DropArticle(reason)``; the agent turns it into a ``DeadLetter`` and publishes it to
``WIREHOSE_TOPIC_DEAD_LETTER``, keyed like the original, then moves on. The original bytes travel
base64-encoded, so ``wirehose deadletters replay`` can re-send them unchanged once the cause
is fixed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from wirehose.core.errors import DropArticle

log = logging.getLogger(__name__)

DEAD_LETTER_VERSION = 1

# The original bytes travel base64-encoded (4/3 larger) inside one Kafka message. Past this size
# only their length and hash are kept: a record that large is rejected as oversized anyway, and
# carrying it would make the dead letter itself too large to publish.
MAX_ORIGINAL_BYTES = 4 * 1024 * 1024


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
    original_size: int = 0
    original_sha256: str = ""
    original_truncated: bool = False
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
        data = original or b""
        kept = data if len(data) <= MAX_ORIGINAL_BYTES else b""
        return cls(
            reason=drop.reason,
            detail=drop.detail[:2000],
            step=step,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
            article_id=article_id,
            original_b64=base64.b64encode(kept).decode("ascii"),
            original_size=len(data),
            original_sha256=hashlib.sha256(data).hexdigest(),
            original_truncated=len(kept) < len(data),
        )

    @property
    def original(self) -> bytes:
        """The rejected bytes; empty when they were over ``MAX_ORIGINAL_BYTES`` (see ``original_truncated``)."""
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
