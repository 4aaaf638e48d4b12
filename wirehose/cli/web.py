"""``wirehose web``: the search page for analysts, and its JSON API."""

from __future__ import annotations

import click

from wirehose.core.errors import ConfigError
from wirehose.core.settings import get_settings


@click.command("web")
@click.option("--host", help="Address to listen on (default: WIREHOSE_WEB_HOST, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port to listen on (default: WIREHOSE_WEB_PORT, 8080).",
)
def command(host: str | None, port: int | None) -> None:
    """Serve the search page: a query box with the filters of `wirehose search`, facets to click,
    one row per story with its outlets and wire copies, a timeline by day or hour, each story's
    articles in order with the first report, and the saved alerts. Runs until Ctrl-C.

    Beside the page, a JSON API: /api/search (the parameters of the page, as
    `wirehose search --json` prints), /api/stories/ID and /api/alerts.

    The page listens on 127.0.0.1 by default, for this machine only. To open it to others, set
    a login first, WIREHOSE_WEB_TOKEN (a long random secret; people type it once, scripts send
    `Authorization: Bearer TOKEN`) or WIREHOSE_WEB_USER and WIREHOSE_WEB_PASSWORD (HTTP basic):
    without one it refuses any address but loopback. Put TLS in front (a reverse proxy) when it
    crosses a network you do not trust.

    \b
    Examples:
      wirehose web                                # then open http://127.0.0.1:8080
      wirehose web --port 9000
      WIREHOSE_WEB_TOKEN=$(python3 -c "import secrets; print(secrets.token_urlsafe(24))") \\
        wirehose web --host 0.0.0.0
      curl -s 'http://127.0.0.1:8080/api/search?q=Hamas&place=Gaza&timeline=day' | jq .total
    """
    # lazy: uvicorn and Starlette load only for this command
    from wirehose.web.server import address, build_server

    settings = get_settings()
    try:
        server = build_server(settings, host=host, port=port)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    where = address(server.config.host, server.config.port)
    login = " (login required)" if settings.web_token or settings.web_user else ""
    click.echo(f"wirehose web: open {where}{login}; Ctrl-C stops it", err=True)
    server.run()
