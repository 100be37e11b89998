"""INSERT … ON CONFLICT for the session's database, so repositories never branch on it.

SQLite and PostgreSQL spell the upsert the same way, but SQLAlchemy builds it from each
dialect's own `insert()`. `ON CONFLICT DO NOTHING` matters on PostgreSQL in particular:
a plain INSERT that hits a unique key aborts the whole transaction, taking the event's
other work with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.errors import UnsupportedDatabase

__all__ = ["Insert", "insert_for", "table_of"]

Insert = postgresql.Insert | sqlite.Insert


def insert_for(session: Session, table: Table) -> Insert:
    """The dialect-specific INSERT for `table`, which offers `on_conflict_do_*`."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDatabase(f"no ON CONFLICT support for {dialect!r}")


def table_of(model: Any) -> Table:
    """The Core table behind a mapped class: Core statements skip the ORM on hot paths."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not mapped to a single table")
    return table
