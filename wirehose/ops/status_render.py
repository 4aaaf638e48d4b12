"""Render a status ``Snapshot`` for people (rich tables) or for scripts (JSON).

Rendering never fetches anything: it only lays out what ``wirehose.ops.status.gather`` found, so
the terminal view and ``--json`` always agree.
"""

from __future__ import annotations

import json

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from wirehose.ops.status import Snapshot


def to_json(snapshot: Snapshot) -> str:
    return json.dumps(snapshot.to_dict(), indent=2, sort_keys=True)


def _num(value: int | float | None) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _ok(flag: bool | None, yes: str = "up", no: str = "down") -> Text:
    if flag is None:
        return Text("?", style="yellow")
    return Text(yes, style="green") if flag else Text(no, style="bold red")


def render(snapshot: Snapshot) -> RenderableType:
    """The whole snapshot as one rich renderable."""
    parts: list[RenderableType] = [
        Text(f"wirehose status  {snapshot.taken_at}  group={snapshot.group}", style="bold")
    ]
    services = Table(title="services", title_justify="left", expand=False)
    for column in ("service", "state", "address", "detail"):
        services.add_column(column)
    for service in snapshot.services:
        services.add_row(service.name, _ok(service.up), service.address, service.detail)
    if snapshot.worker is not None:
        worker = snapshot.worker
        state = _ok(worker.ready, "ready", "not ready") if worker.reachable else _ok(False)
        services.add_row("worker", state, worker.url, worker.ready_reason or "")
    parts.append(services)

    stages = Table(title="stages", title_justify="left")
    for column in ("stage", "from -> to", "in", "out", "lag", "worker counters"):
        stages.add_column(column, justify="right" if column in {"in", "out", "lag"} else "left")
    for stage in snapshot.stages:
        counters = "\n".join(f"{k}={_num(v)}" for k, v in stage.worker.items()) or "-"
        stages.add_row(
            stage.name,
            f"{stage.topic_in} ->\n{stage.topic_out}",
            _num(stage.messages_in),
            _num(stage.messages_out),
            _num(stage.lag),
            counters,
        )
    parts.append(stages)

    if snapshot.lag:
        lag = Table(title=f"lag of group {snapshot.group}", title_justify="left")
        for column in ("topic", "partition", "end", "committed", "lag"):
            lag.add_column(column, justify="left" if column == "topic" else "right")
        for row in snapshot.lag:
            style = "yellow" if row.lag else ""
            lag.add_row(
                row.topic,
                str(row.partition),
                _num(row.end_offset),
                _num(row.committed),
                Text(_num(row.lag), style=style),
            )
        parts.append(lag)

    dead = snapshot.dead_letters
    if dead is not None:
        scope = "all of them" if dead.complete else f"the newest {dead.scanned:,}"
        parts.append(
            Text(f"dead letters: {dead.total:,} in {dead.topic}; reasons over {scope}", "bold")
        )
        table = Table(show_header=True)
        table.add_column("reason")
        table.add_column("count", justify="right")
        for reason, count in dead.reasons:
            table.add_row(reason, _num(count))
        if dead.unreadable:
            table.add_row(Text("(unreadable record)", style="red"), _num(dead.unreadable))
        if dead.reasons or dead.unreadable:
            parts.append(table)

    index = snapshot.index
    if index is not None:
        table = Table(title="elasticsearch", title_justify="left")
        for column in ("alias", "indices", "documents", "canonical", "duplicates"):
            table.add_column(
                column, justify="right" if column not in {"alias", "indices"} else "left"
            )
        table.add_row(
            index.alias,
            ", ".join(index.indices),
            _num(index.documents),
            _num(index.canonical),
            _num(index.duplicates),
        )
        parts.append(table)

    if snapshot.problems:
        parts.append(Text("problems:", style="bold red"))
        parts.extend(Text(f"  - {problem}", style="red") for problem in snapshot.problems)
    else:
        parts.append(Text(f"all good; total lag {snapshot.total_lag:,}", style="green"))
    return Group(*parts)


def print_snapshot(snapshot: Snapshot, console: Console | None = None) -> None:
    (console or Console()).print(render(snapshot))
