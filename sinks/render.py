"""Search results for a human at a terminal: a summary line, one row per story, the facets,
and the timeline when one was asked for.

Highlights come back from Elasticsearch as ``<em>...</em>`` around matched words in otherwise
raw article text; the text is escaped for rich markup first, then the tags become bold, so a
``[`` in a headline can never be taken for markup.
"""

from __future__ import annotations

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sinks.results import FacetBucket, Hit, SearchResult
from sinks.timeline import Timeline

FACET_TITLES = {
    "people": "People",
    "organizations": "Organizations",
    "places": "Places",
    "publishers": "Publishers",
    "agencies": "Agencies",
    "languages": "Languages",
    "stories": "Stories",
}


def highlight_markup(fragment: str) -> str:
    """An Elasticsearch highlight fragment as rich markup (matched words in bold yellow)."""
    return (
        escape(fragment.replace("\n", " "))
        .replace("<em>", "[bold yellow]")
        .replace("</em>", "[/bold yellow]")
    )


def _coverage(hit: Hit) -> Text:
    if hit.coverage is None:
        return Text("1 article")
    cov = hit.coverage
    line = Text(f"{cov.articles} article{'s' if cov.articles != 1 else ''}")
    if cov.copies:
        line.append(f"\n{cov.copies} cop{'ies' if cov.copies != 1 else 'y'}", style="dim")
    line.append(f"\n{cov.outlet_count} outlet{'s' if cov.outlet_count != 1 else ''}")
    if cov.outlets:
        shown = ", ".join(cov.outlets[:3]) + (" ..." if len(cov.outlets) > 3 else "")
        line.append(f"\n{shown}", style="dim")
    return line


def hits_table(result: SearchResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_lines=True)
    table.add_column("#", justify="right", style="dim", width=3)
    table.add_column("date", width=10)
    table.add_column("article", ratio=4)
    table.add_column("coverage", ratio=1)
    for number, hit in enumerate(result.hits, start=1):
        title = highlight_markup(hit.title_highlight) if hit.title_highlight else escape(hit.title)
        lines = [f"[bold]{title or '(untitled)'}[/]"]
        byline = " · ".join(part for part in (hit.publisher, ", ".join(hit.agencies)) if part)
        if byline:
            lines.append(f"[cyan]{escape(byline)}[/]")
        lines.extend(f"[dim]…[/]{highlight_markup(s)}[dim]…[/]" for s in hit.snippets[:2])
        entities = hit.people[:4] + hit.places[:3]
        if entities:
            lines.append(f"[magenta]{escape(', '.join(entities))}[/]")
        if not hit.is_canonical and hit.duplicate_of:
            lines.append(f"[dim]copy of {hit.duplicate_of}[/]")
        lines.append(f"[dim]{hit.article_id}{'  story ' + hit.story_id if hit.story_id else ''}[/]")
        table.add_row(str(number), (hit.date or "")[:10], "\n".join(lines), _coverage(hit))
    return table


BAR_WIDTH = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: int, peak: int, width: int = BAR_WIDTH) -> str:
    """``value`` out of ``peak`` as block characters, in eighths of a character; any count above
    0 shows at least a sliver, so a quiet interval is told apart from an empty one."""
    if value <= 0 or peak <= 0:
        return ""
    eighths = max(1, round(value / peak * width * 8))
    return "█" * (eighths // 8) + _EIGHTHS[eighths % 8].strip()


def timeline_table(timeline: Timeline) -> RenderableType:
    """One row per interval: articles (copies included), distinct stories and outlets, a bar."""
    if not timeline.buckets:
        return Text("Timeline: no matching articles in the range.", style="dim")
    table = Table(
        title=f"Timeline, per {timeline.interval} (UTC); articles include wire copies",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column(timeline.interval)
    for name in ("articles", "stories", "outlets"):
        table.add_column(name, justify="right")
    table.add_column("", style="cyan", no_wrap=True)
    shape = "%Y-%m-%d" if timeline.interval == "day" else "%Y-%m-%d %H:00"
    peak = max(bucket.articles for bucket in timeline.buckets)
    for bucket in timeline.buckets:
        style = "dim" if bucket.articles == 0 else None
        table.add_row(
            bucket.start.strftime(shape),
            str(bucket.articles),
            str(bucket.stories),
            str(bucket.outlets),
            bar(bucket.articles, peak),
            style=style,
        )
    return table


def facet_table(name: str, buckets: list[FacetBucket]) -> Table:
    table = Table(
        title=FACET_TITLES.get(name, name), box=box.MINIMAL, title_justify="left", show_header=False
    )
    table.add_column(name, overflow="fold", max_width=40 if name == "stories" else 28)
    table.add_column("n", justify="right")
    for bucket in buckets:
        label = escape(bucket.value)
        if bucket.label:
            label = f"{escape(bucket.label[:60])} [dim]({escape(bucket.value[:12])})[/]"
        table.add_row(label, str(bucket.count))
    return table


def story_hint(result: SearchResult) -> Text | None:
    """A footer saying how to open a story of the results, with a real id to copy."""
    story_id = next((hit.story_id for hit in result.hits if hit.story_id), None)
    if story_id is None:
        return None
    return Text.from_markup(
        "[dim]Open a story (articles in order, wire copies, first report):[/] "
        f"[bold]wirehose stories {escape(story_id)}[/] [dim](ids under the rows; a unique start "
        "of one, as the Stories facet shows, works too)[/]"
    )


def renderable(result: SearchResult) -> RenderableType:
    """Everything ``render`` prints, as one rich renderable."""
    stories = ""
    if result.stories is not None:
        stories = f" in {result.stories} stor{'y' if result.stories == 1 else 'ies'}"
    summary = Text.from_markup(
        f"[bold]{result.total}[/] article{'s' if result.total != 1 else ''}{stories}"
        f" [dim]({result.took_ms} ms)[/]"
    )
    if not result.hits:
        return Group(
            summary,
            Text("No matches. Try fewer filters or --include-duplicates."),
            *([timeline_table(result.timeline)] if result.timeline is not None else []),
        )
    facets = [facet_table(name, b) for name, b in result.facets.items() if b]
    hint = story_hint(result)
    return Group(
        summary,
        hits_table(result),
        Columns(facets, padding=(0, 2)),
        *([timeline_table(result.timeline)] if result.timeline is not None else []),
        *([hint] if hint else []),
    )


def render(result: SearchResult, console: Console | None = None) -> None:
    """Print ``result`` for a human."""
    (console or Console()).print(renderable(result))
