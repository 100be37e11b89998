"""Tiny studies for the analytics tests: a questionnaire and frames built by hand.

`frames_of(...)` makes the three frames `analytics.frames` loads, in the same columns and
dtypes, from a few readable rows, so a test states its numbers next to its data.
`questionnaire_of(...)` builds a test questionnaire from its sections; the sample digest's
(`tests.analytics.sample_digest`) is built by it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from analytics.frames import LEAN_ANSWER_COLUMNS, RUN_COLUMNS, STAKEHOLDER_COLUMNS, Frames
from conversations.loading import parse_questionnaire
from conversations.questionnaire import Questionnaire

__all__ = ["NOW", "Person", "frames_of", "questionnaire", "questionnaire_of"]

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

HEADER = """\
version: "1"
languages: [en, fr]
consent: {version: "1", text: {en: "Agree?", fr: "D'accord?"}}
closing: {en: Bye, fr: Salut}
"""

TINY = """\
  - id: main
    title: {en: "Main", fr: "Principal"}
    items:
      - id: colour
        type: single_choice
        segment: true
        label: {en: "Colour?", fr: "Couleur?"}
        choices:
          - {id: red, label: {en: Red, fr: Rouge}}
          - {id: blue, label: {en: Blue, fr: Bleu}}
          - {id: green, label: {en: Green, fr: Vert}}
      - id: tools
        type: multi_choice
        segment: true
        label: {en: "Tools?", fr: "Outils?"}
        choices:
          - {id: excel, label: {en: Spreadsheets, fr: Tableurs}}
          - {id: bi, label: {en: Dashboards, fr: Tableaux de bord}}
          - {id: r, label: {en: R, fr: R}}
      - id: intro
        type: note
        label: {en: "A note", fr: "Une note"}
      - id: ease
        type: scale
        label: {en: "Ease?", fr: "Facilité?"}
      - id: staff
        type: number
        label: {en: "Staff?", fr: "Employés?"}
      - id: open_data
        type: yes_no
        label: {en: "Open data?", fr: "Données ouvertes?"}
      - id: since
        type: date
        label: {en: "Since?", fr: "Depuis?"}
      - id: story
        type: text
        quotable: true
        label: {en: "Story?", fr: "Histoire?"}
      - id: private
        type: text
        label: {en: "Private?", fr: "Privé?"}
"""


def questionnaire_of(key: str, title: str, sections: str) -> Questionnaire:
    """A questionnaire in English and French with the shared consent and closing:
    `title` is a YAML mapping of language to text, `sections` the YAML list of sections."""
    text = f"id: {key}\ntitle: {title}\n{HEADER}sections:\n{sections}"
    return parse_questionnaire(text, f"{key}.yaml").questionnaire


def questionnaire() -> Questionnaire:
    return questionnaire_of("tiny", '{en: "Tiny", fr: "Minuscule"}', TINY)


class Person:
    """One stakeholder and their run: `answers` maps item id to value (or "skipped")."""

    def __init__(
        self,
        status: str = "completed",
        answers: dict[str, Any] | None = None,
        *,
        organisation: str | None = None,
        organisation_type: str | None = "non_profit",
        region: str | None = "east",
        language: str = "en",
        cursor: str | None = None,
        minutes: float = 10,
        completed_at: datetime | None = None,
        invited: bool = True,
    ) -> None:
        self.status = status
        self.answers = answers or {}
        self.organisation = organisation
        self.organisation_type = organisation_type
        self.region = region
        self.language = language
        self.cursor = cursor
        self.minutes = minutes
        self.completed_at = completed_at
        self.invited = invited


def frames_of(people: Sequence[Person]) -> Frames:
    """The frames `load_frames` would give for these people (withdrawn ones left out)."""
    kept = [(n, p) for n, p in enumerate(people, start=1) if p.status != "withdrawn"]
    stakeholders = pd.DataFrame(
        [
            {
                "stakeholder_id": n,
                "name": f"P{n}",
                "organisation": p.organisation,
                "organisation_type": p.organisation_type,
                "region": p.region,
                "language": p.language,
            }
            for n, p in kept
        ],
        columns=list(STAKEHOLDER_COLUMNS),
    )
    runs = pd.DataFrame(
        [_run(n, p) for n, p in kept if p.invited],
        columns=list(RUN_COLUMNS),
    )
    for column in ("started_at", "created_at", "updated_at", "completed_at"):
        runs[column] = pd.to_datetime(runs[column], utc=True)
    answers = pd.DataFrame(
        [row for n, p in kept if p.invited for row in _answers(n, p)],
        columns=list(LEAN_ANSWER_COLUMNS),
    )
    answers["answered_at"] = pd.to_datetime(answers["answered_at"], utc=True)
    answers["item_id"] = answers["item_id"].astype("category")
    answers["state"] = answers["state"].astype("category")
    return Frames(stakeholders, runs, answers)


def _run(n: int, person: Person) -> dict[str, Any]:
    completed = person.completed_at or NOW - timedelta(days=1)
    started = completed - timedelta(minutes=person.minutes)
    return {
        "run_id": 100 + n,
        "stakeholder_id": n,
        "wave": "main",
        "questionnaire_version": "1",
        "status": person.status,
        "language": person.language,
        "cursor": person.cursor,
        "started_at": started
        if person.status not in ("invited", "consenting", "declined")
        else None,
        "created_at": started - timedelta(days=1),
        "updated_at": started,
        "completed_at": completed if person.status == "completed" else None,
    }


def _answers(n: int, person: Person) -> list[dict[str, Any]]:
    rows = []
    for position, (item_id, value) in enumerate(person.answers.items()):
        state = value if value in ("skipped", "not_applicable") else "answered"
        rows.append(
            {
                "run_id": 100 + n,
                "stakeholder_id": n,
                "item_id": item_id,
                "value": None if state != "answered" else value,
                "state": state,
                "answered_at": NOW - timedelta(hours=n, minutes=position),
            }
        )
    return rows
