"""What Parley cannot honour is refused with one exact line; bad workbooks too, exit code 2.

Each case changes one cell of a small valid form (or breaks the file) and expects exactly
the lines `parley questionnaire validate` prints: file, sheet, row, column, reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from bot.cli import app
from conversations.errors import QuestionnaireError
from forms import load_any_file as load_questionnaire_file
from tests.forms.workbooks import Rows, write_form

EN = "label::English (en)"
HEADER = ["type", "name", EN, "relevant", "constraint", "required"]
CHOICES: Rows = [["list_name", "name", EN], ["yn", "yes", "Yes"], ["yn", "no", "No"]]


def survey(*rows: list[str]) -> list[list[str]]:
    base = [
        HEADER,
        ["select_one yn", "a", "A?", "", "", "yes"],
        ["integer", "b", "B?", "", "", "yes"],
    ]
    return [*base, *rows]


def errors_of(path: Path) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_file(path)
    return [str(e).replace(str(path.parent) + "/", "") for e in caught.value.errors]


def row(column: str, value: str, kind: str = "text", name: str = "c") -> list[str]:
    cells = {"type": kind, "name": name, EN: "C?"}
    cells[column] = value
    return [cells.get(header, "") for header in HEADER]


UNSUPPORTED = [
    (
        row("relevant", "pulldata('fees', 'amount', 'id', ${b}) > 3"),
        "form.xlsx: survey row 4: relevant: function 'pulldata' is not supported",
    ),
    (
        row("constraint", "regex(., '^[A-Z]')"),
        "form.xlsx: survey row 4: constraint: function 'regex' is not supported",
    ),
    (
        row("relevant", "${b} + 1 > 3"),
        "form.xlsx: survey row 4: relevant: arithmetic ('+') on answers is not supported",
    ),
    (
        row("constraint", ". <= today()", kind="date"),
        "form.xlsx: survey row 4: constraint: function 'today' is not supported",
    ),
    (
        row("relevant", "../a = 'yes'"),
        "form.xlsx: survey row 4: relevant: XPath paths ('..') are not supported: use ${name}",
    ),
    (
        row("relevant", "${a} = 'maybe'"),
        "form.xlsx: survey row 4: relevant: 'maybe' is not a choice of ${a} (yes or no)",
    ),
    (row("type", "geopoint"), "form.xlsx: survey row 4: type: type 'geopoint' is not supported"),
    (row("type", "rank yn"), "form.xlsx: survey row 4: type: type 'rank' is not supported"),
    (row("type", "calculate"), "form.xlsx: survey row 4: type: type 'calculate' is not supported"),
    (
        row("type", "begin_repeat"),
        "form.xlsx: survey row 4: type: type 'begin_repeat' is not supported",
    ),
    (
        row("type", "select_one yn or_other"),
        "form.xlsx: survey row 4: type: 'or_other' is not supported: "
        "give the list a choice with other = yes",
    ),
    (
        row("required", "${a} = 'yes'"),
        "form.xlsx: survey row 4: required: a required that depends on other answers "
        "is not supported",
    ),
    (
        row(EN, "You said ${a}"),
        f"form.xlsx: survey row 4: {EN}: references like ${{name}} inside text are not supported",
    ),
    (
        row("relevant", "${d} = 1"),
        "form.xlsx: survey row 4: relevant: refers to 'd', which is not an earlier item",
    ),
    (
        row("relevant", "."),
        "form.xlsx: survey row 4: relevant: '.' (the answer itself) can only be used in a "
        "constraint",
    ),
]


@pytest.mark.parametrize(("extra", "expected"), UNSUPPORTED, ids=lambda v: str(v)[:40])
def test_unsupported_features_are_refused_with_the_exact_line(
    extra: list[str], expected: str, tmp_path: Path
) -> None:
    path = write_form(tmp_path / "form.xlsx", survey(extra), CHOICES)
    assert errors_of(path) == [expected]


DYNAMIC = "a default computed from answers or functions is not supported"
FILTER_ON_SELECTS = "choice_filter applies to select_one and select_multiple only"


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("calculation", "${b} * 2", "calculation: column 'calculation' is not supported"),
        ("default", "${b}", f"default: {DYNAMIC}"),
        ("default", "today()", f"default: {DYNAMIC}"),
        ("choice_filter", "x=${a}", f"choice_filter: {FILTER_ON_SELECTS}"),
        ("appearance", "signature", "appearance: appearance 'signature' is not supported"),
        ("image", "map.png", "image: column 'image' is not supported"),
    ],
)  # fmt: skip
def test_columns_parley_cannot_honour_are_refused(
    column: str, value: str, expected: str, tmp_path: Path
) -> None:
    rows = survey(["text", "c", "C?", "", "", ""])
    rows = [[*r, column if i == 0 else (value if i == 3 else "")] for i, r in enumerate(rows)]
    path = write_form(tmp_path / "form.xlsx", rows, CHOICES)
    assert errors_of(path) == [f"form.xlsx: survey row 4: {expected}"]


def test_a_group_inside_a_group_and_an_unclosed_group(tmp_path: Path) -> None:
    rows = survey(
        ["begin_group", "g1", "G1", "", "", ""],
        ["begin_group", "g2", "G2", "", "", ""],
        ["text", "c", "C?", "", "", ""],
    )
    path = write_form(tmp_path / "form.xlsx", rows, CHOICES)
    assert errors_of(path) == [
        "form.xlsx: survey row 4: type: begin_group has no end_group",
        "form.xlsx: survey row 5: type: a group inside a group is not supported "
        "(Parley sections do not nest)",
    ]


# --- bad input ---------------------------------------------------------------------------


def _no_survey(path: Path) -> None:
    book = Workbook()
    book.active.append(["Organisation", "Budget"])
    book.active.append(["Acme", 10])
    book.save(path)


BAD_INPUT = [
    (
        "missing name column",
        lambda p: write_form(p, [["type", EN], ["text", "A?"]], CHOICES),
        [
            "form.xlsx: survey row 1: name: column missing",
            "form.xlsx: survey row 2: name: required",
        ],
    ),
    (
        "choice list referenced but absent",
        lambda p: write_form(p, survey(["select_one sizes", "c", "C?", "", "", ""]), CHOICES),
        ["form.xlsx: survey row 4: type: choice list 'sizes' is not in the choices sheet"],
    ),
    (
        "no choices sheet",
        lambda p: write_form(p, survey(), None),
        ["form.xlsx: survey row 2: type: choice list 'yn' is not in the choices sheet"],
    ),
    (
        "choices sheet without labels",
        lambda p: write_form(p, survey(), [["list_name", "name"], ["yn", "yes"], ["yn", "no"]]),
        [
            "form.xlsx: survey row 2: type: choice list 'yn' is not in the choices sheet",
            "form.xlsx: choices row 1: label: column missing",
            "form.xlsx: choices row 2: label: required",
            "form.xlsx: choices row 3: label: required",
        ],
    ),
    (
        "duplicate question names",
        lambda p: write_form(p, survey(["text", "a", "Again?", "", "", ""]), CHOICES),
        ["form.xlsx: survey row 4: name: duplicate item id 'a'"],
    ),
    (
        "duplicate choice names",
        lambda p: write_form(p, survey(), [*CHOICES, ["yn", "yes", "Yes!"]]),
        ["form.xlsx: choices row 4: name: duplicate name 'yes' in list 'yn' (also row 2)"],
    ),
    (
        "a name that cannot be a Parley id",
        lambda p: write_form(p, survey(["text", "Q-1", "C?", "", "", ""]), CHOICES),
        [
            "form.xlsx: survey row 4: name: invalid id 'Q-1' (use lower-case letters, digits "
            "and _, at most 32 characters)"
        ],
    ),
    (
        "duplicate column",
        lambda p: write_form(p, [[*HEADER, "name"], ["text", "c", "C?", "", "", "", "c"]]),
        ["form.xlsx: survey row 1: name: the same column appears twice"],
    ),
    (
        "no consent in settings",
        lambda p: write_form(p, survey(), CHOICES, [["form_id"], ["f"]]),
        [
            "form.xlsx: settings row 2: closing: required: Parley says it before the first "
            "question / after the last",
            "form.xlsx: settings row 2: consent: required: the consent text Parley asks "
            "people to agree to",
        ],
    ),
    (
        "not an XLSForm spreadsheet",
        _no_survey,
        ["form.xlsx: survey: sheet missing"],
    ),
    (
        "a translation column without a language code",
        lambda p: write_form(p, [["type", "name", "label::English"], ["text", "c", "C?"]]),
        [
            "form.xlsx: survey row 1: label: column missing",
            "form.xlsx: survey row 1: label::English: column 'label::English' names no "
            "language code: write e.g. 'label::English (en)'",
            "form.xlsx: survey row 2: label: required",
        ],
    ),
    (
        "corrupt file",
        lambda p: p.write_bytes(b"PK\x03\x04 this is not really a zip archive"),
        ["form.xlsx: cannot read the workbook (File is not a zip file): is it an .xlsx file?"],
    ),
    (
        "a CSV file named .xlsx",
        lambda p: p.write_text("type,name,label\ntext,c,C?\n"),
        ["form.xlsx: cannot read the workbook (File is not a zip file): is it an .xlsx file?"],
    ),
]


@pytest.mark.parametrize(("case", "make", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_workbooks_give_one_line_each_and_exit_2(
    case: str, make: object, expected: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "form.xlsx"
    make(path)  # type: ignore[operator]
    assert errors_of(path) == expected
    monkeypatch.chdir(tmp_path)
    for command in (["questionnaire", "validate"], ["questionnaire", "import", "-o", "out.yaml"]):
        done = CliRunner().invoke(app, [*command, "form.xlsx"])
        assert done.exit_code == 2, done.output
        assert done.stderr.splitlines() == expected
        assert done.stdout == ""
    assert not (tmp_path / "out.yaml").exists()
