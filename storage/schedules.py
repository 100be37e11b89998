"""Follow-ups and scheduled sends: what is to be sent when, as rows (#5).

A send is a row first; whatever wakes it (an APScheduler job, a start-up reconcile)
claims it with `finish_send`, an UPDATE guarded by `status = 'pending'`, so a second
wake finds it done and does nothing. Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.orm import Session

from storage.models import Followup, Identity, Run, ScheduledSend, Stakeholder
from storage.upsert import insert_for, table_of

__all__ = [
    "NewSend",
    "cancel_followup",
    "cohort_members",
    "create_followup",
    "finish_send",
    "followup",
    "followups",
    "latest_identity",
    "lock_send",
    "nudge_rows",
    "open_runs",
    "pending_counts",
    "pending_sends",
    "reschedule_send",
    "schedule_sends",
    "sends_of",
]


@dataclass(frozen=True)
class NewSend:
    kind: str
    stakeholder_id: int
    ref_id: int
    number: int
    due_at: datetime


# -- follow-ups -----------------------------------------------------------------------


def create_followup(
    session: Session,
    *,
    questionnaire_key: str,
    questionnaire_version: str,
    wave: str,
    cohort: Mapping[str, Any],
    schedule: Mapping[str, Any],
    created_by: str,
    now: datetime,
) -> Followup:
    """Add a follow-up; flushed, so `.id` is set."""
    row = Followup(
        questionnaire_key=questionnaire_key,
        questionnaire_version=questionnaire_version,
        wave=wave,
        cohort=dict(cohort),
        schedule=dict(schedule),
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def followup(session: Session, followup_id: int) -> Followup | None:
    return session.get(Followup, followup_id)


def followups(session: Session, *, include_cancelled: bool = False) -> list[Followup]:
    statement = select(Followup).order_by(Followup.id)
    if not include_cancelled:
        statement = statement.where(Followup.cancelled_at.is_(None))
    return list(session.scalars(statement))


def cancel_followup(session: Session, followup_id: int, now: datetime) -> int | None:
    """Cancel a follow-up and its pending sends; the number of sends cancelled, None if unknown.

    Cancelling twice is harmless (0 sends the second time).
    """
    row = session.get(Followup, followup_id)
    if row is None:
        return None
    if row.cancelled_at is None:
        row.cancelled_at = now
    result = session.execute(
        update(ScheduledSend)
        .where(
            ScheduledSend.kind == "followup",
            ScheduledSend.ref_id == followup_id,
            ScheduledSend.status == "pending",
        )
        .values(status="cancelled", done_at=now)
    )
    session.flush()
    return int(cast(CursorResult[Any], result).rowcount)


# -- sends ----------------------------------------------------------------------------


def schedule_sends(
    session: Session, sends: Sequence[NewSend], now: datetime
) -> list[ScheduledSend]:
    """Insert sends, skipping any that already exist (same kind, ref, stakeholder, number).

    Returns the rows actually created, each needing a job.
    """
    if not sends:
        return []
    table = table_of(ScheduledSend)
    rows = [
        {
            "kind": s.kind,
            "stakeholder_id": s.stakeholder_id,
            "ref_id": s.ref_id,
            "number": s.number,
            "due_at": s.due_at,
            "status": "pending",
            "created_at": now,
        }
        for s in sends
    ]
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["kind", "ref_id", "stakeholder_id", "number"])
        .returning(table.c.id)
    )
    ids: list[int] = []
    for row in rows:  # one by one: RETURNING with DO NOTHING skips the conflicting rows
        created = session.execute(statement, row).scalar_one_or_none()
        if created is not None:
            ids.append(int(created))
    if not ids:
        return []
    found = session.scalars(select(ScheduledSend).where(ScheduledSend.id.in_(ids)))
    return sorted(found, key=lambda r: r.id)


def lock_send(session: Session, send_id: int) -> ScheduledSend | None:
    """Read a send fresh, locking its row on PostgreSQL until the transaction ends."""
    statement = (
        select(ScheduledSend)
        .where(ScheduledSend.id == send_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(statement).one_or_none()


def finish_send(session: Session, send_id: int, status: str, now: datetime) -> bool:
    """Move a pending send to `status` (done, missed, cancelled); False if it was not pending."""
    result = session.execute(
        update(ScheduledSend)
        .where(ScheduledSend.id == send_id, ScheduledSend.status == "pending")
        .values(status=status, done_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def reschedule_send(session: Session, send_id: int, due_at: datetime) -> bool:
    """Move a pending send to a new due time; False if it was not pending."""
    result = session.execute(
        update(ScheduledSend)
        .where(ScheduledSend.id == send_id, ScheduledSend.status == "pending")
        .values(due_at=due_at)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def pending_sends(session: Session) -> list[ScheduledSend]:
    """Every pending send, earliest first."""
    statement = (
        select(ScheduledSend)
        .where(ScheduledSend.status == "pending")
        .order_by(ScheduledSend.due_at, ScheduledSend.id)
    )
    return list(session.scalars(statement))


def sends_of(session: Session, kind: str, ref_id: int) -> list[ScheduledSend]:
    """The sends of one follow-up (or one run's nudges), in order."""
    statement = (
        select(ScheduledSend)
        .where(ScheduledSend.kind == kind, ScheduledSend.ref_id == ref_id)
        .order_by(ScheduledSend.number, ScheduledSend.stakeholder_id)
    )
    return list(session.scalars(statement))


def pending_counts(session: Session) -> dict[int, int]:
    """Pending sends per follow-up id."""
    statement = (
        select(ScheduledSend.ref_id, func.count())
        .where(ScheduledSend.kind == "followup", ScheduledSend.status == "pending")
        .group_by(ScheduledSend.ref_id)
    )
    return {int(ref): int(count) for ref, count in session.execute(statement)}


# -- who ------------------------------------------------------------------------------


def latest_identity(session: Session, stakeholder_id: int) -> Identity | None:
    """The account a stakeholder linked most recently: where to reach them now."""
    statement = (
        select(Identity)
        .where(Identity.stakeholder_id == stakeholder_id)
        .order_by(Identity.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def cohort_members(session: Session, cohort: Mapping[str, Any]) -> list[Stakeholder]:
    """The stakeholders a cohort names who can be reached (at least one platform account).

    Cohorts: `{"type": "all"}`, `{"type": "stakeholders", "ids": [...]}`,
    `{"type": "organisation_type" | "region" | "language", "value": ...}` (case-insensitive),
    `{"type": "completed", "questionnaire": key}` (completed its main wave).
    """
    reachable = select(Identity.stakeholder_id)
    statement: Select[Any] = (
        select(Stakeholder).where(Stakeholder.id.in_(reachable)).order_by(Stakeholder.id)
    )
    kind = cohort["type"]
    if kind == "stakeholders":
        statement = statement.where(Stakeholder.id.in_([int(i) for i in cohort["ids"]]))
    elif kind in ("organisation_type", "region", "language"):
        column = getattr(Stakeholder, kind)
        statement = statement.where(func.lower(column) == str(cohort["value"]).lower())
    elif kind == "completed":
        completed = select(Run.stakeholder_id).where(
            Run.questionnaire_key == cohort["questionnaire"],
            Run.wave == "main",
            Run.completed_at.is_not(None),
        )
        statement = statement.where(Stakeholder.id.in_(completed))
    elif kind != "all":
        raise ValueError(f"unknown cohort type {kind!r}")
    return list(session.scalars(statement))


def open_runs(session: Session, statuses: Sequence[str], wave: str = "main") -> list[Run]:
    """Runs in `wave` whose status is one of `statuses`: the candidates for nudges."""
    statement = select(Run).where(Run.status.in_(list(statuses)), Run.wave == wave).order_by(Run.id)
    return list(session.scalars(statement))


def nudge_rows(session: Session, run_ids: Sequence[int]) -> dict[int, list[ScheduledSend]]:
    """The nudge sends of each run, by run id, in order."""
    found: dict[int, list[ScheduledSend]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    statement = (
        select(ScheduledSend)
        .where(ScheduledSend.kind == "nudge", ScheduledSend.ref_id.in_(list(run_ids)))
        .order_by(ScheduledSend.number)
    )
    for row in session.scalars(statement):
        found[row.ref_id].append(row)
    return found
