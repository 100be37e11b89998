"""Which outbox row asked each live question (message_refs.asked_by).

After "back", the same item is asked again in a new message, which replaces the
question's message ref. A transcript rewrite of the earlier answer that was put off
(Slack allows few `chat.update`s a minute) must not then rewrite the new question: the
dispatcher compares the rewrite's outbox id with the ref's `asked_by` and drops a
rewrite older than the question it would hit. Null for refs stored before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_refs") as batch:
        batch.add_column(sa.Column("asked_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message_refs") as batch:
        batch.drop_column("asked_by")
