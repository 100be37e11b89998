"""`parley digest [--language en|fr] [--post]`: the digest now, printed; posted on request.

Without `--post` it is a preview: printed, not stored, so the next digest's "since the
last digest" still counts from the last one the team actually saw. With `--post` it is
stored as an on-demand digest (`digests` row `on_demand`, with its numbers) and its
messages are queued in the outbox for `PARLEY_RESEARCH_CHANNEL`; the running `parley
run` sends them (its dispatcher looks for due rows every second), with its rate limits
and retries. No second sender is started here: two dispatchers sending the same rows
could post them twice. Without a research channel, printing it here is the posting.

Bad input (a language the questionnaire lacks, a malformed or unconfigured research
channel) is one line naming the option or setting, exit 2, nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from bot.digest_posting import (
    CONSOLE_ADDRESS,
    Built,
    build_digest_messages,
    enqueue_messages,
    reading_sessions,
)
from bot.questionnaires import QuestionnaireBook
from bot.roles import cli_actor
from bot.settings import Settings
from conversations.errors import QuestionnaireError
from conversations.messages import Rich
from conversations.questionnaire import Questionnaire
from storage import audit
from storage import digests as stored
from storage.db import make_engine, make_session_factory
from storage.errors import StorageError
from storage.migrate import ensure_schema
from storage.unit_of_work import UnitOfWork

__all__ = ["digest"]


def digest(
    language: Annotated[
        str | None, typer.Option(help="en or fr (default: the questionnaire's default).")
    ] = None,
    post: Annotated[
        bool,
        typer.Option("--post", help="Also post it to the research channel (via parley run)."),
    ] = False,
) -> None:
    """Print the digest of the study as it stands; --post also posts it to the research team."""
    from bot.cli import _fail, _settings

    settings = _settings()
    problem = settings.research_channel_problem()
    if post and problem is not None:
        raise _fail([problem])
    try:
        book = QuestionnaireBook.from_file(settings.questionnaire)
    except QuestionnaireError as exc:
        raise _fail([str(e) for e in exc.errors]) from None
    chosen = _language(book.current, language)
    if chosen is None:
        raise _fail([f"--language '{language}': use {', '.join(book.current.languages)}"])
    address = (settings.research_address or CONSOLE_ADDRESS) if post else CONSOLE_ADDRESS
    try:
        with _sessions(settings) as sessions:
            built = _build(sessions, book, address, chosen)
            typer.echo(_console_text(built, book.current, chosen))
            if post:
                typer.echo(_post(sessions, built, address, chosen), err=True)
    except StorageError as exc:
        raise _fail([str(exc)]) from None


def _language(questionnaire: Questionnaire, given: str | None) -> str | None:
    chosen = (given or questionnaire.default_language).strip().lower()
    return chosen if chosen in questionnaire.languages else None


@contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _build(
    sessions: sessionmaker[Session],
    book: QuestionnaireBook,
    address: tuple[str, str],
    language: str,
) -> Built:
    """Store the questionnaire (short write), then read and build (no write lock held)."""
    with UnitOfWork(sessions) as uow:
        book.store_current(uow.session)
        uow.commit()
    with UnitOfWork(reading_sessions(sessions)) as uow:
        return build_digest_messages(
            uow.session, book.current, address, language, datetime.now(UTC)
        )


def _console_text(built: Built, questionnaire: Questionnaire, language: str) -> str:
    from analytics.render import to_console

    return to_console(built.digest, questionnaire, language).rstrip("\n")


def _post(
    sessions: sessionmaker[Session], built: Built, address: tuple[str, str], language: str
) -> str:
    """Store it as posted on demand and queue its messages (none for the console)."""
    channel, where = address
    now = built.digest.built_at
    with UnitOfWork(sessions) as uow:
        row = stored.record_on_demand(uow.session, now, channel, where, language)
        stored.store_summary(uow.session, row, built.digest.to_dict())
        details = {"digest": row, "to": f"{channel}:{where}", "language": language}
        audit.record(uow.session, cli_actor(), "digest.post", details, "cli", now)
        ids = (
            enqueue_messages(uow.session, address, built.messages, now)
            if channel != "console"
            else []
        )
        uow.commit()
    if not ids:
        return "stored as posted: no PARLEY_RESEARCH_CHANNEL, so printing it here was the post"
    texts = sum(1 for m in built.messages if isinstance(m, Rich))
    return (
        f"queued for {channel}:{where}: {texts} messages and {built.charts} charts "
        "(sent by the running `parley run`)"
    )
