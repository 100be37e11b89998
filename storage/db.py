"""Engines and session factories, configured once by the composition root.

Nothing here runs at import: `bot/app.py` (or a test fixture) calls `make_engine` and
`make_session_factory` and passes the results down.

SQLite transactions
-------------------
Python 3.11's `sqlite3` runs in "legacy transaction control": it sends no BEGIN before a
SELECT, so a read-modify-write is not one transaction, and it picks the BEGIN flavour
itself. Following SQLAlchemy's recipe (docs: "Transactions with SQLite and the sqlite3
driver"), the driver is told to keep out (`isolation_level = None`) and SQLAlchemy's
`begin` event emits the BEGIN.

We emit `BEGIN IMMEDIATE`, not a plain (deferred) `BEGIN`. Every Parley transaction on the
hot path reads and then writes (dedupe, load run, save run). With a deferred BEGIN two
processes can both take a read snapshot, and when the second tries to write after the
first committed, SQLite answers SQLITE_BUSY at once; `busy_timeout` cannot help because
waiting would not make its snapshot fresh. `BEGIN IMMEDIATE` takes the write lock up
front, so the second transaction waits (up to `busy_timeout`) and then reads fresh data:
writers queue instead of failing. WAL keeps readers on other connections unblocked.

A read-only caller that should not queue behind writers (analytics, exports) can ask for a
deferred BEGIN: `engine.execution_options(sqlite_begin="DEFERRED")`.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import UnsupportedDatabase

__all__ = ["SQLITE_BEGIN_OPTION", "make_engine", "make_session_factory"]

SQLITE_BEGIN_OPTION = "sqlite_begin"
"""Execution option naming the BEGIN flavour on SQLite: "IMMEDIATE" (default) or "DEFERRED"."""

_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout = 15000",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
)
"""busy_timeout: a writer waits for another (a migration, a long batch) instead of failing.
synchronous=FULL: an acknowledged answer must survive a power cut, not only a crash.
WAL is set separately, and only when the file is not in WAL mode yet: the switch needs
the database to itself, and asking again while another connection writes would fail."""

_WAL_SWITCH_SECONDS = 15.0

_BEGIN_FLAVOURS = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for a SQLite file or a PostgreSQL (psycopg 3) URL, ready for Parley."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    if backend == "postgresql":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise UnsupportedDatabase(f"unsupported database {backend!r} in {parsed!r}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the outbox is sent after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    _create_parent_dir(url)
    engine = create_engine(url, echo=echo)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _create_parent_dir(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, not the driver
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch a new database file to WAL. Two processes opening a brand-new file at once can
    both try; the loser gets "database is locked" without waiting (SQLite does not use the
    busy handler for this), so it looks again: the winner has usually switched it."""
    deadline = time.monotonic() + _WAL_SWITCH_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _begin_sqlite_transaction(connection: Connection) -> None:
    flavour = str(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE"))
    if flavour.upper() not in _BEGIN_FLAVOURS:
        raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_BEGIN_FLAVOURS)}")
    connection.exec_driver_sql(f"BEGIN {flavour.upper()}")
