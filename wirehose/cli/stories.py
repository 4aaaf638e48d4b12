"""``wirehose stories STORY_ID``: one story's articles in order, its outlets, copies, first report."""

from __future__ import annotations

import json

import click

from wirehose.core.errors import StoryNotFound
from wirehose.core.settings import get_settings

# Kept here as literals so that `--help` does not import the Elasticsearch client; a unit test
# checks they equal sinks.story's.
DEFAULT_LIMIT = 500
MAX_LIMIT = 10_000


@click.command("stories")
@click.argument("story_id")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, MAX_LIMIT),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Articles to list, earliest first; the counts always cover the whole story, and the "
    "output says when the list is cut short.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON (for scripts).")
def command(story_id: str, limit: int, as_json: bool) -> None:
    """Show one story: every article about one event, in event-time order (time, publisher,
    title, URL), which ones are wire copies and of which article, the first report, and the
    outlets and agencies that carried it, with counts.

    STORY_ID is a story id as `wirehose search` shows it (under each result, or in the Stories
    facet), in full or any unique prefix of it. The story is read through the index alias
    (WIREHOSE_INDEX_ALIAS, as for `wirehose search`). Times are event times in UTC: the
    publication time, else the time the article was fetched (marked "fetched").

    \b
    Examples:
      wirehose search Netanyahu Putin              # note a story id from the results
      wirehose stories 3f9a1c2b4d5e
      wirehose stories 3f9a1c2b4d5e --limit 20
      wirehose stories 3f9a1c2b4d5e --json | jq '.first_report'
      wirehose stories 3f9a1c2b4d5e --json | jq '.articles[] | select(.is_canonical | not)'
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.story import story
    from sinks.story_render import render

    try:
        view = story(get_settings(), story_id, limit=limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="STORY_ID") from exc
    except StoryNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(view.to_dict(), ensure_ascii=False, indent=2))
    else:
        render(view)
