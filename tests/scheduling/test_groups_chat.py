"""Discussion groups in chat: RSVP and poll buttons through the real `Handler` on a real
database (SQLite and PostgreSQL), button ids across the Telegram and Slack round trip, and
the invitation's calendar file through the loopback Telegram and Slack fakes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot import groups
from bot.channels import slack_format, telegram_format
from bot.channels.base import InboundEvent
from bot.channels.console import render as console_render
from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel
from bot.handling import Handler
from bot.questionnaires import QuestionnaireBook
from conversations.inputs import Input, Pick, Reply, Submit, Toggle
from conversations.messages import (
    Ask,
    Attachment,
    Message,
    Notice,
    message_from_dict,
    message_to_dict,
)
from storage import UnitOfWork, repository
from storage.models import GroupInvitee, OutboxRow, Run
from tests.e2e.support import EXAMPLE
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

Factory = sessionmaker[Session]
NOW = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture
def handler(session_factory: Factory) -> Handler:
    book = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        uow.commit()
    return Handler(session_factory, book, lambda: NOW)


@pytest.fixture
def group_id(session_factory: Factory) -> int:
    """A group for ann and bob (console accounts), capacity 1."""
    with UnitOfWork(session_factory) as uow:
        for name in ("ann", "bob"):
            row = repository.create_stakeholder(
                uow.session, name=name, language="en", time_zone="America/Toronto", now=NOW
            )
            repository.link_identity(uow.session, row.id, "console", name, now=NOW)
        result = groups.create_group(
            uow.session,
            title="Round 1",
            start="2027-01-15 10:00",
            to="ann, bob",
            where="https://meet.example.org/abc",
            zone="America/Toronto",
            now=NOW,
            duration="60",
            capacity=1,
        )
        uow.commit()
    return result.group_id


def press(who: str, given: Input) -> InboundEvent:
    return InboundEvent(
        platform="console",
        event_id=f"press-{next(_ids)}",
        sender=who,
        address=who,
        input=given,
        received_at=NOW,
    )


def replies(sf: Factory, ids: tuple[int, ...]) -> list[Message]:
    with UnitOfWork(sf) as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)))
        return [message_from_dict(r.payload) for r in sorted(rows, key=lambda r: r.id)]


def responses(sf: Factory) -> list[str]:
    with UnitOfWork(sf) as uow:
        rows = uow.session.scalars(select(GroupInvitee).order_by(GroupInvitee.stakeholder_id))
        return [r.response for r in rows]


def run_count(sf: Factory) -> int:
    with UnitOfWork(sf) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Run)) or 0)


def test_an_rsvp_press_is_answered_and_never_touches_a_run(
    session_factory: Factory, handler: Handler, group_id: int
) -> None:
    handled = handler.handle(press("ann", Pick(f"rsvp:{group_id}", "yes")))

    ask, thanks = replies(session_factory, handled.outbox_ids)
    assert isinstance(ask, Ask) and ask.refresh and ask.current == "yes"
    assert ask.item_id == f"rsvp:{group_id}" and "Your answer: Yes." in ask.hint
    assert thanks == Notice("Thank you! See you at “Round 1”.")
    assert handled.notices == ("Thank you! See you at “Round 1”.",)
    assert responses(session_factory) == ["yes", "none"]
    assert run_count(session_factory) == 0  # no questionnaire run was started or stepped


def test_presses_in_a_batch_go_one_by_one_and_a_full_session_waitlists(
    session_factory: Factory, handler: Handler, group_id: int
) -> None:
    handled = handler.handle_batch(
        [
            press("ann", Pick(f"rsvp:{group_id}", "yes")),
            press("bob", Pick(f"rsvp:{group_id}", "yes")),
            press("ann", Pick(f"rsvp:{group_id}", "no")),
        ]
    )
    assert responses(session_factory) == ["no", "yes"]  # bob moved up when ann declined
    bob_said = replies(session_factory, handled[1].outbox_ids)[1]
    assert "you are on the waitlist (number 1)" in getattr(bob_said, "text", "")
    with UnitOfWork(session_factory) as uow:
        told = uow.session.scalars(select(OutboxRow).where(OutboxRow.address == "bob")).all()
    assert any("a place opened up" in str(row.payload.get("text")) for row in told)


@pytest.mark.parametrize(
    ("who", "given"),
    [
        ("ann", Pick("rsvp:999", "yes")),  # no such group
        ("zed", Pick("rsvp:1", "yes")),  # not anybody we know
        ("ann", Pick("rsvp:1", "later")),  # not an answer
        ("ann", Toggle("poll:999", "1")),  # no such poll
    ],
)
def test_a_stale_or_unknown_press_gets_a_polite_notice(
    session_factory: Factory, handler: Handler, group_id: int, who: str, given: Input
) -> None:
    handled = handler.handle(press(who, given))
    [notice] = replies(session_factory, handled.outbox_ids)
    assert isinstance(notice, Notice) and notice.text in (
        "This discussion group is no longer taking answers.",
        "This poll is closed.",
    )
    assert responses(session_factory) == ["none", "none"]
    assert run_count(session_factory) == 0


def test_a_plain_reply_still_reaches_the_questionnaire(
    session_factory: Factory, handler: Handler, group_id: int
) -> None:
    handler.handle(press("ann", Reply("hello")))
    assert run_count(session_factory) == 1


# -------------------------------------------------------------------- platform round trip


@pytest.mark.parametrize("given", [Pick("rsvp:2147483647", "maybe"), Toggle("poll:123456", "6")])
def test_button_ids_survive_telegram_and_slack(given: Pick | Toggle) -> None:
    kind, value = ("p", given.value) if isinstance(given, Pick) else ("t", given.choice_id)
    data = telegram_format.callback_data(kind, given.item_id, value)
    assert len(data.encode()) <= telegram_format.MAX_CALLBACK_BYTES
    assert telegram_format.parse_callback(data) == given
    action = {"type": "button", "action_id": data, "value": data, "action_ts": "1.2"}
    event = slack_format.to_inbound_action({"actions": [action], "user": {"id": "U1"}})
    assert event is not None and event.input == given
    assert groups.is_group_press(given)


def test_a_slack_poll_submit_carries_the_ticked_slots() -> None:
    data = telegram_format.callback_data("s", "poll:7")
    state = {"values": {"ticks|poll:7": {"tick|poll:7": {"selected_options": [
        {"value": telegram_format.callback_data("t", "poll:7", "2")}]}}}}  # fmt: skip
    action = {"type": "button", "action_id": data, "value": data, "action_ts": "1.3"}
    event = slack_format.to_inbound_action(
        {"actions": [action], "user": {"id": "U1"}, "state": state}
    )
    assert event is not None and event.input == Submit("poll:7", ("2",))


ICS = Attachment(
    "discussion-group-1.ics",
    "text/calendar; charset=utf-8; method=REQUEST",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:g1\r\n"
    "DTSTAMP:20270104T150000Z\r\nDTSTART:20270115T150000Z\r\nSUMMARY:A & B\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n",
    "Add it to <your> calendar.",
)


def test_attachments_render_on_every_channel() -> None:
    rendered = telegram_format.render(ICS)
    assert rendered is not None and rendered.document == ICS
    assert rendered.chunks == ("Add it to &lt;your&gt; calendar.",)
    slack = slack_format.render(ICS)
    assert slack.file == ICS and slack.text == "Add it to &lt;your&gt; calendar."
    assert console_render(ICS).startswith("[discussion-group-1.ics] Add it to <your> calendar.")
    assert message_from_dict(message_to_dict(ICS)) == ICS


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def test_telegram_sends_the_calendar_as_a_document(tg: FakeTelegram) -> None:
    alice = tg.user(1001)

    async def send() -> str | None:
        async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
            return await TelegramChannel(bot).send("1001", ICS)

    assert asyncio.run(send()) is not None
    [document] = alice.messages()
    assert document.kind == "document" and document.text == "Add it to <your> calendar."
    assert document.file is not None and document.file.file_name == "discussion-group-1.ics"
    parsed = Calendar.from_ical(document.file.data)
    assert str(parsed.walk("VEVENT")[0]["SUMMARY"]) == "A & B"


def test_slack_uploads_the_calendar_into_the_dm() -> None:
    with FakeSlack() as slack:
        slack.user("U123", name="alice")

        async def send() -> str | None:
            channel = SlackChannel(
                bot_token=slack.bot_token, signing_secret="s", api_url=slack.api_url
            )
            return await channel.send("U123", ICS)

        file_id = asyncio.run(send())
        [uploaded] = slack.files
    assert uploaded.id == file_id and uploaded.completed
    assert uploaded.filename == "discussion-group-1.ics" and uploaded.data == ICS.content.encode()
    assert uploaded.initial_comment == "Add it to &lt;your&gt; calendar."
    assert uploaded.channel is not None and uploaded.channel.startswith("D")
