"""Import wirehose's saved objects into Kibana through its saved objects import API.

``POST /api/saved_objects/_import?overwrite=true`` with the NDJSON as a multipart ``file`` and the
``kbn-xsrf`` header Kibana demands of every write
(https://www.elastic.co/guide/en/kibana/current/saved-objects-api-import.html). ``overwrite``
makes a re-import update the objects in place instead of failing on conflicts, so running it
on every deployment is safe.

The data view's index pattern is rewritten to the configured alias on the way in, so a cluster
with ``WIREHOSE_INDEX_ALIAS=news`` gets a data view on ``news``. The HTTP transport is injectable
(``httpx.MockTransport`` in the tests).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import wirehose
from wirehose.core.errors import ServiceError

log = logging.getLogger(__name__)


def default_saved_objects() -> Path:
    """``wirehose/_kibana/saved_objects.ndjson`` in a wheel, ``kibana/`` in a checkout."""

    packaged = Path(wirehose.__file__).parent / "_kibana" / "saved_objects.ndjson"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parent.parent / "kibana" / "saved_objects.ndjson"


SAVED_OBJECTS = default_saved_objects()


@dataclass
class ImportReport:
    success: bool
    success_count: int
    errors: list[dict[str, Any]] = field(default_factory=list)

    def describe_errors(self) -> str:
        return "; ".join(
            f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type', 'error')}"
            + (
                f" (missing {[r.get('id') for r in e['error'].get('references', [])]})"
                if e.get("error", {}).get("references")
                else ""
            )
            for e in self.errors
        )


def with_alias(ndjson: str, alias: str) -> str:
    """The NDJSON with every data view's index pattern set to ``alias``."""
    lines = []
    for line in ndjson.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("type") == "index-pattern":
            obj["attributes"]["title"] = alias
        lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    return "\n".join(lines) + "\n"


class KibanaClient:
    """A small client for the two Kibana endpoints wirehose needs: status and import."""

    def __init__(
        self,
        url: str,
        *,
        space: str | None = None,
        auth: tuple[str, str] | None = None,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.prefix = f"/s/{space}" if space else ""
        headers = {"kbn-xsrf": "wirehose"}
        if api_key:
            headers["Authorization"] = f"ApiKey {api_key}"
        self.http = httpx.Client(
            base_url=self.url, headers=headers, auth=auth, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> KibanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def available(self) -> bool:
        """Kibana answers and reports itself available (it serves 503 while it starts)."""
        try:
            response = self.http.get("/api/status")
        except httpx.TransportError:
            return False
        if response.status_code != 200:
            return False
        level = response.json().get("status", {}).get("overall", {}).get("level")
        return level in (None, "available")

    def wait_until_available(
        self,
        timeout: float,
        *,
        interval: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        deadline = clock() + timeout
        while not self.available():
            if clock() >= deadline:
                raise ServiceError(
                    f"Kibana at {self.url} did not become available within {timeout:.0f}s; "
                    "check that it runs (`docker compose ps kibana`) and can reach Elasticsearch"
                )
            sleep(interval)

    def import_objects(self, ndjson: str, *, overwrite: bool = True) -> ImportReport:
        """POST the objects; raise ``ServiceError`` saying what to do when Kibana refuses."""
        try:
            response = self.http.post(
                f"{self.prefix}/api/saved_objects/_import",
                params={"overwrite": "true" if overwrite else "false"},
                files={"file": ("wirehose.ndjson", ndjson.encode("utf-8"), "application/ndjson")},
            )
        except httpx.TransportError as exc:
            raise ServiceError(
                f"Kibana at {self.url} is not reachable ({type(exc).__name__}); start it "
                "(`docker compose up -d kibana`) or pass --url"
            ) from exc
        if response.status_code in (401, 403):
            raise ServiceError(
                f"Kibana refused the import ({response.status_code}): pass --username/--password "
                "or --api-key of a user allowed to manage saved objects"
            )
        if response.status_code != 200:
            raise ServiceError(
                f"Kibana import failed ({response.status_code}): {response.text[:500]}"
            )
        body = response.json()
        report = ImportReport(
            success=bool(body.get("success")),
            success_count=int(body.get("successCount", 0)),
            errors=list(body.get("errors") or []),
        )
        if not report.success:
            raise ServiceError(
                f"Kibana imported {report.success_count} objects but rejected "
                f"{len(report.errors)}: {report.describe_errors()}"
            )
        log.info("imported saved objects count=%d url=%s", report.success_count, self.url)
        return report


def import_saved_objects(
    client: KibanaClient, alias: str, path: Path = SAVED_OBJECTS, *, overwrite: bool = True
) -> ImportReport:
    """Import ``path`` (the committed saved objects) with the data view set to ``alias``."""
    return client.import_objects(with_alias(path.read_text("utf-8"), alias), overwrite=overwrite)
