"""``wirehose deadletters list|replay|reasons``: inspect rejected records, re-send them once fixed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from wirehose.core.deadletter import Reason
from wirehose.core.settings import get_settings

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """``30m``, ``2h``, ``7d`` (ago) or an ISO 8601 time (UTC unless it says otherwise)."""
    if not value:
        return None
    match = _RELATIVE.match(value.strip())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        return (now or datetime.now(UTC)) - delta
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use 30m, 2h, 7d or an ISO time like 2024-05-01T12:00"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


_filters = [
    click.option(
        "--reason",
        "reasons",
        multiple=True,
        # Exactly the enum's values: --help lists them, a typo is an error, not an empty result.
        type=click.Choice([reason.value for reason in Reason]),
        help="Only this reason (repeatable); `wirehose deadletters reasons` explains each.",
    ),
    click.option("--since", help="Only dead letters from this time on: 30m, 2h, 7d or ISO time."),
]


def _with_filters(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_filters):
        func = option(func)
    return func


@click.group("deadletters")
def command() -> None:
    """List dead letters, and re-send them to their original topic once the cause is fixed.

    A dead letter keeps the exact bytes that were rejected, the topic, partition and offset
    they came from, the step that rejected them and why. `replay` publishes those bytes again,
    under the same key, and records each re-sent dead letter in the topic
    WIREHOSE_TOPIC_DEAD_LETTER + ".resent", so it is never re-sent twice. The dead-letter topic
    itself is left as it is.

    \b
    Examples:
      wirehose deadletters list
      wirehose deadletters list --reason oversized-body --json
      WIREHOSE_MAX_BODY_CHARS=5000000 wirehose deadletters replay --reason oversized-body --dry-run
      wirehose deadletters replay --reason oversized-body --since 2h
      wirehose deadletters reasons     # every reason: its cause and what to do
    """


@command.command("list")
@_with_filters
@click.option("--limit", type=click.IntRange(min=1), help="Read only about the newest N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(reasons: tuple[str, ...], since: str | None, limit: int | None, as_json: bool) -> None:
    """Show dead letters, oldest first per partition, and whether each was re-sent."""
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.core.clients import kafka_access
    from wirehose.ops.deadletters import read_ledger, scan_topic, select

    settings = get_settings()
    access = kafka_access(settings)
    scan = scan_topic(access, settings.topic_dead_letter, newest=limit)
    done = read_ledger(access, settings.topic_dead_letter)
    # select() drops re-sent entries; listing shows them, so filter with an empty ledger.
    shown = select(scan.entries, done=set(), reasons=reasons, since=parse_since(since))
    for entry in shown:
        letter = entry.letter
        assert letter is not None
        row = {
            "partition": entry.partition,
            "offset": entry.offset,
            "failed_at": letter.failed_at,
            "step": letter.step,
            "reason": letter.reason,
            "key": letter.key,
            "topic": letter.topic,
            "resent": entry.ref in done,
            "detail": letter.detail,
        }
        if as_json:
            click.echo(json.dumps(row))
        else:
            mark = "re-sent" if row["resent"] else "pending"
            click.echo(
                f"{entry.partition}:{entry.offset}  {letter.failed_at[:19]}  {letter.step:<18} "
                f"{letter.reason:<22} {mark:<8} key={letter.key}  {letter.detail[:80]}"
            )
    unreadable = sum(1 for entry in scan.entries if entry.letter is None)
    click.echo(
        f"{len(shown)} shown of {len(scan.entries)} read from {settings.topic_dead_letter}"
        + (f", {unreadable} unreadable" if unreadable else "")
        + ("" if scan.complete else " (newest only: raise --limit or drop it for all)"),
        err=True,
    )


@command.command("replay")
@_with_filters
@click.option("--dry-run", is_flag=True, help="Show what would be re-sent; send nothing.")
def replay(reasons: tuple[str, ...], since: str | None, dry_run: bool) -> None:
    """Re-send pending dead letters' original bytes to the topic they came from.

    Fix the cause first (a setting, the mapping, the code): a record rejected for a reason
    that still holds is simply dead-lettered again, as a new dead letter. Exit status 1 if any
    re-send failed; run the same command again to retry just those.
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.core.clients import kafka_access
    from wirehose.ops.deadletters import read_ledger, resend, scan_topic, select

    settings = get_settings()
    access = kafka_access(settings)
    scan = scan_topic(access, settings.topic_dead_letter)
    if not scan.complete:
        raise click.ClickException(
            f"could not read all of {settings.topic_dead_letter} in time; is Kafka at "
            f"{settings.kafka_servers} healthy? (`wirehose services status`)"
        )
    done = read_ledger(access, settings.topic_dead_letter)
    chosen = select(scan.entries, done=done, reasons=reasons, since=parse_since(since))
    for entry in chosen:
        assert entry.letter is not None
        verb = "would re-send" if dry_run else "re-sending"
        click.echo(
            f"{verb} {entry.partition}:{entry.offset} reason={entry.letter.reason} "
            f"key={entry.letter.key} -> {entry.letter.topic}"
        )
    already = sum(1 for entry in scan.entries if entry.ref in done)
    if dry_run:
        click.echo(f"dry run: {len(chosen)} to re-send, {already} re-sent before", err=True)
        return
    report = resend(access, settings.topic_dead_letter, chosen)
    click.echo(
        f"re-sent={len(report.resent)} failed={len(report.failed)} "
        f"already_resent={already} read={len(scan.entries)}",
        err=True,
    )
    for entry, reason in report.failed[:10]:
        click.echo(f"  failed {entry.partition}:{entry.offset}: {reason}", err=True)
    if report.failed:
        raise SystemExit(1)


def markdown_table() -> str:
    """Every ``Reason`` with where it comes from, its cause and what to do: docs/operations.md."""
    lines = ["| reason | from | cause | what to do |", "| --- | --- | --- | --- |"]
    for reason in Reason:
        guide = reason.guide
        cells = (f"`{reason.value}`", guide.where, guide.cause, guide.action)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


@command.command("reasons")
@click.option("--markdown", is_flag=True, help="Print the reference table of docs/operations.md.")
def reasons_(markdown: bool) -> None:
    """Every reason a record can be rejected for: where, why, and what to do about it."""
    if markdown:
        click.echo(markdown_table())
        return
    for reason in Reason:
        guide = reason.guide
        click.echo(f"{reason.value}  [{guide.where.replace('`', '')}]")
        click.echo(f"  cause: {guide.cause.replace('`', '')}")
        click.echo(f"  to do: {guide.action.replace('`', '')}")
