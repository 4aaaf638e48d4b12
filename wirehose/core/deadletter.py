"""Dead letters: a rejected record, why it was rejected, and the exact bytes, on their own topic.

Nothing that enters wirehose is silently dropped. A step that cannot use a record raises
``DropArticle(reason, detail)``; the agent turns it into a ``DeadLetter`` and publishes it to
``WIREHOSE_TOPIC_DEAD_LETTER``, keyed like the original, then moves on. The original bytes travel
base64-encoded, so ``wirehose deadletters replay`` can re-send them unchanged once the cause
is fixed.

Reasons. Every reason wirehose gives is a member of ``Reason``; ``GUIDES`` says for each where
it comes from, what causes it and what the operator should do. ``wirehose deadletters list|replay
--reason`` accepts exactly these values, and docs/operations.md carries the table generated from
them (``wirehose deadletters reasons --markdown``; a unit test keeps the two in step).

Design, chosen to disturb nothing on the wire. A reason is a stable code; the record already
has a ``detail`` field for what exactly was wrong (the field, the size, Elasticsearch's
message), so no split was needed. The values are the strings dead letters have carried all
along (``invalid-json``, ``oversized-body``, ``es-strict_dynamic_mapping_exception``, ...): the
JSON layout and ``DEAD_LETTER_VERSION`` are unchanged and letters already on the topic still
match ``--reason``. The one change: an Elasticsearch rejection used to be ``es-<error type>``
for any type Elasticsearch named, an open set; the types a document is refused for in practice
keep their ``es-...`` member, any other is now ``es-unknown`` with the type at the start of
``detail``. ``DeadLetter.reason`` is ``Reason | str``: a known value read back becomes its
member, and a reason this build does not know (written by another version, or an old
``es-<rare type>``) stays the plain string, so the letter is still read, listed and re-sent
(it just cannot be picked with ``--reason``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

log = logging.getLogger(__name__)


class Reason(StrEnum):
    """Why a record was rejected: the ``reason`` of a ``DropArticle`` and of its ``DeadLetter``.

    One member per reason the code gives; ``GUIDES`` below says, for each, where it comes from,
    what causes it and what to do (docs/operations.md shows the same table).
    """

    # --- validate: the raw topic's bytes are not a usable Article (``Article.from_bytes``) -----
    EMPTY_MESSAGE = "empty-message"  # the record has no value; find the producer sending it
    INVALID_JSON = "invalid-json"  # not UTF-8 JSON; fix the producer, replay fails again
    WRONG_SCHEMA = "wrong-schema"  # JSON, but not an Article; detail names the field
    UNKNOWN_SCHEMA_VERSION = "unknown-schema-version"  # another build's Article; align versions
    EMPTY_BODY = "empty-body"  # the body is blank; fix the source, nothing to recover
    OVERSIZED_BODY = "oversized-body"  # body over WIREHOSE_MAX_BODY_CHARS; raise it, replay
    # --- producers: reported to the user (file:line), never on the dead-letter topic -----------
    NO_BODY = "no-body"  # pasted text / a JSONL "text" had no story left after boilerplate
    NO_ARTICLE_TEXT = "no-article-text"  # a fetched page had too little text; teaser is used
    NOT_UTF8 = "not-utf8"  # a seed file is not UTF-8, or pasted text cannot be written as UTF-8
    # --- sink.elasticsearch: the enriched article could not be indexed ------------------------
    DOCUMENT_TOO_LARGE = "document-too-large"  # over WIREHOSE_SINK_BATCH_BYTES; raise, replay
    ES_STRICT_DYNAMIC_MAPPING = "es-strict_dynamic_mapping_exception"  # field the mapping lacks
    ES_DOCUMENT_PARSING = "es-document_parsing_exception"  # value does not fit its field type
    ES_MAPPER_PARSING = "es-mapper_parsing_exception"  # the same, Elasticsearch before 8.8
    ES_ILLEGAL_ARGUMENT = "es-illegal_argument_exception"  # a limit, e.g. total fields
    ES_UNKNOWN = "es-unknown"  # any other refusal; detail starts with Elasticsearch's type
    # --- alerts.webhook: a delivery its webhook did not take (``wirehose alerts deliver``) ----
    WEBHOOK_FAILED = "webhook-failed"  # refused, unreachable or failing past the retries

    @classmethod
    def parse(cls, value: str) -> Reason | None:
        """The member whose value is ``value``; None for a reason this build does not know."""
        try:
            return cls(value)
        except ValueError:
            return None

    @property
    def guide(self) -> Guide:
        return GUIDES[self]


class Guide(NamedTuple):
    """What an operator needs to know about one ``Reason``."""

    where: str  # the step that gives it (``DeadLetter.step``), and which topic the record is from
    cause: str
    action: str


class Rejection(Protocol):
    """What ``DeadLetter.from_drop`` reads of a ``DropArticle``. A protocol rather than the class:
    ``wirehose.core.errors`` imports ``Reason`` from here, and must not be imported back."""

    @property
    def reason(self) -> Reason: ...

    @property
    def detail(self) -> str: ...


_VALIDATE = "`validate` (raw topic)"
_PRODUCER = "producers (not dead-lettered)"
_SINK = "`sink.elasticsearch` (enriched topic)"
_MIGRATE = (
    "If the mapping is behind this build, `wirehose index migrate`; if the document is wrong, "
    "fix the code that builds it. Then `wirehose deadletters replay --reason {reason}`."
)

GUIDES: dict[Reason, Guide] = {
    Reason.EMPTY_MESSAGE: Guide(
        _VALIDATE,
        "The Kafka record has no value (a null or zero-length message).",
        "Find the producer writing empty records (the dead letter has the key and offset). "
        "There is no article to recover; do not replay.",
    ),
    Reason.INVALID_JSON: Guide(
        _VALIDATE,
        "The value is not UTF-8 JSON; `detail` has the parser's message.",
        "Fix the producer that wrote it. Replaying the same bytes fails the same way; re-send "
        "the article from its source instead.",
    ),
    Reason.WRONG_SCHEMA: Guide(
        _VALIDATE,
        "Valid JSON, but not an Article: not an object, or a field is missing, mistyped or "
        "unknown; `detail` names the first one.",
        "Fix the producer to send `Article.to_bytes()` (see docs/producers.md), then re-send "
        "from the source.",
    ),
    Reason.UNKNOWN_SCHEMA_VERSION: Guide(
        _VALIDATE,
        "The article's `schema_version` is not the one this worker reads: producer and worker "
        "run different wirehose versions; `detail` has both numbers.",
        "Run producers and worker from the same release. Once the worker reads the letters' "
        "version, `wirehose deadletters replay --reason unknown-schema-version`.",
    ),
    Reason.EMPTY_BODY: Guide(
        _VALIDATE,
        "The article's body is empty or only whitespace.",
        "Check the source or the producer's extraction; there is no text to recover.",
    ),
    Reason.OVERSIZED_BODY: Guide(
        _VALIDATE,
        "The body is longer than `WIREHOSE_MAX_BODY_CHARS`; `detail` has its length.",
        "If such articles are wanted, raise `WIREHOSE_MAX_BODY_CHARS` for every process, the "
        "worker included, then `wirehose deadletters replay --reason oversized-body`. Records "
        "over 4 MiB keep only their size and hash and must be re-sent from their source.",
    ),
    Reason.NO_BODY: Guide(
        _PRODUCER,
        "Pasted text, a seed file or a JSONL line with `text` has no story left once bylines, "
        "share widgets and other boilerplate are removed.",
        "The producer names the file (and line); fix or remove that input.",
    ),
    Reason.NO_ARTICLE_TEXT: Guide(
        _PRODUCER,
        "A fetched article page has too little extractable text (a paywall, a video page).",
        "Nothing: the RSS producer keeps the feed's own text for that item.",
    ),
    Reason.NOT_UTF8: Guide(
        _PRODUCER,
        "A seed file (or a file in a watched directory) is not UTF-8, or pasted text holds a "
        "surrogate code point that UTF-8 cannot encode; `detail` says where.",
        "Re-save the file as UTF-8, or remove it.",
    ),
    Reason.DOCUMENT_TOO_LARGE: Guide(
        _SINK,
        "The article's Elasticsearch document is larger than `WIREHOSE_SINK_BATCH_BYTES`, so "
        "it fits in no bulk request.",
        "Raise `WIREHOSE_SINK_BATCH_BYTES` for the worker (below Elasticsearch's "
        "`http.max_content_length`, 100 MB by default), then "
        "`wirehose deadletters replay --reason document-too-large`.",
    ),
    Reason.ES_STRICT_DYNAMIC_MAPPING: Guide(
        _SINK,
        "The document has a field the index mapping does not know, and the mapping is strict: "
        "the worker is newer than the index.",
        _MIGRATE.format(reason="es-strict_dynamic_mapping_exception"),
    ),
    Reason.ES_DOCUMENT_PARSING: Guide(
        _SINK,
        "A value does not fit its field's type (an unparsable date, text in a number); "
        "`detail` names the field.",
        _MIGRATE.format(reason="es-document_parsing_exception"),
    ),
    Reason.ES_MAPPER_PARSING: Guide(
        _SINK,
        "The same as `es-document_parsing_exception`, as Elasticsearch before 8.8 names it.",
        _MIGRATE.format(reason="es-mapper_parsing_exception"),
    ),
    Reason.ES_ILLEGAL_ARGUMENT: Guide(
        _SINK,
        "Elasticsearch refused a value or hit an index limit (the total number of fields, a "
        "term longer than 32 KB); `detail` says which.",
        _MIGRATE.format(reason="es-illegal_argument_exception"),
    ),
    Reason.ES_UNKNOWN: Guide(
        _SINK,
        "Elasticsearch refused the document for good with an error type not listed here (or "
        "none); `detail` starts with that type and its message.",
        "Read `detail` and the Elasticsearch log; fix the mapping or the document builder, then "
        "`wirehose deadletters replay --reason es-unknown`.",
    ),
    Reason.WEBHOOK_FAILED: Guide(
        "`alerts.webhook` (alerts topic)",
        "An alert's webhook answered with an error, could not be reached within "
        "`WIREHOSE_ALERTS_WEBHOOK_ATTEMPTS` attempts, or is at an address the fetch guard "
        "refuses; `detail` says which.",
        "Fix the receiver (or add its address to `WIREHOSE_FETCH_ALLOW`), then "
        "`wirehose deadletters replay --reason webhook-failed`: the deliveries go back to the "
        "alerts topic and `wirehose alerts deliver` posts them again, same delivery ids.",
    ),
}

DEAD_LETTER_VERSION = 1

# The original bytes travel base64-encoded (4/3 larger) inside one Kafka message. Past this size
# only their length and hash are kept: a record that large is rejected as oversized anyway, and
# carrying it would make the dead letter itself too large to publish.
MAX_ORIGINAL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record with its provenance.

    ``reason`` is a ``Reason``; a string this build does not know (a letter written by another
    version) is kept as it is, so the letter can still be read, listed and re-sent.
    """

    reason: Reason | str
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

    def __post_init__(self) -> None:
        # Letters read back from the topic carry plain strings: make the known ones members.
        known = Reason.parse(self.reason)
        if known is not None:
            object.__setattr__(self, "reason", known)

    @classmethod
    def from_drop(
        cls,
        drop: Rejection,
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
