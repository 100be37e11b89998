"""The memory-lean paths (#6 bench) give what the straightforward ones gave.

- frames read a few rows at a time equal frames read in one chunk, and so do digests;
- the long export's rows come in respondent, wave, run and questionnaire order whatever
  order the database returned them in;
- `analytics.csv_text` writes the bytes `DataFrame.to_csv` writes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from analytics.csv_text import csv_field, csv_header, csv_rows, encodable
from analytics.digest import build_digest
from analytics.distinct import map_distinct
from analytics.export import (
    ExportRequest,
    ExportTables,
    FileFormat,
    Shape,
    export_tables,
    merge_waves,
    pseudonym,
)
from analytics.export_files import write_export
from analytics.frames import ANSWER_COLUMNS, RUN_COLUMNS, STAKEHOLDER_COLUMNS, Frames, load_frames
from tests.analytics.test_digest_database import NOW, seed
from tests.analytics.tiny import questionnaire

# -- chunks --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 2, 4])
@pytest.mark.parametrize("lean", [False, True])
def test_frames_read_in_chunks_equal_frames_read_at_once(
    engine: Engine, session_factory: sessionmaker[Session], chunk_rows: int, lean: bool
) -> None:
    with session_factory() as session, session.begin():
        seed(session)
    whole = load_frames(engine, "tiny", lean=lean)
    chunked = load_frames(engine, "tiny", lean=lean, chunk_rows=chunk_rows)
    assert len(whole.answers) > 3 * chunk_rows  # several chunks, categories merged
    pd.testing.assert_frame_equal(chunked.answers, whole.answers)
    pd.testing.assert_frame_equal(chunked.runs, whole.runs)
    tiny = questionnaire()
    assert build_digest(chunked, tiny, None, NOW) == build_digest(whole, tiny, None, NOW)


def test_rows_sharing_a_stored_value_share_the_parsed_value(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        seed(session)
    answers = load_frames(engine, "tiny").answers
    colours = answers.loc[answers["item_id"] == "colour", "value"].tolist()
    assert sorted(colours) == ["blue", "red", "red"]  # A's later answer is current
    first, second = (v for v in colours if v == "red")
    assert first is second  # parsed once: one object however many gave it


# -- long export order --------------------------------------------------------------------


KEY = "k"  # pseudonyms of stakeholders 1, 2, 3 sort as 2, 1, 3: not the ids' order
AT = datetime(2025, 2, 1, 9, 0, tzinfo=UTC)


def _frames(answer_rows: list[tuple[int, int, str, str]]) -> Frames:
    """Stakeholders 1-3; `answer_rows` are (run, stakeholder, wave, item), in that order."""
    stakeholders = pd.DataFrame(
        [(n, f"P{n}", None, "non_profit", "east", "en") for n in (1, 2, 3)],
        columns=list(STAKEHOLDER_COLUMNS),
    )
    runs = pd.DataFrame(
        [
            (run, person, wave, "1", "completed", "en", None, AT, AT, AT, AT)
            for run, person, wave in sorted({r[:3] for r in answer_rows})
        ],
        columns=list(RUN_COLUMNS),
    )
    answers = pd.DataFrame(
        [
            (run, person, wave, "1", item, "red", "Red", "answered", AT, None, "en")
            for run, person, wave, item in answer_rows
        ],
        columns=list(ANSWER_COLUMNS),
    )
    return Frames(stakeholders, runs, answers)


def test_long_export_rows_are_in_respondent_wave_run_and_questionnaire_order() -> None:
    rows = [  # as a database might return them: any order
        (13, 3, "main", "staff"),
        (11, 1, "main", "ease"),
        (21, 1, "autumn", "colour"),
        (11, 1, "main", "retired_item"),  # not in the questionnaire: after its run's items
        (12, 2, "main", "colour"),
        (11, 1, "main", "colour"),
        (13, 3, "main", "colour"),
        (12, 2, "main", "tools"),
    ]
    tiny = questionnaire()
    data = export_tables(_frames(rows), [tiny], ExportRequest("tiny"), KEY).data
    positions = {item.id: n for n, item in enumerate(tiny.items)}
    names = {pseudonym(KEY, n): n for n in (1, 2, 3)}
    assert sorted(names, key=names.__getitem__) != sorted(names)  # the order is a real check

    def key(row: tuple[int, int, str, str]) -> tuple[str, str, int, int]:
        return (pseudonym(KEY, row[1]), row[2], row[0], positions.get(row[3], 10**6))

    expected = [(pseudonym(KEY, p), wave, item) for _, p, wave, item in sorted(rows, key=key)]
    assert list(zip(data["respondent"], data["wave"], data["item_id"], strict=True)) == expected
    assert data["section_id"].tolist() == [
        "" if i == "retired_item" else "main" for *_, i in expected
    ]


# -- CSV text -------------------------------------------------------------------------------


TEXTS = ["plain", "a, b", 'say "hi"', "two\nlines", "", None, " spaced ", "é ü 日本", "=1+1"]


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"text": TEXTS, "n": range(len(TEXTS))}),
        pd.DataFrame({"category": pd.Categorical(TEXTS), "flag": [True, False] * 4 + [True]}),
        pd.DataFrame({"a,b": ["x", "y"], 'q"': pd.Categorical([1, None])}),  # quoted headers
        pd.DataFrame({"mixed": ["s", 12, 2.5, True, None], "other": [None] * 5}),
        pd.DataFrame({"empty": pd.Series([], dtype=object), "n": pd.Series([], dtype="int64")}),
    ],
    ids=["texts", "categorical", "headers", "mixed-objects", "empty"],
)
def test_csv_text_is_what_to_csv_writes(frame: pd.DataFrame) -> None:
    assert encodable(frame)
    for chunk_rows in (1, 2, 100):
        chunks = list(csv_rows(frame, chunk_rows))
        assert [rows for rows, _ in chunks] == [
            min(chunk_rows, len(frame) - start) for start in range(0, len(frame), chunk_rows)
        ]
        text = csv_header(frame) + "".join(text for _, text in chunks)
        assert text == frame.to_csv(index=False, lineterminator="\n")


def test_a_carriage_return_is_quoted() -> None:
    assert csv_field("a\rb") == '"a\rb"'
    assert csv_field('x"\r') == '"x""\r"'


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"text": TEXTS, "n": range(len(TEXTS))}),
        pd.DataFrame({"text": ["a", "b"], "share": [0.5, None]}),  # floats: pandas formats them
        pd.DataFrame({"alone": ["", "x"]}),  # one column: to_csv quotes an empty field
    ],
    ids=["encoded", "floats", "one-column"],
)
def test_written_csv_files_are_what_to_csv_writes(tmp_path: Path, data: pd.DataFrame) -> None:
    codebook = pd.DataFrame({"item": ["a"], "label": ["A, the first"]})
    tables = ExportTables(data, codebook, 0, 0)
    written: list[Any] = write_export(tables, tmp_path / "out.csv", FileFormat.CSV)
    assert [p.read_text(encoding="utf-8") for p in written] == [
        f.to_csv(index=False, lineterminator="\n") for f in (data, codebook)
    ]
    assert encodable(data) == (data.shape[1] > 1 and "share" not in data)


# -- once per distinct object -----------------------------------------------------------------


def test_map_distinct_calls_once_per_object_and_tells_equal_values_apart() -> None:
    shared = ["a", "b"]
    values = np.array([None] * 7, dtype=object)
    for n, value in enumerate([shared, 1, 1.0, True, shared, "x", 1]):
        values[n] = value
    calls: list[Any] = []

    def describe(value: Any) -> str:
        calls.append(value)
        return repr(value)

    assert map_distinct(describe, values).tolist() == [
        "['a', 'b']",
        "1",
        "1.0",
        "True",
        "['a', 'b']",
        "'x'",
        "1",
    ]
    assert len(calls) == 5  # the list and the small int 1 (one object) are met twice
    assert map_distinct(str, np.arange(3)).tolist() == ["0", "1", "2"]  # not objects: held
    assert map_distinct(str, np.array([], dtype=object)).tolist() == []


# -- wide agrees with long --------------------------------------------------------------------


def _random_frames(runs: int, seed: int = 6) -> Frames:
    """Runs of the tiny questionnaire with random answers, skips and not-applicables."""
    rng = random.Random(seed)
    tiny = questionnaire()
    rows = []
    for run in range(1, runs + 1):
        for item in (i for i in tiny.items if i.is_question and rng.random() < 0.9):
            state = rng.choice(["answered"] * 6 + ["skipped", "not_applicable"])
            value = _random_value(item, rng) if state == "answered" else None
            rows.append((run, run, "main", "1", item.id, value, "", state, AT, None, "en"))
    answers = pd.DataFrame(rows, columns=list(ANSWER_COLUMNS))
    runs_frame = pd.DataFrame(
        [(r, r, "main", "1", "completed", "en", None, AT, AT, AT, AT) for r in range(1, runs + 1)],
        columns=list(RUN_COLUMNS),
    )
    people = pd.DataFrame(
        [(n, f"P{n}", None, "non_profit", "east", "en") for n in range(1, runs + 1)],
        columns=list(STAKEHOLDER_COLUMNS),
    )
    return Frames(people, runs_frame, answers)


def _random_value(item: Any, rng: random.Random) -> Any:
    if item.id == "colour":
        return rng.choice(["red", "blue", "green"])
    if item.id == "tools":
        return [c for c in ("excel", "bi", "r") if rng.random() < 0.5]
    if item.id == "open_data":
        return rng.random() < 0.5
    if item.id in ("ease", "staff"):
        return rng.randint(1, 5)
    return rng.choice(["2024-01-01", "text, with a comma", 'a "quote"'])


def test_every_wide_cell_is_the_long_export_s_answer() -> None:
    frames = _random_frames(40)
    tiny = questionnaire()
    long = export_tables(frames, [tiny], ExportRequest("tiny"), KEY).data
    wide = export_tables(frames, [tiny], ExportRequest("tiny", shape=Shape.WIDE), KEY).data
    by_person = wide.set_index("respondent")
    checked = 0
    for row in long.itertuples(index=False):
        if row.item_id == "tools":
            picked = str(row.value).split(";")
            for choice in ("excel", "bi", "r"):
                cell = by_person.loc[row.respondent, f"tools:{choice}"]
                expected = int(choice in picked) if row.state == "answered" else row.state
                assert cell == expected, (row, choice)
                checked += 1
        else:
            cell = by_person.loc[row.respondent, row.item_id]
            assert cell == (row.value if row.state == "answered" else row.state), row
            checked += 1
    assert checked > 300
    assert set(by_person.index) == set(long["respondent"])  # a row per run with answers
    blank = by_person[[c for c in by_person.columns if c.startswith("colour")]]
    assert (blank == "").any().any()  # some runs never reached colour: an empty cell


def test_rows_holding_sequences_stay_one_value_per_cell() -> None:
    from analytics.rows import _table  # the fallback no database row of ours reaches

    for rows in ([(1, [1, 2]), (2, [3, 4])], [(1, [1, 2]), (2, [3])], [(1, "a"), (2, None)]):
        table = _table(rows, 2)
        assert table.shape == (len(rows), 2)
        assert [tuple(row) for row in table] == rows


# -- several waves ------------------------------------------------------------------------------


def _categorical(frames: Frames) -> Frames:
    """The frames with the columns `load_frames` makes categoricals made so."""
    answers = frames.answers.astype({c: "category" for c in ("wave", "item_id", "state")})
    runs = frames.runs.astype({"wave": "category", "status": "category"})
    return Frames(frames.stakeholders, runs, answers)


@pytest.mark.parametrize("as_loaded", [False, True], ids=["objects", "categoricals"])
def test_waves_merge_into_one_export(as_loaded: bool) -> None:
    main = _frames([(11, 1, "main", "colour"), (12, 2, "main", "colour")])
    autumn = _frames([(21, 1, "autumn", "colour"), (21, 1, "autumn", "ease")])
    if as_loaded:
        main, autumn = _categorical(main), _categorical(autumn)
    merged = merge_waves([main, autumn])
    assert len(merged.answers) == 4 and len(merged.runs) == 3
    if as_loaded:  # categories merged, not turned into a column of strings per row
        assert isinstance(merged.answers["item_id"].dtype, pd.CategoricalDtype)
        assert list(merged.answers["wave"].cat.categories) == ["autumn", "main"]
    data = export_tables(merged, [questionnaire()], ExportRequest("tiny"), KEY).data
    first, second = (pseudonym(KEY, n) for n in (1, 2))
    expected = [(first, "autumn", "colour"), (first, "autumn", "ease"), (first, "main", "colour")]
    expected.append((second, "main", "colour"))
    expected.sort(key=lambda row: row[0])  # respondents by pseudonym; within one, waves a-z
    rows = list(zip(data["respondent"], data["wave"], data["item_id"], strict=True))
    assert rows == expected
    assert data["run_status"].tolist() == ["completed"] * 4


def test_frames_read_on_an_autocommit_connection(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        seed(session)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    pd.testing.assert_frame_equal(
        load_frames(autocommit, "tiny", chunk_rows=2).answers, load_frames(engine, "tiny").answers
    )
