"""STOP (#7): a flag on the stakeholder, and nothing pending left to send them.

`stop` sets `stakeholders.stopped_at`, marks their pending outbox rows `cancelled` and
their pending scheduled sends (nudges, follow-ups, group invitations and reminders,
polls) `cancelled`. The scheduler checks the flag again before it sends anything, so a
send created later (a follow-up series, a sweep) is cancelled too. `restart` lifts the
flag; what was cancelled stays cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Identity, OutboxRow, Run, ScheduledSend, Stakeholder

__all__ = [
    "Cancelled",
    "addresses_of",
    "is_stopped",
    "restart",
    "stop",
    "to_person",
]


@dataclass(frozen=True)
class Cancelled:
    """How many pending things a STOP cancelled."""

    messages: int
    sends: int


def addresses_of(session: Session, stakeholder_id: int) -> list[tuple[str, str]]:
    """Where their direct messages go: (platform, account id) of each identity."""
    statement = select(Identity.platform, Identity.external_id).where(
        Identity.stakeholder_id == stakeholder_id
    )
    return [
        (str(platform), str(external_id)) for platform, external_id in session.execute(statement)
    ]


def to_person(session: Session, stakeholder_id: int) -> ColumnElement[bool]:
    """Outbox rows that are theirs: to one of their accounts, or about one of their runs."""
    addressed = [
        and_(OutboxRow.channel == platform, OutboxRow.address == address)
        for platform, address in addresses_of(session, stakeholder_id)
    ]
    runs = select(Run.id).where(Run.stakeholder_id == stakeholder_id)
    return or_(OutboxRow.run_id.in_(runs), *addressed) if addressed else OutboxRow.run_id.in_(runs)


def stop(session: Session, stakeholder_id: int, now: datetime) -> Cancelled:
    """Set the flag (kept if already set) and cancel what is pending for them."""
    session.execute(
        update(Stakeholder)
        .where(Stakeholder.id == stakeholder_id, Stakeholder.stopped_at.is_(None))
        .values(stopped_at=now)
        .execution_options(synchronize_session="fetch")
    )
    messages = session.execute(
        update(OutboxRow)
        .where(OutboxRow.status == "pending", to_person(session, stakeholder_id))
        .values(status="cancelled", last_error="cancelled: the recipient stopped messages")
        .execution_options(synchronize_session=False)
    )
    sends = session.execute(
        update(ScheduledSend)
        .where(ScheduledSend.stakeholder_id == stakeholder_id, ScheduledSend.status == "pending")
        .values(status="cancelled", done_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return Cancelled(_count(messages), _count(sends))


def restart(session: Session, stakeholder_id: int) -> bool:
    """Lift the flag; False if it was not set."""
    result = session.execute(
        update(Stakeholder)
        .where(Stakeholder.id == stakeholder_id, Stakeholder.stopped_at.is_not(None))
        .values(stopped_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return _count(result) > 0


def is_stopped(session: Session, stakeholder_id: int) -> bool:
    statement = select(Stakeholder.stopped_at).where(Stakeholder.id == stakeholder_id)
    return session.execute(statement).scalar_one_or_none() is not None


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
