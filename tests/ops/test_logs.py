"""`PARLEY_LOG_FORMAT=json`: one JSON object per line, carrying the event being handled."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.cli import app
from bot.handling import Handler
from bot.logs import configure_logging
from bot.questionnaires import QuestionnaireBook
from conversations.inputs import Begin
from storage import UnitOfWork
from storage.models import Run
from tests.bot.test_handling import NOW, event, run_of
from tests.e2e.support import EXAMPLE


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The root logger, configured as `parley run` does, into a buffer; restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("warning", "json", role="web", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def handler(session_factory: sessionmaker[Session]) -> Handler:
    book = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        uow.commit()
    return Handler(session_factory, book, lambda: NOW)


def test_a_failed_event_logs_one_json_line_with_its_id(
    handler: Handler, session_factory: sessionmaker[Session], json_logs: io.StringIO
) -> None:
    for what in (Begin(), "I agree"):
        handler.handle(event(what, "alice"))
        handler.handle(event(what, "bob"))
    with UnitOfWork(session_factory) as uow:  # a run whose state no code can read
        run = uow.session.get(Run, run_of(session_factory, "alice").id)
        assert run is not None
        run.state = {"v": 999}
        uow.commit()

    handler.handle_batch([event("1", "bob"), event("5", "alice", event_id="break-1")])
    logging.getLogger("parley.test").warning("after the batch")

    batch, failed, after = lines(json_logs)
    # the batch fell back to one by one while on the broken event: both lines name it
    assert batch["message"] == "batch of 2 events failed: handling it event by event"
    assert batch["event_id"] == "console:break-1"
    assert failed["event_id"] == "console:break-1"
    assert failed["message"] == "event console:break-1 failed"
    assert (failed["level"], failed["logger"], failed["role"]) == ("ERROR", "bot.handling", "web")
    assert failed["pid"] == os.getpid()
    assert "Traceback (most recent call last)" in failed["exc_info"]
    assert failed["time"].endswith("+00:00")
    assert "event_id" not in after  # the handling thread's id does not leak


def test_an_event_id_named_by_the_call_wins(json_logs: io.StringIO) -> None:
    logging.getLogger("parley.test").error("x\ny", extra={"event_id": "slack:Ev1"})

    [line] = lines(json_logs)  # the newline inside the message stays inside the line
    assert (line["event_id"], line["message"]) == ("slack:Ev1", "x\ny")
    assert "exc_info" not in line


def test_text_logs_are_the_default(json_logs: io.StringIO) -> None:
    stream = io.StringIO()
    configure_logging("info", "text", stream=stream)
    logging.getLogger("parley.test").info("hello")
    assert stream.getvalue() == "INFO:parley.test:hello\n"


def test_an_unknown_format_is_one_line(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PARLEY_LOG_FORMAT", "xml")

    result = CliRunner().invoke(app, ["run", "--no-console"])

    assert result.exit_code == 2
    assert result.stderr == "PARLEY_LOG_FORMAT 'xml': use text or json\n"
