"""Audit rows for researcher actions whose result says what was done (groups and polls).

The CLI (`bot.group_cli`) and chat (`bot.group_commands`) both call `record_group` right
after the `bot.groups` operation, inside its transaction (or savepoint), so a refused
operation leaves no row. Details are ids, times and counts: no invitee is named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.groups import GroupResult, PollResult
from storage import audit

__all__ = ["record_group"]


def record_group(
    session: Session,
    actor: str,
    action: str,
    result: object,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """`group.create`, `group.reschedule`, `group.cancel`, `group.poll.create`,
    `group.poll.confirm`, by `actor` (`telegram:11`, `cli:ann`)."""
    details: dict[str, Any] = dict(extra or {})
    if isinstance(result, GroupResult):
        details.update(
            group=result.group_id,
            start=result.start_at.isoformat(),
            minutes=result.minutes,
            invited=result.invited,
            notified=result.notified,
        )
    elif isinstance(result, PollResult):
        details.update(poll=result.poll_id, slots=len(result.starts), invited=result.invited)
    audit.record(session, actor, action, details, audit.channel_of(actor), now)
