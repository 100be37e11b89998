"""`default`, `choice_filter`, `required_message` and the consent settings: what is refused.

Each case changes one cell of a small valid cascade form and expects exactly the lines
`parley questionnaire validate` prints (sheet, row, column, reason), exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from conversations.errors import QuestionnaireError
from conversations.xlsform_choice_filter import FILTER_REFUSED
from forms import load_any_file as load_questionnaire_file
from tests.forms.workbooks import SETTINGS, write_form

EN = "label::English (en)"
HEADER = ["type", "name", EN, "choice_filter", "default", "required"]
CHOICES = [
    ["list_name", "name", EN, "province"],
    ["provinces", "qc", "Quebec", ""],
    ["provinces", "bc", "British Columbia", ""],
    ["cities", "mtl", "Montreal", "qc"],
    ["cities", "van", "Vancouver", "bc"],
    ["yn", "yes", "Yes", ""],
    ["yn", "no", "No", ""],
]


def survey(**changes: str) -> list[list[str]]:
    """The form with `cell_<row>_<column>` changes, e.g. cell_3_choice_filter='…'."""
    rows = [
        HEADER,
        ["select_one provinces", "province", "Province?", "", "", "yes"],
        ["select_one cities", "city", "City?", "province = ${province}", "", "yes"],
        ["select_one yn", "member", "Member?", "", "", "yes"],
        ["integer", "staff", "Staff?", "", "", "yes"],
        ["note", "bye", "Bye", "", "", ""],
    ]
    for key, value in changes.items():
        _, row, column = key.split("_", 2)
        rows[int(row) - 1][HEADER.index(column)] = value
    return rows


def errors_of(path: Path) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_file(path)
    return [str(e).replace(str(path.parent) + "/", "") for e in caught.value.errors]


def test_the_base_form_loads(tmp_path: Path) -> None:
    loaded = load_questionnaire_file(write_form(tmp_path / "form.xlsx", survey(), CHOICES))
    assert [str(c.relevant) for c in loaded.questionnaire.item("city").choices] == [
        "province = 'qc'",
        "province = 'bc'",
    ]


REFUSED = [
    (
        {"cell_3_choice_filter": "province = ${province} and ${member} = 'yes'"},
        None,
        f"survey row 3: choice_filter: {FILTER_REFUSED}",
    ),
    (
        {"cell_3_choice_filter": "starts-with(province, ${province})"},
        None,
        f"survey row 3: choice_filter: {FILTER_REFUSED}",
    ),
    (
        {"cell_3_choice_filter": "province = ${region}"},
        None,
        "survey row 3: choice_filter: refers to 'region', which is not an earlier item",
    ),
    (
        {"cell_3_choice_filter": "prov = ${province}"},
        None,
        "survey row 3: choice_filter: no choice of this list has a value in column 'prov'",
    ),
    (
        {},
        [*CHOICES[:4], ["cities", "van", "Vancouver", ""], *CHOICES[5:]],
        "choices row 5: province: empty: the choice_filter of survey row 3 would never "
        "offer this choice",
    ),
    (
        {},
        [*CHOICES[:4], ["cities", "van", "Vancouver", "bcc"], *CHOICES[5:]],
        "choices row 5: province: 'bcc' is not a choice id of 'province'",
    ),
    (
        {"cell_4_choice_filter": "province = ${province}"},
        None,
        "survey row 4: choice_filter: choice_filter is not supported on a yes/no or likert list",
    ),
    (
        {"cell_5_choice_filter": "province = ${province}"},
        None,
        "survey row 5: choice_filter: choice_filter applies to select_one and select_multiple only",
    ),
    ({"cell_2_default": "on"}, None, "survey row 2: default: 'on' is not a choice id (qc, bc)"),
    ({"cell_4_default": "maybe"}, None, "survey row 4: default: 'maybe' is not yes or no"),
    ({"cell_5_default": "a dozen"}, None, "survey row 5: default: 'a dozen' is not a number"),
    (
        {"cell_5_default": "2.5"},
        None,
        "survey row 5: default: 2.5 is not an answer this item accepts: That isn’t a whole "
        "number. Reply with a whole number.",
    ),
    (
        {"cell_5_default": "${staff}"},
        None,
        "survey row 5: default: a default computed from answers or functions is not supported",
    ),
    (
        {"cell_6_default": "hello"},
        None,
        "survey row 6: default: a note takes no answer, so it has no default",
    ),
]


@pytest.mark.parametrize(("changes", "choices", "expected"), REFUSED, ids=lambda v: str(v)[:40])
def test_each_problem_is_one_exact_line(
    changes: dict[str, str], choices: list[list[str]] | None, expected: str, tmp_path: Path
) -> None:
    path = write_form(tmp_path / "form.xlsx", survey(**changes), choices or CHOICES)
    assert errors_of(path) == [f"form.xlsx: {expected}"]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("consent_version", "two", "must be a whole number such as 1 or 2, not 'two'"),
        ("consent_version", "1.5", "must be a whole number such as 1 or 2, not '1.5'"),
        ("on_withdraw", "forget", "must be delete or keep_anonymous, not 'forget'"),
    ],
)
def test_consent_settings_are_checked(
    column: str, value: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = [[*SETTINGS[0], column], [*SETTINGS[1], value]]
    path = write_form(tmp_path / "form.xlsx", survey(), CHOICES, settings)
    line = f"form.xlsx: settings row 2: {column}: {expected}"
    assert errors_of(path) == [line]
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["questionnaire", "validate", "form.xlsx"])
    assert (done.exit_code, done.stderr.splitlines()) == (2, [line])


def test_rank_is_still_refused(tmp_path: Path) -> None:
    rows = [*survey(), ["rank provinces", "order", "Order?", "", "", "yes"]]
    path = write_form(tmp_path / "form.xlsx", rows, CHOICES)
    assert errors_of(path) == ["form.xlsx: survey row 7: type: type 'rank' is not supported"]


def test_a_required_message_on_an_optional_question_is_a_warning(tmp_path: Path) -> None:
    rows = [[*HEADER, "required_message"], *[[*r, ""] for r in survey()[1:]]]
    rows[4][-2:] = ["", "Staff, please"]  # staff: not required, yet a required_message
    path = write_form(tmp_path / "form.xlsx", rows, CHOICES)
    warnings = [
        str(w).replace(str(tmp_path) + "/", "") for w in load_questionnaire_file(path).warnings
    ]
    assert [w for w in warnings if "missing translation" not in w] == [
        "form.xlsx: survey row 5: required_message: never said: the item is not required"
    ]
