"""The database as pandas frames: one SQL query per table, no ORM objects, no per-row Python.

Digests and exports read the same frames, so "every number in the digest equals the number
the export gives" holds by construction. Three frames (`Frames`):

- `stakeholders`: the roster, one row per stakeholder, withdrawn ones left out:
  stakeholder_id, name, organisation, organisation_type, region, language.
- `runs`: one row per run of the questionnaire in the wave, withdrawn stakeholders left
  out: run_id, stakeholder_id, wave, questionnaire_version, status, language, cursor
  (the item awaiting an answer), started_at (consent given; NaT before), created_at,
  updated_at, completed_at.
- `answers` (the long frame): one row per (run, item) current answer of those runs:
  run_id, stakeholder_id, wave, questionnaire_version, item_id, value, display, state,
  answered_at, other_text, language.
  `value` holds the stored JSON value as Python (choice id str, list of ids, int, float,
  bool, ISO date str, text); `state` is answered / skipped / not_applicable, and only
  `answered` rows count as answers.

A stakeholder is withdrawn when any of their runs of the questionnaire is `withdrawn`
(they said /stop): nothing of theirs is read, whatever the wave.

Speed: 1,000,000 answers must load in a few seconds. The answers query selects only
answer columns (run-level ones are mapped from `runs` by run_id), reads JSON and times as
text, and converts whole columns at once: the JSON values are parsed as one JSON array,
the times by `pd.to_datetime`. Repeating strings become categoricals. Timestamps are
aware UTC (`datetime64[ns, UTC]`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from storage.models import Answer, Run, Stakeholder

__all__ = [
    "ANSWER_COLUMNS",
    "LEAN_ANSWER_COLUMNS",
    "RUN_COLUMNS",
    "STAKEHOLDER_COLUMNS",
    "Frames",
    "load_answers",
    "load_frames",
    "load_runs",
    "load_stakeholders",
    "reading",
]

ANSWER_COLUMNS = (
    "run_id",
    "stakeholder_id",
    "wave",
    "questionnaire_version",
    "item_id",
    "value",
    "display",
    "state",
    "answered_at",
    "other_text",
    "language",
)
LEAN_ANSWER_COLUMNS = ("run_id", "stakeholder_id", "item_id", "value", "state", "answered_at")
RUN_COLUMNS = (
    "run_id",
    "stakeholder_id",
    "wave",
    "questionnaire_version",
    "status",
    "language",
    "cursor",
    "started_at",
    "created_at",
    "updated_at",
    "completed_at",
)
STAKEHOLDER_COLUMNS = (
    "stakeholder_id",
    "name",
    "organisation",
    "organisation_type",
    "region",
    "language",
)

Source = Connection | Session | Engine


@dataclass(frozen=True)
class Frames:
    """What one digest or export reads, loaded at one moment."""

    stakeholders: pd.DataFrame
    runs: pd.DataFrame
    answers: pd.DataFrame


def load_frames(
    source: Source, questionnaire_key: str, wave: str = "main", *, lean: bool = False
) -> Frames:
    """The three frames for `questionnaire_key`'s runs in `wave`, in one read transaction.

    `lean` loads only the answer columns a digest reads (`LEAN_ANSWER_COLUMNS`): about
    half the bytes of the full long frame an export needs.
    """
    with reading(source) as connection:
        stakeholders = _load_stakeholders(connection, questionnaire_key)
        runs = _load_runs(connection, questionnaire_key, wave)
        answers = _load_answers(connection, questionnaire_key, wave, runs, lean)
    return Frames(stakeholders, runs, answers)


def load_answers(
    source: Source, questionnaire_key: str, wave: str = "main", *, lean: bool = False
) -> pd.DataFrame:
    """The long frame of current answers (see the module docstring for its columns)."""
    with reading(source) as connection:
        runs = _load_runs(connection, questionnaire_key, wave)
        return _load_answers(connection, questionnaire_key, wave, runs, lean)


def load_runs(source: Source, questionnaire_key: str, wave: str = "main") -> pd.DataFrame:
    with reading(source) as connection:
        return _load_runs(connection, questionnaire_key, wave)


def load_stakeholders(source: Source, questionnaire_key: str) -> pd.DataFrame:
    with reading(source) as connection:
        return _load_stakeholders(connection, questionnaire_key)


class reading:
    """A Connection from any source; a connection opened here is closed here."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._owned: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self._source, Connection):
            return self._source
        if isinstance(self._source, Session):
            return self._source.connection()
        engine = self._source.execution_options(sqlite_begin="DEFERRED")
        self._owned = engine.connect()
        return self._owned

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()


def _withdrawn(questionnaire_key: str) -> sa.Select[Any]:
    return sa.select(Run.stakeholder_id).where(
        Run.questionnaire_key == questionnaire_key, Run.status == "withdrawn"
    )


def _run_filter(questionnaire_key: str, wave: str) -> list[sa.ColumnElement[bool]]:
    return [
        Run.questionnaire_key == questionnaire_key,
        Run.wave == wave,
        Run.stakeholder_id.not_in(_withdrawn(questionnaire_key)),
    ]


def _load_stakeholders(connection: Connection, questionnaire_key: str) -> pd.DataFrame:
    statement = sa.select(
        Stakeholder.id,
        Stakeholder.name,
        Stakeholder.organisation,
        Stakeholder.organisation_type,
        Stakeholder.region,
        Stakeholder.language,
    ).where(Stakeholder.id.not_in(_withdrawn(questionnaire_key)))
    frame = _frame(connection, statement, STAKEHOLDER_COLUMNS)
    frame["stakeholder_id"] = frame["stakeholder_id"].astype("int64")
    for column in ("organisation_type", "region", "language"):
        frame[column] = frame[column].astype("category")
    return frame


def _load_runs(connection: Connection, questionnaire_key: str, wave: str) -> pd.DataFrame:
    statement = sa.select(
        Run.id,
        Run.stakeholder_id,
        Run.wave,
        Run.questionnaire_version,
        Run.status,
        Run.state["language"].as_string(),
        Run.state["cursor"].as_string(),
        Run.state["started_at"].as_string(),
        _raw_time(Run.created_at),
        _raw_time(Run.updated_at),
        _raw_time(Run.completed_at),
    ).where(*_run_filter(questionnaire_key, wave))
    frame = _frame(connection, statement, RUN_COLUMNS)
    frame["run_id"] = frame["run_id"].astype("int64")
    frame["stakeholder_id"] = frame["stakeholder_id"].astype("int64")
    for column in ("wave", "questionnaire_version", "status", "language"):
        frame[column] = frame[column].astype("category")
    for column in ("started_at", "created_at", "updated_at", "completed_at"):
        frame[column] = _times(frame[column])
    return frame


def _answer_columns(lean: bool) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "run_id": Answer.run_id,
        "item_id": Answer.item_id,
        "value": sa.cast(Answer.value, sa.Text),
        "state": Answer.state,
        "answered_at": _raw_time(Answer.answered_at),
    }
    if not lean:
        columns |= {
            "display": Answer.display,
            "other_text": Answer.other_text,
            "language": Answer.language,
            "questionnaire_version": Answer.questionnaire_version,
        }
    return columns


def _load_answers(
    connection: Connection, questionnaire_key: str, wave: str, runs: pd.DataFrame, lean: bool
) -> pd.DataFrame:
    columns = _answer_columns(lean)
    statement = (
        sa.select(*columns.values())
        .join(Run, Run.id == Answer.run_id)
        .where(*_run_filter(questionnaire_key, wave))
    )
    frame = _frame(connection, statement, tuple(columns))
    frame["run_id"] = frame["run_id"].astype("int64")
    frame["value"] = _json_values(frame["value"])
    frame["answered_at"] = _times(frame["answered_at"])
    for column in ("item_id", "state", "language", "questionnaire_version"):
        if column in frame:
            frame[column] = frame[column].astype("category")
    by_run = runs.set_index("run_id")
    frame["stakeholder_id"] = by_run["stakeholder_id"].reindex(frame["run_id"]).to_numpy()
    if lean:
        return frame[list(LEAN_ANSWER_COLUMNS)]
    frame["wave"] = pd.Categorical([wave] * len(frame), categories=[wave])
    return frame[list(ANSWER_COLUMNS)]


def _frame(connection: Connection, statement: Any, columns: tuple[str, ...]) -> Any:
    rows = connection.execute(statement).all()
    return pd.DataFrame.from_records(rows, columns=list(columns), coerce_float=False)


def _raw_time(column: Any) -> Any:
    """The stored time without per-row conversion: text on SQLite, timestamptz on PostgreSQL."""
    return sa.type_coerce(column, sa.String)


def _times(column: pd.Series) -> pd.Series:
    """Stored UTC times (naive text on SQLite, aware values on PostgreSQL) as aware UTC."""
    if column.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=column.index)
    return pd.to_datetime(column, utc=True, format="ISO8601")


def _json_values(column: pd.Series) -> pd.Series:
    """Parse every stored JSON value at once, as the elements of one JSON array."""
    texts = column.fillna("null")
    values = json.loads("[" + ",".join(texts.tolist()) + "]") if len(texts) else []
    return pd.Series(values, index=column.index, dtype=object)
