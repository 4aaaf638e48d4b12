"""The Starlette application behind ``wirehose web``: routes, errors, access and headers.

``create_app(settings, backend)`` builds it; the backend (``wirehose.web.backend``) is the only
way it reaches Elasticsearch, so tests pass fakes. Errors are mapped once, here: a bad parameter
is 400, an unknown story 404, Elasticsearch out of reach 503, each with a message that says what
to do, as JSON under ``/api/`` and as a page elsewhere.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wirehose import __version__
from wirehose.core.errors import ServiceError, StoryNotFound, TimelineTooLong
from wirehose.core.settings import Settings
from wirehose.web import api, pages
from wirehose.web.access import Access, AccessMiddleware, HeadersMiddleware
from wirehose.web.backend import Backend, es_backend
from wirehose.web.params import ParamError
from wirehose.web.templating import STATIC, templates

log = logging.getLogger(__name__)


def create_app(settings: Settings, backend: Backend | None = None) -> Starlette:
    """The page and its API over ``backend`` (default: the settings' Elasticsearch)."""
    chosen = backend if backend is not None else es_backend(settings)
    access = Access.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        chosen.close()

    routes = [
        Route("/", pages.search_page, name="search"),
        Route("/stories/{story_id:str}", pages.story_page, name="story"),
        Route("/alerts", pages.alerts_get, methods=["GET"], name="alerts"),
        Route("/alerts", pages.alerts_add, methods=["POST"]),
        Route("/alerts/{name:str}/remove", pages.alerts_remove, methods=["POST"]),
        Route("/login", pages.login_get, methods=["GET"]),
        Route("/login", pages.login_post, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/api/search", api.search),
        Route("/api/stories/{story_id:str}", api.story),
        Route("/api/alerts", api.alerts),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers: dict[Any, Any] = {
        ParamError: _bad_parameter,
        TimelineTooLong: _timeline_too_long,
        StoryNotFound: _story_not_found,
        ServiceError: _service_error,
        HTTPException: _http_error,
    }
    app = Starlette(
        routes=routes,
        middleware=[Middleware(HeadersMiddleware), Middleware(AccessMiddleware, access=access)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.backend = chosen
    app.state.settings = settings
    app.state.access = access
    # Proves a posted form came from a page this process served (a site elsewhere cannot read
    # it); a restart makes open forms stale, which the error says.
    app.state.csrf = secrets.token_urlsafe(32)
    app.state.templates = templates()
    app.state.templates.env.globals["version"] = __version__
    return app


def _error(request: Request, status: int, message: str, **extra: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message, **extra}, status_code=status)
    return pages.render(request, "error.html", {"status": status, "message": message}, status)


async def _bad_parameter(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ParamError)
    return _error(request, 400, str(exc), parameter=exc.param)


async def _timeline_too_long(request: Request, exc: Exception) -> Response:
    message = str(exc).replace("--timeline", "timeline").replace("--since/--until", "since/until")
    return _error(request, 400, message, parameter="timeline")


async def _story_not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _service_error(request: Request, exc: Exception) -> Response:
    log.warning(
        "web request failed: elasticsearch unavailable path=%s error=%s", request.url.path, exc
    )
    return _error(request, 503, f"the search index cannot answer: {exc}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"nothing at {request.url.path}"
    return _error(request, exc.status_code, str(message))
