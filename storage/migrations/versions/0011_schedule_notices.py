"""Scheduled sends notify the elected scheduler (#8).

A researcher's follow-up or discussion group made in a web process (a chat command) or
by the CLI writes `scheduled_sends` rows; the scheduler elected in another process
needs a job for each. On PostgreSQL a statement trigger says `NOTIFY parley_schedules`
(payload: the schema), delivered at commit, so the jobs are added at once rather than
at the next 15-minute sweep. SQLite runs one process, which adds them itself.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION parley_schedules_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_schedules', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_TRIGGER = """
CREATE TRIGGER scheduled_sends_notify AFTER INSERT ON scheduled_sends
FOR EACH STATEMENT EXECUTE FUNCTION parley_schedules_notify()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS scheduled_sends_notify ON scheduled_sends")
        op.execute("DROP FUNCTION IF EXISTS parley_schedules_notify()")
