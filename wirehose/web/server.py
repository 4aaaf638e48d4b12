"""Serving the page with uvicorn, once the address and the access settings are shown to fit."""

from __future__ import annotations

import logging

import uvicorn

from wirehose.core.errors import ConfigError
from wirehose.core.settings import Settings
from wirehose.web.access import startup_problems
from wirehose.web.app import create_app
from wirehose.web.backend import Backend

log = logging.getLogger(__name__)


def build_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    backend: Backend | None = None,
) -> uvicorn.Server:
    """A uvicorn server for the page on ``host``:``port`` (default: the settings'); ``ConfigError``
    naming the settings to set when the address needs a login and none is configured."""
    where = host or settings.web_host
    problems = startup_problems(settings, where)
    if problems:
        raise ConfigError("wirehose web will not start: " + "; ".join(problems))
    config = uvicorn.Config(
        create_app(settings, backend),
        host=where,
        port=port or settings.web_port,
        log_config=None,  # wirehose.core.logs owns logging
        access_log=False,  # requests carry searches; an analyst's queries stay out of logs
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def address(host: str, port: int) -> str:
    """The URL to open for a server on ``host``:``port`` (a wildcard address: this machine's)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"
