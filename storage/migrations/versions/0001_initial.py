"""The first schema: people, questionnaires, runs, answers, inbound ids and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported from `storage.models`, so this file keeps
describing the schema it created when the models move on. `DateTime(timezone=True)` is
`timestamptz` on PostgreSQL and a plain DATETIME on SQLite, which is exactly what
`storage.types.UTCDateTime` stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _big_id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


_ANSWER_STATES = "state IN ('answered', 'skipped', 'not_applicable')"


def upgrade() -> None:
    op.create_table(
        "stakeholders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=True),
        sa.Column("organisation_type", sa.String(100), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_stakeholders"),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"],
            ["stakeholders.id"],
            name="fk_identities_stakeholder_id_stakeholders",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("platform", "external_id", name="uq_identities_platform_external_id"),
    )
    op.create_index("ix_identities_stakeholder_id", "identities", ["stakeholder_id"])
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
        _when("loaded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_questionnaires"),
        sa.UniqueConstraint("key", "version", name="uq_questionnaires_key_version"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(128), nullable=False),
        sa.Column("questionnaire_version", sa.String(64), nullable=False),
        sa.Column("wave", sa.String(64), server_default="main", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("completed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"], ["stakeholders.id"], name="fk_runs_stakeholder_id_stakeholders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint(
            "stakeholder_id",
            "questionnaire_key",
            "wave",
            name="uq_runs_stakeholder_id_questionnaire_key_wave",
        ),
    )
    op.create_table(
        "answers",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        *_answer_columns(),
        _when("updated_at"),
        sa.CheckConstraint(_ANSWER_STATES, name="ck_answers_state"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_answers_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_answers"),
        sa.UniqueConstraint("run_id", "item_id", name="uq_answers_run_id_item_id"),
    )
    op.create_table(
        "answer_history",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        *_answer_columns(),
        _when("recorded_at"),
        sa.Column("event_id", sa.String(200), nullable=True),
        sa.CheckConstraint(_ANSWER_STATES, name="ck_answer_history_state"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_answer_history_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_answer_history"),
    )
    op.create_index("ix_answer_history_run_id_item_id", "answer_history", ["run_id", "item_id"])
    op.create_table(
        "inbound_events",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        _when("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_events"),
        sa.UniqueConstraint("platform", "event_id", name="uq_inbound_events_platform_event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _when("not_before"),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_outbox_status"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_outbox_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])


def _answer_columns() -> list[sa.Column[Any]]:
    """The columns `answers` and `answer_history` share, in table order."""
    return [
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("value", _json(), nullable=True),
        sa.Column("display", sa.Text(), nullable=False),
        sa.Column("other_text", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("questionnaire_version", sa.String(64), nullable=False),
        _when("answered_at"),
    ]


def downgrade() -> None:
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbound_events")
    op.drop_index("ix_answer_history_run_id_item_id", table_name="answer_history")
    op.drop_table("answer_history")
    op.drop_table("answers")
    op.drop_table("runs")
    op.drop_table("questionnaires")
    op.drop_index("ix_identities_stakeholder_id", table_name="identities")
    op.drop_table("identities")
    op.drop_table("stakeholders")
