"""What a group or poll request may say: each field read and checked, before anything is written.

Pure but for `find_members`, which reads who the invitees are. Every refusal is a
`GroupError` whose one-line message names the field, so the CLI and chat commands can
show it as is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.followups import FollowupError, parse_cohort
from bot.timing import TimingError, parse_when, parse_zone
from storage import groups as store
from storage import schedules
from storage.groups import SessionSpec
from storage.models import Stakeholder

MIN_SLOTS, MAX_SLOTS = 2, 6
MAX_TITLE, MAX_WHERE = 200, 500
RESPONSES = ("yes", "maybe", "no")


class GroupError(ValueError):
    """A request that cannot be done; the one-line message names the field, shown as is."""


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


def zone_named(name: str) -> ZoneInfo:
    """The researcher's zone, or a `zone:` refusal."""
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


def parse_instant(name: str, text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A start or slot time in the researcher's zone; the refusal names the field."""
    try:
        return parse_when(text, zone, now)
    except TimingError as error:
        raise GroupError(f"{name}: {error}") from None


def parse_length(start: datetime, duration: str | None, end: str | None, zone: ZoneInfo) -> int:
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


def session_spec(
    title: str,
    duration_minutes: int,
    zone: ZoneInfo,
    where: str,
    capacity: int | None,
    created_by: str,
) -> SessionSpec:
    """The fields a group and a poll share, each checked."""
    return SessionSpec(
        title=_text("title", title, MAX_TITLE),
        duration_minutes=duration_minutes,
        time_zone=zone.key,
        location=_text("where", where, MAX_WHERE),
        capacity=_capacity(capacity),
        created_by=created_by,
    )


def find_members(session: Session, to: str, main_questionnaire: str) -> list[Stakeholder]:
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
