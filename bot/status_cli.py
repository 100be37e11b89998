"""`parley status [--json]`: the study's progress and, for operators, how Parley is doing.

The first line is the researchers' `/status` (runs by state, for the current
questionnaire). Then the operators' figures (`bot.health`): the database and its schema,
who holds each elected role and when it last beat, the outbox's depth and failures, and
the scheduler's lag. `--json` prints the figures as `GET /readyz` does.

Unlike the other commands it never migrates: looking must not change the database, and
migrations run once, from one place (`parley db upgrade`). A schema behind the code is
reported, not upgraded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.audit_cli import console
from bot.health import Health, read_health
from bot.settings import Settings
from conversations.errors import QuestionnaireError
from storage import current_revision, head_revision, make_engine, make_session_factory

__all__ = ["status"]


def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="The operators' figures as JSON (as GET /readyz).")
    ] = False,
) -> None:
    """How the study is going, and for operators: role holders, outbox, scheduler lag."""
    from bot.cli import _fail, _settings

    settings = _settings()
    engine = make_engine(settings.database_url)
    schema = f"database {engine.url.render_as_string(hide_password=True)}"
    try:
        schema = _schema_line(engine)
        session_factory = make_session_factory(engine)
        health = read_health(session_factory, datetime.now(UTC))
        progress = _progress_line(settings, session_factory)
    except SQLAlchemyError as error:
        raise _fail([schema, f"cannot read the figures: {_short(error)}"]) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(health.to_dict(), ensure_ascii=False))
        return
    if progress:
        typer.echo(progress)
    typer.echo(schema)
    _print_operators(health)


def _schema_line(engine: Engine) -> str:
    shown = engine.url.render_as_string(hide_password=True)
    current, head = current_revision(engine), head_revision()
    if current == head:
        return f"database {shown}: schema {current} (up to date)"
    if current is None:
        return f"database {shown}: no Parley schema (run `parley db upgrade`)"
    return (
        f"database {shown}: schema {current}, this Parley expects {head} (run `parley db upgrade`)"
    )


def _progress_line(settings: Settings, session_factory: sessionmaker[Session]) -> str | None:
    """The researchers' `/status` line for the current questionnaire (None if it does not load)."""
    from bot.researcher import status_line
    from forms import load_any_file

    try:
        questionnaire = load_any_file(settings.questionnaire).questionnaire
    except (QuestionnaireError, OSError):
        return None
    with session_factory() as session:
        return status_line(session, questionnaire, questionnaire.default_language)


def _print_operators(health: Health) -> None:
    out = console()
    if health.roles:
        out.print(_roles_table(health))
    else:
        typer.echo("roles: no holder has reported (no `parley run` has led a role yet)")
    if health.outbox:
        out.print(_outbox_table(health))
    oldest = f" (oldest due for {_age(health.oldest_due_age)})" if health.due else ""
    typer.echo(
        f"outbox: {health.pending} pending, {health.due} due now{oldest}, {health.failed} failed"
    )
    if health.recent_failures:
        out.print(_failures_table(health))
    typer.echo(
        f"scheduler: lag {_age(health.scheduler_lag)} · "
        f"{health.overdue_sends.count} overdue sends · {health.overdue_jobs.count} overdue jobs · "
        f"{health.digest_requests.count} digest requests waiting"
    )


def _roles_table(health: Health) -> Table:
    table = Table("role", "holder", "since (UTC)", "last heartbeat", "alive", title="roles")
    for role in health.roles:
        since = f"{role.since.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
        beat = f"{_age(role.heartbeat_age)} ago"
        alive = "yes" if role.alive else "NO (vacant?)"
        table.add_row(*(Text(cell) for cell in (role.role, role.holder, since, beat, alive)))
    return table


def _outbox_table(health: Health) -> Table:
    table = Table(
        "channel", "pending", "due now", "claimed", "retrying", "oldest due for", title="outbox"
    )
    for c in health.outbox:
        oldest = _age(health.age(c.oldest_due)) if c.oldest_due is not None else "—"
        cells = (c.channel, str(c.pending), str(c.due), str(c.claimed), str(c.retrying), oldest)
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _failures_table(health: Health) -> Table:
    table = Table("outbox id", "channel", "attempts", "enqueued (UTC)", "error")
    table.title = f"recent failures ({len(health.recent_failures)} of {health.failed})"
    for f in health.recent_failures:
        error = f.error.splitlines()[0][:120] if f.error else ""
        cells = (str(f.id), f.channel, str(f.attempts), f"{f.created_at:%Y-%m-%d %H:%M}", error)
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _age(seconds: float) -> str:
    """4.2 s, 3 min, 2.5 h: as precise as a person reading a status needs."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _short(error: SQLAlchemyError) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
