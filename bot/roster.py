"""`parley roster import`: a CSV of stakeholders in, one line per problem out.

Columns: name, organisation, organisation_type, region, language, time_zone, email,
slack_id (optional). Rows are matched on e-mail (else name + organisation), so importing
an updated roster updates people instead of duplicating them.

An empty time_zone is allowed: the person is then asked once (`bot.time_zones`) and
timed in the research team's zone until they answer. Re-importing a row with an empty
zone keeps the zone someone already has (given in the roster or by their answer).
"""

from __future__ import annotations

import contextlib
import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.errors import LoadError
from storage import repository
from storage.errors import IdentityTaken
from storage.models import Stakeholder

__all__ = ["COLUMNS", "RosterEntry", "RosterError", "import_roster", "read_roster"]

COLUMNS = ("name", "organisation", "organisation_type", "region", "language", "time_zone", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class RosterError(Exception):
    def __init__(self, errors: list[LoadError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class RosterEntry:
    name: str
    organisation: str | None
    organisation_type: str | None
    region: str | None
    language: str
    time_zone: str
    """An IANA zone, or "" when the roster left it empty (asked once, later)."""
    email: str | None
    slack_id: str | None


def read_roster(path: Path, languages: tuple[str, ...]) -> list[RosterEntry]:
    """Parse and validate the whole file first: nothing is imported unless every row is valid."""
    origin = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError([LoadError(origin, None, "", f"cannot read roster: {exc}")]) from exc
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RosterError([LoadError(origin, 1, "", f"missing columns: {', '.join(missing)}")])
    errors: list[LoadError] = []
    entries = [_entry(origin, line, row, languages, errors) for line, row in enumerate(rows, 2)]
    if errors:
        raise RosterError(errors)
    return [e for e in entries if e is not None]


def _entry(
    origin: str, line: int, row: dict[str, str], languages: tuple[str, ...], errors: list[LoadError]
) -> RosterEntry | None:
    def value(column: str) -> str | None:
        text = (row.get(column) or "").strip()
        return text or None

    def problem(column: str, reason: str) -> None:
        errors.append(LoadError(origin, line, column, reason))

    name, language, zone, email = (
        value("name"),
        value("language"),
        value("time_zone"),
        value("email"),
    )
    slack_id = value("slack_id")
    if name is None:
        problem("name", "required")
    if language not in languages:
        problem("language", f"{language!r} is not one of {', '.join(languages)}")
    if zone is not None and not _is_zone(zone):
        problem("time_zone", f"unknown time zone {zone!r} (use e.g. America/Toronto)")
    if email is not None and not _EMAIL.match(email):
        problem("email", f"not an e-mail address: {email!r}")
    if slack_id is not None and not _SLACK_ID.match(slack_id):
        problem("slack_id", f"not a Slack user id: {slack_id!r}")
    if name is None or language is None:
        return None
    return RosterEntry(
        name=name,
        organisation=value("organisation"),
        organisation_type=value("organisation_type"),
        region=value("region"),
        language=language,
        time_zone=zone or "",
        email=email,
        slack_id=slack_id,
    )


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def import_roster(session: Session, entries: list[RosterEntry], now: datetime) -> tuple[int, int]:
    """Insert new people and update known ones; returns (created, updated)."""
    created = updated = 0
    for entry in entries:
        existing = _existing(session, entry)
        if existing is None:
            existing = repository.create_stakeholder(
                session,
                name=entry.name,
                language=entry.language,
                time_zone=entry.time_zone,
                organisation=entry.organisation,
                organisation_type=entry.organisation_type,
                region=entry.region,
                email=entry.email,
                now=now,
            )
            created += 1
        else:
            _update(existing, entry)
            updated += 1
        if entry.slack_id:
            _link_slack(session, existing.id, entry.slack_id, now)
    session.flush()
    return created, updated


def _link_slack(session: Session, stakeholder_id: int, slack_id: str, now: datetime) -> None:
    """Link the roster's Slack id, unless that account already belongs to someone."""
    if repository.stakeholder_for_identity(session, "slack", slack_id) is None:
        with contextlib.suppress(IdentityTaken):
            repository.link_identity(session, stakeholder_id, "slack", slack_id, now=now)


def _existing(session: Session, entry: RosterEntry) -> Stakeholder | None:
    if entry.email is not None:
        query = select(Stakeholder).where(Stakeholder.email == entry.email)
    else:
        query = select(Stakeholder).where(
            Stakeholder.name == entry.name, Stakeholder.organisation == entry.organisation
        )
    return session.scalars(query).first()


def _update(stakeholder: Stakeholder, entry: RosterEntry) -> None:
    stakeholder.name = entry.name
    stakeholder.organisation = entry.organisation
    stakeholder.organisation_type = entry.organisation_type
    stakeholder.region = entry.region
    stakeholder.language = entry.language
    if entry.time_zone:
        stakeholder.time_zone = entry.time_zone
    stakeholder.email = entry.email
