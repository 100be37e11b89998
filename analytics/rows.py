"""Query results in chunks of object columns, straight from the driver's cursor.

Why not `connection.execute(...).all()`: a million answer rows held at once as SQLAlchemy
`Row` objects, with every value a separate Python object, cost more memory than the frames
made from them (the digest's five answer columns of the bench's 1,000,000 answers: a
564 MB peak, against 158 MB fetched in chunks), and building the rows costs about as
much time as the database takes to produce them. Fetching `CHUNK_ROWS` rows at a time
from the DB-API cursor keeps one chunk alive while it is turned into compact columns
(`analytics.frames`), and skips the `Row` layer (and with it SQLAlchemy's cursor events
and echo: these reads are not logged).

The statement is still a SQLAlchemy statement, compiled for the connection's dialect,
and runs on the connection's own DB-API connection inside its transaction (begun here
if the connection has none yet, through SQLAlchemy, so SQLite's BEGIN flavour applies).
No type processing happens: callers select columns whose driver values they convert
themselves (JSON and times as text, see `analytics.frames`). On PostgreSQL the rows come
through a server-side (named) cursor, so the driver does not buffer the whole result
either.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import Select

__all__ = ["CHUNK_ROWS", "chunks"]

CHUNK_ROWS = 50_000
"""Rows fetched and converted at a time: small next to the frames, big enough that the
per-chunk work (one DataFrame, one JSON parse, one time parse) is amortised."""

_cursor_names = itertools.count(1)


def chunks(
    connection: Connection, statement: Select[Any], columns: list[str], size: int = CHUNK_ROWS
) -> Iterator[dict[str, pd.Series]]:
    """The statement's rows, at most `size` at a time, as one object Series per column
    (named by `columns`) holding the driver's values as they came: no type inference (a
    DataFrame made from rows would look at every value for dates, a second per million
    on PostgreSQL). At least one (empty) chunk, so the caller's conversions always run."""
    if not connection.in_transaction():
        connection.begin()
    sql, parameters = _compiled(connection, statement)
    cursor = _cursor(connection)
    try:
        cursor.execute(sql, parameters)
        yielded = False
        while rows := cursor.fetchmany(size):
            yielded = True
            yield _columns(columns, _table(rows, len(columns)))
        if not yielded:
            yield _columns(columns, np.empty((0, len(columns)), dtype=object))
    finally:
        cursor.close()


def _table(rows: list[Any], width: int) -> np.ndarray:
    """The rows as a 2-D object array, in one C call (a `zip(*rows)` costs five times more).

    A value that is itself a sequence (a PostgreSQL array) would make NumPy build a
    deeper array; such rows are then copied one by one."""
    try:
        table = np.array(rows, dtype=object)
    except ValueError:  # ragged sequences inside the values
        table = None
    if table is None or table.shape != (len(rows), width):
        table = np.empty((len(rows), width), dtype=object)
        for position, row in enumerate(rows):
            for column, value in enumerate(row):
                table[position, column] = value
    return table


def _columns(names: list[str], table: np.ndarray) -> dict[str, pd.Series]:
    return {
        name: pd.Series(table[:, n].copy(), dtype=object, copy=False)
        for n, name in enumerate(names)
    }


def _compiled(connection: Connection, statement: Select[Any]) -> tuple[str, Any]:
    """SQL text and parameters in the driver's paramstyle, each parameter processed by
    its type for this dialect as SQLAlchemy's own execution would (a JSON path, say)."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = {}
    for name, value in compiled.params.items():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        values[compiled.escaped_bind_names.get(name, name)] = process(value) if process else value
    if compiled.positiontup is not None:
        return str(compiled), tuple(values[name] for name in compiled.positiontup)
    return str(compiled), values


def _cursor(connection: Connection) -> Any:
    """A plain cursor; on PostgreSQL a named (server-side) one, held past the transaction
    only if there is none (an AUTOCOMMIT connection), as PostgreSQL then requires."""
    dbapi: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        name = f"parley_frames_{next(_cursor_names)}"
        return dbapi.cursor(name=name, withhold=bool(getattr(dbapi, "autocommit", False)))
    return dbapi.cursor()
