"""Small XLSForm workbooks written by the tests themselves (openpyxl), and a way to answer them.

`write_form` takes rows as lists (the first is the header), so a test shows the form as a
researcher would see it in a spreadsheet. `answer` plays replies through the real engine,
reloading the run state from JSON between turns as the database would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

from conversations.engine import Step, start, step
from conversations.inputs import Reply
from conversations.questionnaire import Questionnaire
from conversations.run import RunState

T0 = datetime(2027, 1, 15, 14, 0, tzinfo=UTC)

Rows = Sequence[Sequence[object]]

SETTINGS: Rows = (
    ("form_id", "version", "form_title", "consent::English (en)", "consent::French (fr)",
     "closing::English (en)", "closing::French (fr)"),
    ("corpus", "1", "Corpus", "Do you agree?", "Acceptez-vous?", "Thanks!", "Merci!"),
)  # fmt: skip


def write_form(
    path: Path,
    survey: Rows,
    choices: Rows | None = None,
    settings: Rows | None = SETTINGS,
    extra: dict[str, Rows] | None = None,
) -> Path:
    book = Workbook()
    book.remove(book.active)
    sheets = {"survey": survey, "choices": choices, "settings": settings, **(extra or {})}
    for title, rows in sheets.items():
        if rows is None:
            continue
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def answer(q: Questionnaire, replies: Sequence[str], language: str = "en") -> list[Step]:
    steps = [start(q, language, T0)]
    for turn, text in enumerate(replies, start=1):
        run = RunState.from_dict(json.loads(json.dumps(steps[-1].run.to_dict())))
        steps.append(step(q, run, Reply(text), T0 + timedelta(minutes=turn)))
    return steps
