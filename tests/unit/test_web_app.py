"""The web page and its JSON API over a fake backend: what is asked, what is shown, and how each
failure is answered."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from sinks.alerts import AlertSpec
from tests.unit.web_support import DOWN, EVIL, STORY, Fake, client, hit, result, timeline
from wirehose.core.errors import TimelineTooLong
from wirehose.web.access import CSP
from wirehose.web.chart import HEIGHT, TOP, chart, narrowed


def test_the_page_asks_the_backend_what_the_parameters_say() -> None:
    fake = Fake()
    page = client(fake).get("/?q=truce&place=Gaza&place=Rafah&since=2023-10-01&timeline=hour")
    assert page.status_code == 200
    (asked,) = fake.searches
    assert (asked.query, asked.places, asked.since) == ("truce", ("Gaza", "Rafah"), "2023-10-01")
    assert (asked.timeline, asked.size, asked.collapse) == ("hour", 20, True)


def test_a_story_row_shows_headline_outlets_and_copies() -> None:
    page = client().get("/?q=truce").text
    assert f'href="/stories/{STORY}"' in page
    assert "Truce talks resume" in page
    assert "7 articles" in page
    assert "5 wire copies" in page
    assert "3 outlets" in page
    assert "Metro Wire" in page
    assert "Coastal Times" in page


def test_article_text_is_escaped_everywhere() -> None:
    evil = hit(title=EVIL, title_highlight=f"<em>x</em>{EVIL}", snippets=[f"a <em>b</em> {EVIL}"],
               publisher=EVIL, people=[EVIL])  # fmt: skip
    page = client(Fake(results=result(evil))).get("/?q=x").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>x</mark>" in page
    assert "<mark>b</mark>" in page
    story = client().get(f"/stories/{STORY}").text
    assert "<script>alert" not in story
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in story


def test_only_http_and_https_urls_become_links() -> None:
    bad = [hit(url="javascript:alert(1)", story_id=None), hit(url="data:text/html,x"),
           hit(url="https://good.example/a")]  # fmt: skip
    page = client(Fake(results=result(*bad))).get("/?q=x").text
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert "https://good.example/a" in hrefs
    assert not [h for h in hrefs if h.startswith(("javascript:", "data:"))]
    story = client().get(f"/stories/{STORY}").text
    assert 'href="javascript:' not in story
    assert "javascript:alert(1)" in story


def test_facets_link_to_the_search_with_the_filter_and_back() -> None:
    page = client().get("/?q=truce").text
    assert 'href="/?q=truce&amp;person=Sergei+Lavrov"' in page
    assert 'href="/?q=truce&amp;publisher=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in page
    active = client().get("/?q=truce&place=Gaza").text
    assert 'class="active"' in active
    assert 'href="/?q=truce"' in active
    assert 'aria-label="Remove Place Gaza"' in active


def test_the_timeline_is_an_svg_bar_per_interval_linking_to_it() -> None:
    page = client().get("/?q=truce").text
    assert page.count('class="bar"') == 2  # the empty day keeps its place, without markup
    assert "3 days" in page
    assert "2023-10-18 UTC: 8 articles, 1 story, 4 outlets" in page
    assert 'href="/?q=truce&amp;since=2023-10-16&amp;until=2023-10-16&amp;timeline=hour"' in page


def test_a_timeline_too_long_still_shows_the_rows() -> None:
    fake = Fake()
    calls: list[str | None] = []

    def search(request):  # type: ignore[no-untyped-def]
        calls.append(request.timeline)
        if request.timeline:
            raise TimelineTooLong("--timeline hour from a to b would have 20,000 intervals")
        return result(hit())

    fake.search = search  # type: ignore[method-assign]
    page = client(fake).get("/?timeline=hour")
    assert page.status_code == 200
    assert calls == ["hour", None]
    assert "would have 20,000 intervals" in page.text
    assert "Truce talks resume" in page.text


def test_the_story_page_lists_articles_in_order_with_copies_and_first_report() -> None:
    page = client().get(f"/stories/{STORY[:12]}").text
    assert page.index("Headline 1") < page.index("&lt;script&gt;") < page.index("Headline 3")
    assert "First report" in page
    assert "Outlet 1" in page
    assert 'wire copy of <a href="#a1">#1</a> (Outlet 1), similarity 0.93' in page
    assert 'copied by <a href="#a2">#2</a>' in page


def test_api_search_is_the_result_as_json_with_a_timeline_when_asked() -> None:
    fake = Fake()
    plain = client(fake).get("/api/search?q=truce").json()
    assert plain["total"] == 12
    assert plain["hits"][0]["story_id"] == STORY
    assert "timeline" not in plain
    assert fake.searches[0].timeline is None
    fake.results = result(hit(), timeline=timeline())
    dated = client(fake).get("/api/search?q=truce&timeline=day").json()
    assert dated["timeline"]["buckets"][0] == {
        "start": "2023-10-16T00:00:00Z", "articles": 4, "stories": 2, "outlets": 3,
    }  # fmt: skip


def test_api_story_is_the_story_view_as_json() -> None:
    data = client().get(f"/api/stories/{STORY}?limit=10").json()
    assert data["story_id"] == STORY
    assert data["first_report"]["title"] == "Headline 1"
    assert [a["title"] for a in data["articles"]] == ["Headline 1", EVIL, "Headline 3"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/search?since=yesterday-ish", 400, "since: 'yesterday-ish' is not a date"),
        ("/api/search?colour=red", 400, "colour: unknown parameter"),
        (f"/api/stories/{STORY}?limit=0", 400, "limit: a whole number"),
        ("/api/stories/0000", 404, "no story '0000'"),
        ("/api/nothing", 404, "nothing at /api/nothing"),
    ],
)
def test_api_errors_are_json_with_a_status(path: str, status: int, says: str) -> None:
    answer = client().get(path)
    assert answer.status_code == status
    assert says in answer.json()["error"]


def test_elasticsearch_down_is_503_saying_what_to_do() -> None:
    fake = Fake(fail=DOWN)
    for path in ("/api/search", f"/api/stories/{STORY}", "/api/alerts"):
        answer = client(fake).get(path)
        assert answer.status_code == 503
        assert "wirehose services up" in answer.json()["error"]
    page = client(fake).get("/?q=x")
    assert page.status_code == 503
    assert "wirehose services up" in page.text


def test_pages_answer_bad_parameters_and_unknown_stories_in_html() -> None:
    bad = client().get("/?limit=5000")
    assert bad.status_code == 400
    assert "limit: a whole number from 1 to 100" in bad.text
    missing = client().get("/stories/0000")
    assert missing.status_code == 404
    assert "no story &#39;0000&#39;" in missing.text


def test_every_answer_carries_the_security_headers() -> None:
    for path in ("/", "/api/search", "/static/app.css", "/api/stories/0000"):
        headers = client().get(path).headers
        assert headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP
        assert "unsafe-inline" not in CSP
        assert headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in client().get("/").text  # no inline script for the CSP to block


def test_alerts_are_listed_added_and_removed() -> None:
    fake = Fake(alerts=[AlertSpec(name="lavrov", people=("Sergei Lavrov",),
                                  webhook="https://hooks.example.com/T0/B1/secret")])  # fmt: skip
    web = client(fake)
    listed = web.get("/api/alerts").json()["alerts"]
    assert listed[0]["name"] == "lavrov"
    assert listed[0]["webhook"] == "https://hooks.example.com/…"
    page = web.get("/alerts?q=truce&place=Gaza").text
    assert "secret" not in page
    assert "lavrov" in page
    assert '<input type="hidden" name="place" value="Gaza">' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    saved = web.post("/alerts", data={"csrf": csrf, "name": "truce", "q": "truce",
                                      "place": "Gaza", "updates": "1"})  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"] == "/alerts?saved=truce"
    assert fake.alerts[-1] == AlertSpec(name="truce", query="truce", places=("Gaza",),
                                        updates=True, created_at=fake.alerts[-1].created_at)  # fmt: skip
    removed = web.post("/alerts/lavrov/remove", data={"csrf": csrf})
    assert removed.status_code == 303
    assert [a.name for a in fake.alerts] == ["truce"]


def test_alert_forms_need_the_page_token_and_a_valid_name() -> None:
    fake = Fake()
    web = client(fake)
    forged = web.post("/alerts", data={"csrf": "guess", "name": "x"})
    assert forged.status_code == 403
    assert fake.alerts == []
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/alerts").text).group(1)  # type: ignore[union-attr]
    elsewhere = web.post("/alerts", data={"csrf": csrf, "name": "x"},
                         headers={"origin": "https://evil.example"})  # fmt: skip
    assert elsewhere.status_code == 403
    bad = web.post("/alerts", data={"csrf": csrf, "name": "no spaces allowed"})
    assert bad.status_code == 400
    assert "is not an alert name" in bad.text
    hook = web.post("/alerts", data={"csrf": csrf, "name": "x", "webhook": "file:///etc/passwd"})
    assert hook.status_code == 400
    assert "only http:// and https://" in hook.text
    assert fake.alerts == []


def test_chart_bars_scale_to_the_peak_and_narrow_to_their_interval() -> None:
    drawn = chart(timeline(), lambda values: "/?" + "&".join(f"{k}={v}" for k, v in values.items()))
    assert drawn is not None
    tallest = max(drawn.bars, key=lambda bar: bar.articles_height)
    assert tallest.articles_height == HEIGHT - TOP
    assert tallest.stories_height == (HEIGHT - TOP) / 8  # 1 story among 8 articles
    assert narrowed(datetime(2023, 10, 16, 14, tzinfo=UTC), "hour") == {
        "since": "2023-10-16T14:00:00Z", "until": "2023-10-16T14:59:59.999Z", "timeline": "hour",
    }  # fmt: skip
