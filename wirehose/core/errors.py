"""Every error wirehose raises on purpose, in one place.

The hierarchy::

    WirehoseError
    ├── ConfigError              a setting is missing or malformed
    ├── ServiceError             Kafka or Elasticsearch could not be provisioned, started or reached
    │   ├── ServiceTimeout       a service did not become healthy in time
    │   └── SinkClosed           the sink was closed with a batch still unwritten (nothing acked)
    ├── ProducerError            a producer could not deliver what it accepted
    │   ├── FetchError           a URL could not be fetched within the limits (status, retry_after)
    │   │   ├── AddressRefused   the host is not public and not on WIREHOSE_FETCH_ALLOW
    │   │   └── RobotsDisallowed the site's robots.txt does not let wirehose fetch the page
    │   └── FeedError            a document is not a usable feed (hostile or malformed)
    ├── StoryNotFound            no story has the id asked for (the message says what the id is)
    ├── ModelError               the spaCy model is missing or could not be installed or loaded
    ├── IncompatibleDependency   an installed library is not the version wirehose's patches fit
    ├── TimelineTooLong          a search's --timeline would have too many intervals to draw
    └── DropArticle              a record is rejected with a reason (it goes to the dead-letter topic)
        ├── InvalidArticle       not a valid Article: bad JSON, wrong schema, empty or oversized text
        └── ExtractionError      raw text or a web page from which no article could be extracted

A step (validation, dedup, tagging, indexing) raises ``DropArticle`` for one bad record; the
agent around it dead-letters that record with ``reason`` (a ``Reason`` member, see
``wirehose.core.deadletter``) and carries on with the next one. Everything else is a bug or an
outage and is allowed to propagate.

Not here on purpose: ``producers.base.Retry``, which a polling source raises to say "nothing
yet, ask again later". It is part of the source protocol (like ``StopIteration`` for iterators),
not an error, and never leaves the runner.

tests/unit/test_errors.py checks that the tree above and the classes below agree.
"""

from __future__ import annotations

from wirehose.core.deadletter import Reason


class WirehoseError(Exception):
    """Base class for every error wirehose raises on purpose."""


class ConfigError(WirehoseError):
    """A setting is missing or malformed; the message names the WIREHOSE_ variable to fix."""


class ServiceError(WirehoseError):
    """Kafka or Elasticsearch could not be provisioned, started or reached."""


class ServiceTimeout(ServiceError):
    """A service was started but did not become healthy in time."""


class SinkClosed(ServiceError):
    """The sink was closed while a batch was still waiting to be written; nothing was acked."""


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


class AddressRefused(FetchError):
    """The host of a URL is, or resolves to, an address that is not public (loopback, private,
    link-local, ...) and is not on ``WIREHOSE_FETCH_ALLOW``: nothing was sent to it.

    ``host`` is the name asked for, ``address`` the offending address, ``reason`` its kind
    (``loopback``, ``private``, ...).
    """

    def __init__(self, message: str, *, host: str, address: str, reason: str) -> None:
        super().__init__(message)
        self.host = host
        self.address = address
        self.reason = reason


class RobotsDisallowed(FetchError):
    """The site's robots.txt does not allow the ``wirehose`` user agent to fetch the page, or
    could not be read (a server error or timeout), which counts as "disallow" for a while."""


class FeedError(ProducerError):
    """The document is not a usable feed (hostile, or malformed beyond recovery)."""


class StoryNotFound(WirehoseError):
    """No story in the index has the id asked for; the message says what the id is instead
    (an article, an ambiguous prefix) and where story ids are listed."""


class ModelError(WirehoseError):
    """The spaCy model is missing or could not be installed; the message says how to fix it."""


class IncompatibleDependency(WirehoseError):
    """An installed library differs from the version whose internals wirehose patches: the
    worker refuses to start rather than run without its delivery guarantee."""


class TimelineTooLong(WirehoseError):
    """A search asked for a timeline with more intervals than it may have; the message gives the
    range and the count, and says to narrow ``--since``/``--until`` or count per day."""


class DropArticle(WirehoseError):
    """One record is rejected: ``reason`` says why (a stable code, one of ``Reason``),
    ``detail`` what exactly (the field, the size, the message); the dead letter keeps both."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvalidArticle(DropArticle):
    """The bytes are not a valid Article (bad JSON, wrong schema, empty or oversized text)."""


class ExtractionError(DropArticle):
    """No article could be extracted from raw text or a fetched page."""
