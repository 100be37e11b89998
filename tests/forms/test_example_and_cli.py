"""The shipped XLSForm equals the YAML example; `import` writes YAML that loads the same.

`parley run` takes an .xlsx as its questionnaire, by option or PARLEY_QUESTIONNAIRE.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.questionnaires import QuestionnaireBook
from conversations.loading import questionnaire_from_definition
from forms import load_any_file as load_questionnaire_file
from storage import ensure_schema, make_engine, make_session_factory, repository
from tests.e2e.support import PARLEY, parley_env
from tests.forms.test_corpus import CORPUS, Form
from tests.forms.workbooks import write_form

EXAMPLES = Path(__file__).parents[2] / "examples"
YAML, XLSX = EXAMPLES / "settlement-data-needs.yaml", EXAMPLES / "settlement-data-needs.xlsx"


def test_the_example_xlsform_is_the_yaml_questionnaire() -> None:
    from_yaml = load_questionnaire_file(YAML)
    from_xlsx = load_questionnaire_file(XLSX)
    assert from_xlsx.questionnaire == from_yaml.questionnaire
    assert from_xlsx.warnings == ()
    assert len(from_xlsx.questionnaire.items) == 50


def test_exports_keep_the_form_names_and_choice_codes() -> None:
    """Item ids are the survey names and choice ids the choice names, one to one."""
    from openpyxl import load_workbook

    book = load_workbook(XLSX, read_only=True)
    survey = [r for r in book["survey"].iter_rows(min_row=2, values_only=True) if r[0]]
    names = [r[1] for r in survey if not str(r[0]).startswith(("begin_group", "end_group"))]
    choices = {(r[0], r[1]) for r in book["choices"].iter_rows(min_row=2, values_only=True)}
    book.close()
    q = load_questionnaire_file(XLSX).questionnaire
    assert [item.id for item in q.items] == names
    for item in q.items:
        assert {(item.id, c.id) for c in item.choices} <= choices


@pytest.mark.parametrize("form", CORPUS, ids=lambda f: f.name)
def test_import_writes_yaml_that_validates_and_loads_the_same(form: Form, tmp_path: Path) -> None:
    source = write_form(tmp_path / "form.xlsx", form.survey, form.choices, form.settings)
    target = tmp_path / "f.yaml"
    runner = CliRunner()
    done = runner.invoke(app, ["questionnaire", "import", str(source), "-o", str(target)])
    assert done.exit_code == 0, done.output
    checked = runner.invoke(app, ["questionnaire", "validate", str(tmp_path / "f.yaml")])
    assert checked.exit_code == 0, checked.output
    assert ": ok: " in checked.stdout
    again = load_questionnaire_file(tmp_path / "f.yaml")
    assert again.questionnaire == load_questionnaire_file(source).questionnaire


def test_the_example_imports_to_yaml_equal_to_the_example(tmp_path: Path) -> None:
    target = tmp_path / "x.yaml"
    done = CliRunner().invoke(app, ["questionnaire", "import", str(XLSX), "-o", str(target)])
    assert done.exit_code == 0, done.output
    imported = load_questionnaire_file(target).questionnaire
    assert imported == load_questionnaire_file(YAML).questionnaire


def test_the_run_path_stores_an_xlsform_questionnaire(database_url: str) -> None:
    """`parley run` loads through QuestionnaireBook and stores the definition (both databases)."""
    book = QuestionnaireBook.from_file(XLSX)
    engine = make_engine(database_url)
    ensure_schema(engine)
    try:
        with make_session_factory(engine)() as session:
            book.store_current(session)
            session.commit()
            stored = repository.questionnaire_definition(session, book.current.id, "1")
    finally:
        engine.dispose()
    assert stored is not None
    assert questionnaire_from_definition(stored, "db") == book.current


def test_parley_run_answers_an_xlsform_from_the_environment(tmp_path: Path) -> None:
    """PARLEY_QUESTIONNAIRE=form.xlsx: a console session answers it to the end."""
    form = CORPUS[1]  # yes/no branching
    source = write_form(tmp_path / "form.xlsx", form.survey, form.choices, form.settings)
    env = parley_env(f"sqlite:///{tmp_path / 'parley.db'}") | {"PARLEY_QUESTIONNAIRE": str(source)}
    done = subprocess.run(
        [str(PARLEY), "run", "--as", "ann"],
        input="".join(f"{reply}\n" for reply in form.replies),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Website?" in done.stdout and "Why not?" in done.stdout
    assert "Address?" not in done.stdout
    assert "Thanks!" in done.stdout
