"""One story for a human at a terminal: a header (size, span, first report), the articles in
event-time order with their wire-copy links, then the outlets and agencies that carried it.

Article text is escaped before it goes into rich markup, so a ``[`` in a headline is printed,
never taken for a style.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sinks.story import MAX_LIMIT, Count, StoryArticle, StoryView

COUNTS_SHOWN = 20  # outlets or agencies listed in the terminal; --json lists them all


def parse_time(value: str | None) -> datetime | None:
    """An ISO timestamp as stored in the index, in UTC (a naive one is taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(value: str | None) -> str:
    """``2023-10-16T14:05:00+02:00`` -> ``2023-10-16 12:05`` (UTC); unparsable text as is."""
    parsed = parse_time(value)
    if parsed is None:
        return value or "-"
    return parsed.strftime("%Y-%m-%d %H:%M")


def elapsed(start: str | None, end: str | None) -> str:
    """How long after ``start`` ``end`` came: ``+0m``, ``+45m``, ``+2h 5m``, ``+3d 4h``."""
    first, then = parse_time(start), parse_time(end)
    if first is None or then is None:
        return ""
    minutes = max(0, int((then - first).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"+{days}d {hours}h"
    if hours:
        return f"+{hours}h {minutes}m"
    return f"+{minutes}m"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def header(view: StoryView) -> Text:
    """The story id, the first headline, the size and span, and which article came first."""
    first = view.first_report
    lines = [f"[bold]Story {escape(view.story_id)}[/]  [dim]index {escape(view.index)}[/]"]
    # The earliest headline; an article pasted without one is passed over, as in search.
    headline = next((a.title.strip() for a in view.articles if a.title.strip()), "")
    if headline:
        lines.append(f"[bold]{escape(headline)}[/]")
    size = _plural(view.total, "article", "articles")
    if view.copies:
        size += f" ({_plural(view.copies, 'wire copy', 'wire copies')})"
    size += f" from {_plural(view.outlet_count, 'outlet', 'outlets')}"
    if view.first_date:
        size += f", {format_time(view.first_date)} to {format_time(view.last_date)} UTC"
    lines.append(size)
    if first is not None:
        source = escape(first.publisher or "unknown publisher")
        lines.append(
            f"[green]First report:[/] #1, {source}, {format_time(first.date)} UTC"
            + ("" if first.published_at else " [dim](time fetched; no publication time)[/]")
            + ("" if first.is_canonical else " [dim](itself a wire copy)[/]")
        )
    return Text.from_markup("\n".join(lines))


def _links(view: StoryView, article: StoryArticle, rows: dict[str, int]) -> list[str]:
    """The wire-copy lines under an article: what it copies, or who copied it (by row)."""
    lines: list[str] = []
    if not article.is_canonical:
        target = article.duplicate_of or "an unknown article"
        row = rows.get(target)
        if row is not None:
            original = view.articles[row - 1]
            what = f"#{row}" + (f" ({escape(original.publisher)})" if original.publisher else "")
        else:
            what = f"{escape(target)} [dim](not listed)[/]"
        similarity = f", similarity {article.similarity:.2f}" if article.similarity else ""
        lines.append(f"[yellow]wire copy of {what}{similarity}[/]")
    if article.copies:
        copied = ", ".join(f"#{rows[copy]}" for copy in article.copies)
        lines.append(f"[yellow]copied by {copied}[/]")
    return lines


def articles_table(view: StoryView) -> Table:
    """One row per listed article, earliest first."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_lines=True)
    table.add_column("#", justify="right", style="dim", width=4)
    table.add_column("time (UTC)", width=16, no_wrap=True)
    table.add_column("after", width=8, no_wrap=True)
    table.add_column("publisher", ratio=1)
    table.add_column("article", ratio=4, overflow="fold")
    start = view.first_report.date if view.first_report else None
    rows = {article.article_id: n for n, article in enumerate(view.articles, start=1)}
    for number, article in enumerate(view.articles, start=1):
        when = format_time(article.date)
        if not article.published_at:
            when += "\n[dim]fetched[/]"
        lines = [f"[bold]{escape(article.title) or '(untitled)'}[/]"]
        if article.url:
            lines.append(f"[dim]{escape(article.url)}[/]")
        lines.extend(_links(view, article, rows))
        lines.append(f"[dim]{escape(article.article_id)}[/]")
        publisher = escape(article.publisher or "-")
        if article.agencies:
            publisher += f"\n[cyan]{escape(', '.join(article.agencies))}[/]"
        after = "[green]first[/]" if number == 1 else elapsed(start, article.date)
        table.add_row(str(number), when, after, publisher, "\n".join(lines))
    return table


def counts_table(title: str, counts: list[Count], total: int) -> Table:
    """Outlets or agencies with how many of the story's articles each carried."""
    table = Table(title=title, box=box.MINIMAL, title_justify="left", show_header=False)
    table.add_column(title, overflow="fold", max_width=40)
    table.add_column("n", justify="right")
    for count in counts[:COUNTS_SHOWN]:
        table.add_row(escape(count.name), str(count.count))
    if total > COUNTS_SHOWN:
        table.add_row(f"[dim]... {total - COUNTS_SHOWN} more (--json)[/]", "")
    return table


def footer(view: StoryView) -> Text | None:
    """Says when the list is cut short, and how to see the rest."""
    if not view.truncated:
        return None
    more = min(view.total, MAX_LIMIT)
    return Text.from_markup(
        f"[yellow]Showing the first {len(view.articles)} of {view.total} articles[/] "
        f"(the counts above cover all of them); --limit {more} lists "
        + ("them all." if more == view.total else "the most it can.")
    )


def renderable(view: StoryView) -> RenderableType:
    """Everything ``render`` prints, as one rich renderable."""
    parts: list[RenderableType] = [header(view), articles_table(view)]
    counts = [counts_table("Outlets", view.outlets, max(view.outlet_count, len(view.outlets)))]
    if view.agencies:
        counts.append(counts_table("Agencies", view.agencies, len(view.agencies)))
    parts.append(Columns(counts, padding=(0, 4)))
    note = footer(view)
    if note is not None:
        parts.append(note)
    return Group(*parts)


def render(view: StoryView, console: Console | None = None) -> None:
    """Print ``view`` for a human."""
    (console or Console()).print(renderable(view))
