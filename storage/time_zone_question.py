"""The time-zone question's once-only flag: `stakeholders.time_zone_asked_at` (#5).

"Ask once" must hold when two processes (or a retried event and a follow-up job) reach
the same person at the same time, so the flag is set by a guarded UPDATE … WHERE
time_zone_asked_at IS NULL and its row count decides: the database lets exactly one
transaction change the row (on PostgreSQL the second waits for the first's row lock,
then finds the flag set). Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from storage.models import Run, Stakeholder

__all__ = ["claim_after_completion", "claim_time_zone_question"]

UNKNOWN_ZONES = ("", "UTC")
"""What `stakeholders.time_zone` holds for someone whose zone was never given."""


def claim_time_zone_question(session: Session, stakeholder_id: int, now: datetime) -> bool:
    """Mark the person as asked their zone at `now`; False if someone already did."""
    result = session.execute(
        update(Stakeholder)
        .where(Stakeholder.id == stakeholder_id, Stakeholder.time_zone_asked_at.is_(None))
        .values(time_zone_asked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def claim_after_completion(session: Session, run_id: int, now: datetime) -> bool:
    """The same claim for the person behind a run just completed, in one statement, and
    only if their zone is unknown: a completion costs one UPDATE, not three reads."""
    owner = select(Run.stakeholder_id).where(Run.id == run_id).scalar_subquery()
    result = session.execute(
        update(Stakeholder)
        .where(
            Stakeholder.id == owner,
            Stakeholder.time_zone_asked_at.is_(None),
            Stakeholder.time_zone.in_(UNKNOWN_ZONES),
        )
        .values(time_zone_asked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1
