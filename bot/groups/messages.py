"""What invitees see: invitations with RSVP buttons, poll asks and .ics files, in the
invitee's zone and language, and how they reach the outbox.

Builds neutral `conversations.messages`, never platform payloads; `post` queues them for
the account the person linked most recently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.calendar_files import content_type, session_ics
from bot.groups.times import seen_by, when_text
from bot.groups.validation import RESPONSES
from conversations.catalog import translate
from conversations.messages import Ask, AskStyle, Attachment, Message, Option, message_to_dict
from storage import groups as store
from storage import repository, schedules
from storage.models import DiscussionGroup, SchedulingPoll, Stakeholder

ORGANISER = "Parley research team"


def _rsvp_options(language: str) -> tuple[Option, ...]:
    return tuple(Option(r, translate(f"group.{r}", language)) for r in RESPONSES)


def invitation(
    group: DiscussionGroup,
    person: Stakeholder,
    now: datetime,
    *,
    rescheduled: bool = False,
) -> list[Message]:
    """The Ask with Yes / Maybe / No and the .ics, in the invitee's zone and language."""
    return [rsvp_ask(group, person, rescheduled=rescheduled), calendar_file(group, person, now)]


def rsvp_ask(
    group: DiscussionGroup,
    person: Stakeholder,
    *,
    rescheduled: bool = False,
    current: str | None = None,
    refresh: bool = False,
) -> Ask:
    """The invitation with Yes / Maybe / No; `current` marks the answer given (`refresh`:
    edit the one shown instead of sending anew)."""
    language, zone = person.language, seen_by(person, group.time_zone)
    when = when_text(group.start_at, group.duration_minutes, zone, language)
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


def calendar_file(group: DiscussionGroup, person: Stakeholder, now: datetime) -> Attachment:
    """The .ics in the invitee's zone; a cancelled group's removes it from their calendar."""
    cancelled = group.status == "cancelled"
    body = session_ics(
        uid=f"parley-group-{group.id}@parley.invalid",
        title=group.title,
        start_utc=group.start_at,
        duration=timedelta(minutes=group.duration_minutes),
        organiser_name=ORGANISER,
        location_or_url=group.location,
        description=group.title,
        attendee_zone=seen_by(person, group.time_zone),
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
    return when_text(start, minutes, zone, language)


def poll_ask(
    session: Session, poll: SchedulingPoll, person: Stakeholder, *, refresh: bool = False
) -> Ask:
    """The slots as a multi-select in the invitee's zone, with the votes they gave so far."""
    language, zone = person.language, seen_by(person, poll.time_zone)
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


def post(
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
