"""Shared set-up for the roles tests: a study with a roster, a research group, and events
as each channel's own translator makes them (Telegram updates, Slack slash commands)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from bot.channels.base import InboundEvent
from bot.channels.slack_format import to_inbound_command
from bot.channels.telegram_format import to_inbound
from bot.handling import Access, Handler
from bot.questionnaires import QuestionnaireBook
from bot.researcher_commands import Desk
from bot.roster import import_roster, read_roster
from conversations.messages import message_from_dict
from storage import UnitOfWork, repository
from storage.models import OutboxRow, Stakeholder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GROUP = "-100777"
RESEARCH = "C0RESEARCH"
LEAD_TG, LEAD_SLACK = "11", "U0LEAD001"
"""Researchers (granted in the tests, never through settings)."""
STAKEHOLDER_TG, STAKEHOLDER_SLACK = "12", "U0RZP2058"
"""A stakeholder on the roster: Kwame (Slack id in the roster), also on Telegram as 12."""
Factory = sessionmaker[Session]
_ids = itertools.count(1)


def study(session_factory: Factory, now: Any) -> QuestionnaireBook:
    """The example questionnaire and roster; Kwame also linked to Telegram account 12."""
    book = QuestionnaireBook.from_file(EXAMPLES / "settlement-data-needs.yaml")
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        import_roster(uow.session, read_roster(EXAMPLES / "roster.csv", ("en", "fr")), now)
        kwame = repository.stakeholder_for_identity(uow.session, "slack", STAKEHOLDER_SLACK)
        assert kwame is not None
        repository.link_identity(uow.session, kwame.id, "telegram", STAKEHOLDER_TG, now=now)
        uow.commit()
    return book


def handler(session_factory: Factory, book: QuestionnaireBook, now: Any) -> Handler:
    """The real Handler, with no researchers in its settings: only stored roles count."""
    access = Access(
        research_address=("telegram", GROUP),
        desk=Desk("America/Toronto", EXAMPLES, ("telegram", GROUP)),
    )
    return Handler(session_factory, book, lambda: now, access=access)


def telegram_command(text: str, sender: str) -> InboundEvent:
    """A message in the research group, as Telegram delivers it."""
    update = Update.de_json(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": 1_800_000_000,
                "chat": {"id": int(GROUP), "type": "supergroup", "title": "Research"},
                "from": {"id": int(sender), "is_bot": False, "first_name": "P"},
                "text": text,
            },
        },
        None,
    )
    event = to_inbound(update)
    assert event is not None
    return event


def slack_command(text: str, sender: str) -> InboundEvent:
    """`/parley <text>` in the research channel, as Slack posts it."""
    body = {"user_id": sender, "channel_id": RESEARCH, "text": text, "trigger_id": next(_ids)}
    return to_inbound_command(body)


def replies(session_factory: Factory, outbox_ids: tuple[int, ...]) -> list[tuple[str, str]]:
    """(address, text) of each queued reply."""
    with UnitOfWork(session_factory) as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.id.in_(outbox_ids)))
        return [(r.address, str(message_from_dict(r.payload).__dict__["text"])) for r in rows]


def stakeholder_count(session_factory: Factory) -> int:
    with UnitOfWork(session_factory) as uow:
        return len(uow.session.scalars(select(Stakeholder.id)).all())
