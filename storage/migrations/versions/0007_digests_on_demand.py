"""On-demand digests and the language a digest was written in (#6).

`parley digest --post`, `/digest` and `/parley digest` post a digest outside the schedule.
They are stored like scheduled ones (where, when, the numbers shown), so "since the last
digest" counts them, but they must not look like schedule occurrences: the schedule
continues after the last `done`/`missed` row. Two more statuses say so:

- `requested`: a researcher asked in chat; the running Parley builds and posts it;
- `on_demand`: posted (its `summary` holds the numbers shown).

`language` is the language the digest is (to be) written in. Batch mode rebuilds the
small `digests` table on SQLite, which cannot alter a CHECK constraint; nothing references
it. On PostgreSQL the constraint is altered in place. The downgrade deletes on-demand
rows (the old constraint has no word for them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('done', 'missed', 'started')"
_NEW = "status IN ('done', 'missed', 'started', 'requested', 'on_demand')"
_CHECK = "ck_digests_status"
"""What the model's naming convention calls the constraint."""
_CHECK_0005 = "ck_digests_ck_digests_status"
"""What 0005 made: its name went through the naming convention once more."""


def upgrade() -> None:
    _replace_check(_NEW, _CHECK_0005, _CHECK)
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM digests WHERE status IN ('requested', 'on_demand')"))
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("language")
    _replace_check(_OLD, _CHECK, _CHECK_0005)


def _replace_check(condition: str, old: str, new: str) -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(new), condition)
