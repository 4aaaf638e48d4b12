"""The JSON API beside the page: the same searches and stories, as ``wirehose search --json`` and
``wirehose stories --json`` print them.

``GET /api/search`` takes the page's parameters (``wirehose.web.params``) and answers
``SearchResult.to_dict()``, with ``timeline`` when ``timeline=day|hour`` is asked.
``GET /api/stories/{id}`` answers ``StoryView.to_dict()`` (``limit`` articles, default 500).
``GET /api/alerts`` lists the saved alerts, webhooks shown by host only.

Errors are ``{"error": message}``: 400 for a bad parameter (with ``parameter``), 401 without
the login, 404 for an unknown story, 503 when Elasticsearch cannot answer.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sinks.story import DEFAULT_LIMIT, MAX_LIMIT
from wirehose.web.params import API, ParamError, parse_search
from wirehose.web.templating import redact_webhook


async def search(request: Request) -> Response:
    wanted = parse_search(request.query_params.multi_items(), API)
    result = await run_in_threadpool(request.app.state.backend.search, wanted)
    return JSONResponse(result.to_dict())


async def story(request: Request) -> Response:
    unknown = sorted(set(request.query_params) - {"limit", "token"})
    if unknown:
        raise ParamError(unknown[0], "unknown parameter; the only one is limit")
    try:
        limit = int(request.query_params.get("limit", str(DEFAULT_LIMIT)))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        raise ParamError("limit", f"a whole number from 1 to {MAX_LIMIT}") from None
    story_id = request.path_params["story_id"]
    view = await run_in_threadpool(request.app.state.backend.story, story_id, limit)
    return JSONResponse(view.to_dict())


async def alerts(request: Request) -> Response:
    found = await run_in_threadpool(request.app.state.backend.list_alerts)
    listed = []
    for spec in found:
        data = spec.to_dict()
        data["webhook"] = redact_webhook(spec.webhook)
        listed.append(data)
    return JSONResponse({"alerts": listed})
