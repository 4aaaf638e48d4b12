"""Shared test builders: articles and an in-memory stand-in for kafka-python's KafkaProducer.

Add builders here when more than one test module needs them; keep them free of network I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess, kafka_config

_counter = itertools.count(1)


def make_article(**overrides: Any) -> Article:
    """A valid raw article; every call without ``body`` gets a distinct body (and id)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "title": f"Headline {n}",
        "body": f"Body of test article number {n}.",
        "producer": "test",
    }
    fields.update(overrides)
    return Article.create(**fields)


@dataclass
class FakeRecordMetadata:
    topic: str
    partition: int
    offset: int


class FakeFuture:
    """Mimics ``FutureRecordMetadata``: ``is_done`` and ``get()`` raising the send's error."""

    def __init__(self, value: FakeRecordMetadata | None, error: BaseException | None) -> None:
        self.value = value
        self.exception = error
        self.is_done = True

    def get(self, timeout: float | None = None) -> FakeRecordMetadata:
        if self.exception is not None:
            raise self.exception
        assert self.value is not None
        return self.value


class FakeKafkaProducer:
    """Records what a ``KafkaProducer`` would have sent; ``fail_keys`` makes chosen sends fail.

    Pass the class (or a ``functools.partial`` of it) as ``ArticleProducer(factory=...)``;
    ``instances`` keeps every producer built so a test can inspect config and records.
    """

    instances: ClassVar[list[FakeKafkaProducer]] = []

    def __init__(
        self,
        access: KafkaAccess,
        *,
        fail_keys: dict[bytes, BaseException] | None = None,
        **config: Any,
    ) -> None:
        # Called like wirehose.core.clients.kafka_producer; kept as kafka-python would see it.
        self.config = kafka_config(access, **config)
        self.fail_keys = fail_keys or {}
        self.records: list[tuple[str, bytes, bytes]] = []
        self.flushes = 0
        self.closed = False
        FakeKafkaProducer.instances.append(self)

    def send(self, topic: str, *, key: bytes, value: bytes) -> FakeFuture:
        if key in self.fail_keys:
            return FakeFuture(None, self.fail_keys[key])
        self.records.append((topic, key, value))
        partition = sum(key) % 4  # stable per key, like the default partitioner
        return FakeFuture(FakeRecordMetadata(topic, partition, len(self.records) - 1), None)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


# --- feeds and pages (RSS/Atom producer tests) -------------------------------------------------


def rss_feed(
    items: list[dict[str, str]], *, title: str = "Example Wire", lang: str = "en-us"
) -> bytes:
    """An RSS 2.0 document; item keys: title, link, guid, description, content, pubDate, author."""
    parts = []
    for item in items:
        fields = "".join(
            f"<{tag}>{_cdata(item[key])}</{tag}>"
            for key, tag in (
                ("title", "title"), ("link", "link"), ("guid", "guid"),
                ("description", "description"), ("pubDate", "pubDate"), ("author", "author"),
                ("content", "content:encoded"),
            )
            if key in item
        )  # fmt: skip
        parts.append(f"<item>{fields}</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>https://wire.example/</link>"
        f"<language>{lang}</language><description>test feed</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode("utf-8")


def atom_feed(entries: list[dict[str, str]], *, title: str = "Example Atom") -> bytes:
    """An Atom 1.0 document; entry keys: title, link, id, summary, content, updated, author."""
    parts = []
    for entry in entries:
        body = [f"<title>{_esc(entry['title'])}</title>"]
        if "link" in entry:
            body.append(f'<link rel="alternate" href="{_esc(entry["link"])}"/>')
        body.append(f"<id>{_esc(entry.get('id') or entry.get('link', 'urn:x'))}</id>")
        body.append(f"<updated>{entry.get('updated', '2024-03-01T10:00:00Z')}</updated>")
        if "summary" in entry:
            body.append(f"<summary>{_esc(entry['summary'])}</summary>")
        if "content" in entry:
            body.append(f'<content type="html">{_esc(entry["content"])}</content>')
        if "author" in entry:
            body.append(f"<author><name>{_esc(entry['author'])}</name></author>")
        parts.append("<entry>" + "".join(body) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{_esc(title)}</title><id>urn:example:atom</id>"
        "<updated>2024-03-01T10:00:00Z</updated>" + "".join(parts) + "</feed>"
    ).encode("utf-8")


def article_page(title: str, paragraphs: list[str], *, site: str = "Example Site") -> bytes:
    """A news page with navigation, share buttons and a footer around the story."""
    story = "".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='en'><head><title>{_esc(title)}</title>"
        f"<meta property='og:site_name' content='{_esc(site)}'>"
        "<meta name='author' content='Jane Reporter'></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{_esc(title)}</h1>{story}</article>"
        "<aside>Share: Facebook Twitter Email</aside>"
        "<footer>Copyright 2024 Example Site. All rights reserved.</footer></body></html>"
    ).encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><rss version="2.0"><channel><title>&lol9;</title><item><title>x</title>'
    b"<description>&lol9;</description></item></channel></rss>"
)


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


class FakeClock:
    """A monotonic clock that moves only when told to or when something sleeps on it.

    Pass ``clock`` as the clock and ``clock.sleep`` as the sleeper: ``sleeps`` then holds every
    wait in order, and tests assert on those instead of on wall-clock time.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
