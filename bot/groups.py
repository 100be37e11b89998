"""Discussion groups and find-a-time polls: validate, store rows, say what happened (#5).

One function per operation, each taking the caller's `Session`, an injected `now` and
plain arguments, so the CLI, Telegram and Slack commands share them. Nothing commits: an
error raises `GroupError` (one line naming the field) before anything is written, and
the caller's unit of work rolls back. Results render in the researcher's zone
(`lines(zone)`); what invitees see is in their own zone and language.

Rows first (see `bot.scheduling`): an invitation and each T-24h / T-1h reminder is a
`ScheduledSend` (`group_invite`, `group_reminder`, `poll_invite`) that the scheduler wakes;
`process_send` does what a due one says, once. Reminder rows exist for every invitee; who
gets one is decided when it fires (only Yes and Maybe). Reminder `number`s are
`sequence * 100 + hours`, so a reschedule makes new rows instead of colliding with
the old, already sent ones.

Quiet hours: invitations and poll invitations wait for the invitee's quiet hours to end
(but never past the session's start). Reminders do not: the session's time was chosen
by the researcher and accepted by the invitee, and a T-1h reminder delayed by quiet
hours would arrive after the start. A reminder is never sent at or after the start, even
within the grace period.

Changes (reschedule, cancel, a waitlist promotion) go straight to the outbox in the
same transaction: they are due now, and the dispatcher sends committed rows within a
second, also when the change was made by `parley group …` in another process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeGuard
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.calendar_files import content_type, session_ics
from bot.followups import FollowupError, parse_cohort
from bot.time_zones import zone_for
from bot.timing import QuietHours, TimingError, grace, next_allowed, parse_when, parse_zone
from conversations.catalog import translate
from conversations.inputs import Pick, Submit, Toggle
from conversations.messages import (
    Answered,
    Ask,
    AskStyle,
    Attachment,
    Message,
    Notice,
    Option,
    Say,
    message_to_dict,
)
from storage import groups as store
from storage import repository, schedules
from storage.groups import SessionSpec, SlotTally
from storage.models import (
    GROUP_SEND_KINDS,
    DiscussionGroup,
    ScheduledSend,
    SchedulingPoll,
    Stakeholder,
)
from storage.schedules import NewSend

__all__ = [
    "MAX_SLOTS",
    "MIN_SLOTS",
    "REMINDER_HOURS",
    "SEND_KINDS",
    "GroupError",
    "GroupResult",
    "GroupsListing",
    "PollRanking",
    "PollResult",
    "RsvpReport",
    "RsvpResult",
    "cancel_group",
    "confirm_poll",
    "create_group",
    "create_poll",
    "is_group_press",
    "list_groups",
    "parse_duration",
    "poll_results",
    "press",
    "process_send",
    "rank",
    "reschedule_group",
    "rsvp",
    "rsvps",
]

SEND_KINDS = GROUP_SEND_KINDS
"""The scheduled-send kinds `process_send` handles."""
REMINDER_HOURS = (24, 1)
MIN_SLOTS, MAX_SLOTS = 2, 6
MAX_TITLE, MAX_WHERE = 200, 500
RESPONSES = ("yes", "maybe", "no")
ORGANISER = "Parley research team"


class GroupError(ValueError):
    """A request that cannot be done; the one-line message names the field, shown as is."""


# ------------------------------------------------------------------ pure validation

_DURATION = re.compile(r"(?:(?P<h>\d+)\s*h(?:ours?)?)?\s*(?:(?P<m>\d+)\s*(?:m|min|minutes?)?)?")


def parse_duration(text: str) -> int:
    """Minutes from `60`, `90m`, `1h`, `1h30`, `1h 30m`; refuses zero and negatives."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not (match["h"] or match["m"]):
        raise GroupError(f"duration: can't understand '{text.strip()}' (use e.g. 60, 90m or 1h30)")
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if minutes <= 0:
        raise GroupError(f"duration: must be longer than 0 minutes (not '{text.strip()}')")
    return minutes


def _zone(name: str) -> ZoneInfo:
    try:
        return parse_zone(name)
    except TimingError as error:
        raise GroupError(f"zone: {error}") from None


def _text(name: str, value: str, limit: int) -> str:
    clean = " ".join(value.split())
    if not clean:
        raise GroupError(f"{name}: must not be empty")
    if len(clean) > limit:
        raise GroupError(f"{name}: at most {limit} characters (not {len(clean)})")
    return clean


def _capacity(capacity: int | None) -> int | None:
    if capacity is not None and capacity < 1:
        raise GroupError(f"capacity: at least 1 (not {capacity}); leave it out for no limit")
    return capacity


def _instant(name: str, text: str, zone: ZoneInfo, now: datetime) -> datetime:
    try:
        return parse_when(text, zone, now)
    except TimingError as error:
        raise GroupError(f"{name}: {error}") from None


def _length(start: datetime, duration: str | None, end: str | None, zone: ZoneInfo) -> int:
    """Minutes, from `duration` or from `end` (a later time the same day, or a full date)."""
    if (duration is None) == (end is None):
        raise GroupError("duration: give either a duration (e.g. 60) or an end time, not both")
    if duration is not None:
        return parse_duration(duration)
    assert end is not None
    text = end.strip()
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        text = f"{start.astimezone(zone).date().isoformat()} {text}"
    try:
        finish = parse_when(text, zone, start - timedelta(days=36500))
    except TimingError as error:
        raise GroupError(f"end: {error}") from None
    if finish <= start:
        raise GroupError(f"end: {end.strip()} is not after the start")
    return int((finish - start).total_seconds() // 60)


def _spec(
    title: str,
    duration_minutes: int,
    zone: ZoneInfo,
    where: str,
    capacity: int | None,
    created_by: str,
) -> SessionSpec:
    return SessionSpec(
        title=_text("title", title, MAX_TITLE),
        duration_minutes=duration_minutes,
        time_zone=zone.key,
        location=_text("where", where, MAX_WHERE),
        capacity=_capacity(capacity),
        created_by=created_by,
    )


def _members(session: Session, to: str, main_questionnaire: str) -> list[Stakeholder]:
    """A cohort (`all`, `org_type:X`, `stakeholder:1,2`, …) or names and ids, comma-separated."""
    try:
        cohort = parse_cohort(to, main_questionnaire)
    except FollowupError:
        cohort = {"type": "stakeholders", "ids": _named(session, to)}
    members = schedules.cohort_members(session, cohort)
    if not members:
        raise GroupError(f"to: '{to.strip()}' matches nobody who can be reached")
    if cohort["type"] == "stakeholders":
        missing = set(cohort["ids"]) - {m.id for m in members}
        if missing:
            shown = ", ".join(str(i) for i in sorted(missing))
            raise GroupError(f"to: stakeholder(s) {shown} unknown or without a chat account")
    return members


def _named(session: Session, to: str) -> list[int]:
    ids: list[int] = []
    for part in (p.strip() for p in to.split(",")):
        if not part:
            continue
        if part.isdigit():
            ids.append(int(part))
            continue
        found = store.stakeholders_named(session, part)
        if len(found) != 1:
            reason = "nobody is called" if not found else f"{len(found)} stakeholders are called"
            raise GroupError(f"to: {reason} '{part}' (use stakeholder:ID or a cohort)")
        ids.append(found[0].id)
    if not ids:
        raise GroupError("to: name the invitees (names, ids, or a cohort such as all)")
    return ids


# ---------------------------------------------------------------- how times are shown


def _when(start: datetime, minutes: int, zone: ZoneInfo, language: str) -> str:
    local = start.astimezone(zone)
    finish = (start + timedelta(minutes=minutes)).astimezone(zone)
    return translate(
        "group.when",
        language,
        weekday=translate(f"weekday.{local.weekday()}", language),
        date=local.date().isoformat(),
        start=f"{local:%H:%M}",
        end=f"{finish:%H:%M}",
        zone=zone.key,
    )


def _seen_by(person: Stakeholder, researcher_zone: str) -> ZoneInfo:
    """The invitee's zone; someone who never gave one sees the session's (researcher's) zone."""
    return zone_for(person, parse_zone(researcher_zone))


def _shown(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"


# --------------------------------------------------------------------- results


@dataclass(frozen=True)
class GroupResult:
    """A group as created, rescheduled or cancelled: what the researcher is told."""

    action: str
    group_id: int
    title: str
    start_at: datetime
    minutes: int
    location: str
    capacity: int | None
    invited: int
    notified: int = 0
    cancelled: bool = False

    @classmethod
    def of(
        cls, action: str, group: DiscussionGroup, invited: int, notified: int = 0
    ) -> GroupResult:
        return cls(
            action,
            group.id,
            group.title,
            group.start_at,
            group.duration_minutes,
            group.location,
            group.capacity,
            invited,
            notified,
            group.status == "cancelled",
        )

    def lines(self, zone: ZoneInfo) -> list[str]:
        limit = f"capacity {self.capacity}" if self.capacity else "no capacity limit"
        head = (
            f"group {self.group_id} {self.action}: “{self.title}” {_shown(self.start_at, zone)}, "
            f"{self.minutes} min, at {self.location}, {limit}, {self.invited} invited"
        )
        if self.action == "created":
            return [head, f"invitations queued for {self.invited}; reminders at T-24h and T-1h"]
        return [head, f"{self.notified} invitee(s) who had not declined were told"]

    def summary(self, zone: ZoneInfo) -> str:
        return "; ".join(self.lines(zone))


@dataclass(frozen=True)
class GroupsListing:
    groups: tuple[tuple[DiscussionGroup, dict[str, int]], ...]

    def lines(self, zone: ZoneInfo) -> list[str]:
        found = [_listing_line(group, counts, zone) for group, counts in self.groups]
        return found or ["no discussion groups scheduled"]


def _listing_line(group: DiscussionGroup, counts: dict[str, int], zone: ZoneInfo) -> str:
    shown = ", ".join(f"{counts.get(r, 0)} {r}" for r in (*RESPONSES, "waitlisted"))
    limit = f"capacity {group.capacity}" if group.capacity else "no limit"
    return (
        f"{group.id}\t{group.title}\t{_shown(group.start_at, zone)}\t{group.duration_minutes} min"
        f"\t{group.status}\t{shown}, {counts.get('none', 0)} no answer\t{limit}"
    )


@dataclass(frozen=True)
class RsvpReport:
    group: GroupResult
    answers: tuple[tuple[int, str, str], ...]
    """(stakeholder id, name, response) in stakeholder order."""
    waitlist: tuple[int, ...]

    def lines(self, zone: ZoneInfo) -> list[str]:
        lines = [self.group.lines(zone)[0]]
        for sid, name, response in self.answers:
            place = f" #{self.waitlist.index(sid) + 1}" if sid in self.waitlist else ""
            lines.append(f"{sid}\t{name}\t{response}{place}")
        return lines


@dataclass(frozen=True)
class RsvpResult:
    group_id: int
    stakeholder_id: int
    response: str
    previous: str
    position: int | None = None
    """Place on the waitlist (1 = next), when the answer was a Yes to a full session."""
    promoted: int | None = None
    """The stakeholder who moved from the waitlist to Yes because of this answer."""

    def lines(self, zone: ZoneInfo) -> list[str]:
        line = f"group {self.group_id}: stakeholder {self.stakeholder_id} {self.response}"
        if self.position is not None:
            line += f" (waitlist #{self.position})"
        if self.promoted is not None:
            line += f"; stakeholder {self.promoted} moved up from the waitlist"
        return [line]


@dataclass(frozen=True)
class PollResult:
    poll_id: int
    title: str
    starts: tuple[datetime, ...]
    invited: int

    def lines(self, zone: ZoneInfo) -> list[str]:
        head = f"poll {self.poll_id}: “{self.title}”, {self.invited} invited, slots:"
        return [head, *(f"  {n}. {_shown(s, zone)}" for n, s in enumerate(self.starts, 1))]


@dataclass(frozen=True)
class PollRanking:
    poll_id: int
    title: str
    status: str
    ranking: tuple[SlotTally, ...]
    answered: int
    invited: int
    group_id: int | None = field(default=None)

    def lines(self, zone: ZoneInfo) -> list[str]:
        head = f"poll {self.poll_id}: “{self.title}” ({self.status}), {self.answered} of "
        head += f"{self.invited} answered"
        if self.group_id is not None:
            head += f", became group {self.group_id}"
        rows = [
            f"  {place}. slot {t.number} {_shown(t.start_at, zone)}: {t.votes} vote(s) "
            f"({t.yes} yes, {t.maybe} if need be)"
            for place, t in enumerate(self.ranking, start=1)
        ]
        return [head, *rows]


def rank(tallies: Sequence[SlotTally]) -> list[SlotTally]:
    """Most votes first; ties broken by more Yes (not just if-need-be), then the earliest."""
    return sorted(tallies, key=lambda t: (-t.votes, -t.yes, t.start_at, t.number))


# -------------------------------------------------------------------- operations


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
    researcher_zone = _zone(zone)
    start_at = _instant("start", start, researcher_zone, now)
    minutes = _length(start_at, duration, end, researcher_zone)
    spec = _spec(title, minutes, researcher_zone, where, capacity, created_by)
    members = _members(session, to, main_questionnaire)
    group = _open_group(session, spec, start_at, [m.id for m in members], now)
    return GroupResult.of("created", group, len(members))


def _open_group(
    session: Session,
    spec: SessionSpec,
    start_at: datetime,
    member_ids: Sequence[int],
    now: datetime,
    poll_id: int | None = None,
) -> DiscussionGroup:
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
    zone = _seen_by(person, group.time_zone)
    when = _when(group.start_at, group.duration_minutes, zone, person.language)
    text = translate("group.promoted", person.language, title=group.title, when=when)
    _post(session, person, [Say(text)], now)
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
    researcher_zone = _zone(zone)
    start_at = _instant("start", start, researcher_zone, now)
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
        _post(session, person, _invitation(group, person, now, rescheduled=True), now)
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
        zone, language = _seen_by(person, group.time_zone), person.language
        when = _when(group.start_at, group.duration_minutes, zone, language)
        text = translate("group.cancelled", language, title=group.title, when=when)
        _post(session, person, [Say(text), _calendar(group, person, now)], now)
    return GroupResult.of("cancelled", group, len(people), len(told))


# ------------------------------------------------------------------------- polls


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
    researcher_zone = _zone(zone)
    if not MIN_SLOTS <= len(slots) <= MAX_SLOTS:
        raise GroupError(f"slot: offer {MIN_SLOTS} to {MAX_SLOTS} times (not {len(slots)})")
    starts = [_instant(f"slot {n}", s, researcher_zone, now) for n, s in enumerate(slots, 1)]
    if len(set(starts)) != len(starts):
        raise GroupError("slot: the same time is offered twice")
    spec = _spec(title, parse_duration(duration), researcher_zone, where, capacity, created_by)
    members = _members(session, to, main_questionnaire)
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
    group = _open_group(session, spec, chosen.start_at, member_ids, now, poll_id=poll.id)
    poll.status, poll.group_id = "confirmed", group.id
    store.cancel_sends(session, "poll_invite", poll.id, now)
    session.flush()
    return GroupResult.of("created", group, len(member_ids))


# --------------------------------------------------------------- what people see


def _rsvp_options(language: str) -> tuple[Option, ...]:
    return tuple(Option(r, translate(f"group.{r}", language)) for r in RESPONSES)


def _invitation(
    group: DiscussionGroup,
    person: Stakeholder,
    now: datetime,
    *,
    rescheduled: bool = False,
) -> list[Message]:
    """The Ask with Yes / Maybe / No and the .ics, in the invitee's zone and language."""
    return [_rsvp_ask(group, person, rescheduled=rescheduled), _calendar(group, person, now)]


def _rsvp_ask(
    group: DiscussionGroup,
    person: Stakeholder,
    *,
    rescheduled: bool = False,
    current: str | None = None,
    refresh: bool = False,
) -> Ask:
    language, zone = person.language, _seen_by(person, group.time_zone)
    when = _when(group.start_at, group.duration_minutes, zone, language)
    key = "group.rescheduled" if rescheduled else "group.invitation"
    hint = translate("group.hint", language)
    if current is not None:
        hint = translate("group.answer_hint", language, answer=_label(current, language))
    return Ask(
        item_id=f"rsvp:{group.id}",
        text=translate(key, language, title=group.title, when=when, where=group.location),
        style=AskStyle.CHOICE,
        hint=hint,
        options=_rsvp_options(language),
        current=current,
        refresh=refresh,
    )


def _label(response: str, language: str) -> str:
    return translate(f"group.{response}", language)


def _calendar(group: DiscussionGroup, person: Stakeholder, now: datetime) -> Attachment:
    cancelled = group.status == "cancelled"
    body = session_ics(
        uid=f"parley-group-{group.id}@parley.invalid",
        title=group.title,
        start_utc=group.start_at,
        duration=timedelta(minutes=group.duration_minutes),
        organiser_name=ORGANISER,
        location_or_url=group.location,
        description=group.title,
        attendee_zone=_seen_by(person, group.time_zone),
        stamp_utc=now,
        sequence=group.sequence,
        cancelled=cancelled,
    )
    return Attachment(
        filename=f"discussion-group-{group.id}.ics",
        media_type=content_type(cancelled),
        content=body.decode(),
        caption=translate("group.calendar", person.language),
    )


def _slot_label(start: datetime, minutes: int, zone: ZoneInfo, language: str) -> str:
    return _when(start, minutes, zone, language)


def _poll_ask(
    session: Session, poll: SchedulingPoll, person: Stakeholder, *, refresh: bool = False
) -> Ask:
    language, zone = person.language, _seen_by(person, poll.time_zone)
    votes = store.votes_of(session, poll.id, person.id)
    options = []
    for slot in store.slots(session, poll.id):
        label = _slot_label(slot.start_at, poll.duration_minutes, zone, language)
        if votes.get(slot.number) == "maybe":
            label = translate("poll.maybe", language, slot=label)
        options.append(Option(str(slot.number), label))
    return Ask(
        item_id=f"poll:{poll.id}",
        text=translate(
            "poll.invitation", language, title=poll.title, minutes=poll.duration_minutes
        ),
        style=AskStyle.MULTI,
        hint=translate("poll.hint", language),
        options=tuple(options),
        selected=tuple(str(n) for n in sorted(votes)),
        done_label=translate("poll.done", language),
        refresh=refresh,
    )


def _post(
    session: Session,
    person: Stakeholder,
    messages: Sequence[Message],
    now: datetime,
    not_before: datetime | None = None,
) -> tuple[int, ...]:
    """Into the outbox, to the account the person linked most recently (none: nothing)."""
    identity = schedules.latest_identity(session, person.id)
    if identity is None:
        return ()
    payloads = [message_to_dict(m) for m in messages]
    return tuple(
        repository.enqueue_many(
            session,
            identity.platform,
            identity.external_id,
            payloads,
            not_before=not_before,
            now=now,
        )
    )


# --------------------------------------------------------------- due sends (jobs)


def process_send(
    session: Session, row: ScheduledSend, now: datetime, *, late_after: timedelta, quiet: QuietHours
) -> tuple[str, tuple[int, ...]]:
    """Do what a due group send says; (status, outbox ids). The caller holds the row's lock
    and has checked it is pending and due; the row is finished here."""
    person = session.get(Stakeholder, row.stakeholder_id)
    if row.kind == "poll_invite":
        status, messages, deadline, zone_key = _poll_invite(session, row, person)
    else:
        status, messages, deadline, zone_key = _group_send(session, row, person, now, late_after)
    ids: tuple[int, ...] = ()
    if status == "done" and person is not None:
        not_before = None
        if row.kind != "group_reminder":  # reminders ignore quiet hours (module doc)
            zone = _seen_by(person, zone_key)
            not_before = min(next_allowed(now, zone, quiet), deadline or now)
            not_before = max(not_before, now)
        ids = _post(session, person, messages, now, not_before)
        status = "done" if ids else "missed"
    schedules.finish_send(session, row.id, status, now)
    return ("sent" if status == "done" else status), ids


_Decision = tuple[str, list[Message], datetime | None, str]
"""(status, what to send, send no later than, the researcher's zone as fallback)."""


def _group_send(
    session: Session,
    row: ScheduledSend,
    person: Stakeholder | None,
    now: datetime,
    late_after: timedelta,
) -> _Decision:
    group = store.group(session, row.ref_id)
    invited = store.invitee(session, row.ref_id, row.stakeholder_id)
    if group is None or person is None or invited is None or group.status != "scheduled":
        return "cancelled", [], None, "UTC"
    if row.kind == "group_invite":
        if row.number != group.sequence:
            return "cancelled", [], None, "UTC"  # superseded: the reschedule notice invited them
        if now >= group.start_at:
            return "missed", [], None, "UTC"
        return "done", _invitation(group, person, now), group.start_at, group.time_zone
    hours = row.number % 100
    if row.number // 100 != group.sequence or invited.response not in ("yes", "maybe"):
        return "cancelled", [], None, "UTC"
    if grace(now, row.due_at, late_after, deadline_utc=group.start_at) == "skip":
        return "missed", [], None, "UTC"
    zone, language = _seen_by(person, group.time_zone), person.language
    key = "group.reminder_day" if hours >= 24 else "group.reminder_hour"
    when = _when(group.start_at, group.duration_minutes, zone, language)
    text = translate(key, language, title=group.title, when=when, where=group.location)
    return "done", [Say(text)], None, group.time_zone


def _poll_invite(session: Session, row: ScheduledSend, person: Stakeholder | None) -> _Decision:
    poll = store.poll(session, row.ref_id)
    if poll is None or person is None or poll.status != "open":
        return "cancelled", [], None, "UTC"
    first = min(s.start_at for s in store.slots(session, poll.id))
    return "done", [_poll_ask(session, poll, person)], first, poll.time_zone


# ------------------------------------------------------------ button presses (chat)

_PRESS = re.compile(r"^(rsvp|poll):(\d+)$")


def is_group_press(given: object) -> TypeGuard[Pick | Toggle | Submit]:
    """Whether an input is an RSVP or poll button: handled here, never by the engine."""
    if not isinstance(given, Pick | Toggle | Submit):
        return False
    return _PRESS.match(given.item_id) is not None


def press(
    session: Session, person: Stakeholder | None, given: Pick | Toggle | Submit, now: datetime
) -> list[Message]:
    """An RSVP or poll button pressed by `person`; what to say back in their chat."""
    match = _PRESS.match(given.item_id)
    language = person.language if person is not None else "en"
    if match is None or person is None:
        return [Notice(translate("group.stale", language))]
    kind, ref = match[1], int(match[2])
    if kind == "rsvp" and isinstance(given, Pick):
        return _rsvp_press(session, person, ref, given.value, now)
    if kind == "poll" and not isinstance(given, Pick):
        return _poll_press(session, person, ref, given, now)
    return [Notice(translate("group.stale", language))]


def _rsvp_press(
    session: Session, person: Stakeholder, group_id: int, value: str, now: datetime
) -> list[Message]:
    language = person.language
    try:
        result = rsvp(session, group_id=group_id, stakeholder_id=person.id, response=value, now=now)
    except GroupError:
        return [Notice(translate("group.stale", language))]
    group = session.get_one(DiscussionGroup, group_id)
    rescheduled = group.sequence > 0  # the wording of the invitation as last sent
    ask = _rsvp_ask(group, person, rescheduled=rescheduled, current=result.response, refresh=True)
    if result.position is not None:
        text = translate("group.on_waitlist", language, title=group.title, position=result.position)
        return [ask, Say(text)]
    thanks = translate(f"group.thanks_{result.response}", language, title=group.title)
    return [ask, Notice(thanks)]


def _poll_press(
    session: Session, person: Stakeholder, poll_id: int, given: Toggle | Submit, now: datetime
) -> list[Message]:
    language = person.language
    poll = store.poll(session, poll_id)
    invited = store.poll_invitee(session, poll_id, person.id)
    if poll is None or invited is None or poll.status != "open":
        return [Notice(translate("poll.closed", language))]
    numbers = {s.number for s in store.slots(session, poll_id)}
    votes = store.votes_of(session, poll_id, person.id)
    if isinstance(given, Toggle):
        if not given.choice_id.isdigit() or int(given.choice_id) not in numbers:
            return [Notice(translate("poll.closed", language))]
        slot = int(given.choice_id)
        following = {None: "yes", "yes": "maybe", "maybe": None}[votes.get(slot)]
        store.set_vote(session, poll_id, person.id, slot, following, now)
        return [_poll_ask(session, poll, person, refresh=True)]
    if given.choices is not None:  # Slack sends the whole selection with Done
        ticked = {int(c) for c in given.choices if c.isdigit() and int(c) in numbers}
        for slot in numbers:
            keep = votes.get(slot, "yes") if slot in ticked else None
            store.set_vote(session, poll_id, person.id, slot, keep, now)
    store.mark_submitted(session, invited, now)
    chosen = store.votes_of(session, poll_id, person.id)
    ask = _poll_ask(session, poll, person)
    picked = [o.label for o in ask.options if int(o.value) in chosen]
    display = "; ".join(picked) or translate("poll.chosen", language, count=0)
    return [
        Answered(ask.item_id, ask.text, display),
        Notice(translate("poll.thanks", language)),
    ]
