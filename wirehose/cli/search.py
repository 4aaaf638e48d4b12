"""``wirehose search``: full-text search with entity, publisher and story filters and facets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from wirehose.core.errors import TimelineTooLong
from wirehose.core.settings import get_settings


@click.command("search")
@click.argument("query", nargs=-1)
@click.option(
    "--person",
    "-p",
    "people",
    multiple=True,
    help="Mentions this person (repeatable: all must appear).",
)
@click.option(
    "--org", "-o", "organizations", multiple=True, help="Mentions this organization (repeatable)."
)
@click.option(
    "--place", "-l", "places", multiple=True, help="Mentions this place, GPE or LOC (repeatable)."
)
@click.option(
    "--entity",
    "-e",
    "entities",
    multiple=True,
    help="Mentions this entity of any type (repeatable).",
)
@click.option(
    "--entity-type",
    "-t",
    "entity_types",
    multiple=True,
    help="spaCy label (PERSON, ORG, GPE, LOC, NORP, EVENT, ...): with --entity, the entity must "
    "have this type; alone, the article must mention some entity of this type.",
)
@click.option("--publisher", "publishers", multiple=True, help="Published by (repeatable: any of).")
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    help="Credits this agency, e.g. Reuters (repeatable: any of).",
)
@click.option(
    "--story", "stories", multiple=True, help="Belongs to this story id (repeatable: any of)."
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="Written in this language, an ISO 639-1 code: en, fr, de, zh, ...; und for articles "
    "too short or mixed to tell (repeatable: any of). The Languages facet shows what there is.",
)
@click.option("--since", help="From this date: 2023-12-10, 2023-12-10T16:00Z, 7d, 12h, now-1w.")
@click.option("--until", help="Up to this date, inclusive (a bare date means the whole day).")
@click.option(
    "--include-duplicates",
    is_flag=True,
    help="Search wire copies too (default: canonical articles only).",
)
@click.option(
    "--no-collapse",
    is_flag=True,
    help="One row per article instead of one per story.",
)
@click.option(
    "--sort",
    type=click.Choice(["relevance", "date"]),
    default="relevance",
    show_default=True,
    help="Order of results (date when there is no QUERY).",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Rows to show.",
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Rows to skip (paging).")
@click.option(
    "--facets",
    "facet_size",
    type=click.IntRange(0, 100),
    default=10,
    show_default=True,
    help="Values per facet.",
)
@click.option(
    "--timeline",
    type=click.Choice(["day", "hour"]),
    help="Also count, per UTC day or hour from --since to --until: articles (wire copies "
    "included), distinct stories and distinct outlets; empty intervals show 0. An open end "
    "stops at the first or last match (--until now counts up to now).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
def command(
    query: tuple[str, ...],
    people: tuple[str, ...],
    organizations: tuple[str, ...],
    places: tuple[str, ...],
    entities: tuple[str, ...],
    entity_types: tuple[str, ...],
    publishers: tuple[str, ...],
    agencies: tuple[str, ...],
    stories: tuple[str, ...],
    languages: tuple[str, ...],
    since: str | None,
    until: str | None,
    include_duplicates: bool,
    no_collapse: bool,
    sort: str,
    limit: int,
    offset: int,
    facet_size: int,
    timeline: str | None,
    as_json: bool,
) -> None:
    """Search indexed articles: QUERY matches title (weighted double) and body, with English
    stemming (articles in French, German, Spanish, Italian, Portuguese, Dutch, Russian, Arabic
    or Chinese also with their own language's, where Elasticsearch has it); all words must
    appear; "double quotes" make a phrase.

    Results show one row per story (its best-matching original) with how many articles and
    outlets carried it, highlighted snippets, and facets with counts. Entity filters use the
    canonical names the facets show, in any letter case.

    \b
    Examples:
      wirehose search Hamas
      wirehose search '"humanitarian catastrophe"' --sort date
      wirehose search --person "Sergei Lavrov"
      wirehose search ceasefire --place Gaza --org Hamas --since 2023-10-01 --until 2023-10-31
      wirehose search --entity Putin --entity-type PERSON --publisher "Daily Ledger"
      wirehose search Netanyahu --include-duplicates --no-collapse -n 50
      wirehose search Hamas --json | jq '.facets.people'
      wirehose search "cessez-le-feu" --language fr
      wirehose search ceasefire --since 2023-10-07 --until 2023-10-31 --timeline day
      wirehose search --org Hamas --since 2d --until now --timeline hour
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.render import render
    from sinks.search import SearchRequest, parse_when, search
    from sinks.timeline import resolve_when

    for name, value, end in (("--since", since, False), ("--until", until, True)):
        if value:
            try:
                resolve_when(parse_when(value, end=end), now=datetime.now(UTC), round_up=end)
            except (ValueError, OverflowError) as exc:
                raise click.BadParameter(str(exc), param_hint=name) from exc
    request = SearchRequest(
        query=" ".join(query),
        people=people,
        organizations=organizations,
        places=places,
        entities=entities,
        entity_types=entity_types,
        publishers=publishers,
        agencies=agencies,
        stories=stories,
        languages=languages,
        since=since,
        until=until,
        include_duplicates=include_duplicates,
        collapse=not no_collapse,
        sort="date" if sort == "date" else "relevance",
        size=limit,
        offset=offset,
        facet_size=facet_size,
        timeline="day" if timeline == "day" else "hour" if timeline == "hour" else None,
    )
    try:
        result = search(get_settings(), request)
    except TimelineTooLong as exc:
        raise click.BadParameter(str(exc), param_hint="--timeline") from exc
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        render(result)
