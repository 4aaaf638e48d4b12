"""``wirehose settings``: every setting, its current value and the variable that changes it."""

from __future__ import annotations

import json

import click
from pydantic import SecretStr

from wirehose.core.settings import Settings, get_settings


def describe(settings: Settings) -> list[dict[str, str | None]]:
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "********" if value.get_secret_value() else ""
        rows.append(
            {
                "name": name,
                "env": f"WIREHOSE_{name.upper()}",
                "value": None if value is None else str(value),
                "description": field.description or "",
            }
        )
    return rows


def markdown_table() -> str:
    """Every setting with its default, independent of this machine's environment."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "~/.cache/wirehose" if name == "home" else "(computed)"
        else:
            default = "" if field.default is None else str(field.default)
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `WIREHOSE_{name.upper()}` | {f'`{default}`' if default else '-'} | {meaning} |"
        )
    return "\n".join(lines)


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--markdown", is_flag=True, help="Print the reference table of docs/settings.md.")
def command(as_json: bool, markdown: bool) -> None:
    """Print every setting, its value and the environment variable that changes it.

    Secrets are masked. Example: WIREHOSE_KAFKA_BOOTSTRAP=broker:9092 wirehose settings
    """
    if markdown:
        click.echo(markdown_table())
        return
    rows = describe(get_settings())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("variable", "value", "meaning", title="wirehose settings")
    for row in rows:
        table.add_row(str(row["env"]), str(row["value"] or "-"), str(row["description"]))
    Console().print(table)
