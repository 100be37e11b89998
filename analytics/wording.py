"""A digest in words: the neutral `Document` every renderer formats, and its vocabulary.

Why a document in between: the three renderers (Slack mrkdwn, Telegram HTML, console)
must say exactly the same things with the same numbers. So the words are decided once,
here, from the `Digest`, the questionnaire (labels) and the catalog (sentences); each
renderer only decides markup, escaping and where to split.

Every string in a `Document` is plain text, whoever wrote it (catalog, questionnaire,
stakeholder): renderers escape all of it, so no markup can come from the data. Emphasis
exists only as structure (`Strong`, `Quote`). Text from people is capped in length
(`MAX_USER_TEXT`), so no line can outgrow a platform limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.model import FunnelStage
from analytics.numbers import Numbers
from conversations.catalog import translate
from conversations.questionnaire import Questionnaire

__all__ = [
    "MAX_USER_TEXT",
    "Document",
    "Line",
    "Part",
    "Quote",
    "Section",
    "Strong",
    "Words",
    "cap",
]

_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
MAX_USER_TEXT = 300
"""Characters kept of any label, quote, term or title (then "…")."""


@dataclass(frozen=True)
class Strong:
    """Emphasised text (a heading inside a section, an item's question)."""

    text: str


@dataclass(frozen=True)
class Quote:
    """A stakeholder's own words, set apart (italic) from ours."""

    text: str


Part = str | Strong | Quote


@dataclass(frozen=True)
class Line:
    parts: tuple[Part, ...]
    bullet: bool = False

    @property
    def plain(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


Paragraph = tuple[Line, ...]


@dataclass(frozen=True)
class Section:
    """A unit a message may be split on: a heading and paragraphs (kept whole if possible)."""

    heading: str
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    summary: str
    """One sentence for notifications and fallbacks: the headline."""
    sections: tuple[Section, ...]


def cap(text: str, limit: int = MAX_USER_TEXT) -> str:
    """`text` on one line, at most `limit` characters. Only ASCII whitespace is folded:
    the no-break spaces of French numbers ("50 %") stay.
    """
    flat = _WHITESPACE.sub(" ", text).strip(" ")
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class Words:
    """Catalog, numbers and questionnaire labels in one language: the vocabulary of a digest."""

    def __init__(self, questionnaire: Questionnaire, language: str, k: int) -> None:
        self.questionnaire = questionnaire
        self.language = language
        self.numbers = Numbers(language)
        self.k = k

    def __call__(self, message: str, /, **params: object) -> str:
        return translate(message, self.language, **params)

    def count(self, value: int | None) -> str:
        """A count, or "fewer than k" when suppressed (None)."""
        return self("digest.fewer_than", k=self.k) if value is None else self.numbers.count(value)

    def share(self, value: float | None) -> str:
        return self.numbers.percent(value)

    def item(self, item_id: str) -> str:
        q = self.questionnaire
        return cap(q.item(item_id).label.get(self.language)) if q.has_item(item_id) else item_id

    def choice(self, item_id: str, choice_id: str) -> str:
        """A choice's label; also "yes"/"no" and scale points, the other keys of a digest."""
        if choice_id in ("yes", "no"):
            return self(f"digest.{choice_id}")
        q = self.questionnaire
        choice = q.item(item_id).choice(choice_id) if q.has_item(item_id) else None
        return cap(choice.label.get(self.language)) if choice else cap(choice_id)

    def section(self, section_id: str) -> str:
        """A questionnaire section's title ("Answers" for items the questionnaire lacks)."""
        if not section_id:
            return self("digest.section.items")
        return cap(self.questionnaire.section(section_id).title.get(self.language))

    def section_of(self, item_id: str) -> str:
        """The id of the section holding `item_id`; "" when the questionnaire lacks it."""
        q = self.questionnaire
        return q.item(item_id).section_id if q.has_item(item_id) else ""

    def stage(self, stage: FunnelStage) -> str:
        return self(f"digest.stage.{stage.stage}")
