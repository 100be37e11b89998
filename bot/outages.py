"""Riding out a database outage (a PostgreSQL restart, a network blip) instead of failing.

What is in memory when the database goes away is often all there is: a Slack event
acknowledged before it was handled, a message sent but not yet recorded as sent.
Failing at once would lose the first and send the second again; the database is
usually back within seconds, so both wait for it, for up to a limit (#8).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError

__all__ = ["OUTAGE_DELAYS", "ride_out", "unreachable"]

log = logging.getLogger(__name__)

T = TypeVar("T")

OUTAGE_DELAYS = (0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0)
"""Between attempts while the database is unreachable: about a minute in all."""


_SERVER_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: a server restarting."""


def unreachable(error: BaseException) -> bool:
    """A lost or refused connection, or SQLite's busy writer (worth waiting out), not a
    statement that is wrong (a missing table is an OperationalError too)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    state = getattr(cause, "sqlstate", None)
    if state is not None:  # PostgreSQL said why: class 08 is "connection exception"
        return state.startswith("08") or state in _SERVER_GOING_AWAY
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        return True  # no SQLSTATE: the connection itself failed
    return "database is locked" in str(cause)


async def ride_out(attempt: Callable[[], Awaitable[T]], *, limit: float, what: str) -> T:
    """`attempt()`, again after each pause while the database is unreachable, for up to
    `limit` seconds of pauses; then (or on any other error) its error is raised."""
    waited = 0.0
    for delay in OUTAGE_DELAYS:
        try:
            return await attempt()
        except DBAPIError as error:
            if not unreachable(error) or waited + delay > limit:
                raise
            log.warning("%s: database unreachable (%s); again in %.2fs", what, error.orig, delay)
        await asyncio.sleep(delay)
        waited += delay
    return await attempt()
