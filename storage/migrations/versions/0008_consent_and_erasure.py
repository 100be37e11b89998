"""Consent ledger, STOP and withdrawal (#7).

- `consents`: one row per agreement or decline of a questionnaire's consent text: who,
  which questionnaire, which text version, in which language, when, through which channel.
  A stakeholder who agreed to an older version is asked again.
- `withdrawals`: the receipt of a `/withdraw`: a random code the stakeholder is given and a
  researcher can look up, when, and what was erased or detached (counts and modes only:
  no stakeholder id, no personal data, so the receipt cannot be traced back to a person).
- `stakeholders.stopped_at`: set by STOP, cleared by /start; nothing that is not a reply
  is sent while it is set. `stakeholders.withdrawn_at`: set by a confirmed withdrawal.
- `outbox.status` gains `cancelled`: a pending message to someone who stopped is kept as
  cancelled rather than sent (0001 named its CHECK through the naming convention twice;
  like 0007, the rebuilt one takes the model's name).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTBOX_OLD = "status IN ('pending', 'sent', 'failed')"
_OUTBOX_NEW = "status IN ('pending', 'sent', 'failed', 'cancelled')"
_OUTBOX_CHECK_0001 = "ck_outbox_ck_outbox_status"
_OUTBOX_CHECK = "ck_outbox_status"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("stakeholders") as batch:
        batch.add_column(_when("stopped_at", nullable=True))
        batch.add_column(_when("withdrawn_at", nullable=True))
    _create_consents()
    _create_withdrawals()
    _replace_outbox_check(_OUTBOX_NEW, _OUTBOX_CHECK_0001, _OUTBOX_CHECK)


def downgrade() -> None:
    op.execute(sa.text("UPDATE outbox SET status = 'failed' WHERE status = 'cancelled'"))
    _replace_outbox_check(_OUTBOX_OLD, _OUTBOX_CHECK, _OUTBOX_CHECK_0001)
    op.drop_table("withdrawals")
    op.drop_index(op.f("ix_consents_stakeholder_id"), table_name="consents")
    op.drop_table("consents")
    with op.batch_alter_table("stakeholders") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("stopped_at")


def _create_consents() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(128), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        _when("recorded_at"),
        sa.CheckConstraint("decision IN ('agreed', 'declined')", name=op.f("ck_consents_decision")),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"],
            ["stakeholders.id"],
            name=op.f("fk_consents_stakeholder_id_stakeholders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_stakeholder_id"), "consents", ["stakeholder_id"])


def _create_withdrawals() -> None:
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        _when("withdrawn_at"),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("erased", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("code", name=op.f("uq_withdrawals_code")),
    )


def _replace_outbox_check(condition: str, old: str, new: str) -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(new), condition)
