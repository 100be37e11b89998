"""Researcher commands, parsed once for every channel, answered from the database.

Only identities with the researcher role may run them; everyone else is refused
politely and nothing runs. More commands arrive with later issues (digest, followup…).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.catalog import translate
from conversations.questionnaire import Questionnaire
from conversations.run import RunStatus
from storage.models import Run, Stakeholder

__all__ = ["COMMANDS", "parse_command", "respond"]

COMMANDS = ("status",)


def parse_command(text: str) -> tuple[str, str] | None:
    """`/status@ParleyBot args` → ("status", "args"); None when the text is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    return head.split("@")[0].lower(), rest.strip()


def respond(session: Session, questionnaire: Questionnaire, command: str, language: str) -> str:
    if command == "status":
        return status_line(session, questionnaire, language)
    return translate("researcher.unknown", language, commands=", ".join(f"/{c}" for c in COMMANDS))


def status_line(session: Session, questionnaire: Questionnaire, language: str) -> str:
    counts = run_counts(session, questionnaire.id)
    roster = session.scalar(select(func.count()).select_from(Stakeholder)) or 0
    started = sum(counts.values())
    return translate(
        "researcher.status",
        language,
        title=questionnaire.title.get(language),
        invited=roster - started + counts.get(RunStatus.INVITED, 0),
        **{
            status.value: counts.get(status, 0)
            for status in RunStatus
            if status is not RunStatus.INVITED
        },
    )


def run_counts(session: Session, questionnaire_id: str) -> Mapping[RunStatus, int]:
    rows = session.execute(
        select(Run.status, func.count())
        .where(Run.questionnaire_key == questionnaire_id)
        .group_by(Run.status)
    )
    return {RunStatus(status): count for status, count in rows}
