"""RSVP and poll buttons pressed in chat: answered here, never by the questionnaire engine,
so a press never touches the person's run."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeGuard

from sqlalchemy.orm import Session

from bot.groups.messages import poll_ask, rsvp_ask
from bot.groups.operations import rsvp
from bot.groups.validation import GroupError
from conversations.catalog import translate
from conversations.inputs import Pick, Submit, Toggle
from conversations.messages import Answered, Message, Notice, Say
from storage import groups as store
from storage.models import DiscussionGroup, Stakeholder

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
    ask = rsvp_ask(group, person, rescheduled=rescheduled, current=result.response, refresh=True)
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
        return [poll_ask(session, poll, person, refresh=True)]
    if given.choices is not None:  # Slack sends the whole selection with Done
        ticked = {int(c) for c in given.choices if c.isdigit() and int(c) in numbers}
        for slot in numbers:
            keep = votes.get(slot, "yes") if slot in ticked else None
            store.set_vote(session, poll_id, person.id, slot, keep, now)
    store.mark_submitted(session, invited, now)
    chosen = store.votes_of(session, poll_id, person.id)
    ask = poll_ask(session, poll, person)
    picked = [o.label for o in ask.options if int(o.value) in chosen]
    display = "; ".join(picked) or translate("poll.chosen", language, count=0)
    return [
        Answered(ask.item_id, ask.text, display),
        Notice(translate("poll.thanks", language)),
    ]
