"""An index of the outbox's pending rows, in id order (ix_outbox_pending).

The dispatcher looks for the oldest due rows many times a second under load. Ordered by
id, the planner walks the primary key from the first row ever written, past every row
already sent: with ten thousand sent rows a look took 14 ms, and it grows with the
table's age. The partial index holds only pending rows, so a look reads those alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], postgresql_where=_PENDING, sqlite_where=_PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
