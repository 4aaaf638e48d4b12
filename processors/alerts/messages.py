"""What the alert stages send: a ``Candidate`` (one match) and a ``Delivery`` (one alert fired).

Both are JSON. A delivery is what ``wirehose alerts deliver`` posts to a webhook, so its layout
is public: fields are only ever added, and ``version`` changes if one ever has to change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sinks.document import story_key
from wirehose.core.article import Article, event_time

Kind = Literal["new_story", "story_update"]
NEW_STORY: Kind = "new_story"
STORY_UPDATE: Kind = "story_update"
DELIVERY_VERSION = 1


def delivery_id(alert: str, story: str, kind: str, article_id: str) -> str:
    """The id of a delivery: the same (alert, story, kind, article) always gives the same id,
    so a delivery repeated after a crash is recognisable as the same one."""
    text = "\x1f".join((alert, story, kind, article_id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def article_summary(article: Article) -> dict[str, Any]:
    """What a delivery says about the article that fired it."""
    return {
        "article_id": article.article_id,
        "title": article.title,
        "url": article.url,
        "publisher": article.publisher,
        "agencies": list(article.agencies),
        "date": event_time(article).isoformat(),
    }


@dataclass(frozen=True)
class Candidate:
    """One article matched one alert; sent keyed by ``story``."""

    alert: str
    story: str
    article: dict[str, Any]  # article_summary
    updates: bool = False
    webhook: str | None = None

    @classmethod
    def of(
        cls, article: Article, alert: str, *, updates: bool = False, webhook: str | None = None
    ) -> Candidate:
        return cls(alert, story_key(article), article_summary(article), updates, webhook)

    @property
    def article_id(self) -> str:
        return str(self.article["article_id"])

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.article["date"])

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Candidate:
        return cls(**json.loads(data))


@dataclass(frozen=True)
class Delivery:
    """One alert fired for one story: what the alerts topic carries and webhooks receive."""

    delivery_id: str
    kind: Kind
    alert: str
    story_id: str
    article: dict[str, Any]
    webhook: str | None = None
    decided_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    version: int = DELIVERY_VERSION

    @classmethod
    def of(cls, candidate: Candidate, kind: Kind) -> Delivery:
        return cls(
            delivery_id=delivery_id(candidate.alert, candidate.story, kind, candidate.article_id),
            kind=kind,
            alert=candidate.alert,
            story_id=candidate.story,
            article=candidate.article,
            webhook=candidate.webhook,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Delivery:
        raw = json.loads(data)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})

    def payload(self) -> dict[str, Any]:
        """The JSON body a webhook receives (the delivery without where it is going)."""
        body = self.to_dict()
        body.pop("webhook")
        return body
