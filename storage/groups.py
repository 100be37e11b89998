"""Discussion groups, RSVPs and find-a-time polls: the queries (#5).

The rules (capacity, waitlist, who is told what) live in `bot.groups`; this module only
reads and writes rows. Capacity is decided under a lock on the group's row
(`lock_group`, FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so two Yes
presses at once cannot both take the last place. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import (
    DiscussionGroup,
    GroupInvitee,
    PollInvitee,
    PollSlot,
    PollVote,
    ScheduledSend,
    SchedulingPoll,
    Stakeholder,
)

__all__ = [
    "SessionSpec",
    "SlotTally",
    "add_invitees",
    "add_poll_invitees",
    "cancel_sends",
    "create_group",
    "create_poll",
    "first_waitlisted",
    "group",
    "groups",
    "invitee",
    "invitees",
    "lock_group",
    "mark_submitted",
    "poll",
    "poll_invitee",
    "poll_invitees",
    "polls",
    "response_counts",
    "set_vote",
    "slots",
    "stakeholders_named",
    "tally",
    "votes_of",
    "waitlist",
    "yes_count",
]


@dataclass(frozen=True)
class SessionSpec:
    """What a group and a poll share: the session as the researcher described it."""

    title: str
    duration_minutes: int
    time_zone: str
    location: str
    capacity: int | None
    created_by: str


@dataclass(frozen=True)
class SlotTally:
    number: int
    start_at: datetime
    yes: int
    maybe: int

    @property
    def votes(self) -> int:
        return self.yes + self.maybe


# -- groups ---------------------------------------------------------------------------


def create_group(
    session: Session,
    spec: SessionSpec,
    start_at: datetime,
    now: datetime,
    *,
    poll_id: int | None = None,
) -> DiscussionGroup:
    """Add a scheduled group; flushed, so `.id` is set."""
    row = DiscussionGroup(
        title=spec.title,
        start_at=start_at,
        duration_minutes=spec.duration_minutes,
        time_zone=spec.time_zone,
        location=spec.location,
        capacity=spec.capacity,
        status="scheduled",
        sequence=0,
        poll_id=poll_id,
        created_by=spec.created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def group(session: Session, group_id: int) -> DiscussionGroup | None:
    return session.get(DiscussionGroup, group_id)


def lock_group(session: Session, group_id: int) -> DiscussionGroup | None:
    """Read a group fresh, locking its row on PostgreSQL until the transaction ends."""
    statement = (
        select(DiscussionGroup)
        .where(DiscussionGroup.id == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(statement).one_or_none()


def groups(
    session: Session, *, include_cancelled: bool = False, ending_after: datetime | None = None
) -> list[DiscussionGroup]:
    """Groups by start time; `ending_after` leaves out those that started before it."""
    statement = select(DiscussionGroup).order_by(DiscussionGroup.start_at, DiscussionGroup.id)
    if not include_cancelled:
        statement = statement.where(DiscussionGroup.status == "scheduled")
    if ending_after is not None:
        statement = statement.where(DiscussionGroup.start_at >= ending_after)
    return list(session.scalars(statement))


def add_invitees(
    session: Session, group_id: int, stakeholder_ids: Iterable[int], now: datetime
) -> list[GroupInvitee]:
    rows = [
        GroupInvitee(group_id=group_id, stakeholder_id=sid, response="none", updated_at=now)
        for sid in sorted(set(stakeholder_ids))
    ]
    session.add_all(rows)
    session.flush()
    return rows


def invitees(session: Session, group_id: int) -> list[tuple[GroupInvitee, Stakeholder]]:
    """A group's invitees with their stakeholder rows, in stakeholder order."""
    statement = (
        select(GroupInvitee, Stakeholder)
        .join(Stakeholder, Stakeholder.id == GroupInvitee.stakeholder_id)
        .where(GroupInvitee.group_id == group_id)
        .order_by(Stakeholder.id)
    )
    return [(row, person) for row, person in session.execute(statement)]


def invitee(session: Session, group_id: int, stakeholder_id: int) -> GroupInvitee | None:
    statement = select(GroupInvitee).where(
        GroupInvitee.group_id == group_id, GroupInvitee.stakeholder_id == stakeholder_id
    )
    return session.scalars(statement).one_or_none()


def yes_count(session: Session, group_id: int) -> int:
    statement = select(func.count()).where(
        GroupInvitee.group_id == group_id, GroupInvitee.response == "yes"
    )
    return int(session.scalar(statement) or 0)


def waitlist(session: Session, group_id: int) -> list[GroupInvitee]:
    """Waitlisted invitees, first come first served (the time of their Yes, then id)."""
    statement = (
        select(GroupInvitee)
        .where(GroupInvitee.group_id == group_id, GroupInvitee.response == "waitlisted")
        .order_by(GroupInvitee.updated_at, GroupInvitee.id)
    )
    return list(session.scalars(statement))


def places_held(session: Session, stakeholder_id: int, now: datetime) -> list[int]:
    """Upcoming, not cancelled groups where this person holds a Yes place."""
    statement = (
        select(DiscussionGroup.id)
        .join(GroupInvitee, GroupInvitee.group_id == DiscussionGroup.id)
        .where(
            GroupInvitee.stakeholder_id == stakeholder_id,
            GroupInvitee.response == "yes",
            DiscussionGroup.status != "cancelled",
            DiscussionGroup.start_at > now,
        )
        .order_by(DiscussionGroup.id)
    )
    return list(session.scalars(statement))


def first_waitlisted(session: Session, group_id: int) -> GroupInvitee | None:
    found = waitlist(session, group_id)
    return found[0] if found else None


def response_counts(session: Session, group_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per group: how many invitees gave each response."""
    counts: dict[int, dict[str, int]] = {gid: {} for gid in group_ids}
    if not group_ids:
        return counts
    statement = (
        select(GroupInvitee.group_id, GroupInvitee.response, func.count())
        .where(GroupInvitee.group_id.in_(list(group_ids)))
        .group_by(GroupInvitee.group_id, GroupInvitee.response)
    )
    for gid, response, count in session.execute(statement):
        counts[int(gid)][str(response)] = int(count)
    return counts


def cancel_sends(
    session: Session,
    kind: str,
    ref_id: int,
    now: datetime,
    *,
    stakeholder_id: int | None = None,
) -> int:
    """Cancel the pending sends of one kind for a group or poll; how many were cancelled."""
    statement = update(ScheduledSend).where(
        ScheduledSend.kind == kind,
        ScheduledSend.ref_id == ref_id,
        ScheduledSend.status == "pending",
    )
    if stakeholder_id is not None:
        statement = statement.where(ScheduledSend.stakeholder_id == stakeholder_id)
    result = session.execute(
        statement.values(status="cancelled", done_at=now).execution_options(
            synchronize_session="fetch"
        )
    )
    return int(cast(CursorResult[Any], result).rowcount)


def stakeholders_named(session: Session, name: str) -> list[Stakeholder]:
    """Stakeholders whose name is `name`, ignoring case and surrounding spaces."""
    statement = (
        select(Stakeholder)
        .where(func.lower(Stakeholder.name) == name.strip().lower())
        .order_by(Stakeholder.id)
    )
    return list(session.scalars(statement))


# -- polls ----------------------------------------------------------------------------


def create_poll(
    session: Session, spec: SessionSpec, starts: Sequence[datetime], now: datetime
) -> SchedulingPoll:
    """Add an open poll and its slots, numbered from 1 in the given order; flushed."""
    row = SchedulingPoll(
        title=spec.title,
        duration_minutes=spec.duration_minutes,
        time_zone=spec.time_zone,
        location=spec.location,
        capacity=spec.capacity,
        status="open",
        created_by=spec.created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add_all(
        PollSlot(poll_id=row.id, number=number, start_at=start)
        for number, start in enumerate(starts, start=1)
    )
    session.flush()
    return row


def poll(session: Session, poll_id: int) -> SchedulingPoll | None:
    return session.get(SchedulingPoll, poll_id)


def polls(session: Session, *, include_closed: bool = False) -> list[SchedulingPoll]:
    statement = select(SchedulingPoll).order_by(SchedulingPoll.id)
    if not include_closed:
        statement = statement.where(SchedulingPoll.status == "open")
    return list(session.scalars(statement))


def slots(session: Session, poll_id: int) -> list[PollSlot]:
    statement = select(PollSlot).where(PollSlot.poll_id == poll_id).order_by(PollSlot.number)
    return list(session.scalars(statement))


def add_poll_invitees(
    session: Session, poll_id: int, stakeholder_ids: Iterable[int]
) -> list[PollInvitee]:
    rows = [
        PollInvitee(poll_id=poll_id, stakeholder_id=sid) for sid in sorted(set(stakeholder_ids))
    ]
    session.add_all(rows)
    session.flush()
    return rows


def poll_invitees(session: Session, poll_id: int) -> list[tuple[PollInvitee, Stakeholder]]:
    statement = (
        select(PollInvitee, Stakeholder)
        .join(Stakeholder, Stakeholder.id == PollInvitee.stakeholder_id)
        .where(PollInvitee.poll_id == poll_id)
        .order_by(Stakeholder.id)
    )
    return [(row, person) for row, person in session.execute(statement)]


def poll_invitee(session: Session, poll_id: int, stakeholder_id: int) -> PollInvitee | None:
    statement = select(PollInvitee).where(
        PollInvitee.poll_id == poll_id, PollInvitee.stakeholder_id == stakeholder_id
    )
    return session.scalars(statement).one_or_none()


def votes_of(session: Session, poll_id: int, stakeholder_id: int) -> dict[int, str]:
    """One invitee's ticks: slot number → `yes` or `maybe`."""
    statement = select(PollVote.slot_number, PollVote.choice).where(
        PollVote.poll_id == poll_id, PollVote.stakeholder_id == stakeholder_id
    )
    return {int(n): str(c) for n, c in session.execute(statement)}


def set_vote(
    session: Session,
    poll_id: int,
    stakeholder_id: int,
    slot_number: int,
    choice: str | None,
    now: datetime,
) -> None:
    """Tick (`yes`/`maybe`) or untick (None) one slot for one invitee."""
    session.execute(
        delete(PollVote).where(
            PollVote.poll_id == poll_id,
            PollVote.stakeholder_id == stakeholder_id,
            PollVote.slot_number == slot_number,
        )
    )
    if choice is not None:
        session.add(
            PollVote(
                poll_id=poll_id,
                stakeholder_id=stakeholder_id,
                slot_number=slot_number,
                choice=choice,
                updated_at=now,
            )
        )
    session.flush()


def mark_submitted(session: Session, row: PollInvitee, now: datetime) -> None:
    row.submitted_at = now
    session.flush()


def tally(session: Session, poll_id: int) -> list[SlotTally]:
    """Yes and maybe ticks per slot, in slot order (slots nobody ticked included)."""
    counts: dict[tuple[int, str], int] = {}
    statement = (
        select(PollVote.slot_number, PollVote.choice, func.count())
        .where(PollVote.poll_id == poll_id)
        .group_by(PollVote.slot_number, PollVote.choice)
    )
    for number, choice, count in session.execute(statement):
        counts[(int(number), str(choice))] = int(count)
    return [
        SlotTally(
            slot.number,
            slot.start_at,
            counts.get((slot.number, "yes"), 0),
            counts.get((slot.number, "maybe"), 0),
        )
        for slot in slots(session, poll_id)
    ]
