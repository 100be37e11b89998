"""Digest occurrences that were handled: one `digests` row per `due_at`, never two (#5).

The schedule itself is a setting (`bot.digests`), so only what happened is stored. A row
is claimed with INSERT … ON CONFLICT (due_at) DO NOTHING, in the transaction that posts
the digest: whichever wake inserts first posts, every other (a job run twice, a second
process) finds the row and posts nothing. ON CONFLICT rather than catching the
IntegrityError, because on PostgreSQL a failed INSERT aborts the whole transaction.

Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Digest
from storage.upsert import insert_for, table_of

__all__ = ["claim_digest", "digests", "first_start", "last_handled", "record_start"]

_HANDLED = ("done", "missed")


def claim_digest(
    session: Session,
    due_at: datetime,
    status: str,
    now: datetime,
    *,
    channel: str | None = None,
    address: str | None = None,
) -> int | None:
    """Record the occurrence at `due_at` as `done` or `missed`; None if it already was.

    `channel`/`address` say where a `done` digest is posted (None when nothing is).
    """
    if status not in _HANDLED:
        raise ValueError(f"a digest is claimed done or missed, not {status!r}")
    return _insert(session, due_at, status, now, channel, address)


def record_start(session: Session, now: datetime) -> bool:
    """Remember when the schedule was first seen: occurrences before it are not expected.

    False if `now` is already taken (by an occurrence or another start); `first_start`
    then still answers, since only the earliest start counts.
    """
    return _insert(session, now, "started", now, None, None) is not None


def last_handled(session: Session) -> datetime | None:
    """The latest occurrence posted or recorded missed: the schedule continues after it."""
    return session.scalar(select(func.max(Digest.due_at)).where(Digest.status.in_(_HANDLED)))


def first_start(session: Session) -> datetime | None:
    """When the schedule was first seen (two processes starting at once: the earlier)."""
    return session.scalar(select(func.min(Digest.due_at)).where(Digest.status == "started"))


def digests(session: Session) -> list[Digest]:
    """Every row, oldest occurrence first (for status lines and tests)."""
    return list(session.scalars(select(Digest).order_by(Digest.due_at)))


def _insert(
    session: Session,
    due_at: datetime,
    status: str,
    now: datetime,
    channel: str | None,
    address: str | None,
) -> int | None:
    table = table_of(Digest)
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["due_at"])
        .returning(table.c.id)
    )
    row = {
        "due_at": due_at,
        "status": status,
        "handled_at": now,
        "channel": channel,
        "address": address,
    }
    inserted = session.execute(statement, row).first()
    return None if inserted is None else int(inserted[0])
