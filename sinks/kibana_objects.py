"""The Kibana saved objects for the articles index, built in code and committed as NDJSON.

    .venv/bin/python -m sinks.kibana_objects > kibana/saved_objects.ndjson

Kibana cannot run on every machine that builds wirehose, so the objects are written here in
Kibana's export format (one object per line: ``id``, ``type``, ``attributes``, ``references``,
``coreMigrationVersion``, ``typeMigrationVersion``; nested state as JSON *strings*; panels and
data views linked through ``references`` by ``panelRefName``/``indexRefName``), and a unit test
checks the committed file against this module, the format, and the index mapping (every field a
panel aggregates must exist and be aggregatable). The declared migration versions are the oldest
8.x ones whose format these objects follow, so Kibana 8.8+ migrates them forward on import.

Objects: the data view on the alias (time field ``date``), a saved search of canonical articles,
one terms table per facet (people, organizations, places, publishers, agencies, stories), an
articles-over-time histogram, and the dashboard that lays them out with a "canonical only" filter.
"""

from __future__ import annotations

import json
import sys
from typing import Any

DATA_VIEW_ID = "wirehose-articles"
SEARCH_ID = "wirehose-canonical-articles"
DASHBOARD_ID = "wirehose-overview"
DEFAULT_TITLE = "articles"  # the data view's index pattern; `kibana import` sets the real alias
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSIONS = {
    "index-pattern": "8.0.0",
    "search": "8.0.0",
    "visualization": "8.5.0",
    "dashboard": "8.7.0",
}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
FILTER_REF = "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"

# (visualization id suffix, title, field, size)
FACET_PANELS: list[tuple[str, str, str, int]] = [
    ("people", "People", "people", 20),
    ("organizations", "Organizations", "organizations", 20),
    ("places", "Places", "places", 20),
    ("publishers", "Publishers", "publisher", 20),
    ("agencies", "Agencies", "agencies", 10),
    ("stories", "Stories", "story_id", 15),
]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _object(
    type_: str, id_: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": id_,
        "managed": False,
        "references": references,
        "type": type_,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[type_],
    }


def _index_ref(name: str = INDEX_REF) -> dict[str, str]:
    return {"id": DATA_VIEW_ID, "name": name, "type": "index-pattern"}


def _search_source(query: str = "") -> str:
    return _dumps(
        {"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": INDEX_REF}
    )


def data_view(title: str = DEFAULT_TITLE) -> dict[str, Any]:
    return _object(
        "index-pattern",
        DATA_VIEW_ID,
        {
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "fields": "[]",
            "name": "wirehose articles",
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "timeFieldName": "date",
            "title": title,
            "typeMeta": "{}",
        },
        [],
    )


def saved_search() -> dict[str, Any]:
    return _object(
        "search",
        SEARCH_ID,
        {
            "title": "wirehose: canonical articles",
            "description": "Original articles (wire copies hidden), newest first.",
            "columns": ["title", "publisher", "agencies", "people", "places", "story_id"],
            "sort": [["date", "desc"]],
            "grid": {},
            "hideChart": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source("is_canonical : true")},
        },
        [_index_ref()],
    )


def _visualization(
    id_: str, title: str, vis_type: str, params: dict[str, Any], aggs: list[Any]
) -> dict[str, Any]:
    return _object(
        "visualization",
        id_,
        {
            "title": title,
            "description": "",
            "uiStateJSON": "{}",
            "version": 1,
            "visState": _dumps({"title": title, "type": vis_type, "params": params, "aggs": aggs}),
            "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source()},
        },
        [_index_ref()],
    )


_COUNT = {"id": "1", "enabled": True, "type": "count", "params": {}, "schema": "metric"}


def facet_table(suffix: str, title: str, field: str, size: int) -> dict[str, Any]:
    terms = {
        "id": "2",
        "enabled": True,
        "type": "terms",
        "schema": "bucket",
        "params": {
            "field": field,
            "orderBy": "1",
            "order": "desc",
            "size": size,
            "otherBucket": False,
            "missingBucket": False,
            "customLabel": title,
        },
    }
    params = {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False,
              "showTotal": False, "totalFunc": "sum", "percentageCol": ""}  # fmt: skip
    return _visualization(
        f"wirehose-{suffix}", f"wirehose: {title.lower()}", "table", params, [_COUNT, terms]
    )


def timeline() -> dict[str, Any]:
    histogram = {
        "id": "2",
        "enabled": True,
        "type": "date_histogram",
        "schema": "segment",
        "params": {"field": "date", "interval": "auto", "min_doc_count": 1, "extended_bounds": {}},
    }
    split = {
        "id": "3",
        "enabled": True,
        "type": "terms",
        "schema": "group",
        "params": {"field": "is_canonical", "orderBy": "1", "order": "desc", "size": 2,
                   "customLabel": "canonical"},
    }  # fmt: skip
    params = {
        "type": "histogram",
        "addLegend": True,
        "addTooltip": True,
        "legendPosition": "right",
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom",
                          "show": True, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value",
                       "position": "left", "show": True, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": "Articles"}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                          "data": {"label": "Articles", "id": "1"}, "valueAxis": "ValueAxis-1"}],
        "times": [],
    }  # fmt: skip
    return _visualization(
        "wirehose-timeline",
        "wirehose: articles over time",
        "histogram",
        params,
        [_COUNT, histogram, split],
    )


def dashboard(panel_objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The overview: timeline across the top, facet tables in rows of three, the saved search."""
    panels: list[dict[str, Any]] = []
    references: list[dict[str, str]] = []
    layout = [(0, 0, 48, 12)] + [
        (16 * (i % 3), 12 + 15 * (i // 3), 16, 15) for i in range(len(FACET_PANELS))
    ]
    layout.append((0, 12 + 15 * ((len(FACET_PANELS) + 2) // 3), 48, 20))
    for number, (obj, (x, y, w, h)) in enumerate(zip(panel_objects, layout, strict=True), start=1):
        index = f"panel-{number}"
        panels.append(
            {
                "type": obj["type"],
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                "panelIndex": index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{index}",
            }
        )
        references.append({"id": obj["id"], "name": f"{index}:panel_{index}", "type": obj["type"]})
    canonical_filter = {
        "meta": {"alias": "canonical only", "negate": False, "disabled": False, "type": "phrase",
                 "key": "is_canonical", "params": {"query": True}, "indexRefName": FILTER_REF},
        "query": {"match_phrase": {"is_canonical": True}},
        "$state": {"store": "appState"},
    }  # fmt: skip
    references.append(_index_ref(FILTER_REF))
    return _object(
        "dashboard",
        DASHBOARD_ID,
        {
            "title": "wirehose: news overview",
            "description": "Entity, publisher and story facets and a timeline of indexed articles.",
            "panelsJSON": _dumps(panels),
            "optionsJSON": _dumps(
                {"useMargins": True, "syncColors": False, "hidePanelTitles": False}
            ),
            "timeRestore": True,
            "timeFrom": "now-5y",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 60000},
            "version": 1,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": _dumps(
                    {"query": {"query": "", "language": "kuery"}, "filter": [canonical_filter]}
                )
            },
        },
        references,
    )


def saved_objects(title: str = DEFAULT_TITLE) -> list[dict[str, Any]]:
    """Every object, dependencies first (Kibana resolves references within one import)."""
    search = saved_search()
    panel_objects = [timeline(), *(facet_table(*spec) for spec in FACET_PANELS), search]
    visualizations = [obj for obj in panel_objects if obj["type"] == "visualization"]
    return [data_view(title), search, *visualizations, dashboard(panel_objects)]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        for obj in objects
    )


if __name__ == "__main__":
    sys.stdout.write(to_ndjson(saved_objects()))
