"""The HTML pages: search with facets and a timeline, one story, the alerts, the login form."""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from producers.fetch import check_url
from sinks.alerts import AlertSpec
from sinks.story import DEFAULT_LIMIT, MAX_LIMIT
from wirehose.core.errors import FetchError, TimelineTooLong
from wirehose.web.access import COOKIE, host_name, safe_next, set_session
from wirehose.web.chart import chart
from wirehose.web.params import PAGE, Link, ParamError, pairs_of, parse_search
from wirehose.web.views import facets, headline, story_rows

log = logging.getLogger(__name__)

MAX_FORM = 64 * 1024
# What an alert saves of a search (sinks.alerts.AlertSpec): no dates, no paging.
ALERT_KEYS = ("q", "person", "org", "place", "entity", "entity_type", "publisher", "agency",
              "story")  # fmt: skip


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    state = request.app.state
    base = {
        "csrf": state.csrf,
        "login": bool(state.access.token),
        "alerts_editable": _editable(request),
    }
    return state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _editable(request: Request) -> bool:
    backend = request.app.state.backend
    return backend.save_alert is not None and backend.remove_alert is not None


async def search_page(request: Request) -> Response:
    pairs = pairs_of(request.query_params.multi_items())
    link = Link(pairs)
    context: dict[str, Any] = {
        "link": link, "search": None, "result": None, "chart": None, "facets": [],
        "error": None, "timeline_note": None, "alert_query": "", "previous": None,
        "next": None, "interval": None,
    }  # fmt: skip
    try:
        search = parse_search(pairs, PAGE)
    except ParamError as exc:
        context["error"] = str(exc)
        return render(request, "search.html", context, status=400)
    backend = request.app.state.backend
    try:
        result = await run_in_threadpool(backend.search, search)
    except TimelineTooLong as exc:
        # The rows and facets are still worth showing; the chart says why it is missing.
        context["timeline_note"] = (
            str(exc)
            .replace("--timeline", "counting by")
            .replace("--since/--until", "Since and Until")
        )
        result = await run_in_threadpool(backend.search, replace(search, timeline=None))
    if result.timeline is not None:
        context["chart"] = chart(result.timeline, lambda values: link.setting(**values))
    previous = max(0, search.offset - search.size) if search.offset else None
    following = search.offset + search.size
    rows = result.stories if search.collapse and result.stories is not None else result.total
    context.update(
        search=search,
        result=result,
        facets=facets(result, link),
        previous=link.page(previous) if previous is not None else None,
        next=link.page(following) if following < rows else None,
        alert_query=link.query_string(ALERT_KEYS),
        interval=search.timeline,
    )
    return render(request, "search.html", context)


async def story_page(request: Request) -> Response:
    story_id = request.path_params["story_id"]
    limit_text = request.query_params.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(limit_text)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        raise ParamError("limit", f"a whole number from 1 to {MAX_LIMIT}") from None
    view = await run_in_threadpool(request.app.state.backend.story, story_id, limit)
    return render(
        request,
        "story.html",
        {
            "view": view,
            "headline": headline(view),
            "rows": story_rows(view),
            "more": min(view.total, MAX_LIMIT),
        },
    )


async def alerts_page(request: Request, *, error: str | None = None, status: int = 200,
                      form: list[tuple[str, str]] | None = None) -> Response:  # fmt: skip
    alerts = await run_in_threadpool(request.app.state.backend.list_alerts)
    given = form if form is not None else pairs_of(request.query_params.multi_items())
    prefill = [(k, v) for k, v in given if k in ALERT_KEYS]
    return render(
        request,
        "alerts.html",
        {
            "alerts": alerts,
            "error": error,
            "prefill": prefill,
            "prefill_link": Link(prefill),
            "name": next((v for k, v in given if k == "name"), ""),
            "saved": request.query_params.get("saved"),
            "replaced": request.query_params.get("replaced") == "1",
            "removed": request.query_params.get("removed"),
        },
        status=status,
    )


async def alerts_get(request: Request) -> Response:
    return await alerts_page(request)


async def alerts_add(request: Request) -> Response:
    form = await checked_form(request)
    backend = request.app.state.backend
    if backend.save_alert is None:
        raise HTTPException(405, "this page lists alerts only: use `wirehose alerts add`")
    pairs = pairs_of(form)
    try:
        spec = alert_spec(pairs)
    except (ParamError, ValueError) as exc:
        return await alerts_page(request, error=str(exc), status=400, form=pairs)
    replaced = await run_in_threadpool(backend.save_alert, spec)
    log.info("alert saved from the web page name=%s replaced=%s", spec.name, replaced)
    query = urlencode({"saved": spec.name, **({"replaced": "1"} if replaced else {})})
    return RedirectResponse(f"/alerts?{query}", status_code=303)


def alert_spec(pairs: list[tuple[str, str]]) -> AlertSpec:
    """The alert a submitted form saves; ``ValueError`` saying what is wrong."""
    fields = dict(pairs)
    search = parse_search([(k, v) for k, v in pairs if k in ALERT_KEYS])
    webhook = fields.get("webhook") or None
    if webhook:
        try:
            check_url(webhook)
        except FetchError as exc:
            raise ParamError("webhook", str(exc)) from None
    return AlertSpec(
        name=fields.get("name", ""),
        query=search.query,
        people=search.people,
        organizations=search.organizations,
        places=search.places,
        entities=search.entities,
        entity_types=search.entity_types,
        publishers=search.publishers,
        agencies=search.agencies,
        stories=search.stories,
        updates=fields.get("updates", "") in ("1", "on"),
        webhook=webhook,
    )


async def alerts_remove(request: Request) -> Response:
    await checked_form(request)
    backend = request.app.state.backend
    if backend.remove_alert is None:
        raise HTTPException(405, "this page lists alerts only: use `wirehose alerts remove`")
    name = request.path_params["name"]
    if not await run_in_threadpool(backend.remove_alert, name):
        return await alerts_page(request, error=f"no alert named {name!r}", status=404)
    log.info("alert removed from the web page name=%s", name)
    return RedirectResponse("/alerts?" + urlencode({"removed": name}), status_code=303)


async def checked_form(request: Request) -> list[tuple[str, str]]:
    """The fields of a posted form, once it is shown to come from this page: its own Origin
    (when the browser sends one) and the page's form token (403 otherwise)."""
    origin = request.headers.get("origin")
    host = host_name(request.headers.get("host", ""))
    if origin and origin != "null" and host_name(urlsplit(origin).netloc) != host:
        raise HTTPException(403, "a form from another site: reload this page and try again")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise HTTPException(413, "the form is too large")
    try:
        form = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise HTTPException(400, "the form is not UTF-8") from None
    given = next((v for k, v in form if k == "csrf"), "")
    if not hmac.compare_digest(given.encode(), request.app.state.csrf.encode()):
        raise HTTPException(403, "the form has expired (the page restarted): reload it")
    return form


async def login_get(request: Request) -> Response:
    if not request.app.state.access.token:
        return RedirectResponse("/", status_code=303)
    target = safe_next(request.query_params.get("next", "/"))
    return render(request, "login.html", {"next": target, "error": None})


async def login_post(request: Request) -> Response:
    access = request.app.state.access
    if not access.token:
        return RedirectResponse("/", status_code=303)
    form = dict(await checked_form(request))
    target = safe_next(form.get("next", "/"))
    if not access.token_ok(form.get("token", "")):
        log.warning("web login refused client=%s", request.client.host if request.client else "-")
        return render(request, "login.html", {"next": target, "error": True}, status=401)
    response = RedirectResponse(target, status_code=303)
    set_session(response, access, secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    await checked_form(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
