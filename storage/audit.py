"""The audit log: one row per researcher action, written in the action's own transaction.

`record` is called where the action happens, before its unit of work commits: an action
that fails or is rolled back (a savepoint undone after a refusal) takes its row with it,
so the log never says "done" for what was not. A refusal by role is recorded as the
action `refused`. Rows are only ever added.

`details` is plain JSON of ids, counts and options. Callers pass no stakeholder names,
e-mails or answers; strings are clipped so a long argument cannot bloat the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry

__all__ = ["CHANNELS", "MAX_TEXT", "channel_of", "entries", "record"]

CHANNELS = ("cli", "telegram", "slack", "settings")
"""Where an action came from; `settings` is `PARLEY_RESEARCHERS` seeded at start-up."""
MAX_TEXT = 200
"""Longest string kept in `details`."""

Details = Mapping[str, Any]


def record(
    session: Session,
    actor: str,
    action: str,
    details: Details,
    channel: str,
    now: datetime,
) -> None:
    """Add one row: `actor` (`slack:U0123`, `cli:ann`) did `action` with `details`."""
    session.execute(
        insert(AuditEntry).values(
            at=now,
            actor=actor[:MAX_TEXT],
            channel=channel,
            action=action,
            details=_plain(dict(details)),
        )
    )


def channel_of(actor: str) -> str:
    """`telegram:11` → `telegram`, `cli:ann` → `cli`: an actor names where it acted from."""
    head = actor.split(":", 1)[0]
    return head if head in CHANNELS else "cli"


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Rows oldest first. `actor` matches exactly or as a prefix (`cli`, `slack`);
    `action` too (`group` matches `group.create` and `group.poll.confirm`)."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if actor:
        query = query.where(
            or_(
                AuditEntry.actor == actor, AuditEntry.actor.startswith(f"{actor}:", autoescape=True)
            )
        )
    if action:
        query = query.where(
            or_(
                AuditEntry.action == action,
                AuditEntry.action.startswith(f"{action}.", autoescape=True),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _plain(value: Any) -> Any:
    """JSON-safe and short: strings clipped, tuples as lists, anything else as text."""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k)[:MAX_TEXT]: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)[:MAX_TEXT]
