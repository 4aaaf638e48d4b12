"""wirehose against an Elasticsearch behind TLS and basic auth, end to end on the client side.

The native node has no security module, so a real TLS-terminating proxy stands in front of it:
nginx, started by this test on a free port with a certificate this test signed (for localhost
and 127.0.0.1) and an htpasswd file, proxying to the shared node. Through it: the index is
created (`wirehose index create`), the sink writes, `wirehose search` finds what it wrote. Then
the ways it goes wrong: a wrong password, and no CA file for the self-signed certificate.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sinks.elasticsearch import ElasticsearchSink
from tests.es_support import alias_cleanup, enriched
from tests.tls import Pki, make_pki
from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings
from wirehose.ops.local import settings_env
from wirehose.ops.services.runtime import free_port

USER = "wirehose-es"
NGINX_HINT = (
    "nginx is needed to put TLS and basic auth in front of Elasticsearch for this test: install "
    "it with `apt-get install -y nginx` (as root; `make test` and `make nginx` do it when missing)"
)

_CONFIG = """daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/temp/body;
    proxy_temp_path {root}/temp/proxy;
    fastcgi_temp_path {root}/temp/fastcgi;
    uwsgi_temp_path {root}/temp/uwsgi;
    scgi_temp_path {root}/temp/scgi;
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        auth_basic "wirehose test";
        auth_basic_user_file {root}/htpasswd;
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The node behind has no security; it has no business seeing the login.
            proxy_set_header Authorization "";
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Proxy:
    url: str
    pki: Pki
    password: str


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(NGINX_HINT, pytrace=False)
    return found


def _htpasswd_line(user: str, password: str, root: Path) -> str:
    hashed = subprocess.run(
        ["openssl", "passwd", "-apr1", "-stdin"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout.strip()
    return f"{user}:{hashed}\n"


def _answers(url: str, pki: Pki, password: str) -> bool:
    context = ssl.create_default_context(cafile=str(pki.ca))
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    request = urllib.request.Request(
        f"{url}/_cluster/health", headers={"Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def proxy(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """nginx with TLS and basic auth in front of the shared node, on a free port."""
    nginx = _nginx()
    root = tmp_path_factory.mktemp("nginx")
    (root / "temp").mkdir()
    pki = make_pki(root / "pki")
    password = secrets.token_hex(12)
    (root / "htpasswd").write_text(_htpasswd_line(USER, password, root))
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(
        _CONFIG.format(
            root=root, port=port, cert=pki.cert, key=pki.key, upstream=es_url.rstrip("/")
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(root), "-c", str(config), "-e", str(root / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"https://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(url, pki, password):
            error_log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start in front of {es_url}: {error_log}", pytrace=False)
            time.sleep(0.2)
        yield Proxy(url, pki, password)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def secured_settings(proxy: Proxy, tmp_path: Path) -> Callable[..., Settings]:
    alias = f"wh-articles-tls-{uuid.uuid4().hex[:8]}"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "es_url": proxy.url,
            "es_username": USER,
            "es_password": proxy.password,
            "es_ca_certs": proxy.pki.ca,
            "index_alias": alias,
            "home": tmp_path / "home",
        }
        values.update(overrides)
        return Settings(**values)

    return make


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **settings_env(settings)}
    return subprocess.run(
        [sys.executable, "-m", "wirehose", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def test_index_sink_and_search_through_tls_and_basic_auth(
    proxy: Proxy, secured_settings: Callable[..., Settings], es: Elasticsearch
) -> None:
    settings = secured_settings()
    articles = [
        enriched(
            title="Ceasefire talks resume in Cairo",
            body="Negotiators met in Cairo to discuss a ceasefire in Gaza.",
            publisher="Daily Ledger",
            ents="g:Cairo, g:Gaza",
        ),
        enriched(
            title="Ceasefire hopes rise",
            body="Diplomats said a ceasefire could hold by the weekend.",
            publisher="Metro Wire",
        ),
    ]
    with alias_cleanup(es, settings.index_alias):
        created = _cli(settings, "index", "create")
        assert created.returncode == 0, created.stderr[-3000:]
        assert f"behind alias '{settings.index_alias}'" in created.stdout

        sink = ElasticsearchSink(settings, refresh="wait_for")  # its own client, from settings
        sink.setup()
        for article in articles:
            sink.add(article)
        assert sink.flush() == []
        assert sink.stats.indexed == len(articles)
        sink.client.close()

        found = _cli(settings, "search", "ceasefire", "--json", "--no-collapse")
        assert found.returncode == 0, found.stderr[-3000:]
        hits = {hit["article_id"] for hit in json.loads(found.stdout)["hits"]}
        assert hits == {article.article_id for article in articles}
        # The node itself holds them too: what went through the proxy was really written.
        assert es.count(index=settings.index_alias)["count"] == len(articles)
    for output in (created, found):
        assert proxy.password not in output.stdout + output.stderr


def test_a_wrong_password_is_a_clear_error(
    proxy: Proxy, secured_settings: Callable[..., Settings]
) -> None:
    wrong = "not-" + proxy.password
    settings = secured_settings(es_password=wrong)
    for args in (("index", "create"), ("search", "ceasefire")):
        result = _cli(settings, *args)
        assert result.returncode == 1
        error = _last_line(result)
        assert error.startswith("error: Elasticsearch at"), result.stderr[-3000:]
        assert "refused the credentials (401)" in error
        assert "WIREHOSE_ES_PASSWORD" in error
        assert wrong not in result.stdout + result.stderr
    with pytest.raises(ServiceError, match="WIREHOSE_ES_PASSWORD"):
        ElasticsearchSink(settings).setup()
    status = _cli(settings, "status", "--json")
    assert status.returncode == 1
    problems = json.loads(status.stdout)["problems"]
    assert any("refused the credentials (401)" in problem for problem in problems), problems


def test_no_ca_file_for_a_self_signed_certificate_is_a_clear_error(
    secured_settings: Callable[..., Settings],
) -> None:
    settings = secured_settings(es_ca_certs=None)
    result = _cli(settings, "index", "create")
    assert result.returncode == 1
    # (The transport logs its retries, with their tracebacks, above the error itself.)
    error = _last_line(result)
    assert error.startswith("error: Elasticsearch at"), result.stderr[-3000:]
    assert "certificate was rejected" in error
    assert "WIREHOSE_ES_CA_CERTS" in error
    # The worker's sink stops with the same error instead of waiting for the "outage" to end.
    with pytest.raises(ServiceError, match="WIREHOSE_ES_CA_CERTS"):
        ElasticsearchSink(settings).setup()
