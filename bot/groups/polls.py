"""Find-a-time polls: offer candidate starts, tally the votes, turn the chosen one into a group.

Apart from the group operations because a poll has its own rows and life (open, then
confirmed); confirming hands over to `operations.open_group`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.groups.operations import open_group
from bot.groups.results import GroupResult, PollRanking, PollResult, rank
from bot.groups.validation import (
    MAX_SLOTS,
    MIN_SLOTS,
    GroupError,
    find_members,
    parse_duration,
    parse_instant,
    session_spec,
    zone_named,
)
from storage import groups as store
from storage import schedules
from storage.groups import SessionSpec
from storage.schedules import NewSend


def create_poll(
    session: Session,
    *,
    title: str,
    slots: Sequence[str],
    to: str,
    where: str,
    zone: str,
    now: datetime,
    duration: str,
    capacity: int | None = None,
    created_by: str = "researcher",
    main_questionnaire: str = "",
) -> PollResult:
    """Offer 2-6 candidate starts; each invitee gets a multi-select in their own zone."""
    researcher_zone = zone_named(zone)
    if not MIN_SLOTS <= len(slots) <= MAX_SLOTS:
        raise GroupError(f"slot: offer {MIN_SLOTS} to {MAX_SLOTS} times (not {len(slots)})")
    starts = [parse_instant(f"slot {n}", s, researcher_zone, now) for n, s in enumerate(slots, 1)]
    if len(set(starts)) != len(starts):
        raise GroupError("slot: the same time is offered twice")
    spec = session_spec(
        title, parse_duration(duration), researcher_zone, where, capacity, created_by
    )
    members = find_members(session, to, main_questionnaire)
    poll = store.create_poll(session, spec, starts, now)
    store.add_poll_invitees(session, poll.id, [m.id for m in members])
    sends = [NewSend("poll_invite", m.id, poll.id, 0, now) for m in members]
    schedules.schedule_sends(session, sends, now)
    return PollResult(poll.id, poll.title, tuple(starts), len(members))


def poll_results(session: Session, poll_id: int) -> PollRanking:
    poll = store.poll(session, poll_id)
    if poll is None:
        raise GroupError(f"poll {poll_id} does not exist")
    people = store.poll_invitees(session, poll_id)
    voters = sum(1 for row, _ in people if row.submitted_at is not None)
    ranking = tuple(rank(store.tally(session, poll_id)))
    return PollRanking(
        poll.id, poll.title, poll.status, ranking, voters, len(people), poll.group_id
    )


def confirm_poll(session: Session, *, poll_id: int, slot: int, now: datetime) -> GroupResult:
    """The chosen slot becomes the group: invitations to everyone asked, .ics, reminders."""
    poll = store.poll(session, poll_id)
    if poll is None:
        raise GroupError(f"poll {poll_id} does not exist")
    if poll.status != "open":
        raise GroupError(f"poll {poll_id} is {poll.status}, not open")
    chosen = {s.number: s for s in store.slots(session, poll_id)}.get(slot)
    if chosen is None:
        raise GroupError(f"slot: poll {poll_id} has slots 1-{len(store.slots(session, poll_id))}")
    if chosen.start_at <= now:
        raise GroupError(f"slot: slot {slot} is in the past")
    spec = SessionSpec(
        poll.title,
        poll.duration_minutes,
        poll.time_zone,
        poll.location,
        poll.capacity,
        poll.created_by,
    )
    member_ids = [p.id for _, p in store.poll_invitees(session, poll_id)]
    group = open_group(session, spec, chosen.start_at, member_ids, now, poll_id=poll.id)
    poll.status, poll.group_id = "confirmed", group.id
    store.cancel_sends(session, "poll_invite", poll.id, now)
    session.flush()
    return GroupResult.of("created", group, len(member_ids))
