"""What `make_engine` promises on SQLite: durable pragmas and real transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from storage import SQLITE_BEGIN_OPTION, UnsupportedDatabase, make_engine


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def test_the_database_directory_is_created(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'parley.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        engine.dispose()
    assert (tmp_path / "a" / "b" / "parley.sqlite3").is_file()


def test_every_connection_is_durable_and_checks_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 15000,
    }


def test_transactions_begin_immediate_unless_asked_to_defer(sqlite_engine: Engine) -> None:
    begun: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(sqlite_engine, "before_cursor_execute", remember)
    with sqlite_engine.begin() as connection:
        connection.execute(text("SELECT 1"))
        assert connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    reader = sqlite_engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    with reader.begin() as connection:
        connection.execute(text("SELECT 1"))

    assert begun == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]


def test_other_databases_are_refused() -> None:
    with pytest.raises(UnsupportedDatabase):
        make_engine("mysql://localhost/parley")
