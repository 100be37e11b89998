"""Digest occurrences that were handled: one `digests` row per `due_at`, never two (#5).

The schedule itself is a setting (`bot.digests`), so only what happened is stored. A row
is claimed with INSERT … ON CONFLICT (due_at) DO NOTHING, in the transaction that posts
the digest: whichever wake inserts first posts, every other (a job run twice, a second
process) finds the row and posts nothing. ON CONFLICT rather than catching the
IntegrityError, because on PostgreSQL a failed INSERT aborts the whole transaction.

On-demand digests (#6) are rows too, at the instant they were asked for (moved on by a
microsecond if a row already has it): `requested` when a researcher asked in chat and the
running Parley has yet to build it, `on_demand` once posted. They never count as schedule
occurrences, but their `summary` (the numbers shown) counts for "since the last digest".

Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import Digest
from storage.upsert import insert_for, table_of

__all__ = [
    "claim_digest",
    "digests",
    "first_start",
    "fulfil_request",
    "handled_at",
    "last_handled",
    "last_summary",
    "record_on_demand",
    "record_start",
    "request_digest",
    "requested",
    "store_summary",
]

_HANDLED = ("done", "missed")
_POSTED = ("done", "on_demand")
_FREE_INSTANT_TRIES = 1000


def claim_digest(
    session: Session,
    due_at: datetime,
    status: str,
    now: datetime,
    *,
    channel: str | None = None,
    address: str | None = None,
    language: str | None = None,
) -> int | None:
    """Record the occurrence at `due_at` as `done` or `missed`; None if it already was.

    `channel`/`address` say where a `done` digest is posted (None when nothing is).
    """
    if status not in _HANDLED:
        raise ValueError(f"a digest is claimed done or missed, not {status!r}")
    return _insert(session, due_at, status, now, channel, address, language)


def handled_at(session: Session, due_at: datetime) -> bool:
    """Whether the occurrence at `due_at` already has its row (a cheap look before building)."""
    found = session.scalar(select(Digest.id).where(Digest.due_at == due_at))
    return found is not None


def request_digest(
    session: Session, now: datetime, channel: str, address: str, language: str
) -> int:
    """A researcher asked for a digest in chat: a `requested` row, built and posted later."""
    return _insert_free(session, now, "requested", channel, address, language)


def record_on_demand(
    session: Session, now: datetime, channel: str, address: str, language: str
) -> int:
    """A digest posted outside the schedule now (`parley digest --post`): its row."""
    return _insert_free(session, now, "on_demand", channel, address, language)


def requested(session: Session) -> list[Digest]:
    """Digests asked for in chat and not yet posted, oldest first."""
    statement = select(Digest).where(Digest.status == "requested").order_by(Digest.due_at)
    return list(session.scalars(statement))


def fulfil_request(session: Session, row_id: int, summary: dict[str, Any], now: datetime) -> bool:
    """Mark a requested digest posted, with its numbers; False if another worker did."""
    statement = (
        update(Digest)
        .where(Digest.id == row_id, Digest.status == "requested")
        .values(status="on_demand", summary=summary, handled_at=now)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def store_summary(session: Session, row_id: int, summary: dict[str, Any]) -> None:
    """The numbers a posted digest showed (`Digest.to_dict()` of `analytics.model`)."""
    session.execute(update(Digest).where(Digest.id == row_id).values(summary=summary))


def last_summary(session: Session) -> dict[str, Any] | None:
    """The numbers of the latest posted digest, scheduled or not: the next one's "since"."""
    statement = (
        select(Digest.summary)
        .where(Digest.status.in_(_POSTED), Digest.summary.is_not(None))
        .order_by(Digest.handled_at.desc(), Digest.id.desc())
        .limit(1)
    )
    return session.scalar(statement)


def record_start(session: Session, now: datetime) -> bool:
    """Remember when the schedule was first seen: occurrences before it are not expected.

    False if `now` is already taken (by an occurrence or another start); `first_start`
    then still answers, since only the earliest start counts.
    """
    return _insert(session, now, "started", now, None, None, None) is not None


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
    language: str | None,
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
        "language": language,
    }
    inserted = session.execute(statement, row).first()
    return None if inserted is None else int(inserted[0])


def _insert_free(
    session: Session, now: datetime, status: str, channel: str, address: str, language: str
) -> int:
    """A row at `now`, or the first free microsecond after it (`due_at` is unique). Never
    on a whole second: schedule occurrences are whole minutes, and must find theirs free."""
    for step in range(0 if now.microsecond else 1, _FREE_INSTANT_TRIES):
        due_at = now + timedelta(microseconds=step)
        inserted = _insert(session, due_at, status, now, channel, address, language)
        if inserted is not None:
            return inserted
    raise RuntimeError(f"no free instant for a digest row near {now.isoformat()}")
