"""Where log records go, and in what shape: text for a person, JSON lines for a collector (#8).

`PARLEY_LOG_FORMAT=json` makes every record one JSON object on one line: time (ISO 8601
UTC), level, logger, message, pid, the process's role when known, the inbound event's id
when the record was logged while handling one, and the traceback (`exc_info`) as a
string. Several processes then write logs a collector can merge and search by event id.

The event id travels in a `ContextVar` (`HANDLING`) rather than in every log call: the
handling worker sets it once per event (`bot.handling`), which costs a few tens of
nanoseconds, and only a record that is actually emitted reads it. A log call may also
name an event itself with `extra={"event_id": ...}`, which wins.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["FORMATS", "HANDLING", "JsonFormatter", "configure_logging", "event_id_of"]

FORMATS = ("text", "json")

HANDLING: ContextVar[tuple[str, str] | None] = ContextVar("parley_handling", default=None)
"""(platform, event id) of the inbound event being handled on this thread, if any."""


def event_id_of(record: logging.LogRecord) -> str | None:
    """The event a record concerns: its own `event_id` extra, else the one being handled."""
    given = getattr(record, "event_id", None)
    if given is not None:
        return str(given)
    handling = HANDLING.get()
    return None if handling is None else f"{handling[0]}:{handling[1]}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def __init__(self, role: str | None = None) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if self.role:
            document["role"] = self.role
        event_id = event_id_of(record)
        if event_id is not None:
            document["event_id"] = event_id
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exc_info"] = record.exc_text
        if record.stack_info:
            document["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure_logging(
    level: str, log_format: str = "text", *, role: str | None = None, stream: TextIO | None = None
) -> None:
    """Send the root logger's records to `stream` (stderr) at `level`, as text or JSON.

    Replaces any handler configured before, so calling it again (tests) changes the format.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(role))
    else:
        handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
