"""Who holds each elected role, as reported by the holders themselves (#8).

The advisory lock decides who leads (`bot.leader`); these rows let operators see it
(`parley status`, `GET /readyz`): the holder, since when, and its last heartbeat. A
holder that died leaves its row behind with an old heartbeat, which is how a reader
tells it is gone; the next holder overwrites it. A holder that acts late, after a wait,
checks the row first (`still_holds`): it may have been deposed without noticing yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import RoleHolder
from storage.upsert import table_of

__all__ = ["Holding", "heartbeat", "role_holders", "still_holds"]

_TABLE = table_of(RoleHolder)


class Holding(NamedTuple):
    role: str
    holder: str
    since: datetime
    heartbeat_at: datetime


def heartbeat(
    connection: Connection, role: str, holder: str, since: datetime, now: datetime
) -> None:
    """Say that `holder` holds `role` (since `since`) and is alive at `now`.

    Runs on the lock's own connection, so a heartbeat that cannot be written is also a
    leader that lost its session. Upserts, so whichever holder came before is replaced.
    """
    dialect = connection.dialect.name
    insert = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
    statement = insert.values(role=role, holder=holder, since=since, heartbeat_at=now)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["role"],
            set_={"holder": holder, "since": since, "heartbeat_at": now},
        )
    )


def role_holders(session: Session) -> Sequence[Holding]:
    """Every role's last reported holder, by role name."""
    rows = session.execute(select(_TABLE).order_by(_TABLE.c.role))
    return [Holding(*row) for row in rows]


def still_holds(session: Session, role: str, holder: str) -> bool:
    """Whether `holder` is the last reported holder of `role`, with that row locked
    (`FOR SHARE`) until the transaction ends.

    A fence for what a holder does late, after a wait: it may have been deposed meanwhile
    without noticing yet (a server restart ends its lock's session; it notices at its
    next check). A successor writes its first heartbeat before it acts in the role, and
    that write waits for this lock: so the caller's transaction either sees the successor
    and should do nothing, or commits before the successor can act.
    """
    statement = select(_TABLE.c.holder).where(_TABLE.c.role == role).with_for_update(read=True)
    return session.execute(statement).scalar_one_or_none() == holder
