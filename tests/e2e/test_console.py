"""`parley` as a person runs it: a subprocess, stdin piped in, the database read afterwards.

Nothing here imports the app: each test starts the installed `parley` command with
`PARLEY_DATABASE_URL` pointing at a real database, feeds it lines, and then checks the
printed transcript and the rows the database holds.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.e2e.support import (
    CLOSING_EN,
    CLOSING_FR,
    EXAMPLE,
    PARLEY,
    PERSONA,
    WELCOME_BACK,
    expected_answers,
    label,
    parley_env,
    read_database,
)

TIMEOUT = 60
BAD_NUMBER = "lots"
BAD_NUMBER_REPROMPT = "I didn’t find a number in that. Reply with a whole number from 1 to 100,000"
LANGUAGE_SWITCHED = "Je continue en français."


def parley(
    *args: str, database_url: str, stdin: str = "", cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PARLEY), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=parley_env(database_url),
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def run_console(database_url: str, replies: list[str], cwd: Path, user: str = "alice") -> str:
    done = parley(
        "run",
        "--as",
        user,
        "--questionnaire",
        str(EXAMPLE),
        database_url=database_url,
        stdin="".join(f"{reply}\n" for reply in replies),
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


# --- the whole questionnaire, with a back-and-change, a skip, a bad answer, a language switch


def eventful_script() -> list[str]:
    """The persona's replies, plus a bad number, a `back` to change an answer, `language fr`.

    The skip is the persona's own (`annual_budget`). After the switch the yes/no replies
    are typed in French.
    """
    replies = ["I agree"]
    switched = False
    for turn in PERSONA:
        if turn.item == "total_staff":
            replies.append(BAD_NUMBER)
        if turn.item == "data_uses":
            replies += ["back", "4"]  # back to data_importance, change 5 to 4
        if turn.item == "data_capacity":
            replies.append("language fr")
            switched = True
        french = {"yes": "oui", "no": "non"}
        replies.append(french.get(turn.reply, turn.reply) if switched else turn.reply)
    return replies


def eventful_expected() -> dict[str, tuple[object, str]]:
    return expected_answers() | {"data_importance": (4, "answered")}


def check_eventful_run(database_url: str, output: str) -> None:
    stored = read_database(database_url)
    assert stored.status == "completed"
    assert stored.cursor is None
    assert stored.answers == eventful_expected()
    assert stored.answer_rows == len(eventful_expected())

    history = [(item, value, state) for item, value, state, _, _ in stored.history]
    assert [(v, s) for i, v, s in history if i == "data_importance"] == [
        (5, "answered"),
        (4, "answered"),
    ], "the change made via back is in the history, the old value first"
    assert len(history) == len(eventful_expected()) + 1
    events = [event for _, _, _, event, _ in stored.history]
    assert all(events), "every history row names the event that recorded it"

    # the bad answer: re-prompted between the question and its real answer, nothing recorded
    asked = output.index(label("total_staff"))
    reprompt = output.index(BAD_NUMBER_REPROMPT, asked)
    assert reprompt < output.index("  ✓ 40 staff", asked)
    assert output.count(BAD_NUMBER_REPROMPT) == 1
    assert [v for i, v, _ in history if i == "total_staff"] == [40]

    # the skip
    assert "  ✓ Prefer not to say" in output

    # after `language fr`, French only
    before, after = output.split(LANGUAGE_SWITCHED)
    assert "[Question 1 of 48 · Section 1: About your organisation]" in before
    assert label("data_capacity", "fr") in after
    assert CLOSING_FR in after
    assert "[Question 10 de 48 · Section 2 : Les données et votre mission]" in after
    assert " of " not in after and CLOSING_EN not in after
    for turn in PERSONA:
        assert label(turn.item, "en") not in after, f"{turn.item} asked in English after the switch"
    assert stored.languages["data_importance"] == "en"
    assert stored.languages["data_capacity"] == "fr"
    assert stored.languages["other_comments"] == "fr"


def test_whole_questionnaire_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    output = run_console(sqlite_url, eventful_script(), tmp_path)
    check_eventful_run(sqlite_url, output)


def test_whole_questionnaire_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    output = run_console(postgres_url, eventful_script(), tmp_path)
    check_eventful_run(postgres_url, output)


# --- end of input, then a second process ----------------------------------------------


def test_end_of_input_then_a_new_process_continues_where_the_first_stopped(
    sqlite_url: str, tmp_path: Path
) -> None:
    first = run_console(sqlite_url, ["I agree", PERSONA[0].reply, PERSONA[1].reply], tmp_path)
    assert first.rstrip().endswith("→ back")  # the third question was asked, then Ctrl-D
    assert label(PERSONA[2].item) in first
    assert read_database(sqlite_url).answers == expected_answers(PERSONA[:2])

    second = run_console(sqlite_url, [turn.reply for turn in PERSONA[2:]], tmp_path)

    lines = second.splitlines()
    assert lines[0] == WELCOME_BACK
    assert lines[1].startswith("[Question 3 of 48 ")
    assert lines[2] == label(PERSONA[2].item), "the first question is the next unanswered one"
    assert "Do you agree to take part?" not in second
    assert label(PERSONA[0].item) not in second and label(PERSONA[1].item) not in second
    assert CLOSING_EN in second
    stored = read_database(sqlite_url)
    assert stored.status == "completed"
    assert stored.answers == expected_answers()
    assert len(stored.history) == len(PERSONA), "nothing was recorded twice"


# --- bad input to the command line ------------------------------------------------------

BROKEN_QUESTIONNAIRE = """\
spec_version: 1
id: broken
version: "1"
title:
  en: "Broken"
languages: [en]
default_language: en
consent:
  version: "1"
  text:
    en: "Agree?"
closing:
  en: "Thanks"
sections:
  - id: s1
    title:
      en: "S1"
    items:
      - id: q1
        type: rainbow
        label:
          en: "What colour?"
"""


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN_QUESTIONNAIRE, encoding="utf-8")
    return path


def test_validate_reports_file_line_field_reason_and_exits_2(
    broken_file: Path, sqlite_url: str, tmp_path: Path
) -> None:
    done = parley(
        "questionnaire", "validate", str(broken_file), database_url=sqlite_url, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(
        f"{broken_file}:20: sections[0].items[0].type: unknown item type 'rainbow'"
    )


def test_validate_accepts_the_example(sqlite_url: str, tmp_path: Path) -> None:
    done = parley("questionnaire", "validate", str(EXAMPLE), database_url=sqlite_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok: settlement-data-needs v1, 7 sections, 48 questions")


def test_run_with_a_broken_questionnaire_exits_2_and_writes_nothing(
    broken_file: Path, tmp_path: Path
) -> None:
    database = tmp_path / "db" / "parley.sqlite3"
    done = parley(
        "run",
        "--as",
        "alice",
        "--questionnaire",
        str(broken_file),
        database_url=f"sqlite:///{database}",
        stdin="I agree\n",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert f"{broken_file}:20: sections[0].items[0].type:" in line
    assert not database.exists(), "the database was created although nothing could run"


def test_run_refuses_a_database_newer_than_the_code(sqlite_url: str, tmp_path: Path) -> None:
    upgraded = parley("db", "upgrade", database_url=sqlite_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    connection.close()

    done = parley("run", "--as", "alice", database_url=sqlite_url, stdin="I agree\n", cwd=tmp_path)

    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "9999_from_the_future" in line and "newer than this Parley" in line
    assert "Traceback" not in done.stderr
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM stakeholders").fetchone() == (0,)
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9999_from_the_future",)
        ]
    connection.close()


def test_preview_in_french(sqlite_url: str, tmp_path: Path) -> None:
    done = parley(
        "questionnaire",
        "preview",
        str(EXAMPLE),
        "--language",
        "fr",
        database_url=sqlite_url,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for turn in PERSONA:
        assert label(turn.item, "fr") in lines
        assert label(turn.item, "en") not in lines
    assert "Acceptez-vous de participer?" in done.stdout
    assert "== Section 1: Votre organisme ==" in lines
    assert CLOSING_FR in done.stdout
