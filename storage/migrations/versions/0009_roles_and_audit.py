"""Roles and the audit log (#7).

- `role_grants`: a role (`researcher`, `admin`) held by one platform account
  (`slack:U0123`), with where it came from (`cli`, `settings` for `PARLEY_RESEARCHERS`
  seeded at start-up, `chat`), by whom and when. Unique per account and role, so seeding
  twice adds nothing.
- `audit_log`: one append-only row per researcher action: when, who (an account or
  `cli:<os user>`), from which channel, the action and its details (ids and counts).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _big_id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        _when("granted_at"),
        sa.CheckConstraint("role IN ('researcher', 'admin')", name=op.f("ck_role_grants_role")),
        sa.CheckConstraint(
            "source IN ('cli', 'settings', 'chat')", name=op.f("ck_role_grants_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
        sa.UniqueConstraint(
            "platform", "external_id", "role", name=op.f("uq_role_grants_platform_external_id_role")
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _big_id(), nullable=False),
        _when("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("role_grants")
