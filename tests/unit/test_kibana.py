"""Kibana saved objects (structure checked against Kibana's export format) and their import.

The format, as Kibana's saved objects export/import API documents and exports it
(https://www.elastic.co/guide/en/kibana/current/saved-objects-api-import.html): NDJSON, one object
per line with ``id``, ``type``, ``attributes``, ``references``, ``coreMigrationVersion`` and
``typeMigrationVersion``; nested state (``visState``, ``panelsJSON``, ``searchSourceJSON``, ...)
stored as JSON strings; links between objects as ``references`` named by ``indexRefName`` and
``panelRefName`` (``<panelIndex>:panel_<panelIndex>`` on dashboards).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sinks.kibana import SAVED_OBJECTS, KibanaClient, import_saved_objects, with_alias
from sinks.kibana_objects import DATA_VIEW_ID, saved_objects, to_ndjson
from sinks.mapping import mappings
from wirehose.core.errors import ServiceError

JSON_STRING_ATTRIBUTES = {
    "index-pattern": ["fieldAttrs", "fieldFormatMap", "fields", "runtimeFieldMap", "sourceFilters", "typeMeta"],
    "search": [],
    "visualization": ["visState", "uiStateJSON"],
    "dashboard": ["panelsJSON", "optionsJSON"],
}  # fmt: skip
AGGREGATABLE = {"keyword", "date", "boolean", "short", "integer", "float"}


def committed() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text("utf-8").splitlines()]


def by_type(objects: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["type"] == type_]


def test_the_committed_file_is_what_the_generator_writes() -> None:
    assert SAVED_OBJECTS.read_text("utf-8") == to_ndjson(saved_objects()), (
        "run: .venv/bin/python -m sinks.kibana_objects > kibana/saved_objects.ndjson"
    )


def test_every_line_is_a_saved_object_in_export_format() -> None:
    objects = committed()
    assert [obj["type"] for obj in objects].count("dashboard") == 1
    assert {obj["type"] for obj in objects} == {
        "index-pattern",
        "search",
        "visualization",
        "dashboard",
    }
    assert len({obj["id"] for obj in objects}) == len(objects)
    for obj in objects:
        assert set(obj) == {
            "attributes", "coreMigrationVersion", "id", "managed", "references", "type",
            "typeMigrationVersion",
        }  # fmt: skip
        assert obj["coreMigrationVersion"].startswith("8.")
        assert obj["typeMigrationVersion"].startswith("8.")
        assert isinstance(obj["attributes"]["title"], str)
        for name in JSON_STRING_ATTRIBUTES[obj["type"]]:
            assert isinstance(obj["attributes"][name], str), (obj["id"], name)
            json.loads(obj["attributes"][name])
        meta = obj["attributes"].get("kibanaSavedObjectMeta")
        if meta is not None:
            assert isinstance(meta["searchSourceJSON"], str)
            json.loads(meta["searchSourceJSON"])


def _ref_names(obj: dict[str, Any]) -> set[str]:
    """Every reference name the object's JSON-string state points through."""
    names: set[str] = set()
    attributes = obj["attributes"]
    source = json.loads(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
    if "indexRefName" in source:
        names.add(source["indexRefName"])
    names |= {
        f["meta"]["indexRefName"] for f in source.get("filter", []) if "indexRefName" in f["meta"]
    }
    for panel in json.loads(attributes.get("panelsJSON", "[]")):
        names.add(f"{panel['panelIndex']}:{panel['panelRefName']}")
    return names


def test_references_resolve_within_the_file() -> None:
    # An import with a dangling reference fails with `missing_references`.
    objects = committed()
    ids = {(obj["type"], obj["id"]) for obj in objects}
    for obj in objects:
        assert {ref["name"] for ref in obj["references"]} == _ref_names(obj), obj["id"]
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, (obj["id"], ref)


def test_the_data_view_is_on_the_alias_with_a_date_time_field() -> None:
    (view,) = by_type(committed(), "index-pattern")
    assert view["id"] == DATA_VIEW_ID
    assert view["attributes"]["title"] == "articles"
    time_field = view["attributes"]["timeFieldName"]
    assert mappings()["properties"][time_field]["type"] == "date"


def test_panels_aggregate_only_fields_the_mapping_can_aggregate() -> None:
    properties = mappings()["properties"]
    fields_used = []
    for vis in by_type(committed(), "visualization"):
        state = json.loads(vis["attributes"]["visState"])
        assert state["title"] == vis["attributes"]["title"]
        fields_used += [agg["params"]["field"] for agg in state["aggs"] if "field" in agg["params"]]
    assert {
        "people",
        "organizations",
        "places",
        "publisher",
        "agencies",
        "story_id",
        "date",
    } <= set(fields_used)
    for field in fields_used:
        assert properties[field]["type"] in AGGREGATABLE, field
    (search,) = by_type(committed(), "search")
    for column in search["attributes"]["columns"]:
        assert column in properties
    assert search["attributes"]["sort"] == [["date", "desc"]]


def test_the_dashboard_grid_fits_and_nothing_overlaps() -> None:
    (board,) = by_type(committed(), "dashboard")
    panels = json.loads(board["attributes"]["panelsJSON"])
    assert len(panels) == 8  # timeline, six facets, the saved search
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 48
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["panelIndex"]
        cells |= area


# --- import -------------------------------------------------------------------------------------
class FakeKibana:
    """Records requests and answers like Kibana's import endpoint."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def client_for(fake: FakeKibana, **kwargs: Any) -> KibanaClient:
    return KibanaClient("http://kibana:5601/", transport=httpx.MockTransport(fake), **kwargs)


def test_import_posts_multipart_ndjson_with_xsrf_and_overwrite() -> None:
    fake = FakeKibana(httpx.Response(200, json={"success": True, "successCount": 10}))
    with client_for(fake) as client:
        report = import_saved_objects(client, "news")
    assert report.success_count == 10
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.url.path == "/api/saved_objects/_import"
    assert request.url.params["overwrite"] == "true"
    assert request.headers["kbn-xsrf"]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = request.read().decode()
    assert 'name="file"; filename="wirehose.ndjson"' in body
    assert '"title":"news"' in body  # the data view follows WIREHOSE_INDEX_ALIAS
    assert '"title":"articles"' not in body


def test_import_into_a_space_with_an_api_key() -> None:
    fake = FakeKibana(httpx.Response(200, json={"success": True, "successCount": 1}))
    with client_for(fake, space="news-desk", api_key="abc==") as client:
        client.import_objects('{"type":"search","id":"x","attributes":{}}\n')
    assert fake.requests[0].url.path == "/s/news-desk/api/saved_objects/_import"
    assert fake.requests[0].headers["authorization"] == "ApiKey abc=="


def test_rejected_objects_are_reported_by_id_and_reason() -> None:
    answer = {
        "success": False,
        "successCount": 9,
        "errors": [
            {
                "id": "wirehose-people",
                "type": "visualization",
                "error": {"type": "missing_references", "references": [{"type": "index-pattern", "id": "gone"}]},
            }
        ],
    }  # fmt: skip
    fake = FakeKibana(httpx.Response(200, json=answer))
    with client_for(fake) as client, pytest.raises(ServiceError) as caught:
        import_saved_objects(client, "articles")
    assert "rejected 1" in str(caught.value)
    assert "visualization/wirehose-people: missing_references (missing ['gone'])" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "--username/--password"), (500, "import failed \\(500\\)")]
)
def test_http_errors_say_what_to_do(status: int, hint: str) -> None:
    fake = FakeKibana(httpx.Response(status, text="nope"))
    with client_for(fake) as client, pytest.raises(ServiceError, match=hint):
        import_saved_objects(client, "articles")


def test_an_unreachable_kibana_says_how_to_start_it() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with (
        KibanaClient("http://kibana:5601", transport=transport) as client,
        pytest.raises(ServiceError, match=r"not reachable.*docker compose up -d kibana"),
    ):
        import_saved_objects(client, "articles")


def test_wait_polls_status_until_available() -> None:
    fake = FakeKibana(
        httpx.Response(503, json={}),
        httpx.Response(200, json={"status": {"overall": {"level": "unavailable"}}}),
        httpx.Response(200, json={"status": {"overall": {"level": "available"}}}),
    )
    slept: list[float] = []
    with client_for(fake) as client:
        client.wait_until_available(60, interval=5, sleep=slept.append, clock=lambda: 0.0)
    assert slept == [5, 5]
    assert [r.url.path for r in fake.requests] == ["/api/status"] * 3


def test_wait_gives_up_with_a_hint() -> None:
    fake = FakeKibana(*[httpx.Response(503, json={})] * 3)
    ticks = iter([0.0, 5.0, 10.0, 15.0])
    with client_for(fake) as client, pytest.raises(ServiceError, match="did not become available"):
        client.wait_until_available(10, interval=5, sleep=lambda _: None, clock=lambda: next(ticks))


def test_with_alias_only_touches_data_views(tmp_path: Path) -> None:
    rewritten = [
        json.loads(line) for line in with_alias(to_ndjson(saved_objects()), "x").splitlines()
    ]
    assert [o["attributes"]["title"] for o in rewritten if o["type"] == "index-pattern"] == ["x"]
    assert [o for o in rewritten if o["type"] != "index-pattern"] == [
        o for o in saved_objects() if o["type"] != "index-pattern"
    ]
