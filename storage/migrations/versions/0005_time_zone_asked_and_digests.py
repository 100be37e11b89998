"""The time-zone question's flag and the digests table, instead of marks in inbound_events (#5).

Before this, "asked their zone" and "this digest occurrence was handled" were fake
platform events (platform `parley`) in `inbound_events`, which is for deduplicating
Telegram and Slack deliveries: counts of that table were wrong. The marks are moved:

- `tz-question:<stakeholder id>` → `stakeholders.time_zone_asked_at` (its `received_at`);
- `digest:<UTC instant>` → a `digests` row `done`, or `missed` if `digest-missed:<instant>`
  was recorded too;
- `digest-since` → a `digests` row `started` at its `received_at`,

and deleted. The downgrade writes them back, so either direction keeps what was asked
and which occurrences were handled.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MARKS = "parley"
_ASKED = "tz-question:"
_HANDLED = "digest:"
_MISSED = "digest-missed:"
_SINCE = "digest-since"
_KEY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Only the columns this migration reads or writes, as they are at this revision.
_events = sa.table(
    "inbound_events",
    sa.column("platform", sa.String),
    sa.column("event_id", sa.String),
    sa.column("received_at", sa.DateTime(timezone=True)),
)
_people = sa.table(
    "stakeholders",
    sa.column("id", sa.Integer),
    sa.column("time_zone_asked_at", sa.DateTime(timezone=True)),
)
_digests = sa.table(
    "digests",
    sa.column("due_at", sa.DateTime(timezone=True)),
    sa.column("status", sa.String),
    sa.column("handled_at", sa.DateTime(timezone=True)),
)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _read(value: datetime) -> datetime:
    """A stored instant as aware UTC (SQLite keeps the naive UTC wall time)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored(value: datetime) -> datetime:
    """An aware UTC instant as `storage.types.UTCDateTime` stores it on this backend."""
    return value if op.get_bind().dialect.name == "postgresql" else value.replace(tzinfo=None)


def _key(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):{_KEY_FORMAT}}"


def _marks(prefix: str) -> dict[str, datetime]:
    """The marks whose id starts with `prefix`: the rest of the id → when it was made."""
    found = op.get_bind().execute(
        sa.select(_events.c.event_id, _events.c.received_at).where(
            _events.c.platform == _MARKS, _events.c.event_id.like(f"{prefix}%")
        )
    )
    return {event_id.removeprefix(prefix): _read(at) for event_id, at in found}


def _move_marks_out() -> None:
    bind = op.get_bind()
    for person, asked in _marks(_ASKED).items():
        if person.isdigit():
            bind.execute(
                _people.update()
                .where(_people.c.id == int(person), _people.c.time_zone_asked_at.is_(None))
                .values(time_zone_asked_at=_stored(asked))
            )
    missed = _marks(_MISSED)
    rows = [
        {
            "due_at": _stored(datetime.strptime(key, _KEY_FORMAT).replace(tzinfo=UTC)),
            "status": "missed" if key in missed else "done",
            "handled_at": _stored(handled),
        }
        for key, handled in _marks(_HANDLED).items()
    ]
    since = _marks(_SINCE).get("")
    if since is not None and _stored(since) not in {row["due_at"] for row in rows}:
        rows.append({"due_at": _stored(since), "status": "started", "handled_at": _stored(since)})
    if rows:
        bind.execute(_digests.insert(), rows)
    bind.execute(_events.delete().where(_events.c.platform == _MARKS))


def _move_marks_back() -> None:
    bind = op.get_bind()
    marks: list[dict[str, Any]] = [
        {"platform": _MARKS, "event_id": f"{_ASKED}{person}", "received_at": asked}
        for person, asked in bind.execute(
            sa.select(_people.c.id, _people.c.time_zone_asked_at).where(
                _people.c.time_zone_asked_at.is_not(None)
            )
        )
    ]
    for due, status, handled in bind.execute(
        sa.select(_digests.c.due_at, _digests.c.status, _digests.c.handled_at).order_by(
            _digests.c.due_at.desc()
        )
    ):
        key = _key(_read(due))
        if status == "started":
            marks.append({"platform": _MARKS, "event_id": _SINCE, "received_at": due})
            continue
        marks.append({"platform": _MARKS, "event_id": f"{_HANDLED}{key}", "received_at": handled})
        if status == "missed":
            marks.append(
                {"platform": _MARKS, "event_id": f"{_MISSED}{key}", "received_at": handled}
            )
    unique = {mark["event_id"]: mark for mark in marks}  # one `digest-since`: the earliest
    if unique:
        bind.execute(_events.insert(), sorted(unique.values(), key=lambda m: m["event_id"]))


def upgrade() -> None:
    # Plain ALTERs, not batch mode: SQLite (3.35+) adds and drops a plain column in place,
    # while a batch copy would drop and rename `stakeholders`, which other tables reference.
    op.add_column("stakeholders", _when("time_zone_asked_at", nullable=True))
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        _when("due_at"),
        sa.Column("status", sa.String(16), nullable=False),
        _when("handled_at"),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("address", sa.String(200), nullable=True),
        sa.Column("summary", _json(), nullable=True),
        sa.CheckConstraint("status IN ('done', 'missed', 'started')", name="ck_digests_status"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("due_at", name=op.f("uq_digests_due_at")),
    )
    _move_marks_out()


def downgrade() -> None:
    _move_marks_back()
    op.drop_table("digests")
    op.drop_column("stakeholders", "time_zone_asked_at")
