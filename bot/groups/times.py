"""How a session's time is shown: to invitees in their own zone and language, to the
researcher in the zone they asked for."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.time_zones import zone_for
from bot.timing import parse_zone
from conversations.catalog import translate
from storage.models import Stakeholder


def when_text(start: datetime, minutes: int, zone: ZoneInfo, language: str) -> str:
    """Day, date, start and end of a session in `zone`, worded in `language`."""
    local = start.astimezone(zone)
    finish = (start + timedelta(minutes=minutes)).astimezone(zone)
    return translate(
        "group.when",
        language,
        weekday=translate(f"weekday.{local.weekday()}", language),
        date=local.date().isoformat(),
        start=f"{local:%H:%M}",
        end=f"{finish:%H:%M}",
        zone=zone.key,
    )


def seen_by(person: Stakeholder, researcher_zone: str) -> ZoneInfo:
    """The invitee's zone; someone who never gave one sees the session's (researcher's) zone."""
    return zone_for(person, parse_zone(researcher_zone))


def in_zone(instant: datetime, zone: ZoneInfo) -> str:
    """An instant as the researcher reads it in results: date, time and zone name."""
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"
