"""Saved searches that alert: what one is, the query it stores, and the index that keeps them.

An alert is a saved ``wirehose search``: query text and the same filters, turned into an
Elasticsearch query by the same builder (``sinks.search.text_query`` and ``filters``), canonical
articles only as search shows them by default. So an alert fires for exactly the articles its
search would list, and never holds query syntax a user typed.

The alerts index (``WIREHOSE_ALERTS_INDEX``, default ``<alias>-alerts``) has the articles'
mapping (``sinks.mapping``) plus the alert's own fields, so that an article's search document
(``sinks.document``) is read there exactly as in the articles index. Where the cluster has the
percolator module (every Elasticsearch distribution but the slim one ``wirehose services``
runs), the stored query is a ``percolator`` field and matching is one ``percolate`` request per
batch of articles; elsewhere the query is stored as plain JSON and ``sinks.percolate`` matches
the other way round. ``_meta.matcher`` records which, chosen when the index is created.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from sinks.indices import IndexManager
from sinks.request import SearchRequest
from sinks.search import filters, text_query

log = logging.getLogger(__name__)

Matcher = Literal["percolator", "search"]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_ALERTS = 10_000  # one page lists them all; more would want paging everywhere
# The fields an alert document adds to the articles' mapping.
ALERT_FIELDS: dict[str, Any] = {
    "alert": {
        "properties": {
            "name": {"type": "keyword"},
            "updates": {"type": "boolean"},
            "webhook": {"type": "keyword", "index": False},
            "created_at": {"type": "date"},
            "spec": {"type": "object", "enabled": False},
        }
    },
    # A document being matched by ``sinks.percolate.SearchMatcher`` carries its batch's tag.
    "probe": {"type": "keyword"},
}


@dataclass(frozen=True)
class AlertSpec:
    """One saved alert: a name, what ``wirehose search`` would be asked, and where to deliver."""

    name: str
    query: str = ""
    people: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    stories: tuple[str, ...] = ()
    updates: bool = False  # deliver later matching articles of a story too, not only the first
    webhook: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(
                f"{self.name!r} is not an alert name: 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )

    def request(self) -> SearchRequest:
        """The search this alert saves (canonical articles, as search shows by default)."""
        return SearchRequest(
            query=self.query,
            people=self.people,
            organizations=self.organizations,
            places=self.places,
            entities=self.entities,
            entity_types=self.entity_types,
            publishers=self.publishers,
            agencies=self.agencies,
            stories=self.stories,
        )

    def filters_text(self) -> str:
        """The filters as the command line takes them, for listings."""
        options = (
            ("--person", self.people), ("--org", self.organizations), ("--place", self.places),
            ("--entity", self.entities), ("--entity-type", self.entity_types),
            ("--publisher", self.publishers), ("--agency", self.agencies),
            ("--story", self.stories),
        )  # fmt: skip
        return " ".join(f"{flag} {value!r}" for flag, values in options for value in values)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertSpec:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
        }
        return cls(**values)


def alert_query(spec: AlertSpec) -> dict[str, Any]:
    """The query an alert stores: ``wirehose search``'s, canonical articles only."""
    request = spec.request()
    must = [text_query(request.query)] if request.query.strip() else []
    return {"bool": {"must": must, "filter": filters(request, canonical_only=True)}}


def alert_document(spec: AlertSpec) -> dict[str, Any]:
    return {
        "alert": {
            "name": spec.name,
            "updates": spec.updates,
            "webhook": spec.webhook,
            "created_at": spec.created_at,
            "spec": spec.to_dict(),
        },
        "query": alert_query(spec),
    }


def alerts_mappings(articles: dict[str, Any], matcher: Matcher, live: str) -> dict[str, Any]:
    """The mapping of the live articles index ``live``, the alert's fields, and the stored
    query as ``matcher`` needs it.

    Not strict: a document from a newer worker (a field this index lacks) is still matched on
    the fields it has, rather than refused.
    """
    body = copy.deepcopy(articles)
    clash = {"query", *ALERT_FIELDS} & set(body["properties"])
    if clash:
        raise RuntimeError(f"article fields {sorted(clash)} clash with the alert's own fields")
    body["dynamic"] = False
    body["_meta"] = {**body.get("_meta", {}), "matcher": matcher, "articles_index": live}
    body["properties"].update(copy.deepcopy(ALERT_FIELDS))
    body["properties"]["query"] = (
        {"type": "percolator"} if matcher == "percolator" else {"type": "object", "enabled": False}
    )
    return body


class AlertStore:
    """The alerts index: create it beside the articles index, save, list and remove alerts.

    The index copies the live articles index's mapping and analysis settings, so a document is
    analysed the same in both. When the articles alias moves to another index (``wirehose index
    migrate``), the alerts index is rebuilt from the saved alerts: their queries are built again
    by the current code, against the new mapping.
    """

    def __init__(self, client: Elasticsearch, index: str, articles_alias: str) -> None:
        self.client = client
        self.index = index
        self.articles_alias = articles_alias

    def ensure(self) -> Matcher:
        """Create or rebuild the index as needed; return how it matches."""
        live = IndexManager(self.client, self.articles_alias).ensure()
        try:
            found = self.client.indices.get_mapping(index=self.index)
        except NotFoundError:
            return self._create(live)
        meta = next(iter(found.values()))["mappings"].get("_meta", {})
        if meta.get("articles_index") != live:
            return self._rebuild(live)
        return "percolator" if meta.get("matcher") == "percolator" else "search"

    def _create(self, live: str) -> Matcher:
        articles = self.client.indices.get_mapping(index=live)[live]["mappings"]
        analysis = self.client.indices.get_settings(index=live)[live]["settings"]["index"].get(
            "analysis", {}
        )
        settings = {"number_of_shards": 1, "auto_expand_replicas": "0-1", "analysis": analysis}
        matchers: tuple[Matcher, ...] = ("percolator", "search")
        for matcher in matchers:
            try:
                self.client.indices.create(
                    index=self.index,
                    settings=settings,
                    mappings=alerts_mappings(articles, matcher, live),
                )
            except BadRequestError as exc:
                text = str(exc)
                if "resource_already_exists_exception" in text:
                    return self.ensure()  # another process created it first
                if matcher == "percolator" and "percolator" in text:
                    log.info(
                        "the cluster has no percolator module: alerts are matched by search "
                        "index=%s",
                        self.index,
                    )
                    continue
                raise
            log.info("created alerts index=%s matcher=%s articles=%s", self.index, matcher, live)
            return matcher
        raise AssertionError("unreachable: the search matcher needs no module")

    def _rebuild(self, live: str) -> Matcher:
        specs = self.list()
        log.info(
            "rebuilding alerts index for a new articles index index=%s articles=%s alerts=%d",
            self.index, live, len(specs),
        )  # fmt: skip
        self.client.options(ignore_status=404).indices.delete(index=self.index)
        matcher = self._create(live)
        for spec in specs:
            self._save(spec)
        return matcher

    def add(self, spec: AlertSpec) -> None:
        """Save ``spec`` (replacing an alert of the same name); it applies from now on."""
        self.ensure()
        self._save(spec)

    def _save(self, spec: AlertSpec) -> None:
        document = alert_document(spec)
        # The percolator parses the query as it is stored; plain JSON is checked by running it.
        self.client.count(index=self.index, query=document["query"])
        self.client.index(index=self.index, id=spec.name, document=document, refresh="wait_for")

    def get(self, name: str) -> AlertSpec | None:
        try:
            found = self.client.get(index=self.index, id=name)
        except NotFoundError:
            return None
        return AlertSpec.from_dict(found["_source"]["alert"]["spec"])

    def list(self) -> list[AlertSpec]:
        try:
            response = self.client.search(
                index=self.index,
                query={"exists": {"field": "alert.name"}},
                sort=[{"alert.name": "asc"}],
                size=MAX_ALERTS,
                source_includes=["alert.spec"],
            )
        except NotFoundError:
            return []
        return [
            AlertSpec.from_dict(hit["_source"]["alert"]["spec"]) for hit in response["hits"]["hits"]
        ]

    def remove(self, name: str) -> bool:
        """Delete the alert ``name``; False when there was none."""
        try:
            self.client.delete(index=self.index, id=name, refresh="wait_for")
        except NotFoundError:
            return False
        return True
