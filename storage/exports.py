"""What an export needs to know besides the answers: which questionnaires, versions, waves.

`analytics.frames` reads the answers themselves; these queries let `parley export` name a
questionnaire and a version, refuse an unknown one, and read each wave of a follow-up.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Run, StoredQuestionnaire

__all__ = ["questionnaire_keys", "stored_versions", "waves_of"]


def questionnaire_keys(session: Session) -> list[str]:
    """The ids of every stored questionnaire, in the order they were first loaded."""
    statement = select(StoredQuestionnaire.key, StoredQuestionnaire.id).order_by(
        StoredQuestionnaire.id
    )
    return list(dict.fromkeys(key for key, _ in session.execute(statement)))


def stored_versions(session: Session, key: str) -> list[StoredQuestionnaire]:
    """Every stored version of one questionnaire, oldest load first."""
    statement = (
        select(StoredQuestionnaire)
        .where(StoredQuestionnaire.key == key)
        .order_by(StoredQuestionnaire.id)
    )
    return list(session.scalars(statement))


def waves_of(session: Session, key: str) -> list[str]:
    """The waves that have runs of this questionnaire, sorted ("main" for the main one)."""
    statement = select(Run.wave).where(Run.questionnaire_key == key).distinct()
    return sorted(session.scalars(statement))
