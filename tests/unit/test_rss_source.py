"""FeedSource with httpx.MockTransport: conditional GET, seen state across restarts, backoff,
and page fetches that are paced per site (a fake clock records the waits)."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from kafka.errors import KafkaTimeoutError

from producers.base import Retry, SourceRunner
from producers.fetch import make_client
from producers.kafka import ArticleProducer
from producers.polite import HostThrottle, PageFetcher
from producers.rss import FeedSource, FeedState, load_feed_config
from tests.factories import BILLION_LAUGHS, FakeClock, FakeKafkaProducer, article_page, rss_feed
from wirehose.cli import cli
from wirehose.core.clients import KafkaAccess
from wirehose.core.errors import ConfigError

FEED = "https://wire.example/rss"
STORY = [
    "The city council approved the new budget on Tuesday after a debate that lasted well "
    "into the night, with eleven votes in favour and four against.",
    "The budget raises spending on public transport and schools, and will be financed "
    "partly by a new tax on short-term rentals, the mayor said after the vote.",
    "Opposition members said the tax would drive visitors away and promised to challenge it.",
]


class Site:
    """A tiny web site for MockTransport: routes, ETag support and a request log."""

    def __init__(self, items: list[dict[str, str]]) -> None:
        self.items = items
        self.etag = '"v1"'
        self.requests: list[httpx.Request] = []
        self.feed_override: httpx.Response | None = None
        self.page_overrides: dict[str, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == FEED:
            if self.feed_override is not None:
                return self.feed_override
            if request.headers.get("If-None-Match") == self.etag:
                return httpx.Response(304)
            return httpx.Response(200, content=rss_feed(self.items), headers={"ETag": self.etag})
        if request.url.path in self.page_overrides:
            return self.page_overrides[request.url.path]
        if str(request.url).startswith("https://wire.example/story"):
            return httpx.Response(200, content=article_page("Budget approved", STORY))
        return httpx.Response(404)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def item(n: int, **extra: str) -> dict[str, str]:
    return {"title": f"Story {n}", "link": f"https://wire.example/story{n}", "guid": f"g{n}",
            "description": "Teaser only.", **extra}  # fmt: skip


def paced_pages(site: Site, clock: FakeClock, interval: float = 1.0) -> PageFetcher:
    throttle = HostThrottle(interval=interval, clock=clock, sleep=clock.sleep)
    client = make_client(transport=httpx.MockTransport(site))
    return PageFetcher(client, throttle=throttle, clock=clock)


def make_source(site: Site, tmp_path: Path, **kwargs: object) -> FeedSource:
    clock = FakeClock()
    kwargs = {"clock": clock, "pages": paced_pages(site, clock), **kwargs}
    source = FeedSource(FEED, state_dir=tmp_path, transport=httpx.MockTransport(site), **kwargs)  # type: ignore[arg-type]
    source.setup()
    return source


def test_first_poll_publishes_then_304_costs_nothing(tmp_path: Path) -> None:
    site = Site([item(1), item(2)])
    source = make_source(site, tmp_path)
    articles = source.poll()
    assert [a.title for a in articles] == ["Story 1", "Story 2"]
    assert articles[0].body.startswith("The city council approved")  # from the linked page
    source.ack(articles)
    assert source.poll() == []
    assert site.requests[-1].headers["If-None-Match"] == '"v1"'
    assert site.paths() == ["/rss", "/robots.txt", "/story1", "/story2", "/rss"]


def test_restart_does_not_republish_and_new_items_still_flow(tmp_path: Path) -> None:
    site = Site([item(1)])
    first = make_source(site, tmp_path)
    first.ack(first.poll())
    first.close()
    site.etag = '"v2"'  # the server ignores our validator: a full 200 again
    site.items = [item(2), item(1)]
    restarted = make_source(site, tmp_path)
    assert [a.title for a in restarted.poll()] == ["Story 2"]


def test_undelivered_items_come_back_and_validators_wait(tmp_path: Path) -> None:
    site = Site([item(1), item(2)])
    source = make_source(site, tmp_path, fetch_pages=False)
    one, two = source.poll()
    assert two.title == "Story 2"
    source.ack([one])  # two was not confirmed by Kafka
    state = FeedState.load(tmp_path, FEED)
    assert state.etag is None  # else the next poll's 304 would hide item two
    assert [a.title for a in source.poll()] == ["Story 2"]


def test_runner_with_failing_kafka_send_does_not_mark_seen(tmp_path: Path) -> None:
    site = Site([item(1)])
    source = FeedSource(
        FEED, state_dir=tmp_path, transport=httpx.MockTransport(site), fetch_pages=False
    )
    article_id = (
        make_source(Site([item(1)]), tmp_path / "probe", fetch_pages=False).poll()[0].article_id
    )
    fail = {article_id.encode(): KafkaTimeoutError()}
    producer = ArticleProducer(
        KafkaAccess("h:9092"), "raw", factory=functools.partial(FakeKafkaProducer, fail_keys=fail)
    )
    runner = SourceRunner([source], producer)
    assert runner.tick(now=0).failed == 1
    FakeKafkaProducer.instances[-1].fail_keys.clear()
    assert runner.tick(now=10_000).sent == 1


def test_rate_limit_is_a_retry_not_an_error(tmp_path: Path) -> None:
    site = Site([])
    site.feed_override = httpx.Response(429, headers={"Retry-After": "120"})
    with pytest.raises(Retry) as retry:
        make_source(site, tmp_path).poll()
    assert retry.value.after == 120


def test_hostile_feed_backs_off_while_a_good_feed_publishes(tmp_path: Path) -> None:
    bad_site = Site([])
    bad_site.feed_override = httpx.Response(200, content=BILLION_LAUGHS)
    bad = FeedSource(FEED, state_dir=tmp_path / "bad", transport=httpx.MockTransport(bad_site))
    good_url = "https://other.example/rss"
    good = FeedSource(
        good_url,
        state_dir=tmp_path / "good",
        fetch_pages=False,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=rss_feed([item(7)]))),
    )
    runner = SourceRunner(
        [bad, good], ArticleProducer(KafkaAccess("h:9092"), "raw", factory=FakeKafkaProducer)
    )
    assert runner.tick(now=0).sent == 1
    state = runner.state(bad.step_id)
    assert state.failures == 1
    assert state.last_error is not None
    assert "EntitiesForbidden" in state.last_error


def test_state_file_is_written_atomically_and_a_corrupt_one_starts_fresh(tmp_path: Path) -> None:
    source = make_source(Site([item(1)]), tmp_path, fetch_pages=False)
    source.ack(source.poll())
    (state_file,) = tmp_path.glob("*.json")
    assert json.loads(state_file.read_text())["url"] == FEED
    assert not list(tmp_path.glob(".*.tmp"))
    state_file.write_text("{not json")
    assert FeedState.load(tmp_path, FEED).seen == {}


def test_feed_config(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "interval: 120\nfeeds:\n  - https://a.example/rss\n"
        "  - {url: 'https://b.example/atom', interval: 900, fetch_pages: false}\n"
    )
    feeds, interval = load_feed_config(config)
    assert interval == 120
    assert [(f.url, f.interval, f.fetch_pages) for f in feeds] == [
        ("https://a.example/rss", None, True),
        ("https://b.example/atom", 900, False),
    ]
    config.write_text("feeds:\n  - file:///etc/passwd\n")
    with pytest.raises(ConfigError, match="only http:// and https://"):
        load_feed_config(config)
    config.write_text("feeds:\n  - {url: 'https://a.example/', intervall: 5}\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_feed_config(config)


def test_cli_needs_a_feed_and_teaches_with_examples() -> None:
    result = CliRunner().invoke(cli, ["rss"])
    assert result.exit_code == 2
    assert "give at least one FEED_URL or --config feeds.yaml" in result.output
    help_text = CliRunner().invoke(cli, ["rss", "--help"]).output
    assert "wirehose rss --config feeds.yaml" in help_text
    assert "fetch_pages: false" in help_text
    assert "WIREHOSE_FETCH_ALLOW" in help_text  # how to reach an internal feed on purpose
    bad = CliRunner().invoke(cli, ["rss", "ftp://x.example/feed"])
    assert bad.exit_code == 2
    assert "only http:// and https://" in bad.output


def test_pages_of_one_site_are_paced_and_the_rest_waits_for_the_next_poll(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    site = Site([item(n) for n in range(200)])
    started: list[float] = []

    def stamped(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/story"):
            started.append(clock.now)
        return site(request)

    source = FeedSource(
        FEED,
        state_dir=tmp_path,
        poll_deadline=60,
        clock=clock,
        transport=httpx.MockTransport(stamped),
        pages=PageFetcher(
            make_client(transport=httpx.MockTransport(stamped)),
            throttle=HostThrottle(interval=2.0, clock=clock, sleep=clock.sleep),
            clock=clock,
        ),
    )
    source.setup()
    first = source.poll()
    # One page every 2 s in a 60 s poll: pages at 0, 2, ... 60 s; the rest go next poll.
    assert len(first) == 31
    assert set(clock.sleeps) == {2.0}
    assert {round(b - a, 6) for a, b in itertools.pairwise(started)} == {2.0}
    source.ack(first)
    assert FeedState.load(tmp_path, FEED).etag is None  # not done: no 304 may hide the rest
    second = source.poll()
    assert second[0].title == f"Story {len(first)}"
    assert {a.article_id for a in first}.isdisjoint(a.article_id for a in second)


def test_a_site_asking_for_a_long_pause_stops_the_poll_without_losing_items(
    tmp_path: Path,
) -> None:
    site = Site([item(1), item(2), item(3)])
    site.page_overrides["/story2"] = httpx.Response(429, headers={"Retry-After": "600"})
    clock = FakeClock()
    source = make_source(site, tmp_path, clock=clock, pages=paced_pages(site, clock))
    articles = source.poll()
    # Story 2's page failed, so its teaser stands; story 3 would wait 600 s, more than the
    # poll's 120 s, so it is left for the next poll.
    assert [a.title for a in articles] == ["Story 1", "Story 2"]
    assert articles[1].body == "Teaser only."
    assert "/story3" not in site.paths()
    source.ack(articles)
    assert FeedState.load(tmp_path, FEED).etag is None  # the next poll is a full one
    assert source.poll() == []  # still paused
    clock.advance(600)
    assert [a.title for a in source.poll()] == ["Story 3"]
    assert site.paths().count("/story3") == 1
