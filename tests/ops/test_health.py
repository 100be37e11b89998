"""The operators' figures (`bot.health`) and `parley status`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.cli import app
from bot.health import read_health
from storage import head_revision
from tests.ops.support import populate


def test_figures(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    populate(engine, now)

    health = read_health(session_factory, now)

    roles = {role.role: role for role in health.roles}
    assert roles["scheduler"].holder == "host-a:1" and roles["scheduler"].alive
    assert roles["scheduler"].heartbeat_age == pytest.approx(3)
    assert not roles["dispatcher:telegram"].alive
    channels = {c.channel: c for c in health.outbox}
    assert (channels["telegram"].pending, channels["telegram"].due) == (3, 2)
    assert channels["telegram"].claimed == 1
    assert (channels["slack"].pending, channels["slack"].due, channels["slack"].retrying) == (
        2,
        1,
        1,
    )
    assert (health.pending, health.due, health.failed) == (5, 3, 1)
    assert health.oldest_due_age == pytest.approx(60)
    assert [f.error.splitlines()[0] for f in health.recent_failures] == ["channel_not_found"]
    assert (health.overdue_sends.count, health.age(health.overdue_sends.oldest)) == (1, 120)
    assert health.overdue_jobs.count == 1
    assert health.scheduler_lag == pytest.approx(300)
    assert health.digest_requests.count == 1


def test_an_empty_database_has_nothing_overdue(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    health = read_health(session_factory, datetime.now(UTC))

    assert health.to_dict()["outbox"] == {
        "pending": 0,
        "due": 0,
        "oldest_due_age_s": 0.0,
        "failed": 0,
        "channels": [],
        "recent_failures": [],
    }
    assert (health.roles, health.scheduler_lag, health.overdue_jobs.count) == ((), 0.0, 0)


def test_parley_status(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(engine, datetime.now(UTC))
    monkeypatch.setenv("PARLEY_DATABASE_URL", database_url)

    result = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Data needs of settlement organisations: 1 invited" in out  # the /status line
    assert f"schema {head_revision()} (up to date)" in out
    assert "host-a:1" in out and "NO (vacant?)" in out
    assert "outbox: 5 pending, 3 due now (oldest due for 1 min), 1 failed" in out
    assert "channel_not_found" in out
    assert "scheduler: lag 5 min · 1 overdue sends · 1 overdue jobs · 1 digest requests" in out

    figures = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert figures["outbox"]["pending"] == 5
    assert figures["scheduler"]["overdue_sends"] == 1


def test_parley_status_never_migrates(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)

    result = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 2
    assert "no Parley schema (run `parley db upgrade`)" in result.stderr


def test_on_sqlite_the_read_never_queues_behind_a_writer(sqlite_url: str) -> None:
    """A status or a probe while a long handling transaction holds the write lock."""
    from storage import ensure_schema, make_engine, make_session_factory

    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    populate(engine, datetime.now(UTC))
    try:
        with engine.connect() as writer:
            writer.begin()  # BEGIN IMMEDIATE: the write lock, as handling takes it
            started = time.monotonic()
            health = read_health(make_session_factory(engine), datetime.now(UTC))
            assert time.monotonic() - started < 2  # busy_timeout is 15 s
            writer.rollback()
    finally:
        engine.dispose()
    assert health.pending == 5
