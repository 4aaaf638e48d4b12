"""The one record every stage shares: producers emit it, agents enrich it, the sink indexes it.

It travels as UTF-8 JSON, keyed by ``article_id``. ``schema_version`` lets a consumer refuse a
shape it does not know instead of indexing garbage. A stage validates what it receives with
``Article.from_bytes``, which raises ``InvalidArticle`` with a reason the dead-letter topic keeps.

``article_id`` is deterministic, so a replayed or redelivered article lands on the same Kafka key
and the same Elasticsearch ``_id``: the canonical URL when there is one (tracking parameters and
fragments dropped), otherwise the normalized text (``wirehose.core.text.normalize_text``: quotes,
dashes, case and whitespace folded).

``event_time`` is when an article happened, for every stage that orders, windows or dates
articles: dedup ranks and expires by it, story clustering windows by it, the search index sorts
and filters on it (the ``date`` field).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wirehose.core.deadletter import Reason
from wirehose.core.errors import InvalidArticle
from wirehose.core.text import has_surrogates, normalize_text

SCHEMA_VERSION = 1

# Query parameters that identify a campaign or a click, not a page.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|mc_cid|mc_eid|ocid|cmpid|smid|ref|ref_src|taid|mbid|"
    r"guccounter|_ga|__twitter_impression|at_medium|at_campaign|rss|feed)$",
    re.IGNORECASE,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def canonical_url(url: str) -> str:
    """The URL reduced to what names the page: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, sorted query, no trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    path = parts.path.rstrip("/") or "/"
    # http and https of one page are one article.
    return urlunsplit(("https" if scheme in {"http", "https"} else scheme, host, path, query, ""))


def content_hash(text: str) -> str:
    """SHA-256 of the normalized text: equal for copies that differ only in typography."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def make_article_id(*, url: str | None, title: str, body: str) -> str:
    """Deterministic id: from the canonical URL when known, else from title and body."""
    if url:
        basis = "url:" + canonical_url(url)
    else:
        basis = "text:" + normalize_text(title) + "\n" + normalize_text(body)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


class Entity(BaseModel):
    """A named entity found by spaCy in the title or body."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description="spaCy label: PERSON, ORG, GPE, LOC, NORP, EVENT, ...")
    text: str = Field(description="The text as it stands in the article.")
    canonical: str = Field(description="The form the entity facets under.")
    field: Literal["title", "body"] = "body"
    start: int = Field(ge=0, description="Character offset in the field.")
    end: int = Field(ge=0)


class DedupMark(BaseModel):
    """Whether an article is the first seen copy of its text, or a copy of another one."""

    model_config = ConfigDict(frozen=True)

    is_canonical: bool
    duplicate_of: str | None = None
    similarity: float | None = Field(None, ge=0.0, le=1.0)
    method: str | None = Field(None, description="exact, minhash or none")
    late: bool = Field(
        False,
        description="Decided after the dedup state this article needed may have been "
        "forgotten: a redelivery of an article decided long ago, or an article later than "
        "WIREHOSE_DEDUP_LATENESS_HOURS. Such a decision is written to the index only where the "
        "article has no document yet, so it never overwrites the mark decided in time.",
    )


class LanguageMark(BaseModel):
    """How the language step settled ``Article.language``: what the detector found, how sure
    it was, and what the source declared (``processors.language.step`` says which wins)."""

    model_config = ConfigDict(frozen=True)

    detected: str = Field(description="ISO 639-1 code, or 'und' when the text did not say.")
    confidence: float = Field(ge=0.0, le=1.0, description="The detector's probability for it.")
    declared: str | None = Field(None, description="The source's language, normalized.")


class Article(BaseModel):
    """A news article, raw from a producer or enriched by the processors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    article_id: str = Field(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")
    url: str | None = None
    title: str = ""
    subtitle: str | None = None
    body: str
    publisher: str | None = None
    byline: str | None = None
    agencies: tuple[str, ...] = ()
    language: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    producer: str = Field(description="step_id of the producer, e.g. 'replay' or 'rss'.")
    source: str | None = Field(None, description="Where it came from: a file name or a feed URL.")
    raw: str | None = Field(None, description="The original text or HTML, for reprocessing.")

    # Filled in by the processors; absent on raw articles.
    content_hash: str | None = None
    dedup: DedupMark | None = None
    story_id: str | None = None
    # ``language`` above is then the language settled on (detected or declared, or "und").
    language_mark: LanguageMark | None = None
    entities: tuple[Entity, ...] = ()
    processed_at: datetime | None = None

    @field_validator("body")
    @classmethod
    def _body_has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body is empty")
        return value

    @field_validator("published_at", "fetched_at", "processed_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is a valid datetime, but not in UTC
            raise ValueError(f"{value.isoformat()} is out of range in UTC") from None

    @classmethod
    def create(
        cls, *, title: str, body: str, producer: str, url: str | None = None, **fields: object
    ) -> Article:
        """Build a raw article, deriving ``article_id`` and ``content_hash``."""
        return cls.model_validate(
            {
                "article_id": make_article_id(url=url, title=title, body=body),
                "url": url,
                "title": title,
                "body": body,
                "producer": producer,
                "content_hash": content_hash(body),
                **fields,
            }
        )

    @property
    def text(self) -> str:
        """Title and body, the text NER and similarity work on."""
        return f"{self.title}\n\n{self.body}" if self.title else self.body

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str | None, *, max_body_chars: int | None = None) -> Article:
        """Parse and validate wire bytes; raise ``InvalidArticle`` with a reason slug."""
        if data is None or len(data) == 0:
            raise InvalidArticle(Reason.EMPTY_MESSAGE, "the message has no value")
        try:
            payload = json.loads(data)
        except ValueError as exc:  # not UTF-8, not JSON, or an integer too long to convert
            raise InvalidArticle(Reason.INVALID_JSON, str(exc)) from exc
        except RecursionError as exc:
            raise InvalidArticle(Reason.INVALID_JSON, "nested too deeply") from exc
        if _may_hold_surrogates(data):
            reject_surrogates(payload)
        return cls._from_payload(payload, max_body_chars)

    @classmethod
    def from_internal(cls, data: bytes | None, *, max_body_chars: int | None = None) -> Article:
        """``from_bytes`` for what a stage of this pipeline wrote to an internal topic.

        The same validation, with pydantic's own JSON parser, which takes half the time of
        ``json.loads`` and a validation of the decoded object: every stage after the door reads
        each article again, on the worker's one event loop. Anything it refuses, and anything
        that may hold a surrogate, goes through ``from_bytes``, so a bad record is rejected with
        the same reason. Articles from outside go through ``from_bytes`` at the door.
        """
        if data and not _may_hold_surrogates(data):
            try:
                article = cls.model_validate_json(data)
            except ValidationError:
                pass
            else:
                if max_body_chars is None or len(article.body) <= max_body_chars:
                    return article
        return cls.from_bytes(data, max_body_chars=max_body_chars)

    @classmethod
    def from_object(cls, payload: object, *, max_body_chars: int | None = None) -> Article:
        """Validate a decoded JSON value as ``from_bytes`` does; raise ``InvalidArticle``."""
        reject_surrogates(payload)
        return cls._from_payload(payload, max_body_chars)

    @classmethod
    def _from_payload(cls, payload: object, max_body_chars: int | None) -> Article:
        if not isinstance(payload, dict):
            raise InvalidArticle(
                Reason.WRONG_SCHEMA, f"expected a JSON object, got {type(payload).__name__}"
            )
        version = payload.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InvalidArticle(
                Reason.UNKNOWN_SCHEMA_VERSION,
                f"schema_version={version!r}, this build reads {SCHEMA_VERSION}",
            )
        body = payload.get("body")
        if isinstance(body, str) and not body.strip():
            raise InvalidArticle(Reason.EMPTY_BODY, "the article body is empty")
        if max_body_chars is not None and isinstance(body, str) and len(body) > max_body_chars:
            raise InvalidArticle(
                Reason.OVERSIZED_BODY, f"body has {len(body)} characters, limit {max_body_chars}"
            )
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidArticle(Reason.WRONG_SCHEMA, f"{where}: {first['msg']}") from exc


def _may_hold_surrogates(data: bytes | str) -> bool:
    """Whether ``json.loads(data)`` can have produced a surrogate: from a ``\\u`` escape, from
    one encoded in the bytes (json decodes them with "surrogatepass"), or from UTF-16 or UTF-32
    input (a NUL or a byte order mark up front). Almost no article can, and then the walk over
    every string of it is skipped: validation runs at every stage of the worker.
    """
    if isinstance(data, str):
        return "\\u" in data or has_surrogates(data)
    return (
        b"\\u" in data
        or b"\xed" in data  # the lead byte of U+D000..U+DFFF
        or b"\x00" in data[:4]
        or data[:2] in (b"\xff\xfe", b"\xfe\xff")
    )


def reject_surrogates(payload: object) -> None:
    """Raise ``InvalidArticle`` (invalid JSON) when a string in the decoded JSON ``payload`` holds
    a surrogate code point.

    ``json.loads`` accepts an unpaired ``"\\ud800"`` escape (and the same code point encoded in
    the bytes), but such a string cannot be written out as UTF-8 again: the article would be
    accepted here and fail later, when it is hashed or sent on. The walk uses a stack, not
    recursion, because the payload may be nested as deep as the JSON parser allowed.
    """
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if has_surrogates(value):
                raise InvalidArticle(
                    Reason.INVALID_JSON,
                    f"a string holds an unpaired surrogate, which UTF-8 cannot encode: {value[:80]!r}",
                )
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def event_time(article: Article) -> datetime:
    """When ``article`` happened: ``published_at``, but never later than ``fetched_at``;
    ``fetched_at`` when the publication time is unknown.

    The one definition for every stage (dedup rank and expiry, story windows, the search
    ``date``), so that they agree on where an article sits in time. The cap is there because a
    publication time after the fetch is always wrong (a missing or misread time zone, a feed
    that dates items ahead): nothing is fetched before it is published. Left uncapped, such an
    article would rank behind the copies of it that it is the original of, push dedup's
    event-time watermark ahead of the stream, miss the story window of its own story, and sort
    above everything in search until the wrong time had passed.
    """
    if article.published_at is None:
        return article.fetched_at
    return min(article.published_at, article.fetched_at)
