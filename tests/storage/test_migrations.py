"""Migrations: an empty database reaches head, the models agree with the scripts, and a
database from a newer Parley is left alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Integer, String, column, inspect, select, table, text

from storage import (
    DatabaseNewerThanCode,
    UnitOfWork,
    current_revision,
    digests,
    ensure_schema,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from storage.migrate import alembic_config
from storage.models import Base, Stakeholder
from storage.types import UTCDateTime

TABLES = {
    "stakeholders",
    "identities",
    "questionnaires",
    "runs",
    "answers",
    "answer_history",
    "inbound_events",
    "outbox",
    "digests",
}


@pytest.fixture
def bare_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database: no schema yet."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_an_empty_database_is_brought_to_head(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None

    ensure_schema(bare_engine)
    ensure_schema(bare_engine)  # a second start changes nothing

    assert current_revision(bare_engine) == head_revision()
    assert set(inspect(bare_engine).get_table_names()) >= TABLES


def test_two_processes_starting_at_once_both_find_the_schema_ready(database_url: str) -> None:
    engines = [make_engine(database_url), make_engine(database_url)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            ensure_schema(engine)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert [current_revision(engine) for engine in engines] == [head_revision()] * 2
    finally:
        for engine in engines:
            engine.dispose()


def test_upgrade_and_downgrade_round_trip(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    with bare_engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
    assert not TABLES & set(inspect(bare_engine).get_table_names())

    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()


def test_the_models_and_the_migrations_agree(bare_engine: Engine) -> None:
    """The `alembic check` of this project: autogenerate would find nothing to write."""
    ensure_schema(bare_engine)
    with bare_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_a_database_from_a_newer_parley_is_refused(bare_engine: Engine) -> None:
    ensure_schema(bare_engine)
    with bare_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))

    with pytest.raises(DatabaseNewerThanCode) as refused:
        ensure_schema(bare_engine)

    message = str(refused.value)
    assert message.startswith("the database at ")
    assert f"is at migration 9999_future, newer than this Parley (head {head_revision()})" in (
        message
    )
    assert message.endswith("; upgrade Parley")
    assert current_revision(bare_engine) == "9999_future"


def test_postgres_tables_and_alembic_version_land_in_the_test_schema(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        ensure_schema(engine)
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            placed = connection.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables "
                    "WHERE table_name = ANY(:names)"
                ),
                {"names": [*TABLES, "alembic_version"]},
            ).scalars()
            schemas = list(placed)
    finally:
        engine.dispose()

    assert schema.startswith("t_")
    assert schemas.count(schema) == len(TABLES) + 1


# ---------------------------------------------------- 0005: marks out of inbound_events

_AT = datetime(2027, 1, 4, 14, 0, 5, tzinfo=UTC)
_events = table(
    "inbound_events",
    column("platform", String),
    column("event_id", String),
    column("received_at", UTCDateTime()),
)
_OLD_MARKS = {
    ("parley", "tz-question:1"): _AT,
    ("parley", "digest-since"): _AT - timedelta(days=3),
    ("parley", "digest:2027-01-03T14:00:00Z"): _AT - timedelta(days=1),
    ("parley", "digest-missed:2027-01-03T14:00:00Z"): _AT - timedelta(days=1),
    ("parley", "digest:2027-01-04T14:00:00Z"): _AT,
}
_DELIVERY = ("telegram", "8812")


def _inbound(engine: Engine) -> dict[tuple[str, str], datetime]:
    with engine.connect() as connection:
        rows = connection.execute(select(_events))
        return {(platform, event_id): at for platform, event_id, at in rows}


def test_0005_moves_the_marks_out_of_inbound_events_and_back(bare_engine: Engine) -> None:
    """Rows written by 0004-era code keep their meaning; only platform deliveries stay."""
    upgrade(bare_engine, "0004")
    people = table(
        "stakeholders",
        column("id", Integer),
        column("name", String),
        column("language", String),
        column("time_zone", String),
        column("created_at", UTCDateTime()),
    )
    with bare_engine.begin() as connection:
        connection.execute(
            people.insert(),
            [
                {"id": n, "name": f"p{n}", "language": "en", "time_zone": "UTC", "created_at": _AT}
                for n in (1, 2)
            ],
        )
        rows = [*_OLD_MARKS.items(), (_DELIVERY, _AT)]
        connection.execute(
            _events.insert(),
            [{"platform": p, "event_id": e, "received_at": at} for (p, e), at in rows],
        )

    upgrade(bare_engine)
    assert _inbound(bare_engine) == {_DELIVERY: _AT}
    factory = make_session_factory(bare_engine)
    with UnitOfWork(factory) as uow:
        asked = {p.id: p.time_zone_asked_at for p in uow.session.scalars(select(Stakeholder))}
        handled = [(d.due_at, d.status, d.handled_at) for d in digests.digests(uow.session)]
    assert asked == {1: _AT, 2: None}
    assert handled == [
        (_AT - timedelta(days=3), "started", _AT - timedelta(days=3)),
        (datetime(2027, 1, 3, 14, tzinfo=UTC), "missed", _AT - timedelta(days=1)),
        (datetime(2027, 1, 4, 14, tzinfo=UTC), "done", _AT),
    ]

    with bare_engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0004")
    assert _inbound(bare_engine) == {**_OLD_MARKS, _DELIVERY: _AT}
    assert "digests" not in inspect(bare_engine).get_table_names()
    columns = {c["name"] for c in inspect(bare_engine).get_columns("stakeholders")}
    assert "time_zone_asked_at" not in columns
