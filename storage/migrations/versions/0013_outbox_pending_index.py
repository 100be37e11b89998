"""The outbox's pending and failed rows get partial indexes in id order; the index on
(status, not_before) goes.

The dispatcher looks for the oldest due rows many times a second under load. Ordered by
id, the planner walked the primary key from the first row ever written, past every row
already sent: with ten thousand sent rows a look took 14 ms, and it grows with the
table's age. With (status, not_before) it could instead fetch every due pending row and
sort them all, which it chose whenever the table's statistics were not gathered yet (a
new table, a burst): 30-70 ms per look with a few thousand rows waiting. The partial
index `ix_outbox_pending` holds only pending rows, already in the order a look wants
them, so a look reads the rows it takes and the few it skips; failed rows (for
`parley status`) get their own. Sent rows, nearly all of the table, are in neither.

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


_FAILED = sa.text("status = 'failed'")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_pending", "outbox", ["id"], postgresql_where=_PENDING, sqlite_where=_PENDING
    )
    op.create_index(
        "ix_outbox_failed", "outbox", ["id"], postgresql_where=_FAILED, sqlite_where=_FAILED
    )
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.drop_index("ix_outbox_failed", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
