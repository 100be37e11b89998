"""Calendar files (.ics, RFC 5545) for discussion groups, in each invitee's own time zone.

An invitee opens the file and the session lands in their calendar at the right time. Times
are written as local wall times in the invitee's zone with a VTIMEZONE describing that
zone, so a calendar app shows the zone's name and converts to its own zone correctly,
even one without a time-zone database (some phones and web mail).

The VTIMEZONE is built here from zoneinfo's transitions rather than with icalendar's
`Timezone.from_tzinfo`: in icalendar 7.3.2 that writes a spring-forward onset as 03:00
instead of 02:00 (RFC 5545 section 3.6.5 wants the onset in the offset *before* the change),
so a reader relying on the VTIMEZONE puts the hour after the change an hour off. The
icalendar library still does everything else: property encoding, text escaping (commas,
semicolons, backslashes, newlines) and folding lines at 75 octets.

Updates follow RFC 5546: the same UID for the life of the session, SEQUENCE bumped by the
caller on every reschedule, METHOD:CANCEL with STATUS:CANCELLED when it is called off.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from bot.timing import transitions

__all__ = ["NO_REPLY_ORGANISER", "PRODID", "content_type", "session_ics", "vtimezone"]

PRODID = "-//Parley//Discussion groups//EN"

NO_REPLY_ORGANISER = "mailto:noreply@parley.invalid"
"""RFC 5546 requires an ORGANIZER on REQUEST and CANCEL. Invitees answer with chat buttons,
not by mail, so the default address is under the reserved `.invalid` domain: the name shows,
and a calendar's "reply" goes nowhere rather than to a stranger."""


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment.isoformat()}")
    return moment.astimezone(UTC)


def _year_start(moment: datetime, zone: ZoneInfo, years_later: int = 0) -> datetime:
    """Midnight of 1 January (local) of the moment's local year, plus some years, in UTC."""
    year = moment.astimezone(zone).year + years_later
    return datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)


def _observance(
    onset_utc: datetime, offset_from: timedelta, zone: ZoneInfo
) -> TimezoneStandard | TimezoneDaylight:
    """One STANDARD or DAYLIGHT block starting at an instant, onset written in the old offset."""
    local = onset_utc.astimezone(zone)
    block = TimezoneDaylight() if local.dst() else TimezoneStandard()
    block.add("DTSTART", (onset_utc + offset_from).replace(tzinfo=None))
    block.add("TZOFFSETFROM", offset_from)
    block.add("TZOFFSETTO", local.utcoffset())
    block.add("TZNAME", local.tzname() or zone.key)
    return block


def vtimezone(zone: ZoneInfo, first_utc: datetime, last_utc: datetime) -> Timezone:
    """A VTIMEZONE for `zone` valid from `first_utc` to `last_utc` (one block per change).

    Covering just the years of the event keeps the file small; the first block states the
    offset in force at `first_utc`, so a zone without DST (America/Regina) has one block.
    """
    first, last = _aware(first_utc, "first_utc"), _aware(last_utc, "last_utc")
    component = Timezone()
    component.add("TZID", zone.key)
    start_offset = first.astimezone(zone).utcoffset() or timedelta()
    component.add_component(_observance(first, start_offset, zone))
    for change in transitions(zone, first, last):
        before = change - timedelta(seconds=1)
        component.add_component(
            _observance(change, before.astimezone(zone).utcoffset() or timedelta(), zone)
        )
    return component


def _second_copy(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether the instant is the second occurrence of a wall time repeated at fall-back."""
    local = instant.astimezone(zone)
    return local.replace(fold=0).astimezone(UTC) != instant


def content_type(cancelled: bool = False) -> str:
    """The MIME type to attach the file with; mail and chat clients read the method from it."""
    return f"text/calendar; charset=utf-8; method={'CANCEL' if cancelled else 'REQUEST'}"


def _is_url(text: str) -> bool:
    return text.strip().lower().startswith(("https://", "http://"))


def session_ics(
    *,
    uid: str,
    title: str,
    start_utc: datetime,
    duration: timedelta,
    organiser_name: str,
    location_or_url: str,
    description: str,
    attendee_zone: ZoneInfo,
    stamp_utc: datetime,
    sequence: int = 0,
    cancelled: bool = False,
    organiser_address: str = NO_REPLY_ORGANISER,
) -> bytes:
    """The .ics for one discussion-group session as one invitee should see it.

    `uid` must stay the same for the session's whole life (reschedules and cancellation
    replace the entry instead of adding one); `sequence` goes up by one with each change.
    `stamp_utc` is when this version was made (DTSTAMP); it is passed in because this
    module reads no clock. A video link becomes both URL and LOCATION, because several
    apps show only LOCATION; a place becomes LOCATION only.
    """
    start = _aware(start_utc, "start_utc")
    if duration <= timedelta():
        raise ValueError(f"a session must last a positive time, not {duration}")
    if sequence < 0:
        raise ValueError(f"sequence starts at 0, not {sequence}")
    end = start + duration
    organiser = vCalAddress(organiser_address)
    organiser.params["CN"] = organiser_name

    event = Event()
    event.add("UID", uid)
    event.add("DTSTAMP", _aware(stamp_utc, "stamp_utc"))
    event.add("SEQUENCE", sequence)
    # RFC 5545 (3.3.5) reads a repeated wall time as its first occurrence: a time in the
    # second copy of the fall-back hour cannot be written as a wall time, so use UTC.
    shown_in: tzinfo = attendee_zone
    if _second_copy(start, attendee_zone) or _second_copy(end, attendee_zone):
        shown_in = UTC
    event.add("DTSTART", start.astimezone(shown_in))
    event.add("DTEND", end.astimezone(shown_in))
    event.add("SUMMARY", title)
    event.add("DESCRIPTION", description)
    event.add("LOCATION", location_or_url)
    if _is_url(location_or_url):
        event.add("URL", location_or_url.strip())
    event.add("ORGANIZER", organiser)
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")

    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(event)
    if calendar.get_missing_tzids():  # none when the zone is UTC itself: written as ...Z
        zone_block = vtimezone(
            attendee_zone, _year_start(start, attendee_zone), _year_start(end, attendee_zone, 1)
        )
        calendar.subcomponents.insert(0, zone_block)
    body: bytes = calendar.to_ical()
    return body
