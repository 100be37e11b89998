"""Several processes on one PostgreSQL (#8): who holds each role, and outbox claims.

- `role_holders`: one row per elected role (`scheduler`, `dispatcher:telegram`,
  `dispatcher:slack`): the process holding it (`host:pid`), since when, and its last
  heartbeat. The advisory lock decides who holds a role; this table only reports it
  (`parley status`, `GET /readyz`), so a stale row after a crash is harmless.
- `outbox.claimed_until` / `claimed_by`: a dispatcher claims the rows it is about to
  send (`FOR UPDATE SKIP LOCKED`), so while an old holder has not yet noticed it lost
  its role, two dispatchers never take the same row.
- On PostgreSQL, a statement trigger on outbox inserts says `NOTIFY parley_outbox`
  (payload: the schema), delivered at commit: a dispatcher in another process wakes at
  once for rows written by a web process, the scheduler or the CLI.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION parley_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_outbox', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION parley_outbox_notify()
"""


def upgrade() -> None:
    op.create_table(
        "role_holders",
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_role_holders")),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS parley_outbox_notify()")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("claimed_until")
    op.drop_table("role_holders")
