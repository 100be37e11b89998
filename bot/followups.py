"""Follow-up check-ins: reading a researcher's request and turning it into sends (#5).

A follow-up is stored as JSON: a `cohort` (who) and a `schedule` (when). Sends are
`ScheduledSend` rows, one per stakeholder and occurrence, made here:

- `{"type": "at", "date": "2027-01-15", "time": "10:00"}`: once, at that wall time in
  *each stakeholder's* zone (the bot starts the conversation in their local time).
- `{"type": "every", "date": ..., "time": ..., "every_days": 28, "until": "2027-06-30" |
  None, "count": int | None}`: a series; each send, once processed, makes the next.
- `{"type": "after", "event": "completed" | "invited" | "started", "seconds": ...,
  "questionnaire": main key}`: relative to the stakeholder's main run. The scheduler's
  periodic sweep makes the send once the event happened; an event older than the
  follow-up itself counts from the follow-up's creation (the send goes out promptly).

For `at` and `every` the cohort is resolved once, when the follow-up is created; for
`after` it is resolved at each sweep (people who complete later are included).

The researcher's wall time is validated in the researcher's zone and in every zone of the
cohort: a time that is ambiguous or skipped in any of them is refused (it would be an
hour off for someone). Rules that run later and cannot ask anyone resolve the rare
remaining case like `bot.timing` does (first instant, or the jump).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.time_zones import zone_for
from bot.timing import (
    Recurrence,
    TimingError,
    after_event,
    check_series,
    local_to_utc,
    occurrences,
    parse_after,
    parse_every,
    parse_when,
)
from conversations.run import RunState
from storage import repository, schedules
from storage.models import Followup, Stakeholder
from storage.schedules import NewSend

__all__ = [
    "FollowupError",
    "Plan",
    "after_sends",
    "describe_cohort",
    "describe_schedule",
    "first_sends",
    "next_send",
    "parse_cohort",
    "plan_schedule",
    "zone_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_WAVE = 40


class FollowupError(ValueError):
    """A request that cannot be scheduled; the message names the field and is shown as is."""


def zone_of(person: Stakeholder, fallback: ZoneInfo) -> ZoneInfo:
    """The zone a follow-up's wall time is read in for `person`: theirs once known, else
    `fallback`, the research team's (`bot.time_zones.zone_for`, as for groups and nudges).

    Not UTC: "10:00" for someone who never gave a zone would be 05:00 in Toronto.
    """
    return zone_for(person, fallback)


# ------------------------------------------------------------------------ cohorts

_COHORT_PREFIXES = {"org_type": "organisation_type", "region": "region", "language": "language"}


def parse_cohort(text: str, main_questionnaire: str) -> dict[str, Any]:
    """`all`, `stakeholder:ID[,ID…]`, `org_type:X`, `region:X`, `language:fr`, `completed`."""
    normal = text.strip()
    if normal.lower() == "all":
        return {"type": "all"}
    if normal.lower() == "completed":
        return {"type": "completed", "questionnaire": main_questionnaire}
    prefix, _, value = normal.partition(":")
    prefix, value = prefix.strip().lower(), value.strip()
    if prefix == "stakeholder" and value:
        try:
            ids = sorted({int(part) for part in value.split(",")})
        except ValueError:
            raise FollowupError(f"--to {text}: stakeholder ids are numbers") from None
        return {"type": "stakeholders", "ids": ids}
    if prefix in _COHORT_PREFIXES and value:
        return {"type": _COHORT_PREFIXES[prefix], "value": value}
    raise FollowupError(
        f"--to {text}: use all, stakeholder:ID, org_type:X, region:X, language:fr or completed"
    )


def describe_cohort(cohort: Mapping[str, Any]) -> str:
    kind = cohort["type"]
    if kind == "all":
        return "all"
    if kind == "completed":
        return "completed"
    if kind == "stakeholders":
        return "stakeholder:" + ",".join(str(i) for i in cohort["ids"])
    short = {value: key for key, value in _COHORT_PREFIXES.items()}[kind]
    return f"{short}:{cohort['value']}"


# ---------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class Plan:
    """A validated schedule: the JSON to store and its first UTC instant for the researcher."""

    schedule: dict[str, Any]
    first_utc: datetime | None


def _wall(instant: datetime) -> tuple[date, time]:
    return instant.date(), time(instant.hour, instant.minute)


def plan_schedule(
    *,
    at: str | None,
    every: str | None,
    starting: str | None,
    after: str | None,
    zone: ZoneInfo,
    member_zones: Sequence[ZoneInfo],
    main_questionnaire: str,
    now: datetime,
) -> Plan:
    """Read `--at`, `--every … --starting …` or `--after …`; refuse what cannot be scheduled."""
    chosen = [
        name for name, value in (("--at", at), ("--every", every), ("--after", after)) if value
    ]
    if len(chosen) != 1:
        raise FollowupError("give exactly one of --at, --every (with --starting) or --after")
    if after is not None:
        try:
            relative = parse_after(after)
        except TimingError as error:
            raise FollowupError(f"--after: {error}") from None
        seconds = int(relative.delta.total_seconds())
        relative_schedule: dict[str, Any] = {
            "type": "after",
            "event": relative.event,
            "seconds": seconds,
            "questionnaire": main_questionnaire,
        }
        return Plan(relative_schedule, None)
    field, when = ("--at", at) if at is not None else ("--starting", starting)
    if when is None:
        raise FollowupError("--every needs --starting, e.g. --starting '2027-01-15 10:00'")
    try:
        first = parse_when(when, zone, now)
    except TimingError as error:
        raise FollowupError(f"{field}: {error}") from None
    day, clock = _wall(first.astimezone(zone))
    for member_zone in sorted(set(member_zones), key=lambda z: z.key):
        try:
            instant = local_to_utc(day, clock, member_zone)
        except TimingError as error:
            raise FollowupError(f"{field}: {error}") from None
        if instant < now:
            raise FollowupError(
                f"{field}: {day.isoformat()} {clock:%H:%M} {member_zone.key} is in the past"
            )
    schedule: dict[str, Any] = {"type": "at", "date": day.isoformat(), "time": f"{clock:%H:%M}"}
    if every is not None:
        try:
            recurrence = parse_every(every)
            check_series(day, recurrence)
        except TimingError as error:
            raise FollowupError(f"--every: {error}") from None
        schedule = {
            **schedule,
            "type": "every",
            "every_days": recurrence.every.days,
            "until": recurrence.until.isoformat() if recurrence.until else None,
            "count": recurrence.count,
        }
    return Plan(schedule, first)


def describe_schedule(schedule: Mapping[str, Any]) -> str:
    kind = schedule["type"]
    if kind == "after":
        delta = timedelta(seconds=schedule["seconds"])
        amount = f"{delta.days} days" if not delta.seconds else f"{delta} (h:mm:ss)"
        return f"{amount} after {schedule['event']}"
    text = f"at {schedule['date']} {schedule['time']} in each stakeholder's time zone"
    if kind == "every":
        text += f", every {schedule['every_days']} days"
        if schedule.get("until"):
            text += f" until {schedule['until']}"
        if schedule.get("count"):
            text += f", {schedule['count']} times"
    return text


def _series(schedule: Mapping[str, Any]) -> tuple[date, time, Recurrence]:
    day = date.fromisoformat(schedule["date"])
    hours, minutes = (int(part) for part in schedule["time"].split(":"))
    if schedule["type"] == "every":
        until = schedule.get("until")
        recurrence = Recurrence(
            timedelta(days=schedule["every_days"]),
            date.fromisoformat(until) if until else None,
            schedule.get("count"),
        )
    else:
        recurrence = Recurrence(timedelta(days=1), None, 1)
    return day, time(hours, minutes), recurrence


def _occurrence(
    schedule: Mapping[str, Any], zone: ZoneInfo, after_utc: datetime
) -> tuple[int, datetime] | None:
    """The (1-based number, instant) of the first occurrence after `after_utc`."""
    day, at, recurrence = _series(schedule)
    found = occurrences(day, at, zone, recurrence, after_utc, 1)
    if not found:
        return None
    local_day = found[0].astimezone(zone).date()
    number = (local_day - day).days // recurrence.every.days + 1
    return number, found[0]


def first_sends(
    followup: Followup, members: Sequence[Stakeholder], now: datetime, *, fallback: ZoneInfo
) -> list[NewSend]:
    """The first send of an `at` or `every` follow-up for each member (none in the past).

    `fallback` (the research team's zone) times members whose own zone is not known.
    """
    sends: list[NewSend] = []
    for person in members:
        zone = zone_of(person, fallback)
        found = _occurrence(followup.schedule, zone, now - timedelta(seconds=1))
        if found is not None:
            number, due = found
            sends.append(NewSend("followup", person.id, followup.id, number, due))
    return sends


def next_send(
    followup: Followup, person: Stakeholder, after_utc: datetime, *, fallback: ZoneInfo
) -> NewSend | None:
    """The occurrence after `after_utc` of a recurring follow-up, or None when it ended."""
    if followup.schedule["type"] != "every" or followup.cancelled_at is not None:
        return None
    found = _occurrence(followup.schedule, zone_of(person, fallback), after_utc)
    if found is None:
        return None
    number, due = found
    return NewSend("followup", person.id, followup.id, number, due)


def _event_time(session: Session, person: Stakeholder, event: str, key: str) -> datetime | None:
    run = repository.run_for(session, person.id, key)
    if run is None:
        return None
    if event == "completed":
        return run.completed_at
    if event == "invited":
        return run.created_at
    return RunState.from_dict(run.state).started_at


def after_sends(
    session: Session, followup: Followup, now: datetime, *, fallback: ZoneInfo
) -> list[NewSend]:
    """For an `after` follow-up: a send for each member whose event happened and has none yet."""
    schedule = followup.schedule
    if schedule["type"] != "after" or followup.cancelled_at is not None:
        return []
    have = {row.stakeholder_id for row in schedules.sends_of(session, "followup", followup.id)}
    delta = timedelta(seconds=schedule["seconds"])
    sends: list[NewSend] = []
    for person in schedules.cohort_members(session, followup.cohort):
        if person.id in have:
            continue
        event = _event_time(session, person, schedule["event"], schedule["questionnaire"])
        if event is None:
            continue
        due = max(after_event(event, delta, zone_of(person, fallback)), followup.created_at)
        sends.append(NewSend("followup", person.id, followup.id, 1, due))
    return sends
