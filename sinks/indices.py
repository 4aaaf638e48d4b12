"""Create, inspect and migrate the versioned articles index behind its alias.

Layout: a composable index template ``wirehose-<alias>`` for ``<alias>-v*``, generations
``<alias>-v1``, ``-v2``, ... and the alias ``<alias>`` on exactly one of them (its write index).

Migration copies documents client-side (scroll + bulk) rather than with ``_reindex``: the slim
native node has no reindex module, and the client-side copy keeps each document's external
version, which keeps redelivery and revision ordering (see ``sinks.elasticsearch``) intact across
the switch. The alias moves in one atomic ``_aliases`` call. Writes that land in the old index
while it is copied are picked up by a catch-up pass over ``indexed_at`` after the switch;
external versions make copying a document twice harmless (409).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, helpers

from sinks.mapping import (
    FALLBACK_ANALYZER,
    LANGUAGE_ANALYZERS,
    MAPPING_VERSION,
    TEXT_ANALYZER,
    index_name,
    index_settings,
    index_template,
    mappings,
    template_name,
)
from wirehose.core.errors import ServiceError

log = logging.getLogger(__name__)

# Copy again whatever was indexed this long before the first pass started: a sink on another
# host stamps indexed_at with its own clock.
CATCH_UP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class IndexStatus:
    """What ``wirehose index status`` reports."""

    alias: str
    index: str | None
    generations: list[str]
    docs: int
    mapping_version: int | None
    analyzer: str | None
    template: bool
    health: str | None
    alias_is_index: bool = False
    current_version: int = MAPPING_VERSION

    @property
    def exists(self) -> bool:
        return self.index is not None

    @property
    def migration_needed(self) -> bool:
        return self.alias_is_index or (
            self.index is not None and self.mapping_version != self.current_version
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "index": self.index,
            "generations": self.generations,
            "docs": self.docs,
            "mapping_version": self.mapping_version,
            "current_mapping_version": self.current_version,
            "migration_needed": self.migration_needed,
            "analyzer": self.analyzer,
            "template": self.template,
            "health": self.health,
        }


@dataclass
class MigrationReport:
    source: str
    target: str
    copied: int = 0
    caught_up: int = 0
    deleted_source: bool = False
    errors: list[str] = field(default_factory=list)


class IndexManager:
    """The index lifecycle for one alias on one cluster."""

    def __init__(self, client: Elasticsearch, alias: str) -> None:
        self.client = client
        self.alias = alias

    # --- creation -----------------------------------------------------------------------------
    def analyzer(self) -> str:
        """``english`` when the cluster has it, else ``standard`` with a warning."""
        try:
            self.client.indices.analyze(analyzer=TEXT_ANALYZER, text="running")
            return TEXT_ANALYZER
        except BadRequestError:
            log.warning(
                "the cluster has no `%s` analyzer: text fields use `%s` (no stemming). On the "
                "native node, install a full JDK and rerun `wirehose services up` to build the "
                "plugin; then `wirehose index migrate --force`",
                TEXT_ANALYZER,
                FALLBACK_ANALYZER,
            )
            return FALLBACK_ANALYZER

    def language_analyzers(self) -> dict[str, str]:
        """Language code -> the built-in analyzer its localized fields use: the language's own
        where the cluster has it (a full distribution has all), else ``standard``."""
        chosen: dict[str, str] = {}
        missing: list[str] = []
        for code, name in LANGUAGE_ANALYZERS.items():
            try:
                self.client.indices.analyze(analyzer=name, text="running")
                chosen[code] = name
            except BadRequestError:
                chosen[code] = FALLBACK_ANALYZER
                missing.append(code)
        if missing:
            log.info(
                "the cluster lacks built-in analyzers for some languages: their localized fields "
                "use `%s` (no stemming) languages=%s",
                FALLBACK_ANALYZER,
                ",".join(missing),
            )
        return chosen

    def put_template(self, analyzer: str, languages: dict[str, str] | None = None) -> None:
        body = index_template(self.alias, analyzer, languages)
        self.client.indices.put_index_template(name=template_name(self.alias), **body)

    def ensure(self) -> str:
        """The live index behind the alias, creating template, index and alias if missing."""
        live = self._alias_target()
        if live is not None:
            return live
        if self.client.indices.exists(index=self.alias):
            raise ServiceError(
                f"{self.alias!r} is an index, not an alias; run `wirehose index migrate` to move "
                "it behind an alias (its documents are copied, nothing is lost)"
            )
        return self.create()

    def create(self) -> str:
        """Create the next generation with the alias on it (the first one is ``-v1``)."""
        analyzer = self.analyzer()
        languages = self.language_analyzers()
        self.put_template(analyzer, languages)
        name = index_name(self.alias, self._next_generation())
        try:
            self.client.indices.create(
                index=name,
                settings=index_settings(languages),
                mappings=mappings(analyzer),
                aliases={self.alias: {"is_write_index": True}},
            )
        except BadRequestError as exc:
            # Two workers starting at once both try; the loser finds the winner's index.
            if _error_type(exc) != "resource_already_exists_exception":
                raise
            live = self._alias_target()
            if live is None:
                raise
            return live
        log.info("created index=%s alias=%s analyzer=%s", name, self.alias, analyzer)
        return name

    # --- inspection -----------------------------------------------------------------------------
    def status(self) -> IndexStatus:
        live = self._alias_target()
        alias_is_index = live is None and bool(self.client.indices.exists(index=self.alias))
        target = live or (self.alias if alias_is_index else None)
        docs = 0
        meta: dict[str, Any] = {}
        health = None
        if target is not None:
            docs = int(self.client.count(index=target)["count"])
            mapping = self.client.indices.get_mapping(index=target)
            meta = next(iter(mapping.values()))["mappings"].get("_meta", {})
            health = str(
                self.client.cluster.health(index=target, timeout="2s").get("status", "unknown")
            )
        return IndexStatus(
            alias=self.alias,
            index=target,
            generations=self._generations(),
            docs=docs,
            mapping_version=meta.get("wirehose_mapping_version"),
            analyzer=meta.get("analyzer"),
            template=bool(
                self.client.indices.exists_index_template(name=template_name(self.alias))
            ),
            health=health,
            alias_is_index=alias_is_index,
        )

    # --- migration ------------------------------------------------------------------------------
    def migrate(self, *, force: bool = False, delete_old: bool = False) -> MigrationReport | None:
        """Copy the live index into a new generation with the current mapping and switch the
        alias. Returns None when there is nothing to do (pass ``force`` to rebuild anyway)."""
        status = self.status()
        if status.index is None:
            raise ServiceError(
                f"no index behind alias {self.alias!r}: run `wirehose index create` first"
            )
        if not (status.migration_needed or force):
            return None
        source = status.index
        analyzer = self.analyzer()
        languages = self.language_analyzers()
        self.put_template(analyzer, languages)
        target = index_name(self.alias, self._next_generation())
        self.client.indices.create(
            index=target, settings=index_settings(languages), mappings=mappings(analyzer)
        )
        report = MigrationReport(source=source, target=target)
        started = datetime.now(UTC)
        report.copied = self._copy(source, target, None, report)
        if status.alias_is_index:
            actions: list[dict[str, Any]] = [{"remove_index": {"index": source}}]
        else:
            actions = [{"remove": {"index": source, "alias": self.alias}}]
        actions.append({"add": {"index": target, "alias": self.alias, "is_write_index": True}})
        self.client.indices.update_aliases(actions=actions)
        log.info("alias switched alias=%s from=%s to=%s", self.alias, source, target)
        if not status.alias_is_index:
            since = started - CATCH_UP_MARGIN
            report.caught_up = self._copy(source, target, since, report)
            if delete_old:
                self.client.indices.delete(index=source)
                report.deleted_source = True
        else:
            report.deleted_source = True  # remove_index deleted it atomically with the switch
        self.client.indices.refresh(index=target)
        return report

    def _copy(
        self, source: str, target: str, since: datetime | None, report: MigrationReport
    ) -> int:
        query: dict[str, Any] = {"match_all": {}}
        if since is not None:
            query = {"range": {"indexed_at": {"gte": since.isoformat()}}}
        actions = (
            {
                "_op_type": "index",
                "_index": target,
                "_id": hit["_id"],
                "version": hit["_version"],
                "version_type": "external",
                "_source": hit["_source"],
            }
            for hit in helpers.scan(
                self.client, index=source, query={"query": query}, version=True, size=500
            )
        )
        copied = 0
        for ok, item in helpers.streaming_bulk(
            self.client, actions, raise_on_error=False, max_retries=5, chunk_size=500
        ):
            status = next(iter(item.values())).get("status", 0)
            if ok or status == 409:
                copied += int(ok)
            else:
                report.errors.append(str(item)[:500])
        if report.errors:
            raise ServiceError(
                f"{len(report.errors)} documents could not be copied from {source} to {target}; "
                f"the alias was not switched. First: {report.errors[0]}"
            )
        return copied

    # --- helpers --------------------------------------------------------------------------------
    def _alias_target(self) -> str | None:
        """The write index of the alias (or its only index), None when the alias is missing."""
        try:
            aliases = self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return None
        indices = list(aliases.keys())
        for index, body in aliases.items():
            if body.get("aliases", {}).get(self.alias, {}).get("is_write_index"):
                return str(index)
        return str(indices[0]) if indices else None

    def _generations(self) -> list[str]:
        try:
            found = self.client.indices.get(index=f"{self.alias}-v*", expand_wildcards="all")
        except NotFoundError:
            return []
        pattern = re.compile(rf"^{re.escape(self.alias)}-v(\d+)$")
        names = [name for name in found if pattern.match(name)]
        return sorted(names, key=lambda name: int(pattern.match(name).group(1)))  # type: ignore[union-attr]

    def _next_generation(self) -> int:
        names = self._generations()
        return int(names[-1].rsplit("-v", 1)[1]) + 1 if names else 1


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    return str(body.get("error", {}).get("type", ""))
