"""Who may open the page, and the headers every answer carries.

- Bound to a loopback address with no access setting, the page is open to this machine only,
  and answers only requests addressed to a loopback name (``Host``), so a web site cannot reach
  it through a DNS name it points at 127.0.0.1.
- With ``WIREHOSE_WEB_TOKEN``: ``Authorization: Bearer TOKEN``, ``?token=TOKEN`` once (kept in
  an HttpOnly cookie) or the login form. With ``WIREHOSE_WEB_USER`` and ``WIREHOSE_WEB_PASSWORD``:
  HTTP basic. Either opens the page when both are set. Secrets are compared in constant time.
- Bound anywhere else, ``startup_problems`` refuses to start without one of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wirehose.core.settings import Settings

COOKIE = "wirehose_session"
MIN_TOKEN = 16
MIN_PASSWORD = 12
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
OPEN_PATHS = ("/static/", "/login")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # An analyst's searches stay theirs: no Referer to the outlets an article links to.
    (b"referrer-policy", b"no-referrer"),
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8080`` -> ``[::1]``."""
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.partition(":")[0]


def startup_problems(settings: Settings, host: str) -> list[str]:
    """Why the page must not start on ``host`` with these settings (empty: it may)."""
    token = settings.web_token.get_secret_value() if settings.web_token else ""
    user = settings.web_user or ""
    password = settings.web_password.get_secret_value() if settings.web_password else ""
    problems = []
    if settings.web_token is not None and len(token) < MIN_TOKEN:
        problems.append(
            f"WIREHOSE_WEB_TOKEN is shorter than {MIN_TOKEN} characters: use a long random one "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(24))")'
        )
    if bool(user) != bool(password):
        problems.append(
            "WIREHOSE_WEB_USER and WIREHOSE_WEB_PASSWORD go together: set both (HTTP basic "
            "login), or neither"
        )
    elif password and len(password) < MIN_PASSWORD:
        problems.append(f"WIREHOSE_WEB_PASSWORD is shorter than {MIN_PASSWORD} characters")
    if not is_loopback(host) and not token and not (user and password):
        problems.append(
            f"the page would listen on {host}, which other machines can reach, with no login: "
            "set WIREHOSE_WEB_TOKEN (a long random secret), or WIREHOSE_WEB_USER and "
            "WIREHOSE_WEB_PASSWORD; or listen on 127.0.0.1 (WIREHOSE_WEB_HOST, --host)"
        )
    return problems


@dataclass(frozen=True)
class Access:
    """The secrets that open the page (none: open, on loopback only)."""

    token: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        return cls(
            token=settings.web_token.get_secret_value() if settings.web_token else "",
            user=settings.web_user or "",
            password=settings.web_password.get_secret_value() if settings.web_password else "",
        )

    @property
    def open(self) -> bool:
        return not self.token and not (self.user and self.password)

    def session(self) -> str:
        """The cookie value: derived from the token, so the cookie never holds the token."""
        return hmac.new(self.token.encode(), b"wirehose-web-session", hashlib.sha256).hexdigest()

    def token_ok(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def allows(self, request: Request) -> bool:
        """Whether ``request`` carries one of the secrets."""
        if self.open:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.token:
            cookie = request.cookies.get(COOKIE, "")
            if cookie and hmac.compare_digest(cookie.encode(), self.session().encode()):
                return True
            if scheme.lower() == "bearer" and self.token_ok(value.strip()):
                return True
            if self.token_ok(request.query_params.get("token", "")):
                return True
        if self.user and self.password and scheme.lower() == "basic":
            return self._basic_ok(value.strip())
        return False

    def _basic_ok(self, value: str) -> bool:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared whatever the first gives, so timing tells nothing about which was wrong.
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok


def refusal(request: Request, access: Access) -> Response:
    """The answer to a request without the secret: 401 for scripts, the login page for people."""
    api = request.url.path.startswith("/api/")
    basic = {"WWW-Authenticate": 'Basic realm="wirehose", charset="UTF-8"'}
    if api:
        how = "Authorization: Bearer TOKEN" if access.token else "HTTP basic"
        return JSONResponse(
            {"error": f"login required: send {how}"},
            status_code=401,
            headers=basic if not access.token else None,
        )
    if access.token:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    return PlainTextResponse("login required", status_code=401, headers=basic)


def safe_next(target: str) -> str:
    """A path on this site to go back to after logging in; anything else goes home."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class AccessMiddleware:
    """Checks every request against ``access``; on loopback without secrets, checks ``Host``."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.access.open:
            if not is_loopback(host_name(request.headers.get("host", ""))):
                response: Response = PlainTextResponse(
                    "this page answers to 127.0.0.1 or localhost only: open it by that name, "
                    "or set WIREHOSE_WEB_TOKEN to reach it by another",
                    status_code=421,
                )
                await response(scope, receive, send)
                return
        elif not request.url.path.startswith(OPEN_PATHS) and not self.access.allows(request):
            await refusal(request, self.access)(scope, receive, send)
            return
        elif (
            self.access.token
            and request.method == "GET"
            and self.access.token_ok(request.query_params.get("token", ""))
            and not request.url.path.startswith("/api/")
        ):
            # A person who followed a link with ?token=: keep it in a cookie, drop it from the
            # address bar (and so from history and anything the page links to).
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = quote(request.url.path) + ("?" + urlencode(kept) if kept else "")
            redirect = RedirectResponse(target, status_code=303)
            set_session(redirect, self.access, secure=request.url.scheme == "https")
            await redirect(scope, receive, send)
            return
        await self.app(scope, receive, send)


def set_session(response: Response, access: Access, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE, access.session(), httponly=True, samesite="strict", secure=secure, path="/"
    )


class HeadersMiddleware:
    """Adds the security headers to every answer, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
