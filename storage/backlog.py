"""How far behind the work is, for operators (#8): the outbox's depth and failures, and the
scheduled work that is due but not done.

Read-only and cheap, since a load balancer asks for it every few seconds (`GET /readyz`):
each figure is one aggregate over an indexed range (the outbox's partial indexes of
pending and failed rows, `scheduled_sends (status, due_at)`), never a scan of delivered
history. Nothing here commits or locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Digest, OutboxRow, ScheduledSend
from storage.outbox import FAILED_ROWS, PENDING_ROWS
from storage.upsert import table_of

__all__ = [
    "ChannelDepth",
    "Failure",
    "Overdue",
    "failed_total",
    "outbox_depth",
    "overdue_digest_requests",
    "overdue_jobs",
    "overdue_sends",
    "recent_failures",
]

_OUTBOX = table_of(OutboxRow)
_SENDS = table_of(ScheduledSend)
_DIGESTS = table_of(Digest)


class ChannelDepth(NamedTuple):
    """One channel's pending messages: all of them, those due now, those a dispatcher has
    claimed, those waiting for a retry, and when the oldest due one became due."""

    channel: str
    pending: int
    due: int
    claimed: int
    retrying: int
    oldest_due: datetime | None


class Failure(NamedTuple):
    """A message given up on (a permanent platform error), as operators need to see it."""

    id: int
    channel: str
    address: str
    attempts: int
    created_at: datetime
    error: str


@dataclass(frozen=True)
class Overdue:
    """Work that should have happened already: how much, and since when."""

    count: int
    oldest: datetime | None


def outbox_depth(session: Session, now: datetime) -> list[ChannelDepth]:
    """Pending messages per channel (channels with none are absent)."""
    pending = PENDING_ROWS
    due = _OUTBOX.c.not_before <= now
    statement = (
        select(
            _OUTBOX.c.channel,
            func.count(),
            func.count(case((due, 1))),
            func.count(case((_OUTBOX.c.claimed_until > now, 1))),
            func.count(case((_OUTBOX.c.attempts > 0, 1))),
            func.min(case((due, _OUTBOX.c.not_before))),
        )
        .where(pending)
        .group_by(_OUTBOX.c.channel)
        .order_by(_OUTBOX.c.channel)
    )
    return [
        ChannelDepth(channel, pending_, due_, claimed, retrying, _aware(oldest))
        for channel, pending_, due_, claimed, retrying, oldest in session.execute(statement)
    ]


def failed_total(session: Session) -> int:
    statement = select(func.count()).select_from(_OUTBOX).where(FAILED_ROWS)
    return int(session.execute(statement).scalar_one())


def recent_failures(session: Session, limit: int = 5) -> list[Failure]:
    """The last `limit` messages given up on, newest first (no failure time is stored:
    the newest row is the last one enqueued among them)."""
    statement = (
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.channel,
            _OUTBOX.c.address,
            _OUTBOX.c.attempts,
            _OUTBOX.c.created_at,
            _OUTBOX.c.last_error,
        )
        .where(FAILED_ROWS)
        .order_by(_OUTBOX.c.id.desc())
        .limit(limit)
    )
    return [
        Failure(int(row_id), channel, address, attempts, created, error or "")
        for row_id, channel, address, attempts, created, error in session.execute(statement)
    ]


def overdue_sends(session: Session, now: datetime) -> Overdue:
    """Scheduled sends (follow-ups, nudges, group invitations and reminders) still pending
    at or after their due time: what the scheduler has yet to wake."""
    statement = select(func.count(), func.min(_SENDS.c.due_at)).where(
        _SENDS.c.status == "pending", _SENDS.c.due_at <= now
    )
    count, oldest = session.execute(statement).one()
    return Overdue(int(count), _aware(oldest))


def overdue_digest_requests(session: Session) -> Overdue:
    """Digests researchers asked for in chat and nobody has posted yet."""
    statement = select(func.count(), func.min(_DIGESTS.c.due_at)).where(
        _DIGESTS.c.status == "requested"
    )
    count, oldest = session.execute(statement).one()
    return Overdue(int(count), _aware(oldest))


def overdue_jobs(session: Session, now: datetime, table: str) -> Overdue:
    """APScheduler jobs (in its job store `table`, same database) whose next run time has
    passed: a running scheduler leaves none for more than a moment, a dead one leaves its
    15-minute sweep behind at least. A job store not created yet has none."""
    connection = session.connection()
    if not sa.inspect(connection).has_table(table):
        return Overdue(0, None)
    next_run = sa.column("next_run_time", sa.Float)
    jobs = sa.table(table, next_run)
    statement = select(func.count(), func.min(next_run)).select_from(jobs)
    count, oldest = connection.execute(statement.where(next_run <= now.timestamp())).one()
    return Overdue(int(count), None if oldest is None else datetime.fromtimestamp(oldest, UTC))


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates over SQLite come back as naive UTC (or as text) without the column type."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
