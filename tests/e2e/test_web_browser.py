"""The web page in a real browser, over what the real pipeline indexed.

The five seeds, their syndicated copies (tests/corpus/wirecopy.jsonl) and one article whose
headline is a script go through a real worker into a fresh index; `wirehose web`'s server runs
on a free loopback port over it; headless Debian chromium, driven through its chromedriver,
searches, clicks a facet, opens a story and reads the timeline, and the script never runs.

Nothing is downloaded: the driver's path is given, so Selenium Manager is never asked, and
chromium runs with its background networking off. Under CI a missing chromium fails the test;
elsewhere it is skipped, saying to run `make chromium`.

WIREHOSE_SCREENSHOTS=1 saves the search and story pages to docs/images/ for the docs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from producers.jsonl import article_from_object
from producers.kafka import ArticleProducer
from producers.replay import iter_inputs, replay
from tests.e2e.test_search_e2e import seed_copies
from tests.es_support import alias_cleanup
from wirehose.core.clients import ensure_topics, kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import wait_indexed, worker_process
from wirehose.ops.services.runtime import free_port
from wirehose.web.server import build_server

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1700",
]  # fmt: skip
EVIL = "<script>window.__pwned=1</script> Evil title"
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
INDEX_TIMEOUT = 300.0
WAIT = 20.0


def _need_browser() -> None:
    missing = [str(path) for path in (CHROMIUM, DRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        reason = f"{', '.join(missing)} missing: run `make chromium`"
        if os.environ.get("CI"):
            pytest.fail(f"the web page's browser test cannot run: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never reach for a download
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    service = Service(executable_path=str(DRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def indexed(make_settings: Callable[..., Settings], es: Elasticsearch, seeds_dir: Path,
            tmp_path: Path) -> Iterator[Settings]:  # fmt: skip
    """A fresh index holding the seeds, their copies and the article with a script for a title."""
    settings = make_settings()
    ensure_topics(
        kafka_access(settings),
        [settings.topic_raw, settings.topic_enriched, settings.topic_dead_letter],
        partitions=settings.topic_partitions,
    )
    evil = article_from_object(
        {"title": EVIL, "publisher": "Evil Daily", "url": "javascript:window.__pwned=2",
         "published_at": "2023-10-20T08:00:00Z",
         "body": "An unrelated note about a harbour festival, with music and boats. " * 5},
        source="evil",
    )  # fmt: skip
    articles = [*iter_inputs([seeds_dir]), *seed_copies(), evil]
    ids = {article.article_id for article in articles}
    log = tmp_path / "worker.log"
    with alias_cleanup(es, settings.index_alias):
        with worker_process(settings, log_path=log) as worker:
            with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
                assert replay(articles, producer).ok
            found = wait_indexed(
                es, settings.index_alias, ids, timeout=INDEX_TIMEOUT, worker=worker
            )
            assert found == len(ids), log.read_text()[-3000:]
        es.indices.refresh(index=settings.index_alias)
        try:
            yield settings
        finally:
            es.options(ignore_status=404).indices.delete(index=settings.alerts_index_name)


@pytest.fixture
def site(indexed: Settings) -> Iterator[str]:
    """`wirehose web`'s server for the test index, on a free loopback port, in a thread."""
    port = free_port()
    server = build_server(indexed, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="wirehose-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive(), "the web server stopped before it started"
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=WAIT)


def _until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {WAIT:.0f}s for {what}")


def _screenshot(driver: Any, name: str) -> None:
    if os.environ.get("WIREHOSE_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(int(height), 900), 2400))
        driver.save_screenshot(str(IMAGES / name))
        driver.set_window_size(1280, 1700)


def test_the_web_page_in_a_browser_over_the_real_pipeline(browser: Any, site: str) -> None:
    # One test, several visits: the pipeline run behind them is the slow part, done once.
    _search_filter_and_open_a_story(browser, site)
    _a_headline_with_a_script_is_text_and_never_runs(browser, site)
    _save_and_remove_an_alert(browser, site)


def _search_filter_and_open_a_story(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(site + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("Hamas", Keys.ENTER)
    _until(lambda: "q=Hamas" in browser.current_url, "the search to run")
    rows = browser.find_elements(By.CSS_SELECTOR, "article.story-row")
    assert rows, browser.page_source[:2000]
    copied = [
        r for r in rows if not r.find_element(By.CSS_SELECTOR, ".copies").text.startswith("0")
    ]
    assert copied, "no story row shows wire copies"
    bars = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg a.bar")
    assert bars, "no timeline chart"
    assert "articles" in browser.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text
    # The script file runs under the page's policy: "/" moves to the search box.
    browser.find_element(By.TAG_NAME, "h2").click()
    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "q"

    # Four days counted by the hour: 96 intervals, a bar for each hour with articles.
    browser.get(site + "/?q=Hamas&since=2023-10-16&until=2023-10-19&timeline=hour")
    caption = browser.find_element(By.CSS_SELECTOR, "figure.chart figcaption").text
    assert caption.startswith("2023-10-16 00:00")
    assert caption.endswith("2023-10-19 23:00")
    assert "96 hours" in caption
    bars = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg a.bar title")
    assert bars
    assert all(" 0 articles" not in b.get_attribute("textContent") for b in bars)
    assert browser.find_element(By.CSS_SELECTOR, ".toggle strong").text == "by hour"
    _screenshot(browser, "web-search.png")

    # A facet adds its filter; the chip takes it away again.
    facet = browser.find_element(By.CSS_SELECTOR, "#facet-publishers li a")
    outlet = facet.text
    facet.click()
    _until(lambda: "publisher=" in browser.current_url, "the facet's filter")
    chips = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "ul.chips li.chip")]
    assert any(c.startswith("Publisher:") and outlet in c for c in chips), chips
    active = browser.find_element(By.CSS_SELECTOR, "#facet-publishers li.active a")
    assert active.text == outlet
    for row in browser.find_elements(By.CSS_SELECTOR, "article.story-row"):
        assert outlet in row.text  # every story left was carried by that outlet
    browser.find_element(
        By.CSS_SELECTOR, "ul.chips li.chip a.remove[aria-label^='Remove Publisher']"
    ).click()
    _until(lambda: "publisher=" not in browser.current_url, "the filter to go")

    # A story with copies, in order, with its first report.
    story_link = browser.find_elements(By.CSS_SELECTOR, "article.story-row")
    target = next(
        r for r in story_link if not r.find_element(By.CSS_SELECTOR, ".copies").text.startswith("0")
    )
    target.find_element(By.CSS_SELECTOR, "h2.headline a").click()
    _until(lambda: "/stories/" in browser.current_url, "the story page")
    table = browser.find_elements(By.CSS_SELECTOR, "table.articles tbody tr")
    assert len(table) > 1
    times = [
        datetime.strptime(r.find_element(By.CSS_SELECTOR, "td.when").text.splitlines()[0],
                          "%Y-%m-%d %H:%M")
        for r in table
    ]  # fmt: skip
    assert times == sorted(times)
    first = table[0]
    assert first.find_element(By.CSS_SELECTOR, "td.after").text == "first"
    report = browser.find_element(By.CSS_SELECTOR, "section.first-report").text
    assert first.find_element(By.CSS_SELECTOR, "td.outlet").text.splitlines()[0] in report
    copies = browser.find_elements(By.CSS_SELECTOR, "tr.copy .relation.copy-of")
    assert copies
    assert all(c.text.startswith("wire copy of") for c in copies)
    _screenshot(browser, "web-story.png")


def _a_headline_with_a_script_is_text_and_never_runs(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site + "/?q=harbour+festival")
    headline = _until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "article.story-row h2.headline"),
        "the article with a script for a title",
    )[0]
    assert headline.text == EVIL
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    links = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
    assert not [href for href in links if href.startswith("javascript:")]
    headline.find_element(By.TAG_NAME, "a").click()
    title = _until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "h1.story-title"), "the story page"
    )[0]
    assert title.text == EVIL
    assert browser.execute_script("return typeof window.__pwned") == "undefined"


def _save_and_remove_an_alert(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site + "/?q=ceasefire&place=Gaza")
    browser.find_element(By.LINK_TEXT, "Save as an alert").click()
    form = _until(lambda: browser.find_elements(By.CSS_SELECTOR, "form.alert-form"), "the form")[0]
    assert form.find_element(By.NAME, "q").get_attribute("value") == "ceasefire"
    form.find_element(By.NAME, "name").send_keys("gaza-truce")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    saved = _until(lambda: browser.find_elements(By.CSS_SELECTOR, "p.ok"), "the saved notice")
    assert "gaza-truce" in saved[0].text
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-alert='gaza-truce']")
    assert "ceasefire" in row.text
    assert "--place 'Gaza'" in row.text
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    browser.switch_to.alert.accept()  # the page asks first (static/app.js)
    _until(lambda: "removed=gaza-truce" in browser.current_url, "the alert to go")
    assert not browser.find_elements(By.CSS_SELECTOR, "tr[data-alert='gaza-truce']")
