"""Discussion-group .ics files, read back with icalendar and with dateutil's own parser."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.tz import tzical
from icalendar import Calendar, Event, Timezone

from bot.calendar_files import NO_REPLY_ORGANISER, PRODID, content_type, session_ics, vtimezone
from bot.timing import transitions

TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
HALIFAX = ZoneInfo("America/Halifax")
ST_JOHNS = ZoneInfo("America/St_Johns")
REGINA = ZoneInfo("America/Regina")

START = datetime(2027, 3, 15, 14, 0, tzinfo=UTC)  # Monday after spring-forward
STAMP = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def build(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "uid": "group-7@parley",
        "title": "Data needs: round 2",
        "start_utc": START,
        "duration": timedelta(hours=1),
        "organiser_name": "Open North research team",
        "location_or_url": "https://meet.example.org/data-needs",
        "description": "One hour, bring your questions.",
        "attendee_zone": TORONTO,
        "stamp_utc": STAMP,
    }
    return session_ics(**(fields | changes))


def parse(data: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


@pytest.mark.parametrize(
    ("zone", "start", "wall"),
    [
        (TORONTO, START, "20270315T100000"),
        (VANCOUVER, START, "20270315T070000"),
        (HALIFAX, START, "20270315T110000"),
        (ST_JOHNS, START, "20270315T113000"),
        (REGINA, START, "20270315T080000"),
        (TORONTO, datetime(2027, 3, 14, 14, tzinfo=UTC), "20270314T100000"),  # spring-forward day
        (TORONTO, datetime(2026, 11, 1, 15, tzinfo=UTC), "20261101T100000"),  # fall-back day
    ],
)
def test_start_is_written_in_the_attendee_zone_with_its_vtimezone(
    zone: ZoneInfo, start: datetime, wall: str
) -> None:
    data = build(attendee_zone=zone, start_utc=start)
    assert f"DTSTART;TZID={zone.key}:{wall}\r\n".encode() in data
    calendar, event = parse(data)
    assert event.start == start
    assert event.start.tzinfo is not None
    assert event.end - event.start == timedelta(hours=1)
    assert [timezone.tz_name for timezone in calendar.timezones] == [zone.key]
    assert calendar.get_missing_tzids() == set()
    # Without a tz database, a reader must get the same instant from the VTIMEZONE alone.
    own = calendar.timezones[0].to_tz(lookup_tzid=False)
    assert event.start.replace(tzinfo=own) == start


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # 01:30 NST, the second 01:30 of 2026-11-01 in St. John's: a wall time would mean NDT.
        (datetime(2026, 11, 1, 5, tzinfo=UTC), timedelta(hours=1), b"DTSTART:20261101T050000Z"),
        # Starts in the first 01:30 (NDT), ends in the second copy of the hour.
        (datetime(2026, 11, 1, 4, tzinfo=UTC), timedelta(hours=1), b"DTSTART:20261101T040000Z"),
        # The first 01:30 and over before the change: a wall time says it exactly.
        (
            datetime(2026, 11, 1, 4, tzinfo=UTC),
            timedelta(minutes=20),
            b"DTSTART;TZID=America/St_Johns:20261101T013000",
        ),
    ],
)
def test_repeated_hour_second_copy_is_written_in_utc(
    start: datetime, duration: timedelta, expected: bytes
) -> None:
    data = build(attendee_zone=ST_JOHNS, start_utc=start, duration=duration)
    assert expected + b"\r\n" in data
    _, event = parse(data)
    # astimezone: Python never finds a wall time in a fold equal to another zone's time.
    assert event.start.astimezone(UTC) == start
    assert event.end.astimezone(UTC) == start + duration


@pytest.mark.parametrize("zone", [TORONTO, VANCOUVER, HALIFAX, ST_JOHNS, REGINA], ids=str)
def test_vtimezone_agrees_with_zoneinfo_through_both_transitions(zone: ZoneInfo) -> None:
    """Read from the file alone by icalendar and by dateutil, around every change and daily.

    (icalendar's own Timezone.from_tzinfo fails this: its spring onsets are an hour late.)
    """
    first, last = datetime(2026, 1, 1, 6, tzinfo=UTC), datetime(2028, 1, 1, 6, tzinfo=UTC)
    calendar = Calendar()
    calendar.add_component(vtimezone(zone, first, last))
    text = calendar.to_ical().decode()
    readers = [
        calendar.timezones[0].to_tz(lookup_tzid=False),
        tzical(io.StringIO(text)).get(zone.key),
    ]
    daily = [first + timedelta(days=n) for n in range((last - first).days)]
    near_changes = [
        change + timedelta(minutes=15 * n)
        for change in transitions(zone, first, last)
        for n in range(-12, 12)
    ]
    for moment in daily + near_changes:
        expected = moment.astimezone(zone).utcoffset()
        offsets = [moment.astimezone(reader).utcoffset() for reader in readers]
        assert offsets == [expected, expected], moment


def test_vtimezone_onsets_are_in_the_offset_before_the_change() -> None:
    component = vtimezone(
        TORONTO, datetime(2027, 1, 1, 5, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    )
    lines = component.to_ical().decode().split("\r\n")
    assert lines[:2] == ["BEGIN:VTIMEZONE", "TZID:America/Toronto"]
    blocks = [
        (kind.removeprefix("BEGIN:"), start.removeprefix("DTSTART:"))
        for kind, start in itertools.pairwise(lines)
        if kind in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT")
    ]
    assert blocks == [
        ("STANDARD", "20270101T000000"),
        ("DAYLIGHT", "20270314T020000"),
        ("STANDARD", "20271107T020000"),
    ]


def test_zone_without_dst_has_one_block() -> None:
    calendar, _ = parse(build(attendee_zone=REGINA))
    (timezone,) = calendar.timezones
    assert isinstance(timezone, Timezone)
    assert [block.name for block in timezone.subcomponents] == ["STANDARD"]


def test_utc_attendee_gets_utc_times_and_no_vtimezone() -> None:
    data = build(attendee_zone=ZoneInfo("UTC"))
    assert b"DTSTART:20270315T140000Z\r\n" in data
    calendar, event = parse(data)
    assert calendar.timezones == []
    assert event.start == START


def test_session_spanning_a_new_year_and_dst_is_covered() -> None:
    start = datetime(2026, 12, 31, 22, tzinfo=UTC)
    data = build(start_utc=start, duration=timedelta(days=80), attendee_zone=ST_JOHNS)
    calendar, event = parse(data)
    assert event.end == start + timedelta(days=80)
    assert b"DTEND;TZID=America/St_Johns:20270321T193000\r\n" in data  # NDT by then
    own = calendar.timezones[0].to_tz(lookup_tzid=False)
    assert event.end.astimezone(own).utcoffset() == timedelta(hours=-2, minutes=-30)


@pytest.mark.parametrize(
    ("changes", "method", "status", "sequence"),
    [
        ({}, "REQUEST", "CONFIRMED", 0),
        ({"sequence": 2}, "REQUEST", "CONFIRMED", 2),
        ({"sequence": 3, "cancelled": True}, "CANCEL", "CANCELLED", 3),
    ],
)
def test_request_reschedule_and_cancel(
    changes: dict[str, Any], method: str, status: str, sequence: int
) -> None:
    data = build(**changes)
    calendar, event = parse(data)
    assert calendar["METHOD"] == method
    assert event["STATUS"] == status
    assert event["SEQUENCE"] == sequence
    assert event["UID"] == "group-7@parley"
    assert f"METHOD:{method}\r\n".encode() in data


def test_reschedule_keeps_the_uid_and_moves_the_time() -> None:
    first = parse(build())[1]
    moved = parse(build(start_utc=START + timedelta(days=2), sequence=1))[1]
    assert moved["UID"] == first["UID"]
    assert moved.start - first.start == timedelta(days=2)


def test_required_properties_and_stamp() -> None:
    calendar, event = parse(build())
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == PRODID
    assert event["DTSTAMP"].dt == STAMP
    assert b"DTSTAMP:20270301T093000Z\r\n" in build()
    assert event["ORGANIZER"] == NO_REPLY_ORGANISER
    assert event["ORGANIZER"].params["CN"] == "Open North research team"


@pytest.mark.parametrize(
    ("text"),
    [
        "Données, accès; et \\ barres obliques",
        "Line one\nLine two\n\nLine four, after a blank",
        'Quotes "inside", colons: here; and a tab\there',
        "Long " + "mot-très-long-avec-accents-éèê " * 12,
        "Semicolon;comma,backslash\\n (not a newline)",
    ],
)
def test_text_escaping_and_folding_round_trip(text: str) -> None:
    data = build(title=text, description=text, location_or_url=text, organiser_name="Équipe, Nord")
    _, event = parse(data)
    assert str(event["SUMMARY"]) == text
    assert str(event["DESCRIPTION"]) == text
    assert str(event["LOCATION"]) == text
    assert "URL" not in event
    assert event["ORGANIZER"].params["CN"] == "Équipe, Nord"
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_escapes_follow_rfc_5545() -> None:
    data = build(title="a,b;c\\d\ne")
    unfolded = data.replace(b"\r\n ", b"")
    assert b"SUMMARY:a\\,b\\;c\\\\d\\ne\r\n" in unfolded


@pytest.mark.parametrize(
    ("where", "url"),
    [
        ("https://meet.example.org/data-needs", "https://meet.example.org/data-needs"),
        ("  http://zoom.example/j/123  ", "http://zoom.example/j/123"),
        ("Room 204, 1 Main St., Halifax", None),
    ],
)
def test_video_link_is_url_and_location(where: str, url: str | None) -> None:
    _, event = parse(build(location_or_url=where))
    assert str(event["LOCATION"]) == where
    assert (str(event["URL"]) if "URL" in event else None) == url


def test_organiser_address_can_be_given() -> None:
    _, event = parse(build(organiser_address="mailto:research@example.org"))
    assert event["ORGANIZER"] == "mailto:research@example.org"


def test_same_input_same_bytes() -> None:
    assert build() == build()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start_utc": datetime(2027, 3, 15, 14)}, "start_utc must be an aware datetime"),
        ({"stamp_utc": datetime(2027, 3, 1)}, "stamp_utc must be an aware datetime"),
        ({"duration": timedelta(0)}, "a session must last a positive time, not 0:00:00"),
        ({"sequence": -1}, "sequence starts at 0, not -1"),
    ],
)
def test_bad_arguments(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**changes)


@pytest.mark.parametrize(
    ("cancelled", "expected"),
    [
        (False, "text/calendar; charset=utf-8; method=REQUEST"),
        (True, "text/calendar; charset=utf-8; method=CANCEL"),
    ],
)
def test_content_type(cancelled: bool, expected: str) -> None:
    assert content_type(cancelled) == expected
