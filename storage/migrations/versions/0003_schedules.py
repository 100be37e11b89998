"""Follow-up check-ins and scheduled sends (follow-ups and nudges), rows first (#5).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _big_id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(128), nullable=False),
        sa.Column("questionnaire_version", sa.String(64), nullable=False),
        sa.Column("wave", sa.String(40), nullable=False),
        sa.Column("cohort", _json(), nullable=False),
        sa.Column("schedule", _json(), nullable=False),
        _when("created_at"),
        _when("cancelled_at", nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    op.create_table(
        "scheduled_sends",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _when("due_at"),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        _when("created_at"),
        _when("done_at", nullable=True),
        sa.CheckConstraint("kind IN ('followup', 'nudge')", name="ck_scheduled_sends_kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'missed', 'cancelled')",
            name="ck_scheduled_sends_status",
        ),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"],
            ["stakeholders.id"],
            name=op.f("fk_scheduled_sends_stakeholder_id_stakeholders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_sends")),
        sa.UniqueConstraint(
            "kind",
            "ref_id",
            "stakeholder_id",
            "number",
            name=op.f("uq_scheduled_sends_kind_ref_id_stakeholder_id_number"),
        ),
    )
    op.create_index(
        op.f("ix_scheduled_sends_status_due_at"), "scheduled_sends", ["status", "due_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_sends_status_due_at"), table_name="scheduled_sends")
    op.drop_table("scheduled_sends")
    op.drop_table("followups")
