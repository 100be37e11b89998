"""`parley …`: parse arguments, call the app; no logic of its own.

Errors a person can fix (a bad questionnaire, a database newer than the code) are
printed as one line each and exit with code 2; nothing is written in that case.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.app import ConsoleOptions, build
from bot.settings import Settings
from conversations.errors import QuestionnaireError
from storage.errors import StorageError

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Parley: research engagement in chat."
)
questionnaire_app = typer.Typer(no_args_is_help=True, help="Check and preview questionnaires.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(questionnaire_app, name="questionnaire")
app.add_typer(db_app, name="db")

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
) -> None:
    """Start Parley: receive messages, ask questions, send replies."""
    settings = _settings(questionnaire=questionnaire)
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    use_console = console if console is not None else not settings.platforms_configured
    options = (
        ConsoleOptions(user=user or getpass.getuser(), language=language) if use_console else None
    )
    try:
        parley = build(settings, console=options)
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    except StorageError as exc:
        raise _fail([str(exc)]) from None
    asyncio.run(parley.run())


@questionnaire_app.command("validate")
def validate(file: Path) -> None:
    """Check a questionnaire file: errors (exit 2) and missing translations (warnings)."""
    from conversations.loading import load_questionnaire_file

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


@questionnaire_app.command("preview")
def preview(
    file: Path,
    language: Annotated[str | None, typer.Option(help="Language to preview, e.g. fr.")] = None,
) -> None:
    """Print every item as the bot would ask it."""
    from bot.preview import preview_lines
    from conversations.loading import load_questionnaire

    try:
        q = load_questionnaire(file)
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


def _settings(**overrides: object) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**values)  # type: ignore[arg-type]


def main() -> None:
    app()
