"""Discussion groups, their invitees (RSVPs) and find-a-time polls; group send kinds (#5).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("followup", "nudge")
_NEW_KINDS = (*_OLD_KINDS, "group_invite", "group_reminder", "poll_invite")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _session_columns() -> list[sa.Column[Any]]:
    """What a group and a poll share: the session as the researcher described it."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("location", sa.String(500), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        _when("created_at"),
    ]


def _set_kinds(kinds: Sequence[str]) -> None:
    # Named as in 0003: the naming convention is applied to the name the same way there.
    with op.batch_alter_table("scheduled_sends") as batch:
        batch.drop_constraint("ck_scheduled_sends_kind", type_="check")
        batch.create_check_constraint("ck_scheduled_sends_kind", _in("kind", kinds))


def upgrade() -> None:
    op.create_table(
        "discussion_groups",
        *_session_columns(),
        _when("start_at"),
        sa.Column("status", sa.String(16), server_default="scheduled", nullable=False),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=True),
        _when("updated_at"),
        sa.CheckConstraint(
            _in("status", ("scheduled", "cancelled")), name="ck_discussion_groups_status"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_groups")),
    )
    op.create_table(
        "group_invitees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("response", sa.String(16), server_default="none", nullable=False),
        _when("updated_at"),
        sa.CheckConstraint(
            _in("response", ("none", "yes", "maybe", "no", "waitlisted")),
            name="ck_group_invitees_response",
        ),
        _fk("group_invitees", "group_id", "discussion_groups"),
        _fk("group_invitees", "stakeholder_id", "stakeholders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_invitees")),
        sa.UniqueConstraint(
            "group_id", "stakeholder_id", name=op.f("uq_group_invitees_group_id_stakeholder_id")
        ),
    )
    op.create_table(
        "group_polls",
        *_session_columns(),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _in("status", ("open", "confirmed", "cancelled")), name="ck_group_polls_status"
        ),
        _fk("group_polls", "group_id", "discussion_groups"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_polls")),
    )
    op.create_table(
        "group_poll_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _when("start_at"),
        _fk("group_poll_slots", "poll_id", "group_polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_poll_slots")),
        sa.UniqueConstraint("poll_id", "number", name=op.f("uq_group_poll_slots_poll_id_number")),
    )
    op.create_table(
        "group_poll_invitees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        _when("submitted_at", nullable=True),
        _fk("group_poll_invitees", "poll_id", "group_polls"),
        _fk("group_poll_invitees", "stakeholder_id", "stakeholders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_poll_invitees")),
        sa.UniqueConstraint(
            "poll_id", "stakeholder_id", name=op.f("uq_group_poll_invitees_poll_id_stakeholder_id")
        ),
    )
    op.create_table(
        "group_poll_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("slot_number", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(8), nullable=False),
        _when("updated_at"),
        sa.CheckConstraint(_in("choice", ("yes", "maybe")), name="ck_group_poll_votes_choice"),
        _fk("group_poll_votes", "poll_id", "group_polls"),
        _fk("group_poll_votes", "stakeholder_id", "stakeholders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_poll_votes")),
        sa.UniqueConstraint(
            "poll_id",
            "stakeholder_id",
            "slot_number",
            name=op.f("uq_group_poll_votes_poll_id_stakeholder_id_slot_number"),
        ),
    )
    _set_kinds(_NEW_KINDS)


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM scheduled_sends WHERE NOT ({_in('kind', _OLD_KINDS)})"))
    _set_kinds(_OLD_KINDS)
    for table in (
        "group_poll_votes",
        "group_poll_invitees",
        "group_poll_slots",
        "group_polls",
        "group_invitees",
        "discussion_groups",
    ):
        op.drop_table(table)
