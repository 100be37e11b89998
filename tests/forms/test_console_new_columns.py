"""`parley run` on an XLSForm with a default, a cascade and a required_message, end to end.

The console prints what every channel is given: the starred default and its Keep control,
only the cities of the province chosen, the form's own required message.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.support import PARLEY, parley_env
from tests.forms.workbooks import write_form

EN = "label::English (en)"
SURVEY = [
    ["type", "name", EN, "choice_filter", "default", "required", "required_message"],
    ["select_one provinces", "province", "Province?", "", "qc", "yes", ""],
    ["select_one cities", "city", "City?", "province = ${province}", "", "yes", "Which city?"],
    ["integer", "staff", "Staff?", "", "12", "yes", ""],
]
CHOICES = [
    ["list_name", "name", EN, "province"],
    ["provinces", "qc", "Quebec", ""],
    ["provinces", "on", "Ontario", ""],
    ["cities", "mtl", "Montreal", "qc"],
    ["cities", "tor", "Toronto", "on"],
    ["cities", "ott", "Ottawa", "on"],
]


def test_console_offers_the_default_filters_the_cities_and_says_the_message(
    tmp_path: Path,
) -> None:
    source = write_form(tmp_path / "form.xlsx", SURVEY, CHOICES)
    database = tmp_path / "parley.db"
    env = parley_env(f"sqlite:///{database}") | {"PARLEY_QUESTIONNAIRE": str(source)}
    done = subprocess.run(
        [str(PARLEY), "run", "--as", "ann"],
        input="".join(f"{reply}\n" for reply in ["I agree", "Ontario", "skip", "2", "keep"]),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "  1. ★ Quebec\n  2. Ontario" in out
    assert "→ next (Keep: Quebec)" in out
    assert "  1. Toronto\n  2. Ottawa\n" in out and "Montreal" not in out
    assert "Which city?" in out
    assert "Suggested answer: 12." in out and "→ next (Keep: 12)" in out
    assert "Thanks!" in out
    with sqlite3.connect(database) as db:
        rows = db.execute("select item_id, value from answers").fetchall()
    stored = {item: json.loads(value) if isinstance(value, str) else value for item, value in rows}
    assert stored == {"province": "on", "city": "ott", "staff": 12}
