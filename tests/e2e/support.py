"""What the end-to-end tests share: a scripted stakeholder, the `parley` command, the database.

`PERSONA` is one person's whole pass through the example questionnaire, written out by
hand: the item each reply answers, the reply typed, and the value and state the
`answers` table must hold afterwards. Its choices open some branches (refugee
breakdowns, other government sources, the reason for not using the portal) and close
others (portal questions, data cost, the producer section, the follow-up date), so the
expected answers also pin the branching down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage import make_engine
from storage.models import Answer as AnswerRow
from storage.models import AnswerChange, Run

__all__ = [
    "CLOSING_EN",
    "CLOSING_FR",
    "EXAMPLE",
    "PARLEY",
    "PERSONA",
    "WELCOME_BACK",
    "Stored",
    "Turn",
    "expected_answers",
    "label",
    "parley_env",
    "read_database",
    "stop_process",
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "settlement-data-needs.yaml"
PARLEY = Path(sys.executable).with_name("parley")
"""The console script installed beside the interpreter running the tests."""

WELCOME_BACK = "Welcome back! Let’s continue where you left off."
CLOSING_EN = "Thank you, that's everything! Your answers have been recorded."
CLOSING_FR = "Merci, c'est terminé! Vos réponses ont été enregistrées."


@dataclass(frozen=True)
class Turn:
    item: str
    reply: str
    value: Any
    state: str = "answered"


PERSONA: tuple[Turn, ...] = (
    Turn("org_type", "1", "non_profit"),
    Turn("province", "5", "on"),
    Turn("respondent_role", "3", "analyst"),
    Turn("total_staff", "40", 40),
    Turn("data_staff", "6", 6),
    Turn("data_fte", "2.5", 2.5),
    Turn("annual_budget", "skip", None, "skipped"),
    Turn("data_importance", "5", 5),
    Turn("data_uses", "1, 2", ["program_planning", "service_gaps"]),
    Turn("data_capacity", "3", 3),
    Turn("data_tools", "1, 2", ["spreadsheets", "stats_software"]),
    Turn("data_decision_example", "We opened an office.", "We opened an office."),
    Turn("datasets_used", "4, 8", ["refugees", "provincial"]),
    Turn("refugee_breakdowns", "1, 2", ["category", "country"]),
    Turn("other_gov_sources", "Statistique Québec", "Statistique Québec"),
    Turn("data_search_frequency", "2", "monthly"),
    Turn("hardest_to_get", "1", ["local_arrivals"]),
    Turn("third_party_data", "no", False),
    Turn("open_data_familiarity", "4", 4),
    Turn("open_principles_importance", "5", 5),
    Turn("knows_portal", "yes", True),
    Turn("uses_portal", "no", False),
    Turn("portal_not_used_reason", "2", "hard_to_find"),
    Turn("finest_geography", "3", "metro"),
    Turn("geo_adequacy", "2", 2),
    Turn("data_lag_months", "12", 12),
    Turn("formats_preferred", "1, 3", ["csv", "api"]),
    Turn("paid_for_data", "no", False),
    Turn("assembly_days", "3", 3),
    Turn("pdf_extraction", "yes", True),
    Turn("availability_gap", "Local data, sooner.", "Local data, sooner."),
    Turn("is_producer", "no", False),
    Turn("top_priorities", "1, 2", ["geography", "timeliness"]),
    Turn("ircc_recommendation", "Publish more often.", "Publish more often."),
    Turn("followup_group", "no", False),
    Turn("other_comments", "Thanks", "Thanks"),
)


def expected_answers(turns: tuple[Turn, ...] = PERSONA) -> dict[str, tuple[Any, str]]:
    return {turn.item: (turn.value, turn.state) for turn in turns}


_LABELS: dict[str, dict[str, str]] = {}


def label(item_id: str, language: str = "en") -> str:
    """The question text of an item, exactly as the console prints it on its own line."""
    if not _LABELS:
        from conversations.loading import load_questionnaire

        questionnaire = load_questionnaire(EXAMPLE)
        for lang in questionnaire.languages:
            _LABELS[lang] = {item.id: item.label.get(lang) for item in questionnaire.items}
    return _LABELS[language][item_id]


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL if it has not ended within 10 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def parley_env(database_url: str) -> dict[str, str]:
    """The environment for a `parley` subprocess: this database, no platform, no .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PARLEY_DATABASE_URL"] = database_url
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@dataclass(frozen=True)
class Stored:
    """What the database holds for the one run a test made."""

    status: str
    cursor: str | None
    answers: dict[str, tuple[Any, str]]
    answer_rows: int
    history: list[tuple[str, Any, str, str | None, str]]
    """(item_id, value, state, event_id, language), oldest first."""
    languages: dict[str, str]
    runs: int


def read_database(database_url: str) -> Stored:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            runs = connection.execute(select(Run.id, Run.status, Run.state)).all()
            assert len(runs) == 1, f"expected one run, found {len(runs)}"
            run_id, status, state = runs[0]
            answers = connection.execute(
                select(AnswerRow.item_id, AnswerRow.value, AnswerRow.state, AnswerRow.language)
                .where(AnswerRow.run_id == run_id)
                .order_by(AnswerRow.id)
            ).all()
            history = connection.execute(
                select(
                    AnswerChange.item_id,
                    AnswerChange.value,
                    AnswerChange.state,
                    AnswerChange.event_id,
                    AnswerChange.language,
                )
                .where(AnswerChange.run_id == run_id)
                .order_by(AnswerChange.id)
            ).all()
    finally:
        engine.dispose()
    return Stored(
        status=status,
        cursor=state.get("cursor"),
        answers={item: (value, st) for item, value, st, _ in answers},
        answer_rows=len(answers),
        history=[tuple(row) for row in history],
        languages={item: language for item, _, _, language in answers},
        runs=len(runs),
    )
