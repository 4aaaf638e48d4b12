"""Who may open the web page: loopback only without a login, a token or HTTP basic otherwise,
secrets masked and compared in constant time."""

from __future__ import annotations

import base64
import json
import re

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.unit.web_support import Fake, client
from wirehose.cli import cli
from wirehose.core.errors import ConfigError
from wirehose.core.settings import Settings, get_settings
from wirehose.web.access import COOKIE, is_loopback, safe_next, startup_problems
from wirehose.web.app import create_app
from wirehose.web.server import address, build_server

TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.org", ""])
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.2", "news.example.org"])
def test_an_open_page_refuses_to_listen_beyond_this_machine(host: str) -> None:
    problems = startup_problems(Settings(), host)
    assert problems
    assert "WIREHOSE_WEB_TOKEN" in problems[0]
    assert "WIREHOSE_WEB_USER" in problems[0]
    with pytest.raises(ConfigError, match="set WIREHOSE_WEB_TOKEN"):
        build_server(Settings(), host=host, backend=Fake().backend())


def test_a_login_setting_lets_it_listen_anywhere() -> None:
    assert startup_problems(Settings(web_token=TOKEN), "0.0.0.0") == []
    assert startup_problems(Settings(web_user="desk", web_password="long-password-1"), "::") == []
    assert startup_problems(Settings(), "127.0.0.1") == []
    server = build_server(
        Settings(web_token=TOKEN), host="0.0.0.0", port=8181, backend=Fake().backend()
    )
    assert (server.config.host, server.config.port) == ("0.0.0.0", 8181)
    assert address("0.0.0.0", 8181) == "http://127.0.0.1:8181"
    assert address("::1", 80) == "http://[::1]:80"


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"web_token": "short"}, "shorter than 16"),
        ({"web_user": "desk"}, "go together"),
        ({"web_password": "long-password-1"}, "go together"),
        ({"web_user": "desk", "web_password": "short"}, "shorter than 12"),
    ],
)
def test_weak_or_half_logins_are_refused_even_on_loopback(
    values: dict[str, str], says: str
) -> None:
    assert any(says in p for p in startup_problems(Settings(**values), "127.0.0.1"))


def test_the_command_says_which_settings_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_WEB_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(cli, ["web"])
    finally:
        get_settings.cache_clear()
    assert outcome.exit_code == 1
    assert "set WIREHOSE_WEB_TOKEN" in outcome.output
    assert "WIREHOSE_WEB_PASSWORD" in outcome.output


def test_secrets_are_masked_in_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_WEB_TOKEN", TOKEN)
    monkeypatch.setenv("WIREHOSE_WEB_PASSWORD", "long-password-1")
    get_settings.cache_clear()
    try:
        output = CliRunner().invoke(cli, ["settings", "--json"]).output
    finally:
        get_settings.cache_clear()
    rows = {row["name"]: row["value"] for row in json.loads(output)}
    assert rows["web_token"] == rows["web_password"] == "********"
    assert TOKEN not in output
    assert "long-password-1" not in output


def test_an_open_page_answers_only_to_loopback_names() -> None:
    app = create_app(Settings(), Fake().backend())
    for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        assert TestClient(app, base_url=base).get("/api/search").status_code == 200
    rebound = TestClient(app, base_url="http://attacker.example:8080").get("/api/search")
    assert rebound.status_code == 421
    assert "127.0.0.1 or localhost" in rebound.text


def test_token_by_bearer_query_or_login_form() -> None:
    web = client(web_token=TOKEN)
    assert web.get("/api/search").status_code == 401
    assert web.get("/api/search", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert web.get("/api/search", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert web.get(f"/api/search?token={TOKEN}").status_code == 200
    # A person is sent to the login form, and back where they were going.
    gone = web.get("/?q=truce")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login?next=%2F%3Fq%3Dtruce"
    form = web.get("/login?next=/?q=truce").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    wrong = web.post("/login", data={"csrf": csrf, "token": "guess", "next": "/?q=truce"})
    assert wrong.status_code == 401
    assert COOKIE not in wrong.cookies
    right = web.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/?q=truce"})
    assert right.status_code == 303
    assert right.headers["location"] == "/?q=truce"
    session = right.cookies[COOKIE]
    assert TOKEN not in session
    assert "httponly" in right.headers["set-cookie"].lower()
    assert "samesite=strict" in right.headers["set-cookie"].lower()
    web.cookies.clear()
    web.cookies.set(COOKIE, session)
    assert web.get("/?q=truce").status_code == 200
    web.cookies.set(COOKIE, "forged")
    assert web.get("/?q=truce").status_code == 303


def test_a_token_in_a_link_becomes_a_cookie_and_leaves_the_address() -> None:
    web = client(web_token=TOKEN)
    followed = web.get(f"/?q=truce&token={TOKEN}")
    assert followed.status_code == 303
    assert followed.headers["location"] == "/?q=truce"
    assert COOKIE in followed.cookies


def test_http_basic() -> None:
    web = client(web_user="desk", web_password="long-password-1")
    refused = web.get("/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert web.get("/", auth=("desk", "wrong-password")).status_code == 401
    assert web.get("/", auth=("other", "long-password-1")).status_code == 401
    assert web.get("/", auth=("desk", "long-password-1")).status_code == 200
    broken = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}
    assert web.get("/api/search", headers=broken).status_code == 401


def test_static_files_and_the_login_form_need_no_login() -> None:
    web = client(web_token=TOKEN)
    assert web.get("/static/app.js").status_code == 200
    assert web.get("/login").status_code == 200


@pytest.mark.parametrize(
    ("given", "kept"),
    [("/?q=x", "/?q=x"), ("//evil.example/", "/"), ("https://evil.example/", "/"),
     ("/\\evil.example", "/"), ("stories/1", "/")],
)  # fmt: skip
def test_login_returns_only_to_this_site(given: str, kept: str) -> None:
    assert safe_next(given) == kept
