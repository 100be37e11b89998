"""`parley audit [--since DATE] [--actor X] [--action Y]`: the researcher actions, as a table.

Oldest first, times in `--zone` (default `PARLEY_RESEARCHER_TIME_ZONE`). `--actor` and
`--action` match exactly or as a prefix: `--actor cli` is every CLI operator, `--action
group` every group action (`group.create`, `group.poll.confirm`). Bad input is one line
naming the option, exit 2.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.timing import TimingError, local_to_utc, parse_zone
from storage import audit as stored
from storage.models import AuditEntry

__all__ = ["audit", "console", "parse_since"]


class _BadOption(ValueError):
    pass


def parse_since(text: str, zone: ZoneInfo) -> datetime:
    """`2027-01-15` (that day's start) or `2027-01-15 09:30`, local to `zone`; UTC out."""
    day_text, _, clock_text = text.strip().replace("T", " ").partition(" ")
    try:
        day = date.fromisoformat(day_text)
        at = time.fromisoformat(clock_text.strip()) if clock_text.strip() else time(0, 0)
        return local_to_utc(day, at, zone)
    except TimingError as error:
        raise _BadOption(f"--since: {error}") from None
    except ValueError:
        raise _BadOption(
            f"--since: '{text}' is not a date (use 2027-01-15 or 2027-01-15 09:30)"
        ) from None


def console() -> Console:
    """Rich output: the terminal's width on a terminal, wide enough not to wrap otherwise."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def audit(
    since: Annotated[
        str | None, typer.Option(help="From this date (2027-01-15 or '2027-01-15 09:30').")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who: slack:U0123, telegram:11, cli:ann, or cli, slack…")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="What: invite, followup.add, group, export, role, refused…")
    ] = None,
    zone: Annotated[
        str | None, typer.Option(help="Zone of --since and of the times shown.")
    ] = None,
) -> None:
    """List researcher actions (who, what, when, from where), oldest first."""
    from bot.cli import _fail, _settings, _unit_of_work

    settings = _settings()
    try:
        shown_in = parse_zone(zone or settings.researcher_time_zone)
    except TimingError as error:
        raise _fail([f"--zone: {error}"]) from None
    try:
        since_utc = parse_since(since, shown_in) if since is not None else None
    except _BadOption as error:
        raise _fail([str(error)]) from None
    with _unit_of_work(settings) as uow:
        rows = stored.entries(uow.session, since=since_utc, actor=actor, action=action)
        table = _table(rows, shown_in)
    if not rows:
        typer.echo("no audited actions match")
        return
    console().print(table)


def _table(rows: list[AuditEntry], zone: ZoneInfo) -> Table:
    table = Table("when", "who", "channel", "action", "details")
    table.columns[0].header = f"when ({zone.key})"
    for row in rows:
        when = f"{row.at.astimezone(zone):%Y-%m-%d %H:%M:%S}"
        details = json.dumps(row.details, ensure_ascii=False, sort_keys=True)
        cells = (when, row.actor, row.channel, row.action, details)
        table.add_row(*(Text(cell) for cell in cells))  # data, never markup
    return table
