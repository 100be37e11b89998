"""A small study for the rights tests, a Handler on it, and a search of every table.

`study(...)` is a questionnaire with a choice, two free texts and a number, whose consent
version and `on_withdraw` a test chooses. `Chat` drives the real `Handler` as a channel
would (the address is the account id, as on Telegram, Slack and the console).
`every_text(factory)` reads every text and JSON column of every table, as text, so a test
can say "this string is nowhere".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundEvent
from bot.handling import Handled, Handler
from bot.questionnaires import QuestionnaireBook
from conversations.inputs import Begin, Input, Pick, Reply
from conversations.loading import parse_questionnaire
from conversations.messages import Message, message_from_dict
from storage import UnitOfWork
from storage.models import Base, OutboxRow

__all__ = [
    "NAME",
    "NOW",
    "SECRET_WORDS",
    "Chat",
    "Clock",
    "every_text",
    "make_book",
    "study",
    "texts_of",
    "where_found",
]

NOW = datetime(2026, 4, 6, 14, 0, tzinfo=UTC)
Factory = sessionmaker[Session]

NAME = "Quillon Vermeer-Oduya"
"""The participant's display name: distinctive, so a search cannot find it by chance."""
SECRET_WORDS = ("Zanzibar quokka harbour 7731", "Fennec marmalade observatory", "4217")
"""What they answer: the two free texts and the number (as typed)."""

STUDY = """\
id: rights-study
version: "{version}"
title: {{en: "Rights study", fr: "Étude des droits"}}
languages: [en, fr]
on_withdraw: {mode}
consent:
  version: {consent}
  text: {{en: "Consent text {consent}. Agree?", fr: "Texte {consent}. D'accord?"}}
closing: {{en: "Thank you!", fr: "Merci!"}}
sections:
  - id: main
    title: {{en: Main, fr: Principal}}
    items:
      - id: colour
        type: single_choice
        label: {{en: "Colour?", fr: "Couleur?"}}
        choices:
          - {{id: red, label: {{en: Red, fr: Rouge}}}}
          - {{id: blue, label: {{en: Blue, fr: Bleu}}}}
      - id: story
        type: text
        quotable: true
        label: {{en: "Your story?", fr: "Votre histoire?"}}
      - id: staff
        type: number
        label: {{en: "How many staff?", fr: "Combien d'employés?"}}
      - id: last
        type: text
        label: {{en: "Anything else?", fr: "Autre chose?"}}
"""


def study(*, version: str = "1", consent: int = 1, mode: str = "delete") -> QuestionnaireBook:
    return make_book(STUDY.format(version=version, consent=consent, mode=mode))


def make_book(text: str) -> QuestionnaireBook:
    return QuestionnaireBook(parse_questionnaire(text, "rights-study.yaml"))


@dataclass
class Clock:
    """The injected clock: tests move it, nothing sleeps."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


_ids: Iterator[int] = itertools.count(1)


@dataclass
class Chat:
    """One person's direct chat with the real Handler (a console account by default)."""

    handler: Handler
    who: str = "acct-5501"
    name: str = NAME
    platform: str = "console"
    language: str | None = "en"
    log: list[Handled] = field(default_factory=list)

    def send(self, what: Input | str) -> list[Message]:
        """Handle one event; the messages it queued, in order."""
        handled = self.handler.handle(self.event(what))
        self.log.append(handled)
        return self.messages(handled.outbox_ids)

    def event(self, what: Input | str) -> InboundEvent:
        return InboundEvent(
            platform=self.platform,
            event_id=f"r{next(_ids)}",
            sender=self.who,
            address=self.who,
            input=Reply(what) if isinstance(what, str) else what,
            display_name=self.name,
            language=self.language,
            received_at=self.handler.clock(),
        )

    def messages(self, ids: tuple[int, ...]) -> list[Message]:
        if not ids:
            return []
        with UnitOfWork(self.handler.session_factory) as uow:
            rows = uow.session.scalars(select_outbox(ids))
            return [message_from_dict(row.payload) for row in rows]

    def answer_all(self) -> None:
        """Open, agree, and answer every question of the study."""
        self.send(Begin())
        self.send("I agree")
        self.send(Pick("colour", "red"))
        self.send(SECRET_WORDS[0])
        self.send(SECRET_WORDS[2])
        self.send(SECRET_WORDS[1])


def select_outbox(ids: tuple[int, ...]) -> Any:
    return sa.select(OutboxRow).where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id)


def texts_of(messages: list[Message]) -> str:
    """Everything the messages say, joined: for `in` checks."""
    parts = []
    for message in messages:
        for name in ("text", "caption", "content", "display", "question"):
            value = getattr(message, name, None)
            if isinstance(value, str):
                parts.append(value)
    return "\n".join(parts)


def every_text(factory: Factory) -> dict[str, list[str]]:
    """`table.column` → every value of every text or JSON column, as text."""
    found: dict[str, list[str]] = {}
    with UnitOfWork(factory) as uow:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if _textual(c.type)]
            if not columns:
                continue
            for row in uow.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.setdefault(f"{table.name}.{column.name}", []).append(_as_text(value))
    return found


def where_found(factory: Factory, needle: str) -> list[str]:
    """The columns holding `needle` anywhere (case-insensitive)."""
    wanted = needle.casefold()
    return sorted(
        column
        for column, values in every_text(factory).items()
        if any(wanted in value.casefold() for value in values)
    )


def _textual(kind: sa.types.TypeEngine[Any]) -> bool:
    return isinstance(kind, sa.String | sa.Text | sa.JSON) or "JSON" in type(kind).__name__


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
