"""`parley export` and `analytics.export`: what the database holds is what the file says.

Answers are written with the real storage functions on SQLite and PostgreSQL, exported
in every format and shape, read back with pandas and openpyxl, and compared with rows
read straight from the database (not through `analytics.frames`).
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from analytics.codebook import WIDE_RUN_COLUMNS
from analytics.digest import digest_from_database
from analytics.export import (
    LONG_COLUMNS,
    ExportError,
    ExportRequest,
    ExportTables,
    FileFormat,
    Shape,
    pseudonym,
)
from analytics.export_files import XLSX_MAX_COLUMNS, XLSX_MAX_ROWS, codebook_path, write_export
from analytics.model import ChoiceSummary, YesNoSummary
from bot.cli import app
from bot.export_cli import BIG_EXPORT_ROWS, write_with_progress
from bot.exports import prepare_export
from conversations.loading import parse_questionnaire, questionnaire_from_definition
from conversations.run import AnswerState, RunState, RunStatus, StoredAnswer
from storage import UnitOfWork, ensure_schema, make_engine, make_session_factory, repository
from storage.instance_secrets import PSEUDONYM_KEY, instance_secret
from storage.models import Answer, Run

NOW = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
DAY_1 = datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
DAY_2 = datetime(2027, 1, 15, 16, 45, tzinfo=UTC)

QUESTIONNAIRE = """
spec_version: 1
id: study
version: "{version}"
title: {{en: "Study", fr: "Étude"}}
languages: [en, fr]
default_language: en
consent: {{version: "1", text: {{en: "Agree?", fr: "D'accord?"}}}}
closing: {{en: "Thanks", fr: "Merci"}}
sections:
  - id: about
    title: {{en: "About you", fr: "Vous"}}
    items:
      - id: org_type
        type: single_choice
        label: {{en: "Which type?", fr: "Quel type?"}}
        choices:
          - {{id: non_profit, label: {{en: "Non-profit", fr: "Sans but lucratif"}}}}
          - {{id: other, label: {{en: "Other", fr: "Autre"}}, other: true}}
      - id: uses
        type: multi_choice
        label: {{en: "Uses?", fr: "Usages?"}}
        choices:
          - {{id: plan, label: {{en: "Planning", fr: "Planification"}}}}
          - {{id: report, label: {{en: "Reporting", fr: "Rapports"}}}}
          - {{id: none, label: {{en: "None", fr: "Aucun"}}, exclusive: true}}
      - id: staff
        type: number
        min: 0
        unit: {{en: "people", fr: "personnes"}}
        label: {{en: "Staff?", fr: "Personnel?"}}
      - id: has_data
        type: yes_no
        label: {{en: "Any data?", fr: "Des données?"}}
      - id: details
        type: text
        relevant: "has_data = true"
        label: {{en: "Which data?", fr: "Quelles données?"}}
  - id: opinion
    title: {{en: "Your view", fr: "Votre avis"}}
    items:
      - id: rating
        type: scale
        min: 1
        max: 5
        min_label: {{en: "Poor", fr: "Faible"}}
        max_label: {{en: "Great", fr: "Excellent"}}
        label: {{en: "Rating?", fr: "Note?"}}
      - id: region
        type: text
        required: false
        label: {{en: "Where?", fr: "Où?"}}
{extra}
"""
EXTRA_V2 = """      - id: when
        type: date
        label: {en: "Since when?", fr: "Depuis quand?"}"""


def answer(value: Any, display: str = "", *, state: str = "answered", **more: Any) -> Any:
    return (value, display or str(value), AnswerState(state), more)


@dataclass(frozen=True)
class Person:
    name: str
    organisation: str
    language: str
    status: RunStatus
    version: str
    answered_at: datetime
    answers: dict[str, Any]


PEOPLE = (
    Person(
        "Ann Apple",
        "Org A",
        "en",
        RunStatus.COMPLETED,
        "1",
        DAY_1,
        {
            "org_type": answer("other", "Other", other_text="Mosque committee"),
            "uses": answer(["plan", "report"], "Planning, Reporting"),
            "staff": answer(12),
            "has_data": answer(False, "No"),
            "details": answer("census", "census", state="not_applicable"),
            "rating": answer(4),
            "region": answer(None, "skipped", state="skipped"),
        },
    ),
    Person(
        "Bob Brun",
        "Org B",
        "fr",
        RunStatus.IN_PROGRESS,
        "1",
        DAY_2,
        {
            "org_type": answer("non_profit", "Sans but lucratif"),
            "uses": answer(["none"], "Aucun"),
            "has_data": answer(True, "Oui"),
            "details": answer('=HYPERLINK("http://x.example")'),
        },
    ),
    Person(
        "Cat Withdrawn",
        "Org C",
        "en",
        RunStatus.WITHDRAWN,
        "1",
        DAY_1,
        {"org_type": answer("non_profit", "Non-profit"), "staff": answer(99)},
    ),
    Person(
        "Dan Dvorak",
        "Org D",
        "en",
        RunStatus.COMPLETED,
        "2",
        DAY_2,
        {"org_type": answer("non_profit", "Non-profit"), "when": answer("2026-05-01")},
    ),
)


def _store_questionnaires(session: Session) -> None:
    for version, extra in (("1", ""), ("2", EXTRA_V2)):
        loaded = parse_questionnaire(QUESTIONNAIRE.format(version=version, extra=extra), "test")
        repository.store_questionnaire(
            session, "study", version, dict(loaded.definition), loaded.checksum, now=DAY_1
        )


def _store_person(session: Session, person: Person, number: int) -> None:
    row = repository.create_stakeholder(
        session,
        name=person.name,
        organisation=person.organisation,
        organisation_type=["non_profit", "municipality"][number % 2],
        region=["ON", "QC"][number % 2],
        language=person.language,
        now=DAY_1,
    )
    state = RunState("study", person.version, person.language, status=person.status)
    run = repository.create_run(
        session,
        stakeholder_id=row.id,
        questionnaire_key="study",
        questionnaire_version=person.version,
        state=state.to_dict(),
        status=person.status.value,
        now=DAY_1,
    )
    stored = [
        (
            item,
            StoredAnswer(value, "raw", display, state, person.language, person.answered_at, **more),
        )
        for item, (value, display, state, more) in person.answers.items()
    ]
    repository.record_answers(session, run.id, stored, person.version, None, person.answered_at)


@pytest.fixture
def study(engine: Engine, session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The four people above, on SQLite and PostgreSQL (via `engine`'s `database_url`)."""
    with UnitOfWork(session_factory) as uow:
        _store_questionnaires(uow.session)
        for number, person in enumerate(PEOPLE):
            _store_person(uow.session, person, number)
        uow.commit()
    return session_factory


def export(factory: sessionmaker[Session], **options: Any) -> ExportTables:
    request = ExportRequest("study", **{"researcher": True, **options})
    with UnitOfWork(factory) as uow:
        tables = prepare_export(uow.session, request, NOW)
        uow.commit()
    return tables


def read_back(path: Path, file_format: FileFormat) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data and the codebook as written, every cell as text ('' when empty)."""
    if file_format is FileFormat.CSV:
        frames = [
            pd.read_csv(p, dtype=str, keep_default_na=False) for p in (path, codebook_path(path))
        ]
        return frames[0], frames[1]
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["data", "codebook"]
    sheets = []
    for sheet in (book["data"], book["codebook"]):
        rows = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        sheets.append(pd.DataFrame(rows[1:], columns=rows[0]))
    book.close()
    return sheets[0], sheets[1]


def database_answers(factory: sessionmaker[Session], key: str) -> set[tuple[str, ...]]:
    """(respondent, item, state, value, other text) of every exportable answer, read plainly."""
    statement = (
        sa.select(Run.stakeholder_id, Answer.item_id, Answer.state, Answer.value, Answer.other_text)
        .join(Run, Run.id == Answer.run_id)
        .where(Run.status != "withdrawn")
    )
    with factory() as session:
        rows = session.execute(statement).all()
    return {
        (pseudonym(key, person), item, state, *_expected(state, value, other))
        for person, item, state, value, other in rows
    }


def _expected(state: str, value: Any, other: str | None) -> tuple[str, str]:
    if state != "answered":
        return "", ""
    if isinstance(value, bool):
        return ("yes" if value else "no"), other or ""
    if isinstance(value, list):
        return ";".join(value), other or ""
    return str(value), other or ""


def the_key(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return instance_secret(session, PSEUDONYM_KEY, NOW)


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", list(FileFormat))
def test_long_export_round_trips_to_the_database(
    study: sessionmaker[Session], tmp_path: Path, file_format: FileFormat
) -> None:
    path = tmp_path / f"answers.{file_format}"
    write_export(export(study), path, file_format)
    data, _ = read_back(path, file_format)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary new file

    assert list(data.columns) == [c for c in LONG_COLUMNS if c not in ("name", "organisation")]
    exported = set(
        data[["respondent", "item_id", "state", "value", "other_text"]].itertuples(
            index=False, name=None
        )
    )
    assert exported == database_answers(study, the_key(study))
    assert len(data) == 7 + 4 + 2  # Ann, Bob and Dan; Cat withdrew
    assert set(data["questionnaire"]) == {"study"}


@pytest.mark.parametrize("file_format", list(FileFormat))
def test_wide_export_has_a_row_per_run_and_a_column_per_code(
    study: sessionmaker[Session], tmp_path: Path, file_format: FileFormat
) -> None:
    path = tmp_path / f"wide.{file_format}"
    write_export(export(study, shape=Shape.WIDE), path, file_format)
    data, codebook = read_back(path, file_format)
    key = the_key(study)
    ann, bob = (pseudonym(key, i) for i in (1, 2))

    rows = data.set_index("respondent")
    assert set(rows.index) == {ann, bob, pseudonym(key, 4)}
    assert rows.loc[
        ann, ["org_type", "org_type:other:text", "uses:plan", "uses:report"]
    ].tolist() == [
        "other",
        "Mosque committee",
        "1",
        "1",
    ]
    assert rows.loc[ann, ["uses:none", "staff", "has_data", "rating"]].tolist() == [
        "0",
        "12",
        "no",
        "4",
    ]
    assert rows.loc[ann, ["details", "region:value"]].tolist() == ["not_applicable", "skipped"]
    assert rows.loc[bob, ["uses:plan", "uses:none", "has_data", "rating"]].tolist() == [
        "0",
        "1",
        "yes",
        "",
    ]
    assert rows.loc[bob, "details"] == '=HYPERLINK("http://x.example")'  # text, not a formula
    if file_format is FileFormat.XLSX:  # stored as text, so no spreadsheet runs it
        cells = openpyxl.load_workbook(path)["data"].iter_rows(min_row=2)
        typed = {c.value: c.data_type for row in cells for c in row}
        assert typed['=HYPERLINK("http://x.example")'] == "s"
    assert rows.loc[ann, "region"] == "ON"  # the respondent's region, not the item `region`
    assert rows.loc[bob, ["run_status", "language"]].tolist() == ["in_progress", "fr"]
    assert rows.loc[ann, "completed_at"] == "2027-01-10T09:30:00Z"
    documented = set(codebook["wide_column"]) | (set(codebook["specify_column"]) - {""})
    assert set(data.columns) - set(WIDE_RUN_COLUMNS) == documented


def test_the_codebook_documents_items_codes_conditions_and_versions(
    study: sessionmaker[Session],
) -> None:
    codebook = export(study).codebook
    v1 = codebook[codebook["questionnaire_version"] == "1"].set_index(["item_id", "choice_code"])

    assert codebook["questionnaire_version"].tolist().count("2") == 2 + 3 + 1 + 2 + 1 + 5 + 1 + 1
    org_other = v1.loc[("org_type", "other")]
    assert (org_other["label_en"], org_other["label_fr"]) == ("Which type?", "Quel type?")
    assert (org_other["choice_label_en"], org_other["choice_label_fr"]) == ("Other", "Autre")
    assert (org_other["choice_other"], org_other["specify_column"]) == (True, "org_type:other:text")
    assert v1.loc[("uses", "none")][["choice_exclusive", "wide_column"]].tolist() == [
        True,
        "uses:none",
    ]
    assert v1.loc[("details", "")][["relevant", "type", "section_id"]].tolist() == [
        "has_data = true",
        "text",
        "about",
    ]
    assert v1.loc[("rating", "1")]["choice_label_fr"] == "Faible"
    assert v1.loc[("rating", "3")]["choice_label_en"] == ""
    assert v1.loc[("has_data", "no")]["choice_label_fr"] == "Non"
    assert v1.loc[("staff", "")][["unit_en", "minimum", "number_kind"]].tolist() == [
        "people",
        0,
        "integer",
    ]
    assert v1.loc[("org_type", "other")]["section_fr"] == "Vous"
    assert v1.loc[("region", "")]["wide_column"] == "region:value"


# -- who is in the export, and how they are named --------------------------------------


def test_pseudonyms_are_stable_unrelated_to_ids_and_names_need_identified(
    study: sessionmaker[Session], sqlite_url: str
) -> None:
    first, second = export(study), export(study)
    identified = export(study, identified=True)

    assert first.data["respondent"].tolist() == second.data["respondent"].tolist()
    assert all(re.fullmatch(r"s_[a-z2-7]{12}", p) for p in first.data["respondent"])
    assert not set(first.data["respondent"]) & {"1", "2", "3", "4"}
    assert "name" not in first.data and "organisation" not in first.data
    named = dict(zip(identified.data["respondent"], identified.data["name"], strict=True))
    assert sorted(set(named.values())) == ["Ann Apple", "Bob Brun", "Dan Dvorak"]
    assert set(named) == set(first.data["respondent"])
    # Another database, same ids: another key, so other pseudonyms.
    other = make_engine(sqlite_url.replace("parley.sqlite3", "other.sqlite3"))
    ensure_schema(other)
    with Session(other) as session:
        assert pseudonym(instance_secret(session, PSEUDONYM_KEY, NOW), 1) != pseudonym(
            the_key(study), 1
        )
    other.dispose()


def test_identified_is_refused_to_non_researchers(study: sessionmaker[Session]) -> None:
    with pytest.raises(ExportError, match=r"^--identified: only researchers"):
        export(study, identified=True, researcher=False)
    assert len(export(study, researcher=False).data) == 13  # pseudonymous: anyone may


def test_withdrawn_stakeholders_are_left_out_entirely(study: sessionmaker[Session]) -> None:
    for shape in Shape:
        tables = export(study, shape=shape, identified=True)
        assert "Cat Withdrawn" not in set(tables.data["name"])
        assert tables.respondents == 3


def test_not_applicable_is_exported_as_such_never_as_an_answer(
    study: sessionmaker[Session],
) -> None:
    long = export(study).data
    details = long[long["item_id"] == "details"].set_index("state")
    assert details.loc["not_applicable", ["value", "display", "other_text"]].tolist() == [
        "",
        "",
        "",
    ]
    assert "census" not in long.to_string()


@pytest.mark.parametrize(
    ("options", "answers", "respondents"),
    [
        ({}, 13, 3),
        ({"since": DAY_2}, 4 + 2, 2),
        ({"since": datetime(2027, 1, 16, tzinfo=UTC)}, 0, 0),
        ({"version": "1"}, 11, 2),
        ({"version": "2"}, 2, 1),
        ({"version": "1", "since": DAY_2}, 4, 1),
    ],
)
def test_since_and_version_select_answers(
    study: sessionmaker[Session], options: dict[str, Any], answers: int, respondents: int
) -> None:
    for shape in Shape:
        tables = export(study, shape=shape, **options)
        assert (tables.answers, tables.respondents) == (answers, respondents)
    long = export(study, **options).data
    assert len(long) == answers
    if "version" in options:
        assert set(long["questionnaire_version"]) <= {options["version"]}
        assert set(export(study, **options).codebook["questionnaire_version"]) == {
            options["version"]
        }


def test_every_number_in_the_digest_is_the_number_the_export_gives(
    study: sessionmaker[Session],
) -> None:
    long, wide = export(study).data, export(study, shape=Shape.WIDE).data
    with study() as session:
        definition = repository.questionnaire_definition(session, "study", "2")
        assert definition is not None
        digest = digest_from_database(
            session, questionnaire_from_definition(definition, "test"), None, NOW
        )

    def rows(item_id: str, state: str = "answered") -> pd.Series:
        return long.loc[(long["item_id"] == item_id) & (long["state"] == state), "value"]

    checked = 0
    for summary in digest.items:
        answered = rows(summary.item_id)
        assert (summary.respondents, summary.skipped) == (
            len(answered),
            len(rows(summary.item_id, "skipped")),
        ), summary.item_id
        if isinstance(summary, ChoiceSummary):
            codes = answered.str.split(";").explode()
            for choice in summary.counts:
                assert choice.count == (codes == choice.choice_id).sum(), choice
                checked += 1
        elif isinstance(summary, YesNoSummary):
            assert (summary.yes, summary.no) == (
                (answered == "yes").sum(),
                (answered == "no").sum(),
            )
            checked += 1
    assert checked == 2 + 3 + 1
    assert digest.headline.completed == (wide["run_status"] == "completed").sum() == 2


# -- files appear whole or not at all ---------------------------------------------------


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("file_format", list(FileFormat))
@pytest.mark.parametrize("stop", [Interrupted, KeyboardInterrupt])
def test_an_interrupted_export_leaves_no_file_and_no_temporary(
    study: sessionmaker[Session], tmp_path: Path, file_format: FileFormat, stop: type[BaseException]
) -> None:
    tables = export(study)
    (out := tmp_path / "out").mkdir()
    path = out / f"answers.{file_format}"

    def interrupt(rows: int) -> None:
        raise stop()

    with pytest.raises(stop):
        write_export(tables, path, file_format, interrupt)
    assert list(out.iterdir()) == []


def test_a_failed_export_keeps_the_previous_file(
    study: sessionmaker[Session], tmp_path: Path
) -> None:
    (out := tmp_path / "out").mkdir()
    path = out / "answers.csv"
    write_export(export(study), path, FileFormat.CSV)
    before = path.read_bytes(), codebook_path(path).read_bytes()
    seen: list[int] = []

    def fail_after_data(rows: int) -> None:
        seen.append(rows)
        if len(seen) == 2:  # the data was written; the codebook is being written
            raise Interrupted

    with pytest.raises(Interrupted):
        write_export(export(study, shape=Shape.WIDE), path, FileFormat.CSV, fail_after_data)
    assert (path.read_bytes(), codebook_path(path).read_bytes()) == before
    assert sorted(p.name for p in out.iterdir()) == ["answers.csv", "answers_codebook.csv"]


def test_an_export_too_big_for_an_xlsx_sheet_is_refused_before_writing(tmp_path: Path) -> None:
    codebook = pd.DataFrame({"item_id": ["q"]})
    too_tall = ExportTables(pd.DataFrame({"q": range(XLSX_MAX_ROWS)}), codebook, 1, 1)
    too_wide = ExportTables(pd.DataFrame([[0] * (XLSX_MAX_COLUMNS + 1)]), codebook, 1, 1)

    for tables in (too_tall, too_wide):
        with pytest.raises(ExportError, match=r"^--format: an XLSX sheet holds 1,048,575 rows"):
            write_export(tables, tmp_path / "big.xlsx", FileFormat.XLSX)
    assert list(tmp_path.iterdir()) == []


def test_progress_counts_every_row_written(study: sessionmaker[Session], tmp_path: Path) -> None:
    tables = export(study, shape=Shape.WIDE)
    for file_format in FileFormat:
        reported: list[int] = []
        write_export(tables, tmp_path / f"p.{file_format}", file_format, reported.append)
        assert sum(reported) == len(tables.data) + len(tables.codebook)


@pytest.mark.parametrize(
    ("rows", "terminal", "bar"),
    [(BIG_EXPORT_ROWS, True, True), (BIG_EXPORT_ROWS, False, False), (10, True, False)],
)
def test_a_big_export_on_a_terminal_shows_a_progress_bar(
    tmp_path: Path, rows: int, terminal: bool, bar: bool
) -> None:
    tables = ExportTables(pd.DataFrame({"q": range(rows)}), pd.DataFrame({"item_id": ["q"]}), 1, 1)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=terminal, width=80)

    write_with_progress(tables, tmp_path / "big.csv", FileFormat.CSV, console)

    assert ("writing big.csv" in screen.getvalue()) is bar
    assert len(pd.read_csv(tmp_path / "big.csv")) == rows


# -- the command ------------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PARLEY_RESEARCHER_TIME_ZONE", "America/Toronto")
    monkeypatch.chdir(tmp_path)
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        _store_questionnaires(uow.session)
        for number, person in enumerate(PEOPLE):
            _store_person(uow.session, person, number)
        uow.commit()
    engine.dispose()
    yield CliRunner()


def parley(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_writes_xlsx_wide_and_csv_long(cli: CliRunner, tmp_path: Path) -> None:
    code, out, _ = parley(cli, "--format", "xlsx", "--shape", "wide", "-o", "out.xlsx")
    assert (code, out) == (
        0,
        "out.xlsx (sheets data and codebook): 3 rows, one per run; 3 respondents, 13 answers\n",
    )
    data, codebook = read_back(tmp_path / "out.xlsx", FileFormat.XLSX)
    assert len(data) == 3 and len(codebook) > 0

    code, out, _ = parley(cli, "--since", "2027-01-15", "--version", "1")
    assert (code, out) == (
        0,
        "study-long.csv and study-long_codebook.csv: 4 rows, one per answer; "
        "1 respondents, 4 answers\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != "") == [
        "out.xlsx",
        "study-long.csv",
        "study-long_codebook.csv",
    ]


def test_cli_identified_adds_names_and_is_logged(
    cli: CliRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="parley.export"):
        code, _, _ = parley(cli, "--identified", "-o", "named.csv")
    assert code == 0
    data, _ = read_back(tmp_path / "named.csv", FileFormat.CSV)
    assert list(data.columns[:3]) == ["respondent", "name", "organisation"]
    assert set(data["organisation"]) == {"Org A", "Org B", "Org D"}
    assert [r.getMessage() for r in caplog.records] == [
        f"identified export (names and organisations) of study by cli:{_user()} to named.csv"
    ]


@pytest.mark.parametrize("shape", list(Shape))
def test_cli_an_empty_study_gives_headers_and_a_codebook(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shape: Shape
) -> None:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert parley(runner) == (
        2,
        "",
        "--questionnaire: no questionnaire is stored yet (parley run stores it)\n",
    )
    engine = make_engine(sqlite_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        _store_questionnaires(uow.session)
        uow.commit()
    engine.dispose()

    code, out, _ = parley(runner, "--shape", shape.value, "-o", "empty.xlsx")
    assert (code, out.split(": ")[1]) == (
        0,
        f"0 rows, one per {'answer' if shape is Shape.LONG else 'run'}; 0 respondents, 0 answers\n",
    )
    data, codebook = read_back(tmp_path / "empty.xlsx", FileFormat.XLSX)
    assert data.empty and data.columns[0] == "respondent"
    assert len(codebook) == 15 + 16  # versions 1 and 2


def _user() -> str:
    import getpass

    return getpass.getuser()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--format", "pdf"), "--format: 'pdf' is not csv or xlsx"),
        (("--shape", "tall"), "--shape: 'tall' is not long or wide"),
        (
            ("--format", "csv", "-o", "x.xlsx"),
            "--output: x.xlsx does not end in .csv (--format csv)",
        ),
        (("-o", "missing/x.csv"), "--output: directory missing does not exist"),
        (
            ("--since", "last week"),
            "--since: 'last week' is not a date (use 2027-01-15 or 2027-01-15 09:30)",
        ),
        (
            ("--since", "2027-03-14 02:30"),
            "--since: 2027-03-14 02:30 does not exist in America/Toronto (clocks jump from "
            "02:00 to 03:00); choose another time",
        ),
        (
            ("--since", "2027-01-15", "--zone", "Mars/Base"),
            "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
        ),
        (("--questionnaire", "nope"), "--questionnaire: no questionnaire 'nope' is stored (study)"),
        (("--version", "9"), "--version: study has no version '9' (stored: 1, 2)"),
    ],
)
def test_cli_bad_options_get_one_line_and_no_file(
    cli: CliRunner, tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    code, out, err = parley(cli, *args)
    assert (code, out, err) == (2, "", line + "\n")
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []
