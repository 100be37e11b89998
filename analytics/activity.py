"""Beyond the answers: upcoming discussion groups with their RSVPs, and delivery health.

Two small Core queries, read in the digest's transaction (`analytics.digest`). Delivery
counts the outbox rows created since the previous digest (all of them for the first):
`retries` are attempts after the first; `rate_limited` the rows whose last error is a
platform's rate limit (Slack "ratelimited", Telegram "Flood control … Retry in", 429).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from analytics.model import DeliveryHealth, UpcomingGroup
from storage.models import DiscussionGroup, GroupInvitee, OutboxRow

__all__ = ["RATE_LIMIT_MARKERS", "delivery_health", "upcoming_groups"]

RATE_LIMIT_MARKERS = ("ratelimited", "rate limit", "flood control", "retry in", "429")


def upcoming_groups(connection: Connection, now: datetime) -> tuple[UpcomingGroup, ...]:
    """Scheduled groups that have not started, soonest first, with RSVP counts."""
    table = DiscussionGroup
    groups = connection.execute(
        sa.select(table.id, table.title, table.start_at, table.time_zone, table.capacity)
        .where(DiscussionGroup.status == "scheduled", DiscussionGroup.start_at > now)
        .order_by(DiscussionGroup.start_at, DiscussionGroup.id)
    ).all()
    counts = _responses(connection, [g.id for g in groups])
    return tuple(_group(row, counts.get(row.id, {})) for row in groups)


def _responses(connection: Connection, group_ids: list[int]) -> dict[int, dict[str, int]]:
    if not group_ids:
        return {}
    rows = connection.execute(
        sa.select(GroupInvitee.group_id, GroupInvitee.response, sa.func.count())
        .where(GroupInvitee.group_id.in_(group_ids))
        .group_by(GroupInvitee.group_id, GroupInvitee.response)
    )
    counts: dict[int, dict[str, int]] = {}
    for group_id, response, count in rows:
        counts.setdefault(group_id, {})[response] = count
    return counts


def _group(row: Any, counts: dict[str, int]) -> UpcomingGroup:
    return UpcomingGroup(
        group_id=row.id,
        title=row.title,
        start_at=row.start_at,
        time_zone=row.time_zone,
        capacity=row.capacity,
        yes=counts.get("yes", 0),
        maybe=counts.get("maybe", 0),
        no=counts.get("no", 0),
        waitlisted=counts.get("waitlisted", 0),
        no_reply=counts.get("none", 0),
    )


def delivery_health(connection: Connection, since: datetime | None) -> DeliveryHealth:
    error = sa.func.lower(sa.func.coalesce(OutboxRow.last_error, ""))
    limited = sa.or_(*(error.contains(marker) for marker in RATE_LIMIT_MARKERS))
    extra = sa.case((OutboxRow.attempts > 1, OutboxRow.attempts - 1), else_=0)
    statement = sa.select(
        _count(OutboxRow.status == "sent"),
        _count(OutboxRow.status == "pending"),
        _count(OutboxRow.status == "failed"),
        _count(OutboxRow.attempts > 1),
        sa.func.coalesce(sa.func.sum(extra), 0),
        _count(limited),
    )
    if since is not None:
        statement = statement.where(OutboxRow.created_at > since)
    sent, pending, failed, retried, retries, limited_count = connection.execute(statement).one()
    return DeliveryHealth(
        int(sent), int(pending), int(failed), int(retried), int(retries), int(limited_count)
    )


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)
