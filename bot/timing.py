"""Pure time rules for scheduling: quiet hours, local wall times, recurrences, digests, grace.

Everything a scheduler must get right about *when* lives here, free of databases, asyncio
and clocks: every function takes `now` (or the instant to reason about) as an argument,
so DST days can be tested as tables. Instants go in and come out as aware UTC datetimes;
a stakeholder's zone is only used to read or build *local wall times*.

Wall times and DST. A local wall time on a given day can name one instant, none (the
spring-forward gap, e.g. 02:30 on 2027-03-14 in Toronto) or two (the fall-back repeated
hour, e.g. 01:30 on 2026-11-01). Researcher input must name exactly one, so
`local_to_utc` refuses the other two with a message saying what to do. Rules that repeat
by themselves (recurrences, digests, quiet-hour ends) cannot ask anyone, so they resolve
a missing wall time to the first instant after the gap (the moment clocks jump, shown as
03:00) and a repeated one to its first occurrence: each local day yields exactly one
instant, so nothing fires twice and nothing is skipped.

Errors: `TimingError(ValueError)` carries a one-line message a researcher can act on;
`AmbiguousTime` and `NonexistentTime` are its two DST cases. A naive datetime is a
programming error and raises a plain `ValueError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "CANADIAN_ZONES",
    "DEFAULT_QUIET_HOURS",
    "AmbiguousTime",
    "Decision",
    "DigestSchedule",
    "EventName",
    "NonexistentTime",
    "QuietHours",
    "Recurrence",
    "Relative",
    "TimingError",
    "ZoneOption",
    "after_event",
    "check_series",
    "grace",
    "is_quiet",
    "local_to_utc",
    "next_allowed",
    "occurrences",
    "parse_after",
    "parse_every",
    "parse_when",
    "parse_zone",
    "reminder_times",
    "transitions",
]

EventName = Literal["completed", "invited", "started"]
Decision = Literal["send", "skip"]

DAY = timedelta(days=1)


class TimingError(ValueError):
    """Input about time that cannot be scheduled; the message is shown to the researcher."""


class AmbiguousTime(TimingError):
    """A local wall time that happens twice (the repeated hour when clocks fall back)."""


class NonexistentTime(TimingError):
    """A local wall time that never happens (the hour skipped when clocks spring forward)."""


# ---------------------------------------------------------------------------- zones


class ZoneOption(NamedTuple):
    """One time-zone button: the IANA zone and its label in English and French."""

    zone: str
    en: str
    fr: str


CANADIAN_ZONES: tuple[ZoneOption, ...] = (
    ZoneOption("America/Vancouver", "Pacific (Vancouver)", "Pacifique (Vancouver)"),
    ZoneOption("America/Edmonton", "Mountain (Edmonton)", "Rocheuses (Edmonton)"),
    ZoneOption("America/Winnipeg", "Central (Winnipeg)", "Centre (Winnipeg)"),
    ZoneOption(
        "America/Regina",
        "Central, no DST (Saskatchewan)",
        "Centre, sans heure avancée (Saskatchewan)",
    ),
    ZoneOption("America/Toronto", "Eastern (Toronto)", "Est (Toronto)"),
    ZoneOption("America/Halifax", "Atlantic (Halifax)", "Atlantique (Halifax)"),
    ZoneOption("America/St_Johns", "Newfoundland (St. John's)", "Terre-Neuve (St. John's)"),
)
"""West to east, as offered when a stakeholder is asked "Which time zone are you in?"."""


@lru_cache(maxsize=1)
def _zone_names_by_folded_case() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def parse_zone(name: str) -> ZoneInfo:
    """The zone a researcher or roster names; case is forgiven because people type it."""
    text = name.strip()
    key = _zone_names_by_folded_case().get(text.casefold(), text)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimingError(f"unknown time zone '{text}' (use e.g. America/Toronto)") from None


# ----------------------------------------------------------------- instants and walls


def _utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass an aware (UTC) datetime")
    return moment.astimezone(UTC)


def _naive_wall(day: date, at: time) -> datetime:
    if at.tzinfo is not None:
        raise ValueError(f"wall time {at.isoformat()} must be naive; the zone is separate")
    return datetime.combine(day, at)


def _instants(day: date, at: time, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every UTC instant whose wall clock in `zone` reads `day at`: none, one or two.

    Each fold is converted and round-tripped; a fold whose round trip lands on a
    different wall time is the gap's fiction and is dropped.
    """
    wall = _naive_wall(day, at)
    found: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return tuple(sorted(found))


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta()


def _transition_between(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (lo, hi] whose offset differs from lo's (one change inside).

    tzdata transitions fall on whole seconds, so bisecting integer timestamps is exact.
    """
    before = _offset(lo, zone)
    low, high = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(datetime.fromtimestamp(middle, UTC), zone) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def transitions(zone: ZoneInfo, start_utc: datetime, end_utc: datetime) -> list[datetime]:
    """The instants in (start, end] when `zone` changes its UTC offset, in order.

    zoneinfo does not expose its transition table, so the range is sampled every six
    hours and each change is bisected to the second (changes less than six hours apart
    would be merged; no zone has had any since 1900).
    """
    step = timedelta(hours=6)
    found: list[datetime] = []
    lo = _utc(start_utc)
    end = _utc(end_utc)
    while lo < end:
        hi = min(lo + step, end)
        if _offset(lo, zone) != _offset(hi, zone):
            found.append(_transition_between(lo, hi, zone))
        lo = hi
    return found


def _gap_end(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant clocks jump over a nonexistent wall time (the first valid instant after)."""
    wall = _naive_wall(day, at)
    earlier = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    later = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _transition_between(min(earlier, later), max(earlier, later), zone)


def _resolve(day: date, at: time, zone: ZoneInfo) -> datetime:
    """One instant for a wall time, for rules nobody can be asked about (see module doc)."""
    found = _instants(day, at, zone)
    return found[0] if found else _gap_end(day, at, zone)


def _clock(at: time) -> str:
    return at.strftime("%H:%M") if not (at.second or at.microsecond) else at.isoformat()


def _utc_offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The one instant a researcher meant by a local date and time, or a reason to re-ask.

    Raises AmbiguousTime for the repeated hour and NonexistentTime for the skipped one:
    guessing either would send a message an hour off for everyone in that zone.
    """
    found = _instants(day, at, zone)
    when = f"{day.isoformat()} {_clock(at)}"
    if len(found) == 1:
        return found[0]
    if found:
        offsets = " and ".join(_utc_offset_label(_offset(i, zone)) for i in found)
        raise AmbiguousTime(
            f"{when} is ambiguous in {zone.key} (it happens twice: {offsets}); choose another time"
        )
    jump = _gap_end(day, at, zone)
    before = jump + _offset(jump - timedelta(seconds=1), zone)
    after = jump + _offset(jump, zone)
    raise NonexistentTime(
        f"{when} does not exist in {zone.key} (clocks jump from {_clock(before.time())} "
        f"to {_clock(after.time())}); choose another time"
    )


# ---------------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """When a stakeholder must not be messaged, in their local time.

    The nightly window is [start, end): it crosses midnight when start > end (the
    default 20:00-09:00), is a same-day block when start < end, and is empty when
    start == end (e.g. weekends only). `weekends` makes all of Saturday and Sunday quiet.
    """

    start: time = time(20, 0)
    end: time = time(9, 0)
    weekends: bool = True

    def covers(self, weekday: int, clock: time) -> bool:
        """Whether a local weekday (Monday = 0) and wall-clock time fall in quiet hours."""
        if self.weekends and weekday >= 5:
            return True
        if self.start < self.end:
            return self.start <= clock < self.end
        if self.start > self.end:
            return clock >= self.start or clock < self.end
        return False


DEFAULT_QUIET_HOURS = QuietHours()


def is_quiet(moment_utc: datetime, zone: ZoneInfo, quiet: QuietHours = DEFAULT_QUIET_HOURS) -> bool:
    """Whether an instant falls in the stakeholder's quiet hours, read on their wall clock."""
    local = _utc(moment_utc).astimezone(zone)
    return quiet.covers(local.weekday(), local.time())


_HORIZON_DAYS = 10  # a weekend plus a Monday swallowed by a gap still ends well inside this


def _quiet_exits(moment: datetime, zone: ZoneInfo, quiet: QuietHours) -> Iterator[datetime]:
    """Every instant after `moment` (within the horizon) where quiet hours can end.

    Quiet hours end when the wall clock reaches `end`, reaches a Monday's midnight, or
    jumps at a DST transition; a wall time inside a gap is reached at the jump itself.
    """
    first_day = moment.astimezone(zone).date()
    horizon = moment + timedelta(days=_HORIZON_DAYS)
    for offset in range(-1, _HORIZON_DAYS + 1):
        day = first_day + timedelta(days=offset)
        for at in (quiet.end, time(0)):
            yield from _instants(day, at, zone) or (_gap_end(day, at, zone),)
    yield from transitions(zone, moment, horizon)


def next_allowed(
    moment_utc: datetime, zone: ZoneInfo, quiet: QuietHours = DEFAULT_QUIET_HOURS
) -> datetime:
    """The earliest instant at or after `moment_utc` outside quiet hours, in UTC.

    A send that falls in quiet hours waits for this; an allowed moment is returned
    unchanged, so applying it twice changes nothing.
    """
    moment = _utc(moment_utc)
    if not is_quiet(moment, zone, quiet):
        return moment
    return min(
        exit_
        for exit_ in _quiet_exits(moment, zone, quiet)
        if exit_ > moment and not is_quiet(exit_, zone, quiet)
    )


# ------------------------------------------------------------------------ recurrence


@dataclass(frozen=True)
class Recurrence:
    """A series repeating every whole number of days, ending on `until` and/or after `count`.

    `until` is inclusive and read as a local date in the stakeholder's zone; with both
    limits, whichever comes first ends the series. Sub-day intervals are refused: each
    occurrence is "the same local time on another day".
    """

    every: timedelta
    until: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.every < DAY or self.every % DAY:
            raise TimingError("a series repeats every whole number of days, at least 1")
        if self.count is not None and self.count < 1:
            raise TimingError(f"a series needs at least 1 occurrence (not {self.count})")

    @classmethod
    def weekly(
        cls, weeks: int = 1, until: date | None = None, count: int | None = None
    ) -> Recurrence:
        """Every `weeks` weeks: the usual shape of a check-in wave."""
        return cls(timedelta(weeks=weeks), until, count)


def check_series(first_local_day: date, recurrence: Recurrence) -> None:
    """Refuse a series whose end date comes before its first day (nothing would happen)."""
    if recurrence.until is not None and recurrence.until < first_local_day:
        raise TimingError(
            f"the series ends on {recurrence.until.isoformat()}, "
            f"before it starts on {first_local_day.isoformat()}"
        )


def occurrences(
    first_local_day: date,
    at: time,
    zone: ZoneInfo,
    recurrence: Recurrence,
    after_utc: datetime,
    limit: int,
) -> list[datetime]:
    """The next `limit` instants of a series strictly after `after_utc`, in UTC.

    Each occurrence is `at` on its local day, so across DST the UTC instant shifts by the
    change while the stakeholder's clock reads the same. A wall time in the spring gap
    moves to the jump (02:30 is sent at 03:00); a repeated one takes its first instant.
    Passing the last fired instant as `after_utc` yields the rest: one per day, never twice.
    """
    after = _utc(after_utc)
    step = recurrence.every.days
    elapsed = (after.astimezone(zone).date() - first_local_day).days
    index = max(0, elapsed // step - 1)  # skip ahead; earlier occurrences are all <= after
    found: list[datetime] = []
    while len(found) < limit:
        if recurrence.count is not None and index >= recurrence.count:
            break
        day = first_local_day + timedelta(days=index * step)
        if recurrence.until is not None and day > recurrence.until:
            break
        instant = _resolve(day, at, zone)
        if instant > after:
            found.append(instant)
        index += 1
    return found


def after_event(
    event_utc: datetime, delta: timedelta, zone: ZoneInfo, at: time | None = None
) -> datetime:
    """The instant `delta` after an event, e.g. 14 days after a stakeholder completed.

    Whole days are counted on the stakeholder's calendar (14 days after 15:00 is 15:00,
    even across DST); the rest of `delta` is exact elapsed time. With `at`, the result is
    that local time on the day so reached, which may be earlier in the day than the event.
    """
    event = _utc(event_utc)
    days = timedelta(days=delta.days)
    moved = event
    if days:
        local = event.astimezone(zone)
        moved = _resolve(local.date() + days, local.time(), zone)
    result = moved + (delta - days)
    if at is None:
        return result
    return _resolve(result.astimezone(zone).date(), at, zone)


def reminder_times(
    start_utc: datetime,
    offsets: Sequence[timedelta] = (timedelta(hours=24), timedelta(hours=1)),
) -> tuple[datetime, ...]:
    """The reminder instants before a session: exact elapsed hours, whatever the clocks do.

    "T-1h" must be one real hour before the call starts, also on a DST night.
    """
    start = _utc(start_utc)
    return tuple(start - offset for offset in offsets)


def grace(
    now_utc: datetime,
    due_utc: datetime,
    grace: timedelta,
    deadline_utc: datetime | None = None,
) -> Decision:
    """Whether a send that was due while Parley was down still goes out.

    Late by at most `grace` (inclusive): send it once; later: skip it (and record it as
    missed). A reminder for a session is never sent at or after `deadline_utc` (the
    session's start), however recent. A due time still ahead counts as within grace.
    """
    now = _utc(now_utc)
    if deadline_utc is not None and now >= _utc(deadline_utc):
        return "skip"
    return "send" if now - _utc(due_utc) <= grace else "skip"


# ---------------------------------------------------------------- researcher input


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _parse_clock(text: str) -> time:
    hours, _, minutes = text.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise TimingError(f"'{text}' is not a time of day (use HH:MM, 24-hour)") from None


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TimingError(f"'{text}' is not a date (use YYYY-MM-DD)") from None


_CLOCK = r"\d{1,2}:\d{2}"
_DATE = r"\d{4}-\d{2}-\d{2}"
_WHEN_ABSOLUTE = re.compile(rf"(?P<day>{_DATE})[ t](?P<at>{_CLOCK})")
_WHEN_NAMED_DAY = re.compile(rf"(?P<word>today|tomorrow) (?P<at>{_CLOCK})")
_WHEN_IN = re.compile(r"in (?P<n>\d+) (?P<unit>minute|hour|day|week)s?")
_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


def parse_when(text: str, zone: ZoneInfo, now_utc: datetime) -> datetime:
    """A future instant from what a researcher typed, read in their zone; UTC out.

    Accepts `2027-01-15 10:00`, `2027-01-15T10:00`, `today 16:00`, `tomorrow 09:30` and
    `in 2 days` (also weeks, kept at the same wall time like after_event, and minutes or
    hours, which are exact elapsed time).
    """
    now = _utc(now_utc)
    normal = _normal(text)
    if match := _WHEN_IN.fullmatch(normal):
        delta = int(match["n"]) * _UNITS[match["unit"]]
        return after_event(now, delta, zone) if match["unit"] in ("day", "week") else now + delta
    if match := _WHEN_ABSOLUTE.fullmatch(normal):
        day = _parse_date(match["day"])
    elif match := _WHEN_NAMED_DAY.fullmatch(normal):
        day = now.astimezone(zone).date() + (DAY if match["word"] == "tomorrow" else timedelta())
    else:
        raise TimingError(
            f"can't understand '{text.strip()}' as a date and time "
            "(use e.g. 2027-01-15 10:00, tomorrow 09:30 or in 2 days)"
        )
    at = _parse_clock(match["at"])
    instant = local_to_utc(day, at, zone)
    if instant < now:
        raise TimingError(f"{day.isoformat()} {_clock(at)} {zone.key} is in the past")
    return instant


_EVERY_HEAD = re.compile(
    r"(?:every (?P<n>\d+) (?P<unit>day|week)s?|every (?P<one>day|week)|(?P<adverb>daily|weekly))\b"
)
_EVERY_UNTIL = re.compile(r" until (?P<day>\S+)")
_EVERY_COUNT = re.compile(r" (?:x ?(?P<x>\d+)|(?P<times>\d+) times)")
_EVERY_EXAMPLES = (
    "use e.g. every 2 weeks, weekly, every 3 days x 5 or every 4 weeks until 2027-06-30"
)


def parse_every(text: str) -> Recurrence:
    """A series from what a researcher typed: an interval, then optional `until` and count.

    `every 4 weeks until 2027-06-30`, `every 2 weeks`, `weekly`, `daily`,
    `every 3 days x 5`, `every week 6 times`. Errors quote the part not understood.
    """
    normal = _normal(text)
    head = _EVERY_HEAD.match(normal)
    if head is None:
        raise TimingError(f"can't understand '{text.strip()}' as a repetition ({_EVERY_EXAMPLES})")
    unit = head["unit"] or head["one"] or ("day" if head["adverb"] == "daily" else "week")
    amount = int(head["n"] or 1)
    if amount < 1:
        raise TimingError(f"'{head[0]}': the interval must be at least 1 {unit}")
    until: date | None = None
    count: int | None = None
    rest = normal[head.end() :]
    while rest:
        ending = _EVERY_UNTIL.match(rest) if until is None else None
        times = _EVERY_COUNT.match(rest) if count is None else None
        if ending is not None:
            until = _parse_date(ending["day"])
            rest = rest[ending.end() :]
        elif times is not None:
            count = int(times["x"] or times["times"])
            if count < 1:
                raise TimingError(f"'{times[0].strip()}': the count must be at least 1")
            rest = rest[times.end() :]
        else:
            raise TimingError(
                f"can't understand '{rest.strip()}' in '{text.strip()}' ({_EVERY_EXAMPLES})"
            )
    return Recurrence(amount * _UNITS[unit], until, count)


@dataclass(frozen=True)
class Relative:
    """A time relative to something a stakeholder did: `delta` after `event`."""

    event: EventName
    delta: timedelta


_AFTER = re.compile(
    r"(?P<n>\d+) (?P<unit>hour|day|week)s? after (?:they (?:were )?|the )?(?P<event>\S+)"
)
_EVENT_WORDS: dict[str, EventName] = {
    "completion": "completed",
    "completed": "completed",
    "complete": "completed",
    "invitation": "invited",
    "invited": "invited",
    "invite": "invited",
    "start": "started",
    "started": "started",
}


def parse_after(text: str) -> Relative:
    """`14 days after completion`, `3 days after they were invited`-style input.

    The event is one of completed, invited, started (EventName); a few natural
    spellings of each are accepted (completion, invitation, start).
    """
    match = _AFTER.fullmatch(_normal(text))
    if match is None:
        raise TimingError(
            f"can't understand '{text.strip()}' "
            "(use e.g. 14 days after completion, 3 days after invitation or 1 week after start)"
        )
    event = _EVENT_WORDS.get(match["event"])
    if event is None:
        names = ", ".join(get_args(EventName))
        raise TimingError(f"unknown event '{match['event']}' (use {names})")
    return Relative(event, int(match["n"]) * _UNITS[match["unit"]])


# -------------------------------------------------------------------------- digests

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_SETS = {
    "daily": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}
_DIGEST = re.compile(rf"(?P<days>.+) (?P<at>{_CLOCK})")
_DIGEST_EXAMPLES = "use e.g. weekdays 09:00, mon,wed 08:30, daily 17:00 or weekly fri 16:00"


def _weekday(word: str) -> int:
    for index, names in enumerate(zip(_WEEKDAYS, _WEEKDAY_NAMES, strict=True)):
        if word in names:
            return index
    raise TimingError(f"unknown day '{word}' (use {', '.join(_WEEKDAYS)})")


@dataclass(frozen=True)
class DigestSchedule:
    """A cron-like digest time: some weekdays (Monday = 0) at one local wall time."""

    days: tuple[int, ...]
    at: time

    def __post_init__(self) -> None:
        if not self.days or not set(self.days) <= set(range(7)):
            raise ValueError(f"digest days must be weekday numbers 0-6, not {self.days}")

    @classmethod
    def parse(cls, text: str) -> DigestSchedule:
        """Read `weekdays 09:00`, `mon,wed 08:30`, `daily 17:00`, `weekly fri 16:00` and the like.

        Also `weekends`, full day names and `mon, wed` with a space. Errors name the bad part.
        """
        normal = _normal(text).replace(", ", ",")
        match = _DIGEST.fullmatch(normal)
        if match is None:
            raise TimingError(
                f"can't understand '{text.strip()}' as a digest schedule ({_DIGEST_EXAMPLES})"
            )
        words = match["days"]
        at = _parse_clock(match["at"])
        if words in _DAY_SETS:
            return cls(_DAY_SETS[words], at)
        if words == "weekly":
            raise TimingError("'weekly' needs a day, e.g. weekly fri 16:00")
        if words.startswith("weekly "):
            words = words.removeprefix("weekly ")
            if "," in words or " " in words:
                raise TimingError(f"'weekly' takes one day, e.g. weekly fri 16:00 (not '{words}')")
        return cls(tuple(sorted({_weekday(word) for word in words.split(",")})), at)

    def next_run(self, after_utc: datetime, zone: ZoneInfo) -> datetime:
        """The first run strictly after `after_utc`, in UTC; chain it to walk the schedule.

        One instant per scheduled local day (see module doc), so a DST night neither
        repeats nor drops a digest.
        """
        after = _utc(after_utc)
        first_day = after.astimezone(zone).date()
        return min(
            instant
            for offset in range(-1, 9)
            if (day := first_day + timedelta(days=offset)).weekday() in self.days
            and (instant := _resolve(day, self.at, zone)) > after
        )
