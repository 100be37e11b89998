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
  bool, ISO date str, text), one object shared by the rows with the same stored JSON,
  so never mutate one; `state` is answered / skipped / not_applicable, and only
  `answered` rows count as answers.

A stakeholder is withdrawn when any of their runs of the questionnaire is `withdrawn`
(they said /stop): nothing of theirs is read, whatever the wave.

Speed and memory: 1,000,000 answers must load in a few seconds and in little memory
(the digest bench, `bench/digest.py`). The answers query selects only answer columns
(run-level ones are mapped from `runs` by run_id), reads JSON and times as text, and is
fetched `analytics.rows.CHUNK_ROWS` rows at a time as plain tuples; each chunk becomes
compact columns before the next is read: each distinct JSON text is parsed once (see
`_json_values`), times by `pd.to_datetime`, repeating strings (item ids, states,
displays, versions) become categoricals. Timestamps are aware UTC
(`datetime64[ns, UTC]`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.api.types import union_categoricals
from sqlalchemy import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from analytics.rows import CHUNK_ROWS, chunks
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
Conversions = Mapping[str, Callable[[pd.Series], Any]]
"""Per column of a query, how its driver values become the frame's column."""


@dataclass(frozen=True)
class Frames:
    """What one digest or export reads, loaded at one moment."""

    stakeholders: pd.DataFrame
    runs: pd.DataFrame
    answers: pd.DataFrame


def load_frames(
    source: Source,
    questionnaire_key: str,
    wave: str = "main",
    *,
    lean: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> Frames:
    """The three frames for `questionnaire_key`'s runs in `wave`, in one read transaction.

    `lean` loads only the answer columns a digest reads (`LEAN_ANSWER_COLUMNS`): about
    half the bytes of the full long frame an export needs. Answers are read `chunk_rows`
    at a time (the frames are the same whatever the size; tests read one row at a time).
    """
    with reading(source) as connection:
        stakeholders = _load_stakeholders(connection, questionnaire_key)
        runs = _load_runs(connection, questionnaire_key, wave)
        answers = _load_answers(connection, questionnaire_key, wave, runs, lean, chunk_rows)
    return Frames(stakeholders, runs, answers)


def load_answers(
    source: Source,
    questionnaire_key: str,
    wave: str = "main",
    *,
    lean: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """The long frame of current answers (see the module docstring for its columns)."""
    with reading(source) as connection:
        runs = _load_runs(connection, questionnaire_key, wave)
        return _load_answers(connection, questionnaire_key, wave, runs, lean, chunk_rows)


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
    return _frame(connection, statement, STAKEHOLDER_COLUMNS, _STAKEHOLDER_TYPES)


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
    return _frame(connection, statement, RUN_COLUMNS, _RUN_TYPES)


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
    connection: Connection,
    questionnaire_key: str,
    wave: str,
    runs: pd.DataFrame,
    lean: bool,
    chunk_rows: int,
) -> pd.DataFrame:
    columns = _answer_columns(lean)
    statement = (
        sa.select(*columns.values())
        .join(Run, Run.id == Answer.run_id)
        .where(*_run_filter(questionnaire_key, wave))
    )
    frame = _frame(connection, statement, tuple(columns), _ANSWER_TYPES, chunk_rows)
    by_run = pd.Series(runs["stakeholder_id"].to_numpy(), index=runs["run_id"].to_numpy())
    frame["stakeholder_id"] = by_run.reindex(frame["run_id"].to_numpy()).to_numpy()
    if lean:
        return frame[list(LEAN_ANSWER_COLUMNS)]
    codes = np.zeros(len(frame), dtype=np.int8)
    frame["wave"] = pd.Categorical.from_codes(codes, categories=[wave])
    return frame[list(ANSWER_COLUMNS)]


def _frame(
    connection: Connection,
    statement: Any,
    columns: tuple[str, ...],
    conversions: Conversions,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """The statement's rows, read and converted a chunk at a time (`_converted`)."""
    rows = chunks(connection, statement, list(columns), chunk_rows)
    return _concat([_converted(chunk, conversions) for chunk in rows])


def _converted(chunk: Mapping[str, pd.Series], conversions: Conversions) -> pd.DataFrame:
    """A frame of the chunk's columns, each converted by `conversions` (or kept)."""
    keep: Callable[[pd.Series], Any] = lambda column: column  # noqa: E731
    return pd.DataFrame({name: conversions.get(name, keep)(chunk[name]) for name in chunk})


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunks as one frame; categoricals stay categoricals (their categories merged).

    Each column is joined and then dropped from the chunks, so at most one column is
    held twice."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    joined: dict[str, pd.Series] = {}
    for name in list(parts[0].columns):
        pieces = [part.pop(name) for part in parts]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
            joined[name] = pd.Series(union_categoricals(pieces, sort_categories=True))
        else:
            joined[name] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(joined)


def _raw_time(column: Any) -> Any:
    """The stored time as naive UTC text, parsed a whole column at a time (`_times`)."""
    return _UTCText(column)


class _UTCText(FunctionElement[str]):
    """A stored time as naive UTC text (`2025-02-19 12:00:00.000000`): SQLite's stored text
    itself, PostgreSQL's `timestamptz` formatted in UTC by the server. Text, because a
    driver's aware `datetime` objects cost pandas two seconds per million to convert."""

    type = sa.String()
    name = "utc_text"
    inherit_cache = True


@compiles(_UTCText)
def _utc_text_as_stored(element: _UTCText, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_UTCText, "postgresql")
def _utc_text_postgresql(element: _UTCText, compiler: Any, **kw: Any) -> str:
    stored = compiler.process(element.clauses, **kw)
    return f"to_char({stored} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def _times(column: pd.Series) -> pd.Series:
    """Stored UTC times (naive UTC text, see `_UTCText`; ISO text from JSON) as aware UTC."""
    if column.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=column.index)
    return pd.to_datetime(column, utc=True, format="ISO8601")


def _json_values(column: pd.Series) -> pd.Series:
    """Parse each distinct stored JSON text once (all of them as one JSON array).

    Rows with the same stored text share one Python value: a choice id, a number or a
    list of ids is one object however many people gave it, which is most of what makes
    the long frame small. Treat the values as read-only (never mutate a list in place).
    """
    codes, texts = pd.factorize(column)  # SQL NULL: code -1
    parsed = json.loads("[" + ",".join(texts) + "]") if len(texts) else []
    table = np.empty(len(parsed) + 1, dtype=object)  # the last slot, None, is for -1
    for position, value in enumerate(parsed):
        table[position] = value  # one by one: a list must stay one element
    return pd.Series(table[codes], index=column.index, dtype=object)


def _category(column: pd.Series) -> pd.Series:
    return column.astype("category")


_STAKEHOLDER_TYPES: Conversions = {
    "stakeholder_id": lambda c: c.astype("int64"),
    **dict.fromkeys(("organisation_type", "region", "language"), _category),
}


_RUN_TYPES: Conversions = {
    **dict.fromkeys(("run_id", "stakeholder_id"), lambda c: c.astype("int64")),
    **dict.fromkeys(("wave", "questionnaire_version", "status", "language"), _category),
    **dict.fromkeys(("started_at", "created_at", "updated_at", "completed_at"), _times),
}


_ANSWER_TYPES: Conversions = {
    "run_id": lambda c: c.astype("int64"),
    "value": _json_values,
    "answered_at": _times,
    **dict.fromkeys(("item_id", "state", "language", "questionnaire_version"), _category),
    "display": _category,  # mostly a choice's label: few distinct values
}
