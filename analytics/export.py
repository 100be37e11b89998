"""Research-grade exports: the answers of one questionnaire as a long or a wide table.

Built on `analytics.frames`, the same frames the digest reads, so every number in a
digest is the number the export gives: withdrawn stakeholders are already left out there.

- **long**: one row per (run, item) answer: who (a pseudonym), the run (questionnaire
  version, wave, status), the item (id, section, type), its `state`, the `value` as a code
  (a choice id; multi-choice ids joined by `;`; `yes`/`no`; the number, date or text), the
  `display` the person saw, the `other_text` typed after an "other" choice, the language
  and `answered_at` (UTC, to the second).
- **wide**: one row per run with at least one exported answer, one column per question
  (multi-choice: a 0/1 column per choice; see `analytics.codebook` for column names).

An item made not applicable by a later change of an earlier answer (`not_applicable`) is
exported as such and never as an answer: in the long shape its value, display and other
text are empty; in the wide shape its cells say `not_applicable` (and `skipped` for a
skipped question); an empty cell means the question was not reached.

Stakeholders are named by a pseudonym, `s_` and 12 base-32 characters of an HMAC-SHA256 of
their id keyed by the database's own random secret (`storage.instance_secrets`): the same
person gets the same pseudonym in every export of the database, and nobody without the
key can tell ids from pseudonyms or guess one from the other. A stored random pseudonym
per stakeholder would do as well but needs a write for every new stakeholder and a
backfill; the key needs one row. Names and organisations are added only for
`identified` exports, which only researchers may ask for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from analytics.codebook import (
    WIDE_RUN_COLUMNS,
    choice_column,
    codebook_frame,
    item_column,
    specify_column,
    wide_item_columns,
)
from analytics.distinct import map_distinct
from analytics.frames import Frames
from conversations.questionnaire import Item, ItemType, Questionnaire

__all__ = [
    "LONG_COLUMNS",
    "NOT_APPLICABLE",
    "SKIPPED",
    "ExportError",
    "ExportRequest",
    "ExportTables",
    "FileFormat",
    "Shape",
    "check_allowed",
    "export_tables",
    "merge_waves",
    "pseudonym",
]

NOT_APPLICABLE = "not_applicable"
SKIPPED = "skipped"
"""What a wide cell says for a question made not applicable, or skipped."""


class Shape(StrEnum):
    LONG = "long"
    WIDE = "wide"


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ExportError(ValueError):
    """An export that cannot be made as asked; the message starts with the option to fix."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export. `researcher` says whether the person asking has that role."""

    questionnaire: str
    shape: Shape = Shape.LONG
    version: str | None = None
    since: datetime | None = None
    identified: bool = False
    researcher: bool = False


@dataclass(frozen=True)
class ExportTables:
    """The data table, its codebook, and the counts a summary line shows."""

    data: pd.DataFrame
    codebook: pd.DataFrame
    respondents: int
    answers: int


def check_allowed(request: ExportRequest) -> None:
    """Refuse names and organisations to anyone but a researcher."""
    if request.identified and not request.researcher:
        raise ExportError("--identified: only researchers may export names and organisations")


def pseudonym(key: str, stakeholder_id: int) -> str:
    """A stakeholder's stable pseudonym under this database's key (see the module doc)."""
    digest = hmac.new(key.encode(), f"stakeholder:{stakeholder_id}".encode(), hashlib.sha256)
    return "s_" + base64.b32encode(digest.digest()).decode()[:12].lower()


def merge_waves(frames: Sequence[Frames]) -> Frames:
    """One `Frames` from the frames of several waves of the same questionnaire."""
    if not frames:
        raise ValueError("merge_waves needs at least one Frames")
    if len(frames) == 1:
        return frames[0]
    runs = _stacked([f.runs for f in frames])
    answers = _stacked([f.answers for f in frames])
    return Frames(frames[0].stakeholders, runs, answers)


def _stacked(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The parts one after the other; a column categorical in every part stays one (its
    categories merged), any other column is stacked as plain values."""
    columns: dict[str, Any] = {}
    for name in parts[0].columns:
        pieces = [part[name] for part in parts]
        columns[name] = _merged_categories(pieces)
        if columns[name] is None:
            columns[name] = pd.concat([_plain_column(p) for p in pieces], ignore_index=True)
    return pd.DataFrame(columns)


def _merged_categories(pieces: list[pd.Series]) -> pd.Categorical | None:
    """The pieces as one categorical, or None unless all are categoricals of one kind."""
    if not all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
        return None
    try:
        return union_categoricals(pieces, sort_categories=True)
    except TypeError:  # categories of different types (text and numbers)
        return None


def export_tables(
    frames: Frames, questionnaires: Sequence[Questionnaire], request: ExportRequest, key: str
) -> ExportTables:
    """The export of these frames: `questionnaires` are the versions it covers, newest last."""
    check_allowed(request)
    answers = _selected(frames.answers, request)
    runs = frames.runs
    people = _people(_plain(frames.stakeholders), key, identified=request.identified)
    if request.shape is Shape.LONG:
        data = _long(answers, runs, people, questionnaires, request.questionnaire)
    else:
        data = _wide(answers, runs, people, questionnaires)
        head = [c for c in WIDE_RUN_COLUMNS if c in data.columns or c == "questionnaire"]
        data["questionnaire"] = request.questionnaire
        data = data[head + [c for c in data.columns if c not in head]]
    respondents = answers["stakeholder_id"].nunique()
    return ExportTables(data, codebook_frame(questionnaires), respondents, len(answers))


# -- selection and people ----------------------------------------------------------------


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as plain objects."""
    return pd.DataFrame({name: _plain_column(frame[name]) for name in frame.columns})


def _plain_column(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype(object)
    return column


def _selected(answers: pd.DataFrame, request: ExportRequest) -> pd.DataFrame:
    if request.version is None and request.since is None:
        return answers  # as loaded: no copy of a million rows
    keep = pd.Series(True, index=answers.index)
    if request.version is not None:
        keep &= answers["questionnaire_version"] == request.version
    if request.since is not None:
        keep &= answers["answered_at"] >= pd.Timestamp(request.since)
    return answers[keep]


def _people(stakeholders: pd.DataFrame, key: str, *, identified: bool) -> pd.DataFrame:
    """stakeholder_id → respondent [, name, organisation], organisation_type, region."""
    people = pd.DataFrame({"stakeholder_id": stakeholders["stakeholder_id"]})
    people["respondent"] = [pseudonym(key, int(i)) for i in stakeholders["stakeholder_id"]]
    if people["respondent"].duplicated().any():  # 60 bits: never seen, but never silent
        raise ExportError("two stakeholders share a pseudonym; rotate the pseudonym key")
    if identified:
        people["name"] = stakeholders["name"]
        people["organisation"] = stakeholders["organisation"]
    people["organisation_type"] = stakeholders["organisation_type"]
    people["region"] = stakeholders["region"]
    return people


def _with_people(frame: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    joined = people.merge(frame, on="stakeholder_id", how="inner", validate="one_to_many")
    return joined.drop(columns="stakeholder_id")


# -- long --------------------------------------------------------------------------------


LONG_COLUMNS = (
    *("respondent", "name", "organisation", "organisation_type", "region", "questionnaire"),
    *("questionnaire_version", "wave", "run_status", "item_id", "section_id", "item_type"),
    *("state", "value", "display", "other_text", "language", "answered_at"),
)
"""The columns of the long export (`name` and `organisation` only when identified)."""


def _long(
    answers: pd.DataFrame,
    runs: pd.DataFrame,
    people: pd.DataFrame,
    questionnaires: Sequence[Questionnaire],
    questionnaire: str,
) -> pd.DataFrame:
    """The long table, built column by column in its final order and sort.

    One row order is worked out first (respondent, wave, run, item position) and every
    column is taken once in that order: no merged or sorted copies of the whole table, and
    repeating columns stay categoricals. This is what keeps a million-answer export small
    (`bench/digest.py`).
    """
    person = pd.Index(people["stakeholder_id"]).get_indexer(answers["stakeholder_id"])
    items = answers[["questionnaire_version", "item_id"]].merge(
        _item_table(questionnaires), how="left", validate="many_to_one"
    )
    position = items["position"].fillna(10**6).to_numpy()
    order = _long_order(answers, people, person, position)
    columns = _person_columns(people, person[order])
    columns["questionnaire"] = _constant(questionnaire, len(order))
    columns |= _answer_columns(answers.take(order), runs, items.take(order))
    return pd.DataFrame(columns, copy=False)


def _person_columns(people: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    """Who answered each row (`rows`: positions in `people`)."""
    columns: dict[str, Any] = {"respondent": _respondents(people, rows)}
    for column in ("name", "organisation", "organisation_type", "region"):
        if column in people:
            columns[column] = people[column].take(rows).array
    return columns


def _answer_columns(
    answers: pd.DataFrame, runs: pd.DataFrame, items: pd.DataFrame
) -> dict[str, Any]:
    """The run, item and answer columns of `answers` (in export order), with their `items`
    rows (section, type) alongside."""
    answered = (answers["state"] == "answered").to_numpy()
    status = pd.Series(runs["status"].array, index=runs["run_id"].to_numpy())
    codes = map_distinct(_code, answers["value"].to_numpy(dtype=object))
    codes[~answered] = ""
    return {
        "questionnaire_version": answers["questionnaire_version"].array,
        "wave": answers["wave"].array,
        "run_status": status.reindex(answers["run_id"].to_numpy()).array,
        "item_id": answers["item_id"].array,
        "section_id": pd.Categorical(items["section_id"].fillna("").to_numpy()),
        "item_type": pd.Categorical(items["item_type"].fillna("").to_numpy()),
        "state": answers["state"].array,
        "value": codes,
        "display": _blank_unless(answers["display"], answered),
        "other_text": _blank_unless(answers["other_text"], answered),
        "language": answers["language"].array,
        "answered_at": _utc_text(answers["answered_at"]).array,
    }


def _long_order(
    answers: pd.DataFrame, people: pd.DataFrame, person: np.ndarray, position: np.ndarray
) -> np.ndarray:
    """Positions of the answers of known people, by respondent, wave, run, item position
    (stable: what a stable sort of the same keys gives)."""
    rank = np.empty(len(people), dtype=np.int64)
    rank[np.argsort(people["respondent"].to_numpy(dtype=object), kind="stable")] = np.arange(
        len(people)
    )
    known = np.flatnonzero(person >= 0)
    wave, _ = pd.factorize(answers["wave"].astype(object), sort=True)
    keys = (position, answers["run_id"].to_numpy(), wave, rank[person])
    return known[np.lexsort(tuple(key[known] for key in keys))]


def _respondents(people: pd.DataFrame, rows: np.ndarray) -> pd.Categorical:
    """Each row's pseudonym, as codes into the (unique) pseudonyms of `people`."""
    return pd.Categorical.from_codes(rows, categories=people["respondent"].to_numpy())


def _constant(value: str, length: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(length, dtype=np.int8), categories=[value])


def _blank_unless(column: pd.Series, answered: np.ndarray) -> Any:
    """The column's text where the row is an answer, '' elsewhere and where missing (a
    categorical stays one)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        if "" not in column.cat.categories:
            column = column.cat.add_categories("")
        return column.where(answered, "").fillna("").array
    texts = column.to_numpy(dtype=object, na_value="")
    texts[~answered] = ""
    return texts


def _item_table(questionnaires: Sequence[Questionnaire]) -> pd.DataFrame:
    rows = [
        (q.version, item.id, item.section_id, item.type.value, position)
        for q in questionnaires
        for position, item in enumerate(q.items)
    ]
    columns = ["questionnaire_version", "item_id", "section_id", "item_type", "position"]
    return pd.DataFrame(rows, columns=columns)


def _code(value: Any) -> Any:
    """A stored value as the code the codebook documents."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def _utc_text(times: pd.Series) -> pd.Series:
    """Aware UTC times as `2027-01-15T10:00:00Z`, NaT as ''; vectorised (strftime is slow).

    Each distinct second is formatted once and shared (a run's answers often share it):
    a categorical, not a string object per row."""
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
    codes, seconds = pd.factorize(naive)  # NaT: code -1
    texts = np.char.add(np.datetime_as_string(np.asarray(seconds), unit="s"), "Z")
    formatted = pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=object))
    return pd.Series(formatted, index=times.index).cat.add_categories("").fillna("")


# -- wide --------------------------------------------------------------------------------


_RUN_COLUMNS = list(WIDE_RUN_COLUMNS[6:])  # from questionnaire_version on


def _wide(
    answers: pd.DataFrame,
    runs: pd.DataFrame,
    people: pd.DataFrame,
    questionnaires: Sequence[Questionnaire],
) -> pd.DataFrame:
    grid = _wide_grid(answers, questionnaires)
    chosen = runs[runs["run_id"].isin(grid["run_id"])].rename(columns={"status": "run_status"})
    chosen["started_at"] = _utc_text(chosen["created_at"])
    chosen["completed_at"] = _utc_text(chosen["completed_at"])
    chosen = chosen[["run_id", "stakeholder_id", *_RUN_COLUMNS]]
    wide = _with_people(chosen, people).merge(grid, on="run_id", validate="one_to_one")
    wide = wide.sort_values(["respondent", "wave", "run_id"], kind="stable")
    return wide.drop(columns="run_id").reset_index(drop=True)


def _wide_columns(questionnaires: Sequence[Questionnaire]) -> list[str]:
    """Every question's columns, the newest version's order first, then older ones'."""
    columns: dict[str, None] = {}
    for q in reversed(questionnaires):
        for item in q.items:
            if item.is_question:
                columns.update(dict.fromkeys(wide_item_columns(item)))
    return list(columns)


def _wide_grid(answers: pd.DataFrame, questionnaires: Sequence[Questionnaire]) -> pd.DataFrame:
    """run_id and every question column (`_wide_columns`) for each run with an answer to a
    question of its version; '' where the run has no answer.

    Filled item by item with whole columns (no row of Python per answer, no pivot of a
    million cells): a value's code is worked out once per distinct value object.
    """
    items = {(q.version, item.id): item for q in questionnaires for item in q.items}
    names = _wide_columns(questionnaires)
    groups = answers.groupby(["questionnaire_version", "item_id"], observed=True, sort=False)
    known = {key: rows for key, rows in groups.indices.items() if key in items}
    all_runs = answers["run_id"].to_numpy()
    rows = np.concatenate(list(known.values())) if known else np.empty(0, dtype=np.int64)
    run_ids = np.unique(all_runs[rows])
    grid = {name: np.full(len(run_ids), "", dtype=object) for name in names}
    answer_columns = [answers[c].to_numpy(dtype=object) for c in ("state", "value", "other_text")]
    for key, item_rows in known.items():
        target = np.searchsorted(run_ids, all_runs[item_rows])
        state, values, other = (column[item_rows] for column in answer_columns)
        for name, keep, cells in _item_cells(items[key], state, values, other):
            if name in grid:
                grid[name][target[keep]] = cells[keep]
    return pd.DataFrame({"run_id": run_ids, **grid})


def _item_cells(
    item: Item, state: np.ndarray, values: np.ndarray, other_text: np.ndarray
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(column, which rows, cells) for one item's answers: a skipped or not-applicable
    answer says so in each of the item's columns (not in its specify columns)."""
    answered = state == "answered"
    every = np.ones(len(state), dtype=bool)
    if item.type is ItemType.MULTI_CHOICE:
        for choice in item.choices:
            ticked = map_distinct(partial(_ticked, choice.id), values)
            yield choice_column(item.id, choice.id), every, np.where(answered, ticked, state)
    else:
        yield item_column(item.id), every, np.where(answered, map_distinct(_code, values), state)
    typed = answered & map_distinct(bool, other_text).astype(bool)
    for choice in item.choices:
        if choice.other:
            picked = map_distinct(partial(_picked, choice.id), values).astype(bool)
            yield specify_column(item.id, choice.id), typed & picked, other_text


def _ticked(choice_id: str, value: Any) -> int:
    return int(choice_id in set(value or ()))


def _picked(choice_id: str, value: Any) -> bool:
    return choice_id in (set(value) if isinstance(value, list) else {value})
