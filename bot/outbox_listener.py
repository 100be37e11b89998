"""Wake the dispatcher when another process commits outbox rows (PostgreSQL, #8).

A web process, the scheduler or the CLI may write the rows a dispatcher in another
process sends. Migration 0010 makes every outbox insert `NOTIFY parley_outbox` with the
schema as payload, delivered at commit; this listener wakes the dispatcher for its own
schema's notices. Notices are a shortcut, not a guarantee: while the connection is down
some may be missed, so every (re)connection wakes once, and the dispatcher's poll stays
the safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

__all__ = ["CHANNEL", "libpq_url", "listen_for_outbox"]

log = logging.getLogger(__name__)

CHANNEL = "parley_outbox"

_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)
"""Between attempts after the connection failed; the last one repeats."""


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no `+psycopg` driver suffix)."""
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen_for_outbox(database_url: str, wake: Callable[[], None]) -> None:
    """Forever (until cancelled): call `wake` for each notice about this schema's outbox."""
    failures = 0
    while True:
        try:
            await _listen(libpq_url(database_url), wake)
        except (psycopg.Error, OSError) as error:
            delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
            failures += 1
            log.warning("outbox notices: connection lost (%s); again in %.1fs", error, delay)
            await asyncio.sleep(delay)
        else:
            failures = 0


async def _listen(conninfo: str, wake: Callable[[], None]) -> None:
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, connect_timeout=5
    ) as connection:
        cursor = await connection.execute("SELECT current_schema()")
        row = await cursor.fetchone()
        schema = str(row[0]) if row else ""
        await connection.execute(f"LISTEN {CHANNEL}")
        wake()  # rows may have been written while we were not listening
        async for notice in connection.notifies():
            if notice.payload == schema:
                wake()
