"""Politeness for page fetches: per-host pacing and concurrency, Retry-After, robots.txt.

Time is a ``FakeClock``: the tests assert on the waits the code asked for, never on how long
anything took.
"""

from __future__ import annotations

import itertools
import threading

import httpx
import pytest

from producers.fetch import FetchLimits, make_client
from producers.polite import HostBusy, HostThrottle, PageFetcher
from tests.factories import FakeClock
from wirehose.core.errors import FetchError, RobotsDisallowed


def throttle(clock: FakeClock, **kwargs: float) -> HostThrottle:
    return HostThrottle(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def test_requests_to_one_host_start_an_interval_apart() -> None:
    clock = FakeClock()
    pacing = throttle(clock, interval=1.5)
    starts = []
    for _ in range(4):
        with pacing.slot("news.example"):
            starts.append(clock.now)
    assert clock.sleeps == [1.5, 1.5, 1.5]
    assert [b - a for a, b in itertools.pairwise(starts)] == [1.5, 1.5, 1.5]


def test_time_already_passed_counts_and_other_hosts_do_not_wait() -> None:
    clock = FakeClock()
    pacing = throttle(clock, interval=1.0)
    with pacing.slot("news.example"):
        clock.advance(0.25)  # the request itself took a while
    with pacing.slot("other.example"):
        pass
    with pacing.slot("NEWS.example"):  # host names are case-insensitive
        pass
    assert clock.sleeps == [0.75]


def test_a_pause_holds_the_host_and_is_capped() -> None:
    clock = FakeClock()
    pacing = throttle(clock, interval=1.0, retry_after_max=300)
    assert pacing.pause("news.example", 120) == 120
    with pacing.slot("news.example"):
        pass
    assert clock.sleeps == [120]
    assert pacing.pause("news.example", 86_400) == 300
    with pacing.slot("news.example"):
        pass
    assert clock.sleeps == [120, 300]


def test_a_wait_longer_than_the_budget_is_refused_without_sleeping() -> None:
    clock = FakeClock()
    pacing = throttle(clock, interval=1.0)
    pacing.pause("news.example", 90)
    with pytest.raises(HostBusy) as busy, pacing.slot("news.example", budget=30):
        pass
    assert (busy.value.host, busy.value.wait) == ("news.example", 90)
    assert clock.sleeps == []
    with pacing.slot("news.example", budget=120):  # enough time: it waits instead
        pass
    assert clock.sleeps == [90]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_no_more_than_concurrency_requests_in_flight_per_host(concurrency: int) -> None:
    pacing = HostThrottle(concurrency=concurrency, interval=0)
    inside = threading.Semaphore(0)
    release = threading.Event()
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal in_flight, most
        with pacing.slot("news.example"):
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            inside.release()
            release.wait()
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(concurrency):
        assert inside.acquire(timeout=10)
    assert not inside.acquire(timeout=0.2)  # the others are held back while these run
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert most == concurrency


def test_a_held_slot_makes_a_budgeted_request_give_up() -> None:
    pacing = HostThrottle(concurrency=1, interval=0)
    with (
        pacing.slot("news.example"),
        pytest.raises(HostBusy),
        pacing.slot("news.example", budget=0),
    ):
        pass


# --- PageFetcher: robots.txt, Retry-After, pacing together -------------------------------------


class Site:
    """A web site for MockTransport with a request log stamped with the fake clock."""

    def __init__(self, clock: FakeClock, robots: bytes | int = 404) -> None:
        self.clock = clock
        self.robots = robots
        self.pages: dict[str, httpx.Response] = {}
        self.log: list[tuple[float, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append((self.clock.now, request.url.path))
        if request.url.path == "/robots.txt":
            if isinstance(self.robots, int):
                return httpx.Response(self.robots)
            return httpx.Response(200, content=self.robots)
        return self.pages.get(request.url.path, httpx.Response(200, content=b"<p>page</p>"))

    def paths(self) -> list[str]:
        return [path for _, path in self.log]


def fetcher(site: Site, clock: FakeClock, **kwargs: float) -> PageFetcher:
    client = make_client(transport=httpx.MockTransport(site))
    return PageFetcher(
        client,
        limits=FetchLimits(retry_after_max=600),
        throttle=throttle(clock, **kwargs),
        clock=clock,
        step="unit",
    )


def test_pages_are_paced_and_robots_txt_is_read_once_per_site() -> None:
    clock = FakeClock()
    site = Site(clock, robots=b"User-agent: *\nDisallow: /private/\n")
    pages = fetcher(site, clock, interval=2.0)
    for n in range(3):
        pages.fetch(f"https://news.example/story{n}")
    with pytest.raises(RobotsDisallowed):
        pages.fetch("https://news.example/private/secret")
    assert site.paths() == ["/robots.txt", "/story0", "/story1", "/story2"]
    page_starts = [when for when, path in site.log if path.startswith("/story")]
    assert [b - a for a, b in itertools.pairwise(page_starts)] == [2.0, 2.0]
    assert clock.sleeps == [2.0, 2.0]


def test_retry_after_on_429_pauses_the_host_for_later_pages() -> None:
    clock = FakeClock()
    site = Site(clock)
    site.pages["/busy"] = httpx.Response(429, headers={"Retry-After": "120"})
    pages = fetcher(site, clock, interval=1.0)
    with pytest.raises(FetchError, match="HTTP 429"):
        pages.fetch("https://news.example/busy")
    pages.fetch("https://news.example/next")
    assert clock.sleeps == [120]
    site.pages["/busy"] = httpx.Response(503, headers={"Retry-After": "60"})
    with pytest.raises(FetchError, match="HTTP 503"):
        pages.fetch("https://news.example/busy")
    with pytest.raises(HostBusy):  # with only 10 s to spare, the next page is not waited for
        pages.fetch("https://news.example/later", budget=10)
    assert "/later" not in site.paths()
    assert clock.sleeps == [120, 1.0]


def test_retry_after_as_http_date_and_without_header_and_capped() -> None:
    clock = FakeClock()
    site = Site(clock)
    site.pages["/date"] = httpx.Response(
        503,
        headers={
            "Date": "Wed, 21 Oct 2015 07:28:30 GMT",
            "Retry-After": "Wed, 21 Oct 2015 07:31:00 GMT",
        },
    )
    site.pages["/bare"] = httpx.Response(429)
    site.pages["/huge"] = httpx.Response(429, headers={"Retry-After": "999999"})
    pages = fetcher(site, clock, interval=0)
    for path in ("/date", "/bare", "/huge"):
        with pytest.raises(FetchError):
            pages.fetch(f"https://news.example{path}")
    pages.fetch("https://news.example/ok")
    # Each next request waits out the pause before it: 150 s (the date, measured from the
    # server's Date), 60 s (no Retry-After at all), then the cap.
    assert clock.sleeps == [150, 60, 600]


def test_a_redirect_hop_is_paced_and_robots_checked_on_its_own_host() -> None:
    clock = FakeClock()
    site = Site(clock, robots=b"User-agent: wirehose\nDisallow: /blocked\n")
    site.pages["/moved"] = httpx.Response(301, headers={"Location": "https://cdn.example/blocked"})
    pages = fetcher(site, clock, interval=1.0)
    with pytest.raises(RobotsDisallowed, match=r"cdn\.example"):
        pages.fetch("https://news.example/moved")
    assert site.paths() == ["/robots.txt", "/moved", "/robots.txt"]
