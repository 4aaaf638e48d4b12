"""The ``wirehose`` command line: one entry point, one subcommand module per area.

Each module in ``_COMMANDS`` defines a click command or group called ``command``; importing
lazily keeps ``wirehose --help`` fast (spaCy and Faust load only for the commands that use them).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

from wirehose import __version__
from wirehose.core.errors import WirehoseError
from wirehose.core.logs import configure
from wirehose.core.settings import get_settings

# subcommand name -> module under wirehose.cli that defines `command`
_COMMANDS: dict[str, tuple[str, str]] = {
    "services": (
        "wirehose.cli.services",
        "Provision, start, stop and check Kafka and Elasticsearch.",
    ),
    "model": ("wirehose.cli.model", "Install and check the spaCy model."),
    "settings": ("wirehose.cli.settings", "Print every setting, its value and where to change it."),
    "demo": ("wirehose.cli.demo", "Replay the seeds through the pipeline and search the result."),
    "replay": ("wirehose.cli.replay", "Publish articles from seed text files or JSONL to Kafka."),
    "rss": ("wirehose.cli.rss", "Poll RSS and Atom feeds and publish new items to Kafka."),
    "worker": ("wirehose.cli.worker", "Run the Faust worker: dedup, stories, entities, indexing."),
    "search": ("wirehose.cli.search", "Search indexed articles with filters and facets."),
    "stories": (
        "wirehose.cli.stories",
        "Show one story: its articles in order, wire copies, first report, outlets.",
    ),
    "alerts": ("wirehose.cli.alerts", "Saved searches that fire once per story; webhooks."),
    "status": ("wirehose.cli.status", "Show services, lag, dead letters and index counts."),
    "deadletters": ("wirehose.cli.deadletters", "List dead letters and re-send them once fixed."),
    "index": ("wirehose.cli.index", "Create, inspect and migrate the Elasticsearch index."),
    "kibana": ("wirehose.cli.kibana", "Import the saved searches and dashboard into Kibana."),
    "bench": ("wirehose.cli.bench", "Measure throughput and latency of each stage side by side."),
    "web": ("wirehose.cli.web", "Serve the search page for analysts, and its JSON API."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are run or their help is shown."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in _COMMANDS.items() if _available(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS or not _available(_COMMANDS[cmd_name][0]):
            return None
        module = importlib.import_module(_COMMANDS[cmd_name][0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wirehose")
@click.option(
    "-v", "--verbose", is_flag=True, help="Log at DEBUG level (overrides WIREHOSE_LOG_LEVEL)."
)
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """wirehose: streaming news ingestion.

    Articles flow from producers (seed replay, RSS/Atom feeds) through Kafka into a Faust worker
    that finds wire copy republished by many outlets, groups coverage of one story and tags
    named entities, then into Elasticsearch for faceted search.

    \b
    First steps:
      wirehose services up        start Kafka and Elasticsearch (no Docker needed)
      wirehose demo               replay the seed articles and search them
      wirehose search Hamas       full-text search with entity and publisher facets
      wirehose status             what the pipeline is doing

    Every setting is an environment variable WIREHOSE_*; `wirehose settings` lists them.
    """

    configure("DEBUG" if verbose else get_settings().log_level)
    ctx.ensure_object(dict)


def main(argv: Any = None) -> None:
    try:
        cli.main(args=argv, prog_name="wirehose", standalone_mode=True)
    except WirehoseError as exc:  # pragma: no cover - click handles exit codes otherwise
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
