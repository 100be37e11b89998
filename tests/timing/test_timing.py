"""Time rules as tables: quiet hours, wall times across DST, series, digests, parsing, grace.

DST days used throughout: clocks spring forward on Sunday 2027-03-14 and fall back on
Sunday 2026-11-01, at 02:00 local in all four zones. Offsets (standard / daylight):
Vancouver -8/-7, Toronto -5/-4, Halifax -4/-3, St. John's -3:30/-2:30.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.timing import (
    CANADIAN_ZONES,
    AmbiguousTime,
    DigestSchedule,
    NonexistentTime,
    QuietHours,
    Recurrence,
    Relative,
    TimingError,
    after_event,
    check_series,
    grace,
    is_quiet,
    local_to_utc,
    next_allowed,
    occurrences,
    parse_after,
    parse_every,
    parse_when,
    parse_zone,
    reminder_times,
    transitions,
)

TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
HALIFAX = ZoneInfo("America/Halifax")
ST_JOHNS = ZoneInfo("America/St_Johns")
REGINA = ZoneInfo("America/Regina")
FOUR = (TORONTO, VANCOUVER, HALIFAX, ST_JOHNS)

SPRING = date(2027, 3, 14)
FALL = date(2026, 11, 1)
DEFAULT = QuietHours()  # 20:00-09:00 and weekends
NO_WEEKENDS = QuietHours(weekends=False)
LUNCH = QuietHours(time(12), time(13), weekends=False)
ENDS_IN_GAP = QuietHours(time(22), time(2, 30), weekends=False)
LATE_NIGHT = QuietHours(time(1, 30), time(2), weekends=False)
WEEKENDS_ONLY = QuietHours(time(0), time(0))


def Z(text: str) -> datetime:
    """An instant written as its UTC reading, e.g. Z("2027-03-14 07:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- zones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("America/Toronto", "America/Toronto"),
        ("  America/St_Johns ", "America/St_Johns"),
        ("america/vancouver", "America/Vancouver"),
        ("AMERICA/HALIFAX", "America/Halifax"),
        ("UTC", "UTC"),
    ],
)
def test_parse_zone_accepts_iana_names_in_any_case(text: str, key: str) -> None:
    assert parse_zone(text).key == key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus' (use e.g. America/Toronto)"),
        ("Eastern", "unknown time zone 'Eastern' (use e.g. America/Toronto)"),
        ("", "unknown time zone '' (use e.g. America/Toronto)"),
        ("../../etc/passwd", "unknown time zone '../../etc/passwd' (use e.g. America/Toronto)"),
        (
            "/usr/share/zoneinfo/UTC",
            "unknown time zone '/usr/share/zoneinfo/UTC' (use e.g. America/Toronto)",
        ),
    ],
)
def test_parse_zone_refuses_unknown_names(text: str, message: str) -> None:
    with pytest.raises(TimingError) as caught:
        parse_zone(text)
    assert str(caught.value) == message


def test_canadian_zones_run_west_to_east_and_all_load() -> None:
    january = Z("2027-01-15 12:00")
    offsets = [january.astimezone(parse_zone(option.zone)).utcoffset() for option in CANADIAN_ZONES]
    assert offsets == sorted(offsets)  # type: ignore[type-var]
    assert [option.zone for option in CANADIAN_ZONES] == [
        "America/Vancouver",
        "America/Edmonton",
        "America/Winnipeg",
        "America/Regina",
        "America/Toronto",
        "America/Halifax",
        "America/St_Johns",
    ]
    assert len({option.en for option in CANADIAN_ZONES}) == len(CANADIAN_ZONES)
    assert len({option.fr for option in CANADIAN_ZONES}) == len(CANADIAN_ZONES)


def test_regina_offered_as_central_without_dst() -> None:
    zone, en, fr = CANADIAN_ZONES[3]
    regina = ZoneInfo(zone)
    assert (
        Z("2027-01-15").astimezone(regina).utcoffset()
        == Z("2027-07-15").astimezone(regina).utcoffset()
    )
    assert "no DST" in en
    assert "sans heure avancée" in fr


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (TORONTO, ["2026-03-08 07:00", "2026-11-01 06:00", "2027-03-14 07:00", "2027-11-07 06:00"]),
        (
            VANCOUVER,
            ["2026-03-08 10:00", "2026-11-01 09:00", "2027-03-14 10:00", "2027-11-07 09:00"],
        ),
        (HALIFAX, ["2026-03-08 06:00", "2026-11-01 05:00", "2027-03-14 06:00", "2027-11-07 05:00"]),
        (
            ST_JOHNS,
            ["2026-03-08 05:30", "2026-11-01 04:30", "2027-03-14 05:30", "2027-11-07 04:30"],
        ),
        (REGINA, []),
    ],
)
def test_transitions_to_the_second(zone: ZoneInfo, expected: list[str]) -> None:
    assert transitions(zone, Z("2026-01-01"), Z("2028-01-01")) == [Z(text) for text in expected]


# --- local wall times ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        (TORONTO, SPRING, time(9), Z("2027-03-14 13:00")),
        (VANCOUVER, SPRING, time(9), Z("2027-03-14 16:00")),
        (HALIFAX, SPRING, time(9), Z("2027-03-14 12:00")),
        (ST_JOHNS, SPRING, time(9), Z("2027-03-14 11:30")),
        (TORONTO, FALL, time(9), Z("2026-11-01 14:00")),
        (VANCOUVER, FALL, time(9), Z("2026-11-01 17:00")),
        (HALIFAX, FALL, time(9), Z("2026-11-01 13:00")),
        (ST_JOHNS, FALL, time(9), Z("2026-11-01 12:30")),
        (TORONTO, date(2027, 3, 13), time(9), Z("2027-03-13 14:00")),
        (ST_JOHNS, date(2026, 10, 31), time(9), Z("2026-10-31 11:30")),
        (TORONTO, SPRING, time(1, 59), Z("2027-03-14 06:59")),
        (TORONTO, SPRING, time(3), Z("2027-03-14 07:00")),
        (TORONTO, FALL, time(0, 59), Z("2026-11-01 04:59")),
        (TORONTO, FALL, time(2), Z("2026-11-01 07:00")),
        (REGINA, SPRING, time(9), Z("2027-03-14 15:00")),
    ],
)
def test_local_to_utc_on_dst_days(zone: ZoneInfo, day: date, at: time, expected: datetime) -> None:
    assert local_to_utc(day, at, zone) == expected


@pytest.mark.parametrize(
    ("zone", "at", "offsets"),
    [
        (TORONTO, time(1, 30), "UTC-04:00 and UTC-05:00"),
        (TORONTO, time(1, 0), "UTC-04:00 and UTC-05:00"),
        (VANCOUVER, time(1, 30), "UTC-07:00 and UTC-08:00"),
        (HALIFAX, time(1, 30), "UTC-03:00 and UTC-04:00"),
        (ST_JOHNS, time(1, 30), "UTC-02:30 and UTC-03:30"),
    ],
)
def test_repeated_hour_is_ambiguous(zone: ZoneInfo, at: time, offsets: str) -> None:
    with pytest.raises(AmbiguousTime) as caught:
        local_to_utc(FALL, at, zone)
    assert str(caught.value) == (
        f"2026-11-01 {at:%H:%M} is ambiguous in {zone.key} (it happens twice: {offsets}); "
        "choose another time"
    )


@pytest.mark.parametrize("zone", FOUR, ids=lambda zone: zone.key)
@pytest.mark.parametrize("at", [time(2, 0), time(2, 30), time(2, 59)])
def test_skipped_hour_does_not_exist(zone: ZoneInfo, at: time) -> None:
    with pytest.raises(NonexistentTime) as caught:
        local_to_utc(SPRING, at, zone)
    assert str(caught.value) == (
        f"2027-03-14 {at:%H:%M} does not exist in {zone.key} "
        "(clocks jump from 02:00 to 03:00); choose another time"
    )


def test_wall_time_with_seconds_is_shown_with_seconds() -> None:
    with pytest.raises(NonexistentTime, match=r"^2027-03-14 02:30:15 does not exist"):
        local_to_utc(SPRING, time(2, 30, 15), TORONTO)


def test_dst_errors_are_value_errors() -> None:
    assert issubclass(AmbiguousTime, TimingError)
    assert issubclass(NonexistentTime, TimingError)
    assert issubclass(TimingError, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: next_allowed(datetime(2027, 1, 1), TORONTO), "naive datetime 2027-01-01T00:00:00"),
        (lambda: is_quiet(datetime(2027, 1, 1), TORONTO), "naive datetime"),
        (lambda: grace(datetime(2027, 1, 1), Z("2027-01-01"), timedelta()), "naive datetime"),
        (lambda: local_to_utc(SPRING, time(9, tzinfo=UTC), TORONTO), "must be naive"),
        (lambda: reminder_times(datetime(2027, 1, 1)), "naive datetime"),
    ],
)
def test_naive_datetimes_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- quiet hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quiet", "weekday", "clock", "expected"),
    [
        (DEFAULT, 2, time(12), False),
        (DEFAULT, 2, time(9), False),
        (DEFAULT, 2, time(19, 59), False),
        (DEFAULT, 2, time(20), True),
        (DEFAULT, 2, time(23, 59), True),
        (DEFAULT, 2, time(0), True),
        (DEFAULT, 2, time(8, 59), True),
        (DEFAULT, 5, time(12), True),
        (DEFAULT, 6, time(12), True),
        (DEFAULT, 0, time(9), False),
        (NO_WEEKENDS, 5, time(12), False),
        (NO_WEEKENDS, 6, time(21), True),
        (LUNCH, 2, time(12, 30), True),
        (LUNCH, 2, time(13), False),
        (LUNCH, 2, time(11, 59), False),
        (WEEKENDS_ONLY, 2, time(3), False),
        (WEEKENDS_ONLY, 6, time(3), True),
        (QuietHours(time(0), time(0), weekends=False), 6, time(3), False),
    ],
)
def test_quiet_hours_cover(quiet: QuietHours, weekday: int, clock: time, expected: bool) -> None:
    assert quiet.covers(weekday, clock) is expected


@pytest.mark.parametrize(
    ("moment", "halifax", "vancouver"),
    [
        # Wed 2027-03-10 13:00Z: 09:00 in Halifax, 05:00 in Vancouver.
        (Z("2027-03-10 13:00"), False, True),
        # Thu 00:30Z: Wed 20:30 in Halifax, Wed 16:30 in Vancouver.
        (Z("2027-03-11 00:30"), True, False),
        # Sat 03:30Z: Fri 23:30 in Halifax, Fri 19:30 in Vancouver.
        (Z("2027-03-13 03:30"), True, False),
        # Sat 13:00Z: Saturday everywhere.
        (Z("2027-03-13 13:00"), True, True),
        # Mon 2027-03-15 12:30Z: 09:30 ADT in Halifax, 05:30 PDT in Vancouver.
        (Z("2027-03-15 12:30"), False, True),
    ],
)
def test_same_instant_quiet_in_one_zone_not_the_other(
    moment: datetime, halifax: bool, vancouver: bool
) -> None:
    assert is_quiet(moment, HALIFAX) is halifax
    assert is_quiet(moment, VANCOUVER) is vancouver


def test_weekend_is_local_not_utc() -> None:
    monday_0330_utc = Z("2027-03-15 03:30")  # Mon 00:30 in Halifax, Sun 20:30 in Vancouver
    assert not is_quiet(monday_0330_utc, HALIFAX, WEEKENDS_ONLY)
    assert is_quiet(monday_0330_utc, VANCOUVER, WEEKENDS_ONLY)
    assert next_allowed(monday_0330_utc, VANCOUVER, WEEKENDS_ONLY) == Z("2027-03-15 07:00")


NEXT_ALLOWED = [
    # zone, quiet hours, moment, expected: both in UTC; the comment reads them locally
    (TORONTO, DEFAULT, Z("2027-03-10 17:00"), Z("2027-03-10 17:00")),  # Wed 12:00: as is
    (TORONTO, DEFAULT, Z("2027-03-10 14:00"), Z("2027-03-10 14:00")),  # Wed 09:00 exactly
    (TORONTO, DEFAULT, Z("2027-03-10 13:59"), Z("2027-03-10 14:00")),  # Wed 08:59
    (TORONTO, DEFAULT, Z("2027-03-11 01:00"), Z("2027-03-11 14:00")),  # Wed 20:00 exactly
    (TORONTO, DEFAULT, Z("2027-03-11 02:00"), Z("2027-03-11 14:00")),  # Wed 21:00 -> Thu
    (TORONTO, DEFAULT, Z("2027-03-13 02:00"), Z("2027-03-15 13:00")),  # Fri 21:00 -> Mon EDT
    (TORONTO, DEFAULT, Z("2026-10-31 16:00"), Z("2026-11-02 14:00")),  # Sat 12:00 -> Mon EST
    (VANCOUVER, DEFAULT, Z("2027-03-13 06:00"), Z("2027-03-15 16:00")),  # Fri 22:00 -> Mon
    (ST_JOHNS, DEFAULT, Z("2026-10-31 13:00"), Z("2026-11-02 12:30")),  # Sat 10:30 -> Mon
    (HALIFAX, DEFAULT, Z("2026-11-02 03:00"), Z("2026-11-02 13:00")),  # Sun 23:00 -> Mon
    (TORONTO, NO_WEEKENDS, Z("2027-03-14 06:00"), Z("2027-03-14 13:00")),  # spring 01:00
    (VANCOUVER, NO_WEEKENDS, Z("2027-03-14 08:00"), Z("2027-03-14 16:00")),  # spring 00:00
    (HALIFAX, NO_WEEKENDS, Z("2027-03-14 06:00"), Z("2027-03-14 12:00")),  # spring 03:00 ADT
    (ST_JOHNS, NO_WEEKENDS, Z("2027-03-14 05:00"), Z("2027-03-14 11:30")),  # spring 01:30
    (TORONTO, NO_WEEKENDS, Z("2026-11-01 05:30"), Z("2026-11-01 14:00")),  # fall, first 01:30
    (TORONTO, NO_WEEKENDS, Z("2026-11-01 06:30"), Z("2026-11-01 14:00")),  # fall, second 01:30
    (VANCOUVER, NO_WEEKENDS, Z("2026-11-01 08:00"), Z("2026-11-01 17:00")),  # fall 01:00 PDT
    (HALIFAX, NO_WEEKENDS, Z("2026-11-01 04:00"), Z("2026-11-01 13:00")),  # fall 01:00 ADT
    (ST_JOHNS, NO_WEEKENDS, Z("2026-11-01 08:30"), Z("2026-11-01 12:30")),  # fall 05:00 NST
    (TORONTO, LUNCH, Z("2027-03-10 17:30"), Z("2027-03-10 18:00")),  # 12:30 -> 13:00
    (TORONTO, ENDS_IN_GAP, Z("2027-03-14 06:00"), Z("2027-03-14 07:00")),  # 02:30 -> the jump
    (TORONTO, LATE_NIGHT, Z("2026-11-01 05:45"), Z("2026-11-01 06:00")),  # 01:45 EDT -> 01:00
    (TORONTO, WEEKENDS_ONLY, Z("2027-03-13 12:00"), Z("2027-03-15 04:00")),  # Sat -> Mon 00:00
]  # fmt: skip


@pytest.mark.parametrize(("zone", "quiet", "moment", "expected"), NEXT_ALLOWED)
def test_next_allowed(
    zone: ZoneInfo, quiet: QuietHours, moment: datetime, expected: datetime
) -> None:
    result = next_allowed(moment, zone, quiet)
    assert result == expected
    assert result.tzinfo is UTC


def test_next_allowed_accepts_any_aware_input_and_answers_in_utc() -> None:
    moment = datetime(2027, 3, 10, 21, tzinfo=TORONTO)
    assert next_allowed(moment, TORONTO) == Z("2027-03-11 14:00")
    assert next_allowed(moment, TORONTO).tzinfo is UTC


def test_halifax_and_vancouver_wait_for_different_mornings() -> None:
    moment = Z("2027-03-10 13:00")  # 09:00 Halifax, 05:00 Vancouver
    assert next_allowed(moment, HALIFAX) == moment
    assert next_allowed(moment, VANCOUVER) == Z("2027-03-10 17:00")


ZONES = st.sampled_from(FOUR)
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
CLOCKS = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
QUIETS = st.builds(QuietHours, CLOCKS, CLOCKS, st.booleans())


@given(moment=INSTANTS, zone=ZONES, quiet=st.one_of(st.just(DEFAULT), QUIETS))
def test_next_allowed_is_the_earliest_allowed_instant(
    moment: datetime, zone: ZoneInfo, quiet: QuietHours
) -> None:
    result = next_allowed(moment, zone, quiet)
    assert result >= moment
    assert not is_quiet(result, zone, quiet)
    assert next_allowed(result, zone, quiet) == result
    if result > moment:
        assert is_quiet(result - timedelta(microseconds=1), zone, quiet)
        span = result - moment
        assert all(is_quiet(moment + span * k / 16, zone, quiet) for k in range(16))


@given(moment=INSTANTS, zone=ZONES)
def test_default_quiet_hours_wait_at_most_until_monday_morning(
    moment: datetime, zone: ZoneInfo
) -> None:
    result = next_allowed(moment, zone)
    assert result - moment <= timedelta(days=2, hours=14)
    wall = result.astimezone(zone)
    assert wall.weekday() < 5
    assert time(9) <= wall.time() < time(20)


# --- series --------------------------------------------------------------------------


WEEKLY = Recurrence.weekly()
DAILY = Recurrence(timedelta(days=1))
EVERY_3_DAYS_X5 = Recurrence(timedelta(days=3), count=5)

OCCURRENCES = [
    # zone, first local day, local time, series, after (UTC), limit: expected (UTC)
    # Same wall time across spring-forward and fall-back: the UTC instant moves.
    (TORONTO, date(2027, 3, 7), time(10), WEEKLY, Z("2027-03-01"), 3,
     [Z("2027-03-07 15:00"), Z("2027-03-14 14:00"), Z("2027-03-21 14:00")]),
    (TORONTO, date(2026, 10, 25), time(10), WEEKLY, Z("2026-10-01"), 3,
     [Z("2026-10-25 14:00"), Z("2026-11-01 15:00"), Z("2026-11-08 15:00")]),
    (ST_JOHNS, date(2027, 3, 7), time(10), WEEKLY, Z("2027-03-01"), 2,
     [Z("2027-03-07 13:30"), Z("2027-03-14 12:30")]),
    (VANCOUVER, date(2027, 3, 13), time(9), DAILY, Z("2027-03-01"), 3,
     [Z("2027-03-13 17:00"), Z("2027-03-14 16:00"), Z("2027-03-15 16:00")]),
    # 02:30 does not exist on 2027-03-14: sent at the jump (03:00 EDT).
    (TORONTO, date(2027, 3, 7), time(2, 30), WEEKLY, Z("2027-03-01"), 3,
     [Z("2027-03-07 07:30"), Z("2027-03-14 07:00"), Z("2027-03-21 06:30")]),
    # 01:30 happens twice on 2026-11-01: the first (ADT) only.
    (HALIFAX, date(2026, 10, 25), time(1, 30), WEEKLY, Z("2026-10-01"), 3,
     [Z("2026-10-25 04:30"), Z("2026-11-01 04:30"), Z("2026-11-08 05:30")]),
    # every 4 weeks until 2027-06-30 from Wednesday 2027-01-06
    (TORONTO, date(2027, 1, 6), time(10), Recurrence.weekly(4, date(2027, 6, 30)), Z("2027-01-01"),
     99, [Z("2027-01-06 15:00"), Z("2027-02-03 15:00"), Z("2027-03-03 15:00"),
          Z("2027-03-31 14:00"), Z("2027-04-28 14:00"), Z("2027-05-26 14:00"),
          Z("2027-06-23 14:00")]),
    # until is inclusive ...
    (TORONTO, date(2027, 1, 6), time(10), Recurrence.weekly(4, date(2027, 6, 23)), Z("2027-05-01"),
     99, [Z("2027-05-26 14:00"), Z("2027-06-23 14:00")]),
    (TORONTO, date(2027, 1, 6), time(10), Recurrence.weekly(4, date(2027, 6, 22)), Z("2027-05-01"),
     99, [Z("2027-05-26 14:00")]),
    # ... and a local date: 23:30 on 2027-06-30 in Vancouver is 06:30Z on 07-01.
    (VANCOUVER, date(2027, 6, 29), time(23, 30), Recurrence(timedelta(days=1), date(2027, 6, 30)),
     Z("2027-06-01"), 99, [Z("2027-06-30 06:30"), Z("2027-07-01 06:30")]),
    # counts include occurrences already fired; with until too, whichever ends first
    (TORONTO, date(2027, 1, 1), time(10), EVERY_3_DAYS_X5, Z("2026-12-01"), 99,
     [Z("2027-01-01 15:00"), Z("2027-01-04 15:00"), Z("2027-01-07 15:00"),
      Z("2027-01-10 15:00"), Z("2027-01-13 15:00")]),
    (TORONTO, date(2027, 1, 1), time(10), EVERY_3_DAYS_X5, Z("2027-01-04 15:00"), 99,
     [Z("2027-01-07 15:00"), Z("2027-01-10 15:00"), Z("2027-01-13 15:00")]),
    (TORONTO, date(2027, 1, 1), time(10), Recurrence(timedelta(days=3), date(2027, 1, 8), 5),
     Z("2026-12-01"), 99, [Z("2027-01-01 15:00"), Z("2027-01-04 15:00"), Z("2027-01-07 15:00")]),
    # strictly after; far ahead; finished; no limit
    (TORONTO, date(2027, 1, 1), time(10), WEEKLY, Z("2027-01-01 15:00"), 1,
     [Z("2027-01-08 15:00")]),
    (TORONTO, date(2027, 1, 1), time(10), WEEKLY, Z("2030-01-01"), 2,
     [Z("2030-01-04 15:00"), Z("2030-01-11 15:00")]),
    (TORONTO, date(2027, 1, 1), time(10), Recurrence.weekly(1, date(2027, 1, 31)), Z("2027-02-01"),
     5, []),
    (TORONTO, date(2027, 1, 1), time(10), WEEKLY, Z("2026-01-01"), 0, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "first", "at", "recurrence", "after", "limit", "expected"), OCCURRENCES
)
def test_occurrences(
    zone: ZoneInfo,
    first: date,
    at: time,
    recurrence: Recurrence,
    after: datetime,
    limit: int,
    expected: list[datetime],
) -> None:
    assert occurrences(first, at, zone, recurrence, after, limit) == expected


@pytest.mark.parametrize("zone", FOUR, ids=lambda zone: zone.key)
@pytest.mark.parametrize("at", [time(0, 30), time(1, 30), time(2, 30), time(3, 30), time(9)])
@pytest.mark.parametrize("first", [date(2027, 3, 10), date(2026, 10, 28)])
def test_daily_series_fires_once_per_local_day_across_dst(
    zone: ZoneInfo, at: time, first: date
) -> None:
    series = Recurrence(timedelta(days=1), count=10)
    fired: list[datetime] = []
    after = Z("2026-01-01")
    while batch := occurrences(first, at, zone, series, after, 1):
        fired.extend(batch)
        after = batch[-1]
    days = [instant.astimezone(zone).date() for instant in fired]
    assert days == [first + timedelta(days=n) for n in range(10)]
    assert fired == sorted(set(fired))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Recurrence(timedelta(hours=12)),
            "a series repeats every whole number of days, at least 1",
        ),
        (
            lambda: Recurrence(timedelta(days=1, hours=1)),
            "a series repeats every whole number of days, at least 1",
        ),
        (
            lambda: Recurrence(timedelta(0)),
            "a series repeats every whole number of days, at least 1",
        ),
        (
            lambda: Recurrence(timedelta(days=-7)),
            "a series repeats every whole number of days, at least 1",
        ),
        (
            lambda: Recurrence(timedelta(days=1), count=0),
            "a series needs at least 1 occurrence (not 0)",
        ),
        (
            lambda: check_series(date(2027, 7, 1), Recurrence.weekly(until=date(2027, 6, 30))),
            "the series ends on 2027-06-30, before it starts on 2027-07-01",
        ),
    ],
)
def test_bad_series(make: object, message: str) -> None:
    with pytest.raises(TimingError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message


def test_series_ending_on_its_first_day_is_fine() -> None:
    check_series(date(2027, 6, 30), Recurrence.weekly(until=date(2027, 6, 30)))


# --- relative to an event ------------------------------------------------------------


AFTER_EVENT = [
    # event (UTC), delta, zone, local time or None: expected (UTC)
    (Z("2027-03-01 20:00"), timedelta(days=14), TORONTO, None, Z("2027-03-15 19:00")),  # 15:00
    (Z("2027-03-01 20:00"), timedelta(days=14), TORONTO, time(10), Z("2027-03-15 14:00")),
    (Z("2027-03-01 15:30"), timedelta(days=14), ST_JOHNS, None, Z("2027-03-15 14:30")),  # 12:00
    (Z("2026-10-25 19:00"), timedelta(weeks=1), VANCOUVER, None, Z("2026-11-01 20:00")),  # 12:00
    (Z("2026-11-01 05:30"), timedelta(hours=2), TORONTO, None, Z("2026-11-01 07:30")),  # elapsed
    (Z("2026-11-01 06:30"), timedelta(minutes=10), TORONTO, None, Z("2026-11-01 06:40")),
    (Z("2027-03-13 20:00"), timedelta(days=1), TORONTO, time(2, 30), Z("2027-03-14 07:00")),
    (Z("2027-03-13 07:30"), timedelta(days=1), TORONTO, None, Z("2027-03-14 07:00")),  # gap
    (Z("2027-03-01 20:00"), timedelta(days=2, hours=3), HALIFAX, None, Z("2027-03-03 23:00")),
    (Z("2027-03-01 20:00"), timedelta(0), HALIFAX, time(9), Z("2027-03-01 13:00")),  # earlier
]  # fmt: skip


@pytest.mark.parametrize(("event", "delta", "zone", "at", "expected"), AFTER_EVENT)
def test_after_event(
    event: datetime, delta: timedelta, zone: ZoneInfo, at: time | None, expected: datetime
) -> None:
    assert after_event(event, delta, zone, at) == expected


def test_reminder_times_are_exact_hours_before() -> None:
    start = Z("2026-11-01 07:00")  # 02:00 EST, the hour after fall-back
    assert reminder_times(start) == (Z("2026-10-31 07:00"), Z("2026-11-01 06:00"))
    assert reminder_times(start, (timedelta(minutes=15),)) == (Z("2026-11-01 06:45"),)
    spring = datetime(2027, 3, 14, 10, tzinfo=TORONTO)
    assert spring - reminder_times(spring)[0] == timedelta(hours=24)  # 25 wall-clock hours


# --- grace ---------------------------------------------------------------------------

DUE = Z("2027-03-10 14:00")
SIX_HOURS = timedelta(hours=6)


@pytest.mark.parametrize(
    ("now", "deadline", "expected"),
    [
        (DUE, None, "send"),
        (DUE - timedelta(minutes=1), None, "send"),
        (DUE + timedelta(hours=1), None, "send"),
        (DUE + SIX_HOURS, None, "send"),
        (DUE + SIX_HOURS + timedelta(seconds=1), None, "skip"),
        (DUE + timedelta(days=3), None, "skip"),
        (DUE + timedelta(hours=1), DUE + timedelta(hours=2), "send"),
        (DUE + timedelta(hours=1), DUE + timedelta(hours=1), "skip"),
        (DUE + timedelta(hours=1), DUE + timedelta(minutes=30), "skip"),
    ],
)
def test_grace(now: datetime, deadline: datetime | None, expected: str) -> None:
    assert grace(now, DUE, SIX_HOURS, deadline) == expected


# --- researcher input: when ----------------------------------------------------------

NOW = Z("2026-06-01 12:00")  # Monday 08:00 in Toronto


@pytest.mark.parametrize(
    ("text", "zone", "now", "expected"),
    [
        ("2027-01-15 10:00", TORONTO, NOW, Z("2027-01-15 15:00")),
        ("2027-01-15T10:00", TORONTO, NOW, Z("2027-01-15 15:00")),
        ("  2027-01-15   10:00 ", TORONTO, NOW, Z("2027-01-15 15:00")),
        ("2027-01-15 9:05", ST_JOHNS, NOW, Z("2027-01-15 12:35")),
        ("2027-03-14 09:00", VANCOUVER, NOW, Z("2027-03-14 16:00")),
        ("2026-11-01 09:00", HALIFAX, NOW, Z("2026-11-01 13:00")),
        ("tomorrow 09:30", TORONTO, NOW, Z("2026-06-02 13:30")),
        ("Tomorrow 9:30", TORONTO, NOW, Z("2026-06-02 13:30")),
        ("today 16:00", TORONTO, NOW, Z("2026-06-01 20:00")),
        ("today 08:00", TORONTO, NOW, NOW),
        (
            "tomorrow 09:00",
            VANCOUVER,
            Z("2026-06-02 05:00"),
            Z("2026-06-02 16:00"),
        ),  # still the 1st there
        ("in 2 days", TORONTO, NOW, Z("2026-06-03 12:00")),
        ("in 1 day", TORONTO, NOW, Z("2026-06-02 12:00")),
        ("in 1 week", TORONTO, NOW, Z("2026-06-08 12:00")),
        ("in 3 hours", TORONTO, NOW, Z("2026-06-01 15:00")),
        ("in 90 minutes", TORONTO, NOW, Z("2026-06-01 13:30")),
        (
            "in 1 day",
            TORONTO,
            Z("2027-03-13 17:00"),
            Z("2027-03-14 16:00"),
        ),  # 12:00 again, 23 h later
        ("in 24 hours", TORONTO, Z("2027-03-13 17:00"), Z("2027-03-14 17:00")),
    ],
)
def test_parse_when(text: str, zone: ZoneInfo, now: datetime, expected: datetime) -> None:
    assert parse_when(text, zone, now) == expected


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("2026-01-01 10:00", TimingError, "2026-01-01 10:00 America/Toronto is in the past"),
        ("today 07:59", TimingError, "2026-06-01 07:59 America/Toronto is in the past"),
        (
            "next friday",
            TimingError,
            "can't understand 'next friday' as a date and time "
            "(use e.g. 2027-01-15 10:00, tomorrow 09:30 or in 2 days)",
        ),
        (
            "2027-01-15",
            TimingError,
            "can't understand '2027-01-15' as a date and time "
            "(use e.g. 2027-01-15 10:00, tomorrow 09:30 or in 2 days)",
        ),
        (
            "",
            TimingError,
            "can't understand '' as a date and time "
            "(use e.g. 2027-01-15 10:00, tomorrow 09:30 or in 2 days)",
        ),
        ("2027-02-30 10:00", TimingError, "'2027-02-30' is not a date (use YYYY-MM-DD)"),
        ("2027-01-15 25:00", TimingError, "'25:00' is not a time of day (use HH:MM, 24-hour)"),
        ("tomorrow 9:75", TimingError, "'9:75' is not a time of day (use HH:MM, 24-hour)"),
        (
            "2026-11-01 01:30",
            AmbiguousTime,
            "2026-11-01 01:30 is ambiguous in America/Toronto "
            "(it happens twice: UTC-04:00 and UTC-05:00); choose another time",
        ),
        (
            "2027-03-14 02:30",
            NonexistentTime,
            "2027-03-14 02:30 does not exist in America/Toronto "
            "(clocks jump from 02:00 to 03:00); choose another time",
        ),
    ],
)
def test_parse_when_refuses(text: str, error: type[TimingError], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_when(text, TORONTO, NOW)
    assert str(caught.value) == message


# --- researcher input: every ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every 4 weeks until 2027-06-30", Recurrence(timedelta(weeks=4), until=date(2027, 6, 30))),
        ("every 2 weeks", Recurrence(timedelta(weeks=2))),
        ("Every 1 week", Recurrence(timedelta(weeks=1))),
        ("weekly", Recurrence(timedelta(weeks=1))),
        ("daily", Recurrence(timedelta(days=1))),
        ("every day", Recurrence(timedelta(days=1))),
        ("every week", Recurrence(timedelta(weeks=1))),
        ("every 3 days x 5", Recurrence(timedelta(days=3), count=5)),
        ("every 3 days x5", Recurrence(timedelta(days=3), count=5)),
        ("every week 6 times", Recurrence(timedelta(weeks=1), count=6)),
        (
            "every 2 weeks until 2027-06-30 x 4",
            Recurrence(timedelta(weeks=2), until=date(2027, 6, 30), count=4),
        ),
        (
            "weekly x 4 until 2027-06-30",
            Recurrence(timedelta(weeks=1), until=date(2027, 6, 30), count=4),
        ),
    ],
)
def test_parse_every(text: str, expected: Recurrence) -> None:
    assert parse_every(text) == expected


EVERY_EXAMPLES = (
    "use e.g. every 2 weeks, weekly, every 3 days x 5 or every 4 weeks until 2027-06-30"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fortnightly", f"can't understand 'fortnightly' as a repetition ({EVERY_EXAMPLES})"),
        ("every weekday", f"can't understand 'every weekday' as a repetition ({EVERY_EXAMPLES})"),
        ("every 2 months", f"can't understand 'every 2 months' as a repetition ({EVERY_EXAMPLES})"),
        ("", f"can't understand '' as a repetition ({EVERY_EXAMPLES})"),
        (
            "every 2 weeks on mondays",
            f"can't understand 'on mondays' in 'every 2 weeks on mondays' ({EVERY_EXAMPLES})",
        ),
        (
            "every 2 weeks until",
            f"can't understand 'until' in 'every 2 weeks until' ({EVERY_EXAMPLES})",
        ),
        (
            "weekly until 2027-06-30 until 2027-07-30",
            "can't understand 'until 2027-07-30' in 'weekly until 2027-06-30 until 2027-07-30' "
            f"({EVERY_EXAMPLES})",
        ),
        ("every 2 weeks until 2027-13-01", "'2027-13-01' is not a date (use YYYY-MM-DD)"),
        ("every 2 weeks until june", "'june' is not a date (use YYYY-MM-DD)"),
        ("every 0 days", "'every 0 days': the interval must be at least 1 day"),
        ("every 0 weeks until 2027-06-30", "'every 0 weeks': the interval must be at least 1 week"),
        ("every week x 0", "'x 0': the count must be at least 1"),
        ("every week 0 times", "'0 times': the count must be at least 1"),
    ],
)
def test_parse_every_refuses(text: str, message: str) -> None:
    with pytest.raises(TimingError) as caught:
        parse_every(text)
    assert str(caught.value) == message


# --- researcher input: after ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14 days after completion", Relative("completed", timedelta(days=14))),
        ("14 days after they completed", Relative("completed", timedelta(days=14))),
        ("1 day after completed", Relative("completed", timedelta(days=1))),
        ("3 days after invitation", Relative("invited", timedelta(days=3))),
        ("3 days after they were invited", Relative("invited", timedelta(days=3))),
        ("2 weeks after start", Relative("started", timedelta(weeks=2))),
        ("2 Weeks After They Started", Relative("started", timedelta(weeks=2))),
        ("48 hours after the invitation", Relative("invited", timedelta(hours=48))),
    ],
)
def test_parse_after(text: str, expected: Relative) -> None:
    assert parse_after(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "fourteen days after completion",
            "can't understand 'fourteen days after completion' "
            "(use e.g. 14 days after completion, 3 days after invitation or 1 week after start)",
        ),
        (
            "14 days before completion",
            "can't understand '14 days before completion' "
            "(use e.g. 14 days after completion, 3 days after invitation or 1 week after start)",
        ),
        ("14 days after lunch", "unknown event 'lunch' (use completed, invited, started)"),
        ("2 weeks after they paused", "unknown event 'paused' (use completed, invited, started)"),
    ],
)
def test_parse_after_refuses(text: str, message: str) -> None:
    with pytest.raises(TimingError) as caught:
        parse_after(text)
    assert str(caught.value) == message


# --- digests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("weekdays 09:00", (0, 1, 2, 3, 4), time(9)),
        ("weekends 10:00", (5, 6), time(10)),
        ("daily 17:00", (0, 1, 2, 3, 4, 5, 6), time(17)),
        ("mon,wed 08:30", (0, 2), time(8, 30)),
        ("wed, mon 8:30", (0, 2), time(8, 30)),
        ("Monday,Friday 07:00", (0, 4), time(7)),
        ("weekly fri 16:00", (4,), time(16)),
        ("sun 23:59", (6,), time(23, 59)),
    ],
)
def test_digest_schedule_parse(text: str, days: tuple[int, ...], at: time) -> None:
    assert DigestSchedule.parse(text) == DigestSchedule(days, at)


DIGEST_EXAMPLES = "use e.g. weekdays 09:00, mon,wed 08:30, daily 17:00 or weekly fri 16:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weekdays", f"can't understand 'weekdays' as a digest schedule ({DIGEST_EXAMPLES})"),
        ("09:00", f"can't understand '09:00' as a digest schedule ({DIGEST_EXAMPLES})"),
        ("mon,funday 09:00", "unknown day 'funday' (use mon, tue, wed, thu, fri, sat, sun)"),
        ("mon,,wed 09:00", "unknown day '' (use mon, tue, wed, thu, fri, sat, sun)"),
        ("weekly 16:00", "'weekly' needs a day, e.g. weekly fri 16:00"),
        ("weekly mon,fri 16:00", "'weekly' takes one day, e.g. weekly fri 16:00 (not 'mon,fri')"),
        ("weekdays 24:00", "'24:00' is not a time of day (use HH:MM, 24-hour)"),
    ],
)
def test_digest_schedule_refuses(text: str, message: str) -> None:
    with pytest.raises(TimingError) as caught:
        DigestSchedule.parse(text)
    assert str(caught.value) == message


def test_digest_schedule_needs_days() -> None:
    with pytest.raises(ValueError, match="weekday numbers"):
        DigestSchedule((), time(9))
    with pytest.raises(ValueError, match="weekday numbers"):
        DigestSchedule((7,), time(9))


NEXT_RUN = [
    # schedule, zone, after (UTC): next run (UTC)
    ("weekdays 09:00", TORONTO, Z("2027-03-12 14:00"), Z("2027-03-15 13:00")),  # Fri -> Mon EDT
    ("weekdays 09:00", TORONTO, Z("2027-03-12 13:59"), Z("2027-03-12 14:00")),
    ("weekdays 09:00", TORONTO, Z("2026-10-30 13:00"), Z("2026-11-02 14:00")),  # Fri -> Mon EST
    ("mon,wed 08:30", VANCOUVER, Z("2027-03-10 12:00"), Z("2027-03-10 16:30")),
    ("mon,wed 08:30", VANCOUVER, Z("2027-03-10 16:30"), Z("2027-03-15 15:30")),
    ("weekly fri 16:00", HALIFAX, Z("2027-03-10 00:00"), Z("2027-03-12 20:00")),
    ("daily 17:00", ST_JOHNS, Z("2027-03-13 20:30"), Z("2027-03-14 19:30")),
    ("daily 02:30", TORONTO, Z("2027-03-13 07:30"), Z("2027-03-14 07:00")),  # the jump
    ("daily 01:30", TORONTO, Z("2026-11-01 05:30"), Z("2026-11-02 06:30")),  # not twice
    ("daily 01:30", TORONTO, Z("2026-11-01 06:00"), Z("2026-11-02 06:30")),  # between copies
]  # fmt: skip


@pytest.mark.parametrize(("text", "zone", "after", "expected"), NEXT_RUN)
def test_digest_next_run(text: str, zone: ZoneInfo, after: datetime, expected: datetime) -> None:
    assert DigestSchedule.parse(text).next_run(after, zone) == expected


@pytest.mark.parametrize("zone", FOUR, ids=lambda zone: zone.key)
@pytest.mark.parametrize("at", ["00:30", "01:30", "02:00", "02:30", "03:00", "09:00"])
@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2027, 3, 7), date(2027, 3, 21)), (date(2026, 10, 25), date(2026, 11, 8))],
    ids=["spring-forward", "fall-back"],
)
def test_daily_digest_runs_once_per_local_day_across_dst(
    zone: ZoneInfo, at: str, start: date, end: date
) -> None:
    schedule = DigestSchedule.parse(f"daily {at}")
    cursor = datetime.combine(start, time(0), zone).astimezone(UTC)
    runs = []
    while (cursor := schedule.next_run(cursor, zone)).astimezone(zone).date() < end:
        runs.append(cursor)
    assert [run.astimezone(zone).date() for run in runs] == [
        start + timedelta(days=n) for n in range((end - start).days)
    ]
