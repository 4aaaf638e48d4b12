"""robots.txt: rules, what each HTTP answer means (Google's reading), caching per origin."""

from __future__ import annotations

import pytest

from producers.robots import RobotsCache, origin_of
from tests.factories import FakeClock
from wirehose.core import metrics
from wirehose.core.errors import AddressRefused, FetchError, RobotsDisallowed

ROBOTS = b"""
User-agent: *
Disallow: /private/

User-agent: wirehose
Disallow: /no-wirehose/
Allow: /no-wirehose/but-this
"""


class Site:
    """A loader standing in for the network: each call takes the next answer."""

    def __init__(self, *answers: bytes | FetchError) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.asked.append(url)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, FetchError):
            raise answer
        return answer


def cache(site: Site, clock: FakeClock) -> RobotsCache:
    return RobotsCache(site, ttl=3600, error_ttl=600, clock=clock, step="unit")


def allowed(robots: RobotsCache, url: str) -> bool:
    try:
        robots.check(url)
    except RobotsDisallowed:
        return False
    return True


def test_rules_of_the_wirehose_group_apply() -> None:
    robots = cache(Site(ROBOTS), FakeClock())
    assert allowed(robots, "https://news.example/story/1")
    assert not allowed(robots, "https://news.example/no-wirehose/story")
    assert allowed(robots, "https://news.example/no-wirehose/but-this")
    # The "*" group does not apply when a group names us.
    assert allowed(robots, "https://news.example/private/x")


def test_the_star_group_applies_when_no_group_names_us() -> None:
    robots = cache(Site(b"User-agent: *\nDisallow: /private/\n"), FakeClock())
    assert not allowed(robots, "https://news.example/private/x")
    assert allowed(robots, "https://news.example/public/x")


def test_a_disallowed_page_is_counted_and_explained() -> None:
    robots = cache(Site(b"User-agent: *\nDisallow: /\n"), FakeClock())
    labels = {"step": "unit", "reason": "robots"}
    before = metrics.sample_value("wirehose_producer_fetches_refused_total", labels)
    with pytest.raises(RobotsDisallowed, match=r"robots\.txt of https://news\.example disallows"):
        robots.check("https://news.example/a")
    assert metrics.sample_value("wirehose_producer_fetches_refused_total", labels) - before == 1


@pytest.mark.parametrize("status", [404, 410, 401, 403, 308])
def test_no_robots_txt_allows_everything(status: int) -> None:
    site = Site(FetchError(f"HTTP {status}", status=status))
    robots = cache(site, FakeClock())
    assert allowed(robots, "https://news.example/anything")


@pytest.mark.parametrize(
    "error",
    [
        FetchError("HTTP 500", status=500),
        FetchError("HTTP 503", status=503),
        FetchError("HTTP 429", status=429),
        FetchError("cannot fetch: ReadTimeout"),
        FetchError("cannot fetch: ConnectError"),
    ],
)
def test_an_unreachable_robots_txt_disallows_for_a_while(error: FetchError) -> None:
    clock = FakeClock()
    site = Site(error, b"User-agent: *\nAllow: /\n")
    robots = cache(site, clock)
    with pytest.raises(RobotsDisallowed, match="unreachable"):
        robots.check("https://news.example/a")
    clock.advance(599)
    assert not allowed(robots, "https://news.example/b")
    assert len(site.asked) == 1  # the failure is cached too: no hammering
    clock.advance(2)
    assert allowed(robots, "https://news.example/a")  # asked again, and it answered
    assert len(site.asked) == 2


def test_an_earlier_copy_stays_in_force_while_the_site_is_unreachable() -> None:
    clock = FakeClock()
    site = Site(b"User-agent: *\nDisallow: /private/\n", FetchError("HTTP 503", status=503))
    robots = cache(site, clock)
    assert allowed(robots, "https://news.example/a")
    clock.advance(3601)
    assert allowed(robots, "https://news.example/a")  # the old rules, not "disallow all"
    assert not allowed(robots, "https://news.example/private/b")
    assert len(site.asked) == 2


def test_cached_per_origin_for_the_ttl() -> None:
    clock = FakeClock()
    site = Site(ROBOTS)
    robots = cache(site, clock)
    for path in ("a", "b", "c"):
        robots.check(f"https://news.example/{path}")
    robots.check("https://news.example:443/d")  # the same origin, spelled out
    assert site.asked == ["https://news.example/robots.txt"]
    robots.check("http://news.example/a")  # another scheme is another origin
    robots.check("https://news.example:8443/a")  # and so is another port
    robots.check("https://other.example/a")
    assert site.asked[1:] == [
        "http://news.example/robots.txt",
        "https://news.example:8443/robots.txt",
        "https://other.example/robots.txt",
    ]
    clock.advance(3601)
    robots.check("https://news.example/a")
    assert site.asked[-1] == "https://news.example/robots.txt"
    assert len(site.asked) == 5


def test_a_refused_address_is_not_an_answer() -> None:
    refusal = AddressRefused("no", host="news.example", address="10.0.0.5", reason="private")
    robots = cache(Site(refusal), FakeClock())
    with pytest.raises(AddressRefused):
        robots.check("https://news.example/a")


def test_the_cache_forgets_the_oldest_sites_beyond_its_bound() -> None:
    clock = FakeClock()
    site = Site(b"")
    robots = RobotsCache(site, clock=clock, max_sites=2)
    for n in range(3):
        robots.check(f"https://site{n}.example/")
        clock.advance(1)
    robots.check("https://site2.example/")
    robots.check("https://site0.example/")  # forgotten: asked again
    assert site.asked[-1] == "https://site0.example/robots.txt"
    assert len(site.asked) == 4


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://News.Example/a?b=1", "https://news.example"),
        ("http://news.example:80/a", "http://news.example"),
        ("http://news.example:8080/a", "http://news.example:8080"),
        ("http://user:pw@news.example/a", "http://news.example"),
        ("http://[2606:4700::1111]:8080/a", "http://[2606:4700::1111]:8080"),
    ],
)
def test_origin(url: str, origin: str) -> None:
    assert origin_of(url) == origin
