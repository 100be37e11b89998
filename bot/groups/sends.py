"""Due group sends: what the scheduler's `group_invite`, `group_reminder` and `poll_invite`
rows do when they fire, once.

Reminder rows exist for every invitee; who gets one is decided here, when it fires (only
Yes and Maybe). Quiet hours: invitations and poll invitations wait for the invitee's
quiet hours to end (but never past the session's start). Reminders do not: the session's
time was chosen by the researcher and accepted by the invitee, and a T-1h reminder
delayed by quiet hours would arrive after the start. A reminder is never sent at or
after the start, even within the grace period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.groups.messages import invitation, poll_ask, post
from bot.groups.times import seen_by, when_text
from bot.timing import QuietHours, grace, next_allowed
from conversations.catalog import translate
from conversations.messages import Message, Say
from storage import groups as store
from storage import schedules
from storage.models import GROUP_SEND_KINDS, ScheduledSend, Stakeholder

SEND_KINDS = GROUP_SEND_KINDS
"""The scheduled-send kinds `process_send` handles."""


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
            zone = seen_by(person, zone_key)
            not_before = min(next_allowed(now, zone, quiet), deadline or now)
            not_before = max(not_before, now)
        ids = post(session, person, messages, now, not_before)
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
        return "done", invitation(group, person, now), group.start_at, group.time_zone
    hours = row.number % 100
    if row.number // 100 != group.sequence or invited.response not in ("yes", "maybe"):
        return "cancelled", [], None, "UTC"
    if grace(now, row.due_at, late_after, deadline_utc=group.start_at) == "skip":
        return "missed", [], None, "UTC"
    zone, language = seen_by(person, group.time_zone), person.language
    key = "group.reminder_day" if hours >= 24 else "group.reminder_hour"
    when = when_text(group.start_at, group.duration_minutes, zone, language)
    text = translate(key, language, title=group.title, when=when, where=group.location)
    return "done", [Say(text)], None, group.time_zone


def _poll_invite(session: Session, row: ScheduledSend, person: Stakeholder | None) -> _Decision:
    poll = store.poll(session, row.ref_id)
    if poll is None or person is None or poll.status != "open":
        return "cancelled", [], None, "UTC"
    first = min(s.start_at for s in store.slots(session, poll.id))
    return "done", [poll_ask(session, poll, person)], first, poll.time_zone
