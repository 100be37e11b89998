"""Wake a worker when another process commits rows for it (PostgreSQL, #8).

A web process, the scheduler or the CLI may write the outbox rows a dispatcher in
another process sends (migration 0010: `NOTIFY parley_outbox`), or the scheduled sends
whose jobs the elected scheduler keeps (migration 0011: `NOTIFY parley_schedules`).
Each notice carries the schema as payload and is delivered at commit; a listener wakes
its worker for its own schema's notices. Notices are a shortcut, not a guarantee: while
the connection is down some may be missed, so every (re)connection wakes once, and the
workers' own polls and sweeps stay the safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

__all__ = ["OUTBOX", "SCHEDULES", "libpq_url", "listen"]

log = logging.getLogger(__name__)

OUTBOX = "parley_outbox"
SCHEDULES = "parley_schedules"

_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)
"""Between attempts after the connection failed; the last one repeats."""


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no `+psycopg` driver suffix)."""
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(database_url: str, channel: str, wake: Callable[[], None]) -> None:
    """Forever (until cancelled): call `wake` for each notice on `channel` about this
    schema."""
    failures = 0
    while True:
        try:
            await _listen(libpq_url(database_url), channel, wake)
        except (psycopg.Error, OSError) as error:
            delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
            failures += 1
            log.warning("%s notices: connection lost (%s); again in %.1fs", channel, error, delay)
            await asyncio.sleep(delay)
        else:
            failures = 0


async def _listen(conninfo: str, channel: str, wake: Callable[[], None]) -> None:
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, connect_timeout=5
    ) as connection:
        cursor = await connection.execute("SELECT current_schema()")
        row = await cursor.fetchone()
        schema = str(row[0]) if row else ""
        await connection.execute(f"LISTEN {channel}")
        wake()  # rows may have been written while we were not listening
        async for notice in connection.notifies():
            if notice.payload == schema:
                wake()
