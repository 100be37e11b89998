"""A stakeholder's time zone: asked once, answered by a button or in words (#5).

People enrolled openly (and roster rows without a zone) have no real zone: enrolment
stores `UTC` as a placeholder, which nobody in a Canadian study lives in. Until they
say, what they are sent is timed in the research team's zone (`zone_for`).

When to ask, so the questionnaire is never interrupted: right after a run completes
(the person is there, and has nothing left to answer), or when a follow-up is about to
start for them, whichever comes first. Both call `ask_once`, which sets
`stakeholders.time_zone_asked_at` with a guarded UPDATE (`storage.time_zone_question`):
only the transaction that changed the row asks, so "once" holds across processes and
retries, and a rolled-back step leaves the person still to be asked.

How the answer comes back: the question's buttons are `Pick("tz", <zone>)`, handled by
`take_answer` before the engine (the engine would see a button of no question of its
own). A typed answer ("Toronto", "Eastern", "atlantique", "America/Halifax") counts
only while the zone is unknown and the person has no run expecting an answer, so a
free-text answer that happens to name a city is never swallowed. A stale or repeated
press just sets the zone it names again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.timing import CANADIAN_ZONES, TimingError, parse_zone
from conversations.catalog import translate
from conversations.inputs import Input, Pick, Reply
from conversations.messages import Answered, Ask, AskStyle, Message, Notice, Option, Say
from conversations.run import RunState, RunStatus
from conversations.text import fold
from storage.models import OPEN_STATUSES, Run, Stakeholder
from storage.time_zone_question import (
    UNKNOWN_ZONES,
    claim_after_completion,
    claim_time_zone_question,
)

__all__ = [
    "ITEM",
    "after_step",
    "ask_once",
    "is_known",
    "might_answer",
    "question",
    "take_answer",
    "zone_for",
    "zone_named",
]

ITEM = "tz"
"""The question's item id: its buttons come back as `Pick("tz", <zone>)` (`p|tz|<zone>`
on Telegram, at most 24 bytes of the 64 allowed)."""

_PLACEHOLDERS = frozenset(UNKNOWN_ZONES)

_OFFERED = {option.zone for option in CANADIAN_ZONES}

_ALIASES: Mapping[str, tuple[str, ...]] = {
    "America/Vancouver": ("pacific", "pacifique", "vancouver", "victoria", "pst", "pdt", "bc"),
    "America/Edmonton": ("mountain", "rocheuses", "edmonton", "calgary", "mst", "mdt", "alberta"),
    "America/Winnipeg": ("central", "centre", "winnipeg", "cst", "cdt", "manitoba"),
    "America/Regina": ("saskatchewan", "regina", "saskatoon", "sask"),
    "America/Toronto": ("eastern", "est", "toronto", "ottawa", "montreal", "edt", "ontario"),
    "America/Halifax": ("atlantic", "atlantique", "halifax", "ast", "adt", "nova scotia"),
    "America/St_Johns": ("newfoundland", "terre-neuve", "terre neuve", "st johns", "st. john's"),
}
_BY_WORD = {fold(word): zone for zone, words in _ALIASES.items() for word in words}


def is_known(person: Stakeholder) -> bool:
    """Whether the person's zone was ever given (enrolment's `UTC` is a placeholder)."""
    return person.time_zone.strip() not in _PLACEHOLDERS


def known_zone(name: str | None) -> str:
    """A platform profile's zone if it is a real IANA name, else "UTC" (unknown: asked)."""
    if not name or name == "UTC":
        return "UTC"
    try:
        return parse_zone(name).key
    except TimingError:
        return "UTC"


def zone_for(person: Stakeholder, fallback: ZoneInfo) -> ZoneInfo:
    """Their zone when known (and readable), else `fallback`: the research team's."""
    if not is_known(person):
        return fallback
    try:
        return parse_zone(person.time_zone)
    except TimingError:
        return fallback


def _label(zone: str, language: str) -> str:
    return translate(f"time_zone.{zone}", language) if zone in _OFFERED else zone


def question(language: str) -> Ask:
    """ "Which time zone are you in?" with the Canadian zones as buttons, west to east."""
    return Ask(
        item_id=ITEM,
        text=translate("time_zone.question", language),
        style=AskStyle.CHOICE,
        hint=translate("time_zone.hint", language),
        options=tuple(Option(z.zone, _label(z.zone, language)) for z in CANADIAN_ZONES),
    )


def ask_once(session: Session, person: Stakeholder, language: str, now: datetime) -> Ask | None:
    """The question, the first time this is called for someone whose zone is unknown."""
    if is_known(person):
        return None
    if not claim_time_zone_question(session, person.id, now):
        return None
    return question(language)


def after_step(
    session: Session, run_id: int, before: RunState, after: RunState, now: datetime
) -> tuple[Ask, ...]:
    """The question, if this step completed the run and its person was never asked."""
    if after.status is not RunStatus.COMPLETED or before.status is RunStatus.COMPLETED:
        return ()
    if not claim_after_completion(session, run_id, now):
        return ()
    return (question(after.language),)


def zone_named(text: str) -> str | None:
    """The zone a typed answer names: a city, a region, a label word or an IANA name."""
    words = fold(text).strip(" .!")
    if words in _BY_WORD:
        return _BY_WORD[words]
    if "/" not in words:
        return None
    try:
        return parse_zone(text).key
    except TimingError:
        return None


def might_answer(given: Input, run_status: str | None) -> bool:
    """Whether an input may be an answer to the question (such events go one by one): its
    button, or a typed zone from someone whose run expects no answer (as `take_answer`
    decides). "Ontario" typed to a questionnaire's province question is a plain turn."""
    if isinstance(given, Pick):
        return given.item_id == ITEM
    if not isinstance(given, Reply) or run_status is None or run_status in OPEN_STATUSES:
        return False
    return zone_named(given.text) is not None


def take_answer(
    person: Stakeholder, given: Input, run: Run | None, language: str
) -> list[Message] | None:
    """What to say if `given` answers the question (the zone is then set); None if not."""
    if isinstance(given, Pick) and given.item_id == ITEM:
        if given.value not in _OFFERED:
            return [Notice(translate("time_zone.unknown", language))]
        return _set(person, given.value, language)
    if not isinstance(given, Reply) or is_known(person):
        return None
    if run is None or run.status in OPEN_STATUSES:
        return None  # a run to start or an answer it expects comes first
    zone = zone_named(given.text)
    return _set(person, zone, language) if zone is not None else None


def _set(person: Stakeholder, zone: str, language: str) -> list[Message]:
    person.time_zone = zone
    label = _label(zone, language)
    return [
        Answered(ITEM, translate("time_zone.question", language), label),
        Say(translate("time_zone.set", language, zone=label)),
    ]
