"""Migrations: an empty database reaches head, the models agree with the scripts, and a
database from a newer Parley is left alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from storage import (
    DatabaseNewerThanCode,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from storage.migrate import alembic_config
from storage.models import Base

TABLES = {
    "stakeholders",
    "identities",
    "questionnaires",
    "runs",
    "answers",
    "answer_history",
    "inbound_events",
    "outbox",
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
