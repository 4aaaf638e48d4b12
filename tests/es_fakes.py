"""Fakes for Elasticsearch-facing unit tests: a scripted bulk client and response builders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError


def item(status: int, error_type: str | None = None, reason: str = "", **error: Any) -> dict:
    body: dict[str, Any] = {"_index": "articles-v1", "_id": "x", "status": status}
    if error_type:
        body["error"] = {"type": error_type, "reason": reason, **error}
    return {"index": body}


def api_error(status: int, message: str = "boom") -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )
    return ApiError(message, meta=meta, body={"error": {"type": message}})


class ScriptedBulk:
    """Answers each ``bulk`` call with the next scripted step: a function of the operations that
    returns a response, or an exception to raise."""

    def __init__(self, *steps: Callable[[list[dict]], dict] | BaseException) -> None:
        self.steps = list(steps)
        self.calls: list[list[dict]] = []

    def bulk(self, *, operations: list[dict], **params: Any) -> dict:
        self.calls.append(list(operations))
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step(operations)


def all_items(status: int, error_type: str | None = None) -> Callable[[list[dict]], dict]:
    def respond(operations: list[dict]) -> dict:
        n = len(operations) // 2
        return {"errors": status >= 300, "items": [item(status, error_type) for _ in range(n)]}

    return respond


def per_doc(statuses: dict[str, dict]) -> Callable[[list[dict]], dict]:
    """Respond per document id; unlisted ids are created."""

    def respond(operations: list[dict]) -> dict:
        ids = [op["index"]["_id"] for op in operations[0::2]]
        return {"errors": True, "items": [statuses.get(i, item(201)) for i in ids]}

    return respond
