"""`parley …`: parse arguments, call the app; no logic of its own.

Errors a person can fix (a bad questionnaire, a database newer than the code) are
printed as one line each and exit with code 2; nothing is written in that case.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.app import ConfigurationError, ConsoleOptions, build
from bot.audit_cli import audit
from bot.digest_cli import digest
from bot.export_cli import export
from bot.group_cli import group_app
from bot.logs import configure_logging
from bot.questionnaire_import import import_questionnaire
from bot.role_cli import role_app
from bot.settings import Settings
from bot.status_cli import status
from bot.withdrawal_cli import withdrawal_app
from conversations.errors import QuestionnaireError
from storage.errors import StorageError
from storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session
    from telegram import Bot

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Parley: research engagement in chat."
)
questionnaire_app = typer.Typer(no_args_is_help=True, help="Check and preview questionnaires.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
roster_app = typer.Typer(no_args_is_help=True, help="The stakeholders of the study.")
app.add_typer(questionnaire_app, name="questionnaire")
app.add_typer(db_app, name="db")
app.add_typer(roster_app, name="roster")
followup_app = typer.Typer(no_args_is_help=True, help="Follow-up check-ins (scheduled).")
app.add_typer(followup_app, name="followup")
app.add_typer(group_app, name="group")
app.command("export")(export)
app.command("digest")(digest)
app.add_typer(role_app, name="role")
app.command("audit")(audit)
app.command("status")(status)
app.add_typer(withdrawal_app, name="withdrawal")

EXIT_INVALID = 2


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(EXIT_INVALID)


@app.command()
def run(
    questionnaire: Annotated[
        Path | None, typer.Option(help="Questionnaire file (default: PARLEY_QUESTIONNAIRE).")
    ] = None,
    console: Annotated[
        bool | None,
        typer.Option(
            "--console/--no-console",
            help="Talk to Parley in this terminal (on by default only when no platform is set up).",
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--as", help="Console identity (default: your OS user).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Console language, e.g. fr.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="all, web, dispatcher or scheduler (default: PARLEY_ROLE, else all); "
            "the others need PostgreSQL (README: Running at scale)."
        ),
    ] = None,
) -> None:
    """Start Parley: receive messages, ask questions, send replies."""
    settings = _settings(questionnaire=questionnaire)
    if role is not None:
        settings = settings.model_copy(update={"role": role})
    if (problem := settings.log_format_problem()) is not None:
        raise _fail([problem])
    configure_logging(settings.log_level, settings.log_format.strip().lower(), role=settings.role)
    use_console = console if console is not None else not settings.platforms_configured
    options = (
        ConsoleOptions(user=user or getpass.getuser(), language=language) if use_console else None
    )
    try:
        parley = build(settings, console=options)
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    except (StorageError, ConfigurationError) as exc:
        raise _fail([str(exc)]) from None
    asyncio.run(parley.run())


@questionnaire_app.command("validate")
def validate(file: Path) -> None:
    """Check a questionnaire file: errors (exit 2) and missing translations (warnings)."""
    from forms import load_any_file as load_questionnaire_file

    try:
        loaded = load_questionnaire_file(file)
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    q = loaded.questionnaire
    questions = sum(1 for item in q.items if item.is_question)
    typer.echo(
        f"{file}: ok: {q.id} v{q.version}, {len(q.sections)} sections, {questions} questions"
    )


questionnaire_app.command("import")(import_questionnaire)


@questionnaire_app.command("preview")
def preview(
    file: Path,
    language: Annotated[str | None, typer.Option(help="Language to preview, e.g. fr.")] = None,
) -> None:
    """Print every item as the bot would ask it."""
    from bot.preview import preview_lines
    from forms import load_any_file

    try:
        q = load_any_file(file).questionnaire
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    for line in preview_lines(q, language or q.default_language):
        typer.echo(line)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the database named by PARLEY_DATABASE_URL."""
    from storage.db import make_engine
    from storage.migrate import ensure_schema

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
    except StorageError as exc:
        raise _fail([str(exc)]) from None
    finally:
        engine.dispose()
    typer.echo(f"database is up to date: {settings.database_url}")


@roster_app.command("import")
def roster_import(file: Path) -> None:
    """Load stakeholders from a CSV (name, organisation, …, time_zone, email, slack_id)."""
    from bot.app import utc_now
    from bot.roster import RosterError, import_roster, read_roster

    settings = _settings()
    languages = _languages(settings)
    try:
        entries = read_roster(file, languages)
    except RosterError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    with _unit_of_work(settings) as uow:
        created, updated = import_roster(uow.session, entries, utc_now())
        uow.commit()
    typer.echo(f"{file}: {created} stakeholders added, {updated} updated")


@app.command()
def invite(
    channel: Annotated[str, typer.Option(help="Where to invite: telegram.")] = "telegram",
    output: Annotated[Path, typer.Option(help="CSV file for the links.")] = Path("invites.csv"),
) -> None:
    """Create one personal, single-use invitation link per stakeholder not yet on CHANNEL."""
    from datetime import timedelta

    from bot.app import telegram_bot, utc_now
    from bot.invites import issue_telegram_invites, write_invitations

    settings = _settings()
    if channel == "slack":
        _invite_on_slack(settings)
        return
    if channel != "telegram":
        raise _fail([f"--channel {channel}: use telegram or slack"])
    if settings.telegram_token is None:
        raise _fail(["PARLEY_TELEGRAM_TOKEN is not set: cannot build Telegram links"])
    username = asyncio.run(_telegram_username(telegram_bot(settings)))
    with _unit_of_work(settings) as uow:
        valid_for = timedelta(days=settings.invite_valid_days)
        now = utc_now()
        invitations = issue_telegram_invites(uow.session, username, now=now, valid_for=valid_for)
        write_invitations(output, invitations)
        _audit_invites(uow.session, "telegram", [i.stakeholder_id for i in invitations], now)
        uow.commit()
    for invitation in invitations:
        typer.echo(f"{invitation.name}\t{invitation.organisation or ''}\t{invitation.link}")
    typer.echo(f"{len(invitations)} invitations written to {output}", err=True)


def _invite_on_slack(settings: Settings) -> None:
    """DM everyone on the roster who is on Slack (by Slack id, or found by e-mail)."""
    from bot.app import utc_now
    from bot.questionnaires import QuestionnaireBook
    from bot.slack_invites import invite_roster_on_slack

    if settings.slack_bot_token is None:
        raise _fail(["PARLEY_SLACK_BOT_TOKEN is not set: cannot reach Slack"])
    try:
        book = QuestionnaireBook.from_file(settings.questionnaire)
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    with _unit_of_work(settings) as uow:
        book.store_current(uow.session)
        token = settings.slack_bot_token.get_secret_value()
        now = utc_now()
        lines = asyncio.run(
            invite_roster_on_slack(uow.session, book.current, token, settings.slack_api_url, now)
        )
        invited = sum(1 for line in lines if ": invited on Slack (" in line)  # see slack_invites
        _audit_invites(uow.session, "slack", invited, now)
        uow.commit()
    for line in lines:
        typer.echo(line)
    typer.echo("the consent messages are sent by the running `parley run`", err=True)


def _audit_invites(session: Session, channel: str, invited: list[int] | int, now: datetime) -> None:
    """`parley invite`'s audit row: stakeholder ids (Telegram links) or a count (Slack)."""
    from bot.roles import cli_actor
    from storage import audit

    key = "stakeholders" if isinstance(invited, list) else "invited"
    audit.record(session, cli_actor(), "invite", {"channel": channel, key: invited}, "cli", now)


@followup_app.command("add")
def followup_add(
    questionnaire: Annotated[Path, typer.Option(help="The follow-up questionnaire file.")],
    to: Annotated[
        str,
        typer.Option(help="all, stakeholder:ID, org_type:X, region:X, language:fr or completed."),
    ],
    at: Annotated[str | None, typer.Option(help="Once: '2027-01-15 10:00' local.")] = None,
    every: Annotated[
        str | None, typer.Option(help="A series: 'every 4 weeks until 2027-06-30'.")
    ] = None,
    starting: Annotated[str | None, typer.Option(help="First of the series (--every).")] = None,
    after: Annotated[str | None, typer.Option(help="'14 days after completed'.")] = None,
    zone: Annotated[str | None, typer.Option(help="Your time zone (default: setting).")] = None,
    wave: Annotated[str | None, typer.Option(help="Wave label (default: its id).")] = None,
) -> None:
    """Schedule a questionnaire for a cohort, at a local time, in a series, or after an event."""
    from bot.followup_cli import add_followup

    settings = _settings()
    with _unit_of_work(settings) as uow:
        lines = _followup_errors(
            lambda: add_followup(
                uow.session,
                settings,
                questionnaire,
                to=to,
                at=at,
                every=every,
                starting=starting,
                after=after,
                zone=zone,
                wave=wave,
            )
        )
        uow.commit()
    for line in lines:
        typer.echo(line)


@followup_app.command("list")
def followup_list(
    zone: Annotated[str | None, typer.Option(help="Your time zone (default: setting).")] = None,
) -> None:
    """Every follow-up not cancelled, with its next send in your time zone."""
    from bot.followup_cli import list_followups

    settings = _settings()
    with _unit_of_work(settings) as uow:
        lines = _followup_errors(lambda: list_followups(uow.session, settings, zone))
    for line in lines:
        typer.echo(line)


@followup_app.command("cancel")
def followup_cancel(followup_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Cancel a follow-up: its pending sends are not sent."""
    from bot.followup_cli import cancel

    settings = _settings()
    with _unit_of_work(settings) as uow:
        lines = _followup_errors(lambda: cancel(uow.session, followup_id))
        uow.commit()
    for line in lines:
        typer.echo(line)


def _followup_errors(action: Callable[[], list[str]]) -> list[str]:
    from bot.followups import FollowupError

    try:
        return action()
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    except FollowupError as exc:
        raise _fail([str(exc)]) from None


async def _telegram_username(bot: Bot) -> str:
    async with bot:  # getMe: the username is the bot's, set in BotFather
        return bot.username


def _languages(settings: Settings) -> tuple[str, ...]:
    from forms import load_any_file

    try:
        return load_any_file(settings.questionnaire).questionnaire.languages
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None


@contextmanager
def _unit_of_work(settings: Settings) -> Iterator[UnitOfWork]:
    from storage.db import make_engine, make_session_factory
    from storage.migrate import ensure_schema

    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            yield uow
    except StorageError as exc:
        raise _fail([str(exc)]) from None
    finally:
        engine.dispose()


def _settings(**overrides: object) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**values)  # type: ignore[arg-type]


def main() -> None:
    app()
