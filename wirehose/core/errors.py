"""Every error wirehose raises on purpose, in one place.

The hierarchy::

    WirehoseError
    ├── ConfigError              a setting is missing or malformed
    ├── ServiceError             Kafka or Elasticsearch could not be provisioned, started or reached
    │   └── ServiceTimeout       a service did not become healthy in time
    ├── ProducerError            a producer could not deliver what it accepted
    │   ├── FetchError           a URL could not be fetched within the limits (status, retry_after)
    │   └── FeedError            a document is not a usable feed (hostile or malformed)
    ├── ModelError               the spaCy model is missing or could not be installed or loaded
    ├── IncompatibleDependency   an installed library is not the version wirehose's patches fit
    └── DropArticle              a record is rejected with a reason (it goes to the dead-letter topic)
        ├── InvalidArticle       not a valid Article: bad JSON, wrong schema, empty or oversized text
        └── ExtractionError      raw text or a web page from which no article could be extracted

A step (validation, dedup, tagging, indexing) raises ``DropArticle`` for one bad record; the
agent around it dead-letters that record with ``reason`` and carries on with the next one.
Everything else is a bug or an outage and is allowed to propagate.
"""

from __future__ import annotations


class WirehoseError(Exception):
    """Base class for every error wirehose raises on purpose."""


class ConfigError(WirehoseError):
    """A setting is missing or malformed; the message names the WIREHOSE_ variable to fix."""


class ServiceError(WirehoseError):
    """Kafka or Elasticsearch could not be provisioned, started or reached."""


class ServiceTimeout(ServiceError):
    """A service was started but did not become healthy in time."""


class ProducerError(WirehoseError):
    """A producer could not deliver one or more of the articles it accepted."""


class FetchError(ProducerError):
    """A URL could not be fetched within the limits; the message says which limit and URL.

    ``status`` is the HTTP status when there was one; ``retry_after`` is the server's
    ``Retry-After`` in seconds on a 429 or 503, so the caller can wait instead of backing off.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FeedError(ProducerError):
    """The document is not a usable feed (hostile, or malformed beyond recovery)."""


class ModelError(WirehoseError):
    """The spaCy model is missing or could not be installed; the message says how to fix it."""


class IncompatibleDependency(WirehoseError):
    """An installed library differs from the version whose internals wirehose patches: the
    worker refuses to start rather than run without its delivery guarantee."""


class DropArticle(WirehoseError):
    """One record is rejected; ``reason`` is a short machine-friendly slug for the dead-letter topic."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvalidArticle(DropArticle):
    """The bytes are not a valid Article (bad JSON, wrong schema, empty or oversized text)."""


class ExtractionError(DropArticle):
    """No article could be extracted from raw text or a fetched page."""
