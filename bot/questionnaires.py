"""The questionnaires a process knows: the current one, and every version a run is pinned to.

The current questionnaire comes from a file and is stored in the database on start-up;
older versions are rebuilt from their stored definitions the first time a run needs one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from conversations.loading import (
    LoadedQuestionnaire,
    questionnaire_from_definition,
)
from conversations.questionnaire import Questionnaire
from forms import load_any_file
from storage import consents, repository

__all__ = ["QuestionnaireBook"]


class QuestionnaireBook:
    """A cache of immutable definitions keyed by (id, version); safe to share."""

    def __init__(self, current: LoadedQuestionnaire) -> None:
        self.current = current.questionnaire
        self._loaded = current
        self._by_version: dict[tuple[str, str], Questionnaire] = {
            (self.current.id, self.current.version): self.current
        }

    @classmethod
    def from_file(cls, path: str | Path) -> QuestionnaireBook:
        return cls(load_any_file(path))

    def store_current(self, session: Session) -> None:
        """Record the current definition, refusing a changed file under an unchanged version,
        and a changed consent text under an unchanged consent version (#7)."""
        consents.check_consent_text(
            session,
            self.current.id,
            self.current.consent_version,
            self._loaded.definition.get("consent"),
        )
        repository.store_questionnaire(
            session,
            self.current.id,
            self.current.version,
            dict(self._loaded.definition),
            self._loaded.checksum,
        )

    def get(self, session: Session, questionnaire_id: str, version: str) -> Questionnaire:
        key = (questionnaire_id, version)
        if key not in self._by_version:
            definition = repository.questionnaire_definition(session, questionnaire_id, version)
            if definition is None:
                raise LookupError(f"questionnaire {questionnaire_id} v{version} is not stored")
            origin = f"database:{questionnaire_id}@{version}"
            self._by_version[key] = questionnaire_from_definition(definition, origin)
        return self._by_version[key]
