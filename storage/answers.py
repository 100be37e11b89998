"""Answers: the current one per item, and every change in an append-only history.

`record_answers` is the hot path of every turn, so it speaks Core: one executemany
upsert into `answers` keyed by (run_id, item_id), and one executemany insert into
`answer_history`, whatever the number of answers the step recorded.
`record_answers_many` does the same for a batch of turns, still in two statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, literal_column, select
from sqlalchemy.orm import Session

from conversations.run import StoredAnswer
from storage.models import Answer, AnswerChange
from storage.upsert import Insert, insert_for, table_of

__all__ = [
    "AnswerRecord",
    "answer_history_for_run",
    "answers_for_run",
    "record_answers",
    "record_answers_many",
]

_UPDATED_ON_CONFLICT = (
    "raw",
    "value",
    "display",
    "other_text",
    "state",
    "language",
    "questionnaire_version",
    "answered_at",
    "updated_at",
)


class AnswerRecord(NamedTuple):
    """The answers one turn recorded: the arguments of one `record_answers` call."""

    run_id: int
    answers: Sequence[tuple[str, StoredAnswer]]
    questionnaire_version: str
    event_id: str | None
    now: datetime


def record_answers(
    session: Session,
    run_id: int,
    answers: Sequence[tuple[str, StoredAnswer]],
    questionnaire_version: str,
    event_id: str | None,
    now: datetime,
) -> None:
    """Make these the run's current answers and append each to the history.

    If one item appears twice, the later answer is current and both are history.
    """
    record_answers_many(
        session, [AnswerRecord(run_id, answers, questionnaire_version, event_id, now)]
    )


def record_answers_many(session: Session, records: Sequence[AnswerRecord]) -> None:
    """`record_answers` for several turns, in order, in two statements.

    The same as one `record_answers` call per record: an item answered in two records
    ends with the later answer current (its row keeps the place of the first), and the
    history holds both.
    """
    current: dict[tuple[int, str], dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    for run_id, answers, questionnaire_version, event_id, now in records:
        for item_id, answer in answers:
            row = _row(run_id, item_id, answer, questionnaire_version)
            current[(run_id, item_id)] = {**row, "updated_at": now}
            history.append({**row, "recorded_at": now, "event_id": event_id})
    if not history:
        return
    connection = session.connection()  # Core statements: no ORM state to flush first
    rows = list(current.values())
    connection.execute(_upsert_current(session), rows[0] if len(rows) == 1 else rows)
    connection.execute(_INSERT_HISTORY, history[0] if len(history) == 1 else history)


def answers_for_run(session: Session, run_id: int) -> list[Answer]:
    """The run's current answers, in the order the items were first answered."""
    statement = select(Answer).where(Answer.run_id == run_id).order_by(Answer.id)
    return list(session.scalars(statement))


def answer_history_for_run(session: Session, run_id: int) -> list[AnswerChange]:
    """Every answer the run ever recorded, oldest first."""
    statement = select(AnswerChange).where(AnswerChange.run_id == run_id).order_by(AnswerChange.id)
    return list(session.scalars(statement))


def _row(
    run_id: int, item_id: str, answer: StoredAnswer, questionnaire_version: str
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "item_id": item_id,
        "raw": answer.raw,
        "value": answer.value,
        "display": answer.display,
        "other_text": answer.other_text,
        "state": answer.state.value,
        "language": answer.language,
        "questionnaire_version": questionnaire_version,
        "answered_at": answer.answered_at,
    }


_INSERT_HISTORY = insert(table_of(AnswerChange))
_UPSERTS: dict[str, Insert] = {}


def _upsert_current(session: Session) -> Insert:
    """The upsert of current answers, built once per dialect: building a statement costs
    more than running it. `excluded.<column>` is written out as text (both dialects spell
    it so) because building SQLAlchemy's `excluded` alias is costly too."""
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = _UPSERTS[dialect] = insert_for(session, table_of(Answer)).on_conflict_do_update(
            index_elements=["run_id", "item_id"],
            set_={column: literal_column(f"excluded.{column}") for column in _UPDATED_ON_CONFLICT},
        )
    return statement
