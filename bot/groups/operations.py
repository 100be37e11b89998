"""Discussion-group operations: create, list, RSVP, reschedule, cancel, release places.

One function per operation, each taking the caller's `Session`, an injected `now` and
plain arguments; nothing commits. Changes (reschedule, cancel, a waitlist promotion) go
straight to the outbox in the same transaction: they are due now, and the dispatcher
sends committed rows within a second, also when the change was made by `parley group …`
in another process. Reminder `number`s are `sequence * 100 + hours`, so a reschedule
makes new rows instead of colliding with the old, already sent ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.groups.messages import calendar_file, invitation, post
from bot.groups.results import GroupResult, GroupsListing, RsvpReport, RsvpResult
from bot.groups.times import seen_by, when_text
from bot.groups.validation import (
    RESPONSES,
    GroupError,
    find_members,
    parse_duration,
    parse_instant,
    parse_length,
    session_spec,
    zone_named,
)
from conversations.catalog import translate
from conversations.messages import Say
from storage import groups as store
from storage import schedules
from storage.groups import SessionSpec
from storage.models import DiscussionGroup, Stakeholder
from storage.schedules import NewSend

REMINDER_HOURS = (24, 1)


def create_group(
    session: Session,
    *,
    title: str,
    start: str,
    to: str,
    where: str,
    zone: str,
    now: datetime,
    duration: str | None = None,
    end: str | None = None,
    capacity: int | None = None,
    created_by: str = "researcher",
    main_questionnaire: str = "",
) -> GroupResult:
    """A group, its invitees, their invitation and reminder rows."""
    researcher_zone = zone_named(zone)
    start_at = parse_instant("start", start, researcher_zone, now)
    minutes = parse_length(start_at, duration, end, researcher_zone)
    spec = session_spec(title, minutes, researcher_zone, where, capacity, created_by)
    members = find_members(session, to, main_questionnaire)
    group = open_group(session, spec, start_at, [m.id for m in members], now)
    return GroupResult.of("created", group, len(members))


def open_group(
    session: Session,
    spec: SessionSpec,
    start_at: datetime,
    member_ids: Sequence[int],
    now: datetime,
    poll_id: int | None = None,
) -> DiscussionGroup:
    """The group row, its invitees and their invitation and reminder rows (create and confirm)."""
    group = store.create_group(session, spec, start_at, now, poll_id=poll_id)
    store.add_invitees(session, group.id, member_ids, now)
    sends = [NewSend("group_invite", sid, group.id, 0, now) for sid in member_ids]
    schedules.schedule_sends(session, sends + _reminders(group, member_ids, now), now)
    return group


def _reminders(group: DiscussionGroup, member_ids: Sequence[int], now: datetime) -> list[NewSend]:
    """T-24h and T-1h rows for every invitee, those still ahead only."""
    sends: list[NewSend] = []
    for hours in REMINDER_HOURS:
        due = group.start_at - timedelta(hours=hours)
        if due > now:
            number = group.sequence * 100 + hours
            sends += [NewSend("group_reminder", sid, group.id, number, due) for sid in member_ids]
    return sends


def _existing(session: Session, group_id: int, now: datetime) -> DiscussionGroup:
    group = store.lock_group(session, group_id)
    if group is None:
        raise GroupError(f"group {group_id} does not exist")
    if group.status == "cancelled":
        raise GroupError(f"group {group_id} is cancelled")
    if group.start_at <= now:
        raise GroupError(f"group {group_id} has already started")
    return group


def list_groups(session: Session, *, now: datetime, include_past: bool = False) -> GroupsListing:
    """Scheduled groups (not yet started unless `include_past`) with their RSVP counts."""
    found = store.groups(session, ending_after=None if include_past else now)
    counts = store.response_counts(session, [g.id for g in found])
    return GroupsListing(tuple((g, counts[g.id]) for g in found))


def rsvps(session: Session, group_id: int) -> RsvpReport:
    group = store.group(session, group_id)
    if group is None:
        raise GroupError(f"group {group_id} does not exist")
    people = store.invitees(session, group_id)
    answers = tuple((p.id, p.name, row.response) for row, p in people)
    waiting = tuple(row.stakeholder_id for row in store.waitlist(session, group_id))
    return RsvpReport(GroupResult.of("rsvps", group, len(people)), answers, waiting)


def rsvp(
    session: Session, *, group_id: int, stakeholder_id: int, response: str, now: datetime
) -> RsvpResult:
    """Record an answer; a Yes to a full session waits on the list; a freed place goes to
    the first waiting, who is told."""
    if response not in RESPONSES:
        raise GroupError(f"response: use yes, maybe or no (not '{response}')")
    group = _existing(session, group_id, now)
    row = store.invitee(session, group_id, stakeholder_id)
    if row is None:
        raise GroupError(f"stakeholder {stakeholder_id} is not invited to group {group_id}")
    previous = row.response
    wanted = response
    if response == "yes" and previous not in ("yes", "waitlisted"):
        full = group.capacity is not None and store.yes_count(session, group_id) >= group.capacity
        wanted = "waitlisted" if full else "yes"
    elif response == "yes":
        wanted = previous
    if wanted != previous:
        row.response, row.updated_at = wanted, now
        session.flush()
    promoted = _promote(session, group, now) if previous == "yes" and wanted != "yes" else None
    position = None
    if wanted == "waitlisted":
        position = [w.id for w in store.waitlist(session, group_id)].index(row.id) + 1
    return RsvpResult(group_id, stakeholder_id, wanted, previous, position, promoted)


def release_places(session: Session, stakeholder_id: int, now: datetime) -> list[int]:
    """Someone leaving the study gives up their Yes places: each goes to the first on that
    group's waitlist, who is told (as when a Yes turns into a No). Returns who moved up."""
    moved = []
    for group_id in store.places_held(session, stakeholder_id, now):
        result = rsvp(
            session, group_id=group_id, stakeholder_id=stakeholder_id, response="no", now=now
        )
        if result.promoted is not None:
            moved.append(result.promoted)
    return moved


def _promote(session: Session, group: DiscussionGroup, now: datetime) -> int | None:
    first = store.first_waitlisted(session, group.id)
    if first is None:
        return None
    first.response, first.updated_at = "yes", now
    session.flush()
    person = session.get_one(Stakeholder, first.stakeholder_id)
    zone = seen_by(person, group.time_zone)
    when = when_text(group.start_at, group.duration_minutes, zone, person.language)
    text = translate("group.promoted", person.language, title=group.title, when=when)
    post(session, person, [Say(text)], now)
    return first.stakeholder_id


def reschedule_group(
    session: Session,
    *,
    group_id: int,
    start: str,
    zone: str,
    now: datetime,
    duration: str | None = None,
) -> GroupResult:
    """A new start (and length): everyone who had not declined gets the new time, a new
    .ics and live buttons; reminders move to the new time."""
    researcher_zone = zone_named(zone)
    start_at = parse_instant("start", start, researcher_zone, now)
    minutes = parse_duration(duration) if duration is not None else None
    group = _existing(session, group_id, now)
    group.start_at = start_at
    group.duration_minutes = minutes or group.duration_minutes
    group.sequence += 1
    group.updated_at = now
    for kind in ("group_invite", "group_reminder"):
        store.cancel_sends(session, kind, group.id, now)
    people = store.invitees(session, group.id)
    schedules.schedule_sends(session, _reminders(group, [p.id for _, p in people], now), now)
    told = [p for row, p in people if row.response != "no"]
    for person in told:
        post(session, person, invitation(group, person, now, rescheduled=True), now)
    return GroupResult.of("rescheduled", group, len(people), len(told))


def cancel_group(session: Session, *, group_id: int, now: datetime) -> GroupResult:
    """Call it off: pending invitations and reminders are cancelled; everyone who had not
    declined is told, with a cancelling .ics that removes it from their calendar."""
    group = _existing(session, group_id, now)
    group.status = "cancelled"
    group.sequence += 1
    group.updated_at = now
    for kind in ("group_invite", "group_reminder"):
        store.cancel_sends(session, kind, group.id, now)
    people = store.invitees(session, group.id)
    told = [p for row, p in people if row.response != "no"]
    for person in told:
        zone, language = seen_by(person, group.time_zone), person.language
        when = when_text(group.start_at, group.duration_minutes, zone, language)
        text = translate("group.cancelled", language, title=group.title, when=when)
        post(session, person, [Say(text), calendar_file(group, person, now)], now)
    return GroupResult.of("cancelled", group, len(people), len(told))
