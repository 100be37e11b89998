"""A per-database secret for pseudonymous exports (#6).

`parley export` names stakeholders by a pseudonym, an HMAC of their id keyed by this
database's own random secret: stable across exports of the same database, unrelated to
the id for anyone without the key, and nothing per stakeholder to backfill or keep in
step. The key is made here, so every migrated database has one before any export; the
downgrade drops it, and pseudonyms made afterwards will differ.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PSEUDONYM_KEY = "pseudonym_key"


def upgrade() -> None:
    table = op.create_table(
        "instance_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_secrets")),
    )
    now = datetime.now(UTC)
    stored = now if op.get_bind().dialect.name == "postgresql" else now.replace(tzinfo=None)
    op.bulk_insert(
        table, [{"name": _PSEUDONYM_KEY, "value": secrets.token_hex(32), "created_at": stored}]
    )


def downgrade() -> None:
    op.drop_table("instance_secrets")
