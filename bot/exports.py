"""Exports as researchers ask for them: options checked, the database read, tables built.

Shared by `parley export` and, later, a chat command: everything takes the caller's
`Session` and plain arguments. Bad input raises `ExportError`, one line naming the
option, before anything is read. An identified export (names and organisations) is
allowed only to a researcher and is logged, with who asked and where it went.

The only write is the pseudonym key of a database that was built without migrations
(`storage.instance_secrets`); the caller commits it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analytics.export import (
    ExportError,
    ExportRequest,
    ExportTables,
    FileFormat,
    Shape,
    check_allowed,
    export_tables,
    merge_waves,
)
from analytics.frames import load_frames
from bot.timing import TimingError, local_to_utc
from conversations.loading import questionnaire_from_definition
from conversations.questionnaire import Questionnaire
from storage import exports
from storage.instance_secrets import PSEUDONYM_KEY, instance_secret

__all__ = [
    "log_identified",
    "parse_format",
    "parse_shape",
    "parse_since",
    "prepare_export",
    "questionnaire_key",
]

log = logging.getLogger("parley.export")


def parse_shape(text: str) -> Shape:
    try:
        return Shape(text.strip().lower())
    except ValueError:
        raise ExportError(f"--shape: '{text}' is not long or wide") from None


def parse_format(text: str | None, output: Path | None) -> FileFormat:
    """`--format`, else the output's suffix, else CSV; a contradicting suffix is refused."""
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    if text is None:
        return FileFormat(suffix) if suffix in set(FileFormat) else FileFormat.CSV
    try:
        chosen = FileFormat(text.strip().lower())
    except ValueError:
        raise ExportError(f"--format: '{text}' is not csv or xlsx") from None
    if suffix in set(FileFormat) and suffix != chosen:
        raise ExportError(f"--output: {output} does not end in .{chosen.value} (--format {chosen})")
    return chosen


def parse_since(text: str, zone: ZoneInfo) -> datetime:
    """`2027-01-15` (the start of that day) or `2027-01-15 09:30`, in `zone`; UTC out."""
    day_text, _, clock_text = text.strip().replace("T", " ").partition(" ")
    try:
        day = date.fromisoformat(day_text)
        at = time.fromisoformat(clock_text.strip()) if clock_text.strip() else time(0, 0)
        return local_to_utc(day, at, zone)
    except TimingError as error:
        raise ExportError(f"--since: {error}") from None
    except ValueError:
        raise ExportError(
            f"--since: '{text}' is not a date (use 2027-01-15 or 2027-01-15 09:30)"
        ) from None


def prepare_export(session: Session, request: ExportRequest, now: datetime) -> ExportTables:
    """The tables of an export (see `analytics.export`), read in the caller's transaction."""
    check_allowed(request)
    versions = _versions(session, request.questionnaire, request.version)
    waves = exports.waves_of(session, request.questionnaire) or ["main"]
    frames = merge_waves([load_frames(session, request.questionnaire, w) for w in waves])
    key = instance_secret(session, PSEUDONYM_KEY, now)
    return export_tables(frames, versions, request, key)


def questionnaire_key(session: Session, wanted: str | None) -> str:
    """The questionnaire to export: the one named, or the only one stored."""
    known = exports.questionnaire_keys(session)
    if wanted is not None and wanted in known:
        return wanted
    if not known:
        raise ExportError("--questionnaire: no questionnaire is stored yet (parley run stores it)")
    listed = ", ".join(known)
    if wanted is not None:
        raise ExportError(f"--questionnaire: no questionnaire '{wanted}' is stored ({listed})")
    if len(known) != 1:
        raise ExportError(f"--questionnaire: name one of the stored questionnaires ({listed})")
    return known[0]


def log_identified(request: ExportRequest, who: str, where: Path) -> None:
    """Leave a trace of every export that names people."""
    if request.identified:
        log.warning(
            "identified export (names and organisations) of %s by %s to %s",
            request.questionnaire,
            who,
            where,
        )


def _versions(session: Session, key: str, version: str | None) -> list[Questionnaire]:
    stored = exports.stored_versions(session, key)
    if version is not None:
        stored = [row for row in stored if row.version == version]
        if not stored:
            known = ", ".join(r.version for r in exports.stored_versions(session, key))
            raise ExportError(f"--version: {key} has no version '{version}' (stored: {known})")
    return [
        questionnaire_from_definition(row.definition, f"database:{key}@{row.version}")
        for row in stored
    ]
