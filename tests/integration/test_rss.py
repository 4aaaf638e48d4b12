"""``wirehose rss`` against a real HTTP server on 127.0.0.1 and the real Kafka broker.

The server serves an RSS 2.0 feed (one full-text item, one teaser), an Atom feed (a teaser),
the article pages the teasers link to, and four hostile or broken feeds: invalid XML, an
entity-expansion bomb, a 100 MB body without Content-Length, and a slow drip. The good feeds
must land on the topic; the bad ones must be reported without holding the good ones up.

The server is on loopback, which wirehose refuses to fetch from unless told: each test allows
it explicitly (``fetch_allow``). One feed links inside, to a stand-in for Elasticsearch on
another loopback port, which must never be reached.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer

from tests.factories import BILLION_LAUGHS, article_page, atom_feed, rss_feed
from wirehose.cli import cli
from wirehose.core import metrics
from wirehose.core.settings import Settings

STORY_A = [
    "Rescue teams reached the last of the villages cut off by the landslide on Wednesday, "
    "three days after heavy rain sent mud and rocks across the only road into the valley.",
    "Helicopters flew in food, water and medicine, and engineers began clearing the road, "
    "which the regional government said should reopen to light traffic by the weekend.",
]
STORY_B = [
    "The national library will open its reading rooms on Sundays from next month, its "
    "director announced, after a petition signed by more than twenty thousand students.",
    "The extra opening hours will be paid for by a donation from a private foundation, and "
    "the library plans to review the arrangement after one year of operation.",
]
FULL_TEXT = (
    "<p>The port authority said on Tuesday that container traffic rose by a fifth in the "
    "first quarter, the strongest growth in more than a decade, helped by new routes.</p>"
    "<p>Officials expect the expansion of the eastern terminal, due to finish next year, to "
    "add capacity for another million containers, and said hiring would start soon.</p>"
    "<p>The authority also said it would publish its environmental report in June, including "
    "figures on emissions from ships waiting at anchor outside the harbour.</p>"
    "<p>Shipping lines welcomed the figures but warned that congestion could return.</p>"
)


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int]
    base: str
    inside: str  # an internal service's base URL, for the feed that links inside

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        # The client hanging up mid-body is the point of the size-cap and deadline feeds.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.route()

    def send(self, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def route(self) -> None:
        base = self.base
        if self.path == "/rss.xml":
            if self.headers.get("If-None-Match") == '"rss-1"':
                self.send_response(304)
                self.end_headers()
                return
            items = [
                {"title": "Port traffic surges", "link": f"{base}/pages/port.html",
                 "guid": "port-1", "description": "Teaser.", "content": FULL_TEXT,
                 "pubDate": "Tue, 05 Mar 2024 08:00:00 GMT"},
                {"title": "Villages reached after landslide", "link": f"{base}/pages/a.html",
                 "guid": "landslide-1", "description": "Rescuers reach villages."},
            ]  # fmt: skip
            self.send(rss_feed(items, title="Valley Wire"), "application/rss+xml", ETag='"rss-1"')
        elif self.path == "/atom.xml":
            entry = {"title": "Library opens on Sundays", "link": f"{base}/pages/b.html",
                     "id": "urn:lib:1", "summary": "Sunday opening."}  # fmt: skip
            self.send(atom_feed([entry], title="City Atom"), "application/atom+xml")
        elif self.path == "/robots.txt":
            self.send(b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif self.path == "/inside.xml":
            self.send(self.inside_feed(), "application/rss+xml")
        elif self.path == "/go-inside":
            self.send_response(302)
            self.send_header("Location", f"{self.inside}/_cluster/settings")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/pages/a.html":
            self.send(article_page("Villages reached after landslide", STORY_A), "text/html")
        elif self.path == "/pages/b.html":
            self.send(article_page("Library opens on Sundays", STORY_B), "text/html")
        elif self.path == "/broken.xml":
            self.send(b"<rss><channel><title>oops</chan", "application/rss+xml")
        elif self.path == "/bomb.xml":
            self.send(BILLION_LAUGHS, "application/rss+xml")
        elif self.path == "/huge.xml":
            self.stream_forever(b"<rss>" + b"x" * 65_536, pause=0.0, limit=100 * 1024 * 1024)
        elif self.path == "/slow.xml":
            self.stream_forever(b"<", pause=0.2, limit=10_000)
        else:
            self.send_error(404)

    def inside_feed(self) -> bytes:
        """Items whose links lead inside, each a different way, and one honest item."""
        local = self.base.replace("127.0.0.1", "localhost")
        mapped = self.inside.replace("127.0.0.1", "[::ffff:127.0.0.1]")
        links = {
            "Cluster settings": f"{self.inside}/_cluster/settings",
            "Redirected inside": f"{local}/go-inside",
            "Mapped loopback": f"{mapped}/_cat/indices",
            "Cloud metadata": "http://169.254.169.254/latest/meta-data/",
            "Private memo": f"{local}/private/memo.html",
            "Villages reached after landslide": f"{local}/pages/a.html",
        }
        items = [
            {"title": title, "link": link, "guid": link, "description": f"Teaser: {title}."}
            for title, link in links.items()
        ]
        return rss_feed(items, title="Inside Job")

    def stream_forever(self, chunk: bytes, *, pause: float, limit: int) -> None:
        """No Content-Length: the client only finds out the size by reading."""
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        while sent < limit:
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
            if pause:
                time.sleep(pause)


class Inside(BaseHTTPRequestHandler):
    """An internal service on loopback (Elasticsearch, say): counts every request it gets."""

    hits: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"persistent":{},"transient":{}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def inside_server() -> Iterator[list[str]]:
    hits: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inside)
    server.daemon_threads = True
    Inside.hits = hits
    Handler.inside = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def feed_server(inside_server: list[str]) -> Iterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    Handler.hits, Handler.base = hits, base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, hits
    server.shutdown()
    server.server_close()


def read_topic(bootstrap: str, topic: str) -> list[dict[str, object]]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, consumer_timeout_ms=5_000,
    )  # fmt: skip
    try:
        return [json.loads(message.value) for message in consumer]
    finally:
        consumer.close()


def run_rss(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setattr("wirehose.cli.rss.get_settings", lambda: settings)
    result = CliRunner().invoke(cli, ["rss", "--once", "--timeout", "3", *args])
    return result.exit_code, result.output


def test_good_feeds_land_on_kafka_and_bad_feeds_are_reported(
    feed_server: tuple[str, dict[str, int]],
    make_settings: Callable[..., Settings],
    new_topic: Callable[..., str],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    base, hits = feed_server
    topic = new_topic("rss", partitions=2)
    # The feeds are on loopback: allowed on purpose, as an internal feed would be.
    settings = make_settings(topic_raw=topic, home=tmp_path / "home", fetch_allow="127.0.0.1")
    feeds = [f"{base}/{name}.xml" for name in ("rss", "atom", "broken", "bomb", "huge", "slow")]

    code, output = run_rss(settings, monkeypatch, *feeds)

    assert code == 1, output  # --once with failing feeds
    assert "feeds=6 failing=4 sent=3 failed=0" in output
    assert f"rss:{base}/broken.xml: FeedError" in output
    assert "EntitiesForbidden" in output
    assert "byte cap" in output
    assert "deadline" in output

    records = {r["title"]: r for r in read_topic(kafka_bootstrap, topic)}
    assert set(records) == {
        "Port traffic surges",
        "Villages reached after landslide",
        "Library opens on Sundays",
    }
    port = records["Port traffic surges"]
    assert str(port["body"]).startswith("The port authority said on Tuesday")
    assert port["publisher"] == "Valley Wire"
    assert port["published_at"] == "2024-03-05T08:00:00Z"
    assert records["Villages reached after landslide"]["body"] == "\n\n".join(STORY_A)
    assert records["Library opens on Sundays"]["body"] == "\n\n".join(STORY_B)
    assert records["Library opens on Sundays"]["publisher"] == "City Atom"
    assert {r["producer"] for r in records.values()} == {"rss"}
    assert hits["/pages/a.html"] == 1
    assert "/pages/port.html" not in hits  # the feed had the full text: no page fetch

    # A second run (a restart) publishes nothing again; the RSS feed answers 304.
    code, output = run_rss(settings, monkeypatch, f"{base}/rss.xml", f"{base}/atom.xml")
    assert code == 0, output
    assert "feeds=2 failing=0 sent=0 failed=0" in output
    assert hits["/rss.xml"] == 2
    assert hits["/pages/a.html"] == 1
    assert hits["/pages/b.html"] == 1
    assert len(read_topic(kafka_bootstrap, topic)) == 3


def test_loopback_feeds_are_refused_unless_allowed(
    feed_server: tuple[str, dict[str, int]],
    make_settings: Callable[..., Settings],
    new_topic: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    base, hits = feed_server
    settings = make_settings(topic_raw=new_topic("rss"), home=tmp_path / "home")
    code, output = run_rss(settings, monkeypatch, f"{base}/rss.xml")
    assert code == 1, output
    assert "failing=1" in output
    assert "AddressRefused" in output
    assert "WIREHOSE_FETCH_ALLOW" in output
    assert hits == {}


def test_links_leading_inside_are_refused_and_the_feed_goes_on(
    feed_server: tuple[str, dict[str, int]],
    inside_server: list[str],
    make_settings: Callable[..., Settings],
    new_topic: Callable[..., str],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base, hits = feed_server
    topic = new_topic("rss-inside")
    # Only the feed's host name is allowed; loopback addresses as such are not.
    settings = make_settings(topic_raw=topic, home=tmp_path / "home", fetch_allow="localhost")

    def refused(reason: str) -> float:
        labels = {"step": "rss", "reason": reason}
        return metrics.sample_value("wirehose_producer_fetches_refused_total", labels)

    before = {r: refused(r) for r in ("loopback", "link-local", "robots")}
    local = base.replace("127.0.0.1", "localhost")
    with caplog.at_level(logging.INFO):
        code, output = run_rss(settings, monkeypatch, f"{local}/inside.xml")

    assert code == 0, output
    assert "feeds=1 failing=0 sent=6 failed=0" in output
    assert inside_server == []  # the internal service was never asked anything
    assert hits.get("/private/memo.html") is None  # robots.txt disallows it
    assert hits["/go-inside"] == 1  # followed, then refused at the next hop
    assert hits["/pages/a.html"] == 1
    assert {r: refused(r) - before[r] for r in before} == {
        "loopback": 3,  # direct, after a redirect, and as ::ffff:127.0.0.1
        "link-local": 1,  # the metadata service
        "robots": 1,
    }
    lines = [r.getMessage() for r in caplog.records if "fetch refused" in r.getMessage()]
    assert len(lines) == 4
    assert all("WIREHOSE_FETCH_ALLOW" in line and "reason=" in line for line in lines)
    assert any("address=169.254.169.254 reason=link-local" in line for line in lines)

    records = {r["title"]: r for r in read_topic(kafka_bootstrap, topic)}
    assert records["Cluster settings"]["body"] == "Teaser: Cluster settings."
    assert "persistent" not in json.dumps(list(records.values()))
    assert records["Villages reached after landslide"]["body"] == "\n\n".join(STORY_A)
