"""The frozen definition of a questionnaire: what is asked, never who answered.

A `Questionnaire` is built once by `conversations.loading` and shared, read-only,
by every run. Runs are pinned to `(id, version)`, so a definition must never be
mutated after loading; every class here is a frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from conversations.run import AnswerValue

if TYPE_CHECKING:
    from conversations.conditions import Condition

__all__ = [
    "SPEC_VERSION",
    "Choice",
    "Item",
    "ItemType",
    "Localized",
    "NumberKind",
    "Questionnaire",
    "Section",
    "WithdrawMode",
]

SPEC_VERSION = 1
"""Version of the questionnaire file format; bumped when the format changes."""


class ItemType(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    SCALE = "scale"
    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    NOTE = "note"


class WithdrawMode(StrEnum):
    """What a confirmed `/withdraw` does to the person's answers (`on_withdraw`, #7)."""

    DELETE = "delete"
    """Erase them: answers, their history, run states, the messages that quoted them."""
    KEEP_ANONYMOUS = "keep_anonymous"
    """Keep them under a new anonymous stakeholder: no name, organisation or identities."""


class NumberKind(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Localized:
    """One sentence in every declared language; a missing one falls back to the default."""

    texts: Mapping[str, str]
    default_language: str

    def __getitem__(self, language: str) -> str:
        return self.get(language)

    def get(self, language: str) -> str:
        text = self.texts.get(language)
        if text is not None:
            return text
        return self.texts.get(self.default_language, "")

    def has(self, language: str) -> bool:
        return language in self.texts

    def all_texts(self) -> tuple[str, ...]:
        return tuple(self.texts.values())


@dataclass(frozen=True)
class Choice:
    """One option of a choice item. `id` is the stable code exports and conditions use."""

    id: str
    label: Localized
    other: bool = False
    """Choosing it asks a follow-up "please specify" free-text question."""
    exclusive: bool = False
    """In a multi-choice item, cannot be combined with other choices (e.g. "None")."""
    relevant: Condition | None = None
    """Offered only when true: cascades (XLSForm `choice_filter`), e.g. `province = 'qc'`."""


@dataclass(frozen=True)
class Item:
    """A question (or a note) in a section."""

    id: str
    type: ItemType
    label: Localized
    section_id: str
    help: Localized | None = None
    required: bool = True
    allow_skip: bool = False
    """Offer "prefer not to say" even when the item is required."""
    relevant: Condition | None = None
    constraint: Condition | None = None
    constraint_message: Localized | None = None
    required_message: Localized | None = None
    """Said instead of the generic re-prompt when a required item is left without an answer."""
    default: AnswerValue = None
    """A suggested answer, stored form (choice id(s), number, true/false, ISO date, text):
    marked when asking and accepted with `keep`, `ok` or the Keep button."""
    choices: tuple[Choice, ...] = ()
    min_selections: int | None = None
    max_selections: int | None = None
    scale_min: int = 1
    scale_max: int = 5
    min_label: Localized | None = None
    max_label: Localized | None = None
    number_kind: NumberKind = NumberKind.INTEGER
    minimum: float | None = None
    maximum: float | None = None
    unit: Localized | None = None
    max_length: int = 2000
    quotable: bool = False
    """Free-text answers may be quoted verbatim in digests."""
    segment: bool = False
    """Digests break this item down by organisation type, region and language."""

    @property
    def is_question(self) -> bool:
        return self.type is not ItemType.NOTE

    @property
    def skippable(self) -> bool:
        return self.allow_skip or not self.required

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    @property
    def filters_choices(self) -> bool:
        """Some choices are only offered under a condition (a cascade)."""
        return any(c.relevant is not None for c in self.choices)


@dataclass(frozen=True)
class Section:
    id: str
    title: Localized
    intro: Localized | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class NudgeSettings:
    """When to remind people who have not started or have stopped mid-way (#5)."""

    after_days: int = 3
    max_count: int = 2


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    title: Localized
    languages: tuple[str, ...]
    default_language: str
    consent: Localized
    closing: Localized
    sections: tuple[Section, ...]
    estimated_minutes: int | None = None
    consent_version: str = "1"
    """Bumped when the consent text changes: agreements to an older version are renewed."""
    on_withdraw: WithdrawMode = WithdrawMode.DELETE
    nudges: NudgeSettings = field(default_factory=NudgeSettings)
    spec_version: int = SPEC_VERSION

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """Every item of every section, in asking order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _index(self) -> Mapping[str, int]:
        return {item.id: position for position, item in enumerate(self.items)}

    @cached_property
    def _sections(self) -> Mapping[str, Section]:
        return {section.id: section for section in self.sections}

    def item(self, item_id: str) -> Item:
        return self.items[self._index[item_id]]

    def has_item(self, item_id: str) -> bool:
        return item_id in self._index

    def index_of(self, item_id: str) -> int:
        return self._index[item_id]

    def section(self, section_id: str) -> Section:
        return self._sections[section_id]

    def section_number(self, section_id: str) -> int:
        return next(n for n, s in enumerate(self.sections, start=1) if s.id == section_id)

    def language_or_default(self, language: str | None) -> str:
        return language if language in self.languages else self.default_language
