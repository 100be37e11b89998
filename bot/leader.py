"""Which process runs the scheduler: the holder of a PostgreSQL advisory lock (#5).

APScheduler 3 must run in exactly one process per job store ("Job stores must never be
shared between schedulers"), yet several `parley run` processes may share one
PostgreSQL database. Each one campaigns: it holds a dedicated connection and asks for
a session-level advisory lock (`pg_try_advisory_lock`, never blocking). The one that
gets it leads and starts the scheduler; the others stand by and ask again every
`retry_every` seconds. The lock lives exactly as long as the leader's connection:

- the leader exits or is killed: the kernel closes its socket, the server ends the
  session and frees the lock, and a standby takes it at its next attempt;
- the leader's machine or network vanishes silently: the session's TCP keepalives
  (set on the lock connection, `SERVER_KEEPALIVE`) make the server end it within about
  `DEAD_PEER_SECONDS`, so the worst takeover is that plus `retry_every`, under 30 s;
- the leader loses its connection (server restart, `pg_terminate_backend`): its check
  every `check_every` seconds fails and it steps down, stopping its scheduler, then
  campaigns again like any standby.

Between a lost lock and the old leader noticing, two schedulers may briefly both wake
jobs. That is harmless by design: a job only wakes a row, and processing a row locks it
and finds it done the second time (`bot.scheduling`).

The key is derived from the schema (`current_schema()`), not fixed: advisory locks are
per database, and separate Parley instances (or test runs) in separate schemas of one
database must not elect one leader between them. The lock connection's
`application_name` (`parley-leader:<pid>`) shows in `pg_stat_activity` who leads.

SQLite is one process by the issue's rule: there every process leads.

While it leads, a holder writes a heartbeat to `role_holders` (the scope is the role's
name) at each check, through the lock's own connection: the heartbeat is the check.
Operators read those rows (`parley status`, `GET /readyz`); the lock alone decides.
A holder's first heartbeat comes before it acts in the role, which lets a late action of
a possibly deposed holder be fenced by the row (`storage.role_holders.still_holds`).

A session-level advisory lock needs a real session: behind a transaction-pooling
proxy (PgBouncer `pool_mode=transaction`) it does not work; connect the scheduler's
processes directly or through session pooling.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.pool import NullPool

from storage.role_holders import heartbeat

__all__ = ["DEAD_PEER_SECONDS", "Leadership", "holder_name", "lock_key"]

log = logging.getLogger(__name__)

SERVER_KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
"""Settings of the lock session: the server drops a silent leader within ~11-15 s."""

CLIENT_KEEPALIVE: dict[str, object] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10000,
}
"""libpq options of the lock connection: our own checks fail rather than hang."""

DEAD_PEER_SECONDS = 15.0
"""About how long the server takes to end the session of a leader that vanished."""

Pause = Callable[[float], Awaitable[None]]
Action = Callable[[], Awaitable[None]]


def lock_key(scope: str, schema: str) -> int:
    """A stable signed 64-bit advisory lock key for `scope` within `schema`."""
    digest = hashlib.blake2b(f"parley:{scope}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def holder_name() -> str:
    """This process as operators see it in `role_holders`: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _configure(connection: Connection, name: str, value: str) -> None:
    """Set one session setting; an older server without it keeps its default. A server
    that went away fails the attempt (`acquire` stands by): going on with the dead
    connection raised PendingRollbackError, which ended the process (tests/faults,
    seed 524169, PostgreSQL restarted while a standby connected)."""
    try:
        connection.execute(sa.text("SELECT set_config(:n, :v, false)"), {"n": name, "v": value})
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
        log.info("leader election: %s not set: %s", name, error.orig)


@dataclass
class Leadership:
    """One process's claim to lead; `acquire`, `alive` and `release` block (use a thread).

    `campaign` runs the whole cycle: stand by, lead, step down when the lock is lost.
    """

    database_url: str
    scope: str = "scheduler"
    retry_every: float = 5.0
    """A standby asks again this often; at most 10 s so a takeover stays within 30 s."""
    check_every: float = 5.0
    """A leader checks its connection (and so its lock) this often."""
    leading: bool = field(default=False, init=False)
    since: datetime | None = field(default=None, init=False)
    """When this process took the role (for `role_holders`)."""
    session_pid: int | None = field(default=None, init=False)
    """The server process of the lock's session, while there is one (`pg_backend_pid()`)."""
    _standing_by: bool = field(default=False, init=False, repr=False)
    _engine: Engine | None = field(default=None, init=False, repr=False)
    _connection: Connection | None = field(default=None, init=False, repr=False)
    _key: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.retry_every <= 10:
            raise ValueError(f"retry_every {self.retry_every}: between 0 and 10 seconds")

    @property
    def exclusive(self) -> bool:
        """Whether leading needs the lock: PostgreSQL; SQLite has one process."""
        return sa.make_url(self.database_url).get_backend_name() == "postgresql"

    # -- one step each (blocking) --------------------------------------------------------

    def acquire(self) -> bool:
        """One attempt to take the lock (never waits for it); True while we hold it."""
        if self.leading:
            return self.alive()
        if not self.exclusive:
            self.leading, self.since = True, _now()
            self._beat_unlocked()
            return True
        try:
            connection = self._connect()
            key = self._key_for(connection)
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            self.leading = bool(got.scalar_one())
            if self.leading:
                self.since = _now()
                self._beat(connection)
        except DBAPIError as error:
            log.warning("leader election: database unreachable, standing by: %s", error.orig)
            self._drop()
            return False
        if not self.leading:
            self._drop()  # a standby holds no session open between attempts
        return self.leading

    def alive(self) -> bool:
        """Whether we still lead: on PostgreSQL, whether the lock's session still answers."""
        if not self.exclusive:
            if self.leading:
                self._beat_unlocked()
            return self.leading
        if self._connection is None:
            self.leading = False
            return False
        try:
            self._beat(self._connection)
        except DBAPIError as error:
            log.warning("leader election: lost the lock's connection: %s", error.orig)
            self._drop()
        return self.leading

    def release(self) -> None:
        """Give up leading (closing the session frees the lock) and the connection."""
        if self._connection is not None and self._key is not None:
            with contextlib.suppress(DBAPIError):  # a session gone took its lock along
                self._connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _beat(self, connection: Connection) -> None:
        """Report leading; fails (DBAPIError) when the lock's session is gone. A schema
        without `role_holders` (not upgraded yet) only loses the report."""
        assert self.since is not None
        try:
            heartbeat(connection, self.scope, holder_name(), self.since, _now())
        except ProgrammingError as error:
            log.debug("leader election: no heartbeat (%s); checking the session", error.orig)
            connection.execute(sa.text("SELECT 1")).scalar_one()

    def _beat_unlocked(self) -> None:
        """SQLite: the heartbeat on a short connection of its own; a busy database only
        delays it (the report is informative, leading does not depend on it)."""
        try:
            engine = self._engine_for_beats()
            with engine.begin() as connection:
                self._beat(connection)
        except DBAPIError as error:
            log.info("leader election: heartbeat not written: %s", error.orig)

    def _engine_for_beats(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.database_url, poolclass=NullPool)
        return self._engine

    def _connect(self) -> Connection:
        if self._connection is None:
            if self._engine is None:
                self._engine = sa.create_engine(
                    self.database_url,
                    poolclass=NullPool,
                    connect_args={
                        **CLIENT_KEEPALIVE,
                        "application_name": f"parley-leader:{os.getpid()}",
                    },
                )
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for name, value in SERVER_KEEPALIVE.items():
                _configure(connection, name, value)
            pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            self._connection, self.session_pid = connection, int(pid)
        return self._connection

    def _key_for(self, connection: Connection) -> int:
        if self._key is None:
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
            self._key = lock_key(self.scope, str(schema))
        return self._key

    def _drop(self) -> None:
        self.leading, self.since = False, None
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                self._connection.close()
            self._connection, self.session_pid = None, None

    # -- the cycle -----------------------------------------------------------------------

    async def attempt(self, elected: Action, deposed: Action) -> bool:
        """Try to lead; if we do, run `elected` (start the scheduler). A failing start is
        logged, undone (`deposed`) and the lock given back, so another process (or a
        later attempt) leads."""
        if not await asyncio.to_thread(self.acquire):
            if not self._standing_by:
                log.info(
                    "leader election: another process leads the %s; standing by (asking every "
                    "%.0f s)",
                    self.scope,
                    self.retry_every,
                )
            self._standing_by = True
            return False
        self._standing_by = False
        log.info("leader election: leading the %s (pid %d)", self.scope, os.getpid())
        try:
            await elected()
        except Exception:
            log.exception("leader election: starting the %s failed; stepping down", self.scope)
            await asyncio.to_thread(self.release)
            await deposed()
            return False
        return True

    async def campaign(
        self, elected: Action, deposed: Action, pause: Pause = asyncio.sleep
    ) -> None:
        """Forever: stand by until elected, lead while the lock holds, step down when lost.

        `pause` is injectable so tests can drive the cycle without waiting.
        """
        while True:
            if self.leading:
                await pause(self.check_every)
                if await asyncio.to_thread(self.alive):
                    continue
                log.warning("leader election: lost the lock; stopping the %s", self.scope)
                await deposed()
            elif not await self.attempt(elected, deposed):
                await pause(self.retry_every)


def _now() -> datetime:
    return datetime.now(UTC)
