"""Errors of the core. Bad replies are not errors: they are `Rejected` values and re-prompts.

ParleyCoreError
├── InvalidInput       the caller misused the engine (a bug in the shell, never user input)
└── QuestionnaireError a questionnaire file is invalid; carries one LoadError per problem
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InvalidInput", "LoadError", "ParleyCoreError", "QuestionnaireError"]


class ParleyCoreError(Exception):
    pass


class InvalidInput(ParleyCoreError):
    pass


@dataclass(frozen=True)
class LoadError:
    """One problem in a questionnaire file, printable as `file:line: field: reason`."""

    file: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class QuestionnaireError(ParleyCoreError):
    def __init__(self, errors: list[LoadError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
