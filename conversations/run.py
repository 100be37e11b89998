"""RunState: one person's progress through one questionnaire, as plain versioned data.

The state is what the database stores after every step and what the engine gets back
on the next one, possibly days later and in another process. `to_dict`/`from_dict`
are therefore a contract: bump `STATE_VERSION` and add an upgrade when it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "STATE_VERSION",
    "AnswerState",
    "AnswerValue",
    "Awaiting",
    "RunState",
    "RunStatus",
    "StoredAnswer",
]

STATE_VERSION = 1

AnswerValue = str | int | float | bool | list[str] | None


class RunStatus(StrEnum):
    INVITED = "invited"
    CONSENTING = "consenting"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"

    @property
    def is_open(self) -> bool:
        """Still expecting answers (possibly after a resume)."""
        return self in (RunStatus.CONSENTING, RunStatus.IN_PROGRESS, RunStatus.PAUSED)


class AnswerState(StrEnum):
    ANSWERED = "answered"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    """Answered, then made irrelevant by a changed earlier answer: kept, never counted."""


class Awaiting(StrEnum):
    NOTHING = "nothing"
    CONSENT = "consent"
    ANSWER = "answer"
    OTHER_TEXT = "other_text"
    """The "please specify" text after an `other` choice."""


@dataclass(frozen=True)
class StoredAnswer:
    value: AnswerValue
    raw: str
    display: str
    state: AnswerState
    language: str
    answered_at: datetime
    other_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "raw": self.raw,
            "display": self.display,
            "state": self.state.value,
            "language": self.language,
            "answered_at": self.answered_at.isoformat(),
            "other_text": self.other_text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredAnswer:
        return cls(
            value=data["value"],
            raw=data["raw"],
            display=data["display"],
            state=AnswerState(data["state"]),
            language=data["language"],
            answered_at=datetime.fromisoformat(data["answered_at"]),
            other_text=data.get("other_text"),
        )

    @property
    def counts(self) -> bool:
        return self.state is AnswerState.ANSWERED


@dataclass(frozen=True)
class RunState:
    questionnaire_id: str
    questionnaire_version: str
    language: str
    status: RunStatus = RunStatus.INVITED
    awaiting: Awaiting = Awaiting.NOTHING
    cursor: str | None = None
    """The item whose answer is awaited (or last shown)."""
    answers: Mapping[str, StoredAnswer] = field(default_factory=dict)
    selection: tuple[str, ...] = ()
    """Multi-choice ticks not yet submitted."""
    consent_version: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    turn: int = 0

    def answer(self, item_id: str) -> StoredAnswer | None:
        return self.answers.get(item_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "questionnaire_id": self.questionnaire_id,
            "questionnaire_version": self.questionnaire_version,
            "language": self.language,
            "status": self.status.value,
            "awaiting": self.awaiting.value,
            "cursor": self.cursor,
            "answers": {item: answer.to_dict() for item, answer in self.answers.items()},
            "selection": list(self.selection),
            "consent_version": self.consent_version,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "turn": self.turn,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        if data.get("v") != STATE_VERSION:
            raise ValueError(f"unsupported run state version {data.get('v')!r}")
        return cls(
            questionnaire_id=data["questionnaire_id"],
            questionnaire_version=data["questionnaire_version"],
            language=data["language"],
            status=RunStatus(data["status"]),
            awaiting=Awaiting(data["awaiting"]),
            cursor=data["cursor"],
            answers={k: StoredAnswer.from_dict(v) for k, v in data["answers"].items()},
            selection=tuple(data["selection"]),
            consent_version=data["consent_version"],
            started_at=_from_iso(data["started_at"]),
            completed_at=_from_iso(data["completed_at"]),
            turn=data["turn"],
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
