"""Every researcher command, from every channel, refused for a stakeholder: a polite
reply to them alone, a `refused` audit row, and nothing else in the database changes.

Through the real Handler on a real database (SQLite and PostgreSQL); events are made by
the channels' own translators. The researchers' roles are stored grants only (nothing in
the settings), so the check can only pass by reading them; the control test shows the same
commands do change the database for a researcher, so the "nothing changed" check bites.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.base import InboundEvent
from bot.handling import Handler
from bot.roles import RoleChange, change_role, may_research
from bot.slack_modals import GroupModal
from storage import UnitOfWork, audit
from storage.models import Base
from tests.roles.support import (
    GROUP,
    LEAD_SLACK,
    LEAD_TG,
    RESEARCH,
    STAKEHOLDER_SLACK,
    STAKEHOLDER_TG,
    Factory,
    handler,
    replies,
    slack_command,
    study,
    telegram_command,
)

NOW = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
REFUSED = "Sorry, only members of the research team can use that command."
TO_ALL = "--where https://meet.example/x --to all"

COMMANDS = [
    "status",
    "help",
    "invite <@U0CLB9164>",
    "digest",
    "digest fr",
    "followup add check-in all 2027-01-15 10:00",
    "followup list",
    "followup cancel 1",
    f'group create "Round 2" 2027-02-03 14:00 {TO_ALL}',
    "group list",
    "group rsvps 1",
    "group reschedule 1 2027-02-10 14:00",
    "group cancel 1",
    f'group poll create "Round 3" 2027-02-03 14:00 | 2027-02-04 10:00 {TO_ALL}',
    "group poll results 1",
    "group poll confirm 1 1",
    "role grant slack:U0EVE0001 researcher",
    "role list",
    "nonsense",
]
MUTATING = [
    c
    for c in COMMANDS
    if c.startswith(("invite", "digest", "followup add", "followup cancel"))
    or c.startswith(("group create", "group reschedule", "group cancel"))
    or c.startswith(("group poll create", "group poll confirm"))
]
"""The commands that write something when a researcher runs them."""

Channel = Callable[[str, str], InboundEvent]
CHANNELS: dict[str, tuple[Channel, str, str]] = {
    "telegram group": (lambda text, who: telegram_command(f"/{text}", who), STAKEHOLDER_TG, GROUP),
    "slack /parley": (slack_command, STAKEHOLDER_SLACK, f"{RESEARCH}/{STAKEHOLDER_SLACK}"),
}
"""How a command arrives: the event maker, the stakeholder who sends it, where they hear back."""
_CHANGING = {"outbox", "inbound_events", "audit_log"}
"""What a refusal may add to: its reply, its event id, its `refused` row."""


def snapshot(session_factory: Factory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every other table."""
    with UnitOfWork(session_factory) as uow:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in uow.session.execute(select(table)))
            for table in Base.metadata.sorted_tables
            if table.name not in _CHANGING
        }


def grant_researchers(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        for who in (("telegram", LEAD_TG), ("slack", LEAD_SLACK)):
            change_role(
                uow.session, RoleChange(who, "researcher", "cli:test", "cli", NOW), grant=True
            )
        uow.commit()


@pytest.fixture
def researched(session_factory: Factory) -> Handler:
    """A study where the researcher already made a follow-up, a group and a poll (id 1 each),
    so that refused cancels, reschedules and confirms have something they would change."""
    book = study(session_factory, NOW)
    grant_researchers(session_factory)
    handle = handler(session_factory, book, NOW)
    for text in (
        "followup add check-in all 2027-01-15 10:00",
        f'group create "Round 1" 2027-02-01 14:00 {TO_ALL}',
        f'group poll create "Round 3" 2027-02-05 14:00 | 2027-02-06 10:00 {TO_ALL}',
    ):
        said = replies(
            session_factory, handle.handle(telegram_command(f"/{text}", LEAD_TG)).outbox_ids
        )
        assert "Nothing was scheduled" not in said[0][1], said
    return handle


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_command_is_refused_for_a_stakeholder(researched: Handler, channel: str) -> None:
    make, sender, address = CHANNELS[channel]
    factory = researched.session_factory
    for text in COMMANDS:
        before = snapshot(factory)
        handled = researched.handle(make(text, sender))
        assert replies(factory, handled.outbox_ids) == [(address, REFUSED)], text
        assert snapshot(factory) == before, f"{channel}: '{text}' changed the database"
        with UnitOfWork(factory) as uow:
            last = audit.entries(uow.session)[-1]
        platform = channel.split()[0]
        command = text.split()[0]
        assert (last.actor, last.channel, last.action, last.details) == (
            f"{platform}:{sender}",
            platform,
            "refused",
            {"command": command},
        ), text


def test_the_slack_modal_is_not_opened_and_its_submission_is_refused(researched: Handler) -> None:
    """The modal path at the function level: no `views.open` for a stakeholder; a
    submission (forged, or from someone whose role was revoked) is refused by the handler."""
    factory = researched.session_factory

    class Client:
        def __init__(self) -> None:
            self.opened: list[str] = []

        async def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> Any:
            self.opened.append(trigger_id)

    async def is_researcher(user: str) -> bool:
        with UnitOfWork(factory) as uow:
            return may_research(uow.session, "slack", user)

    modal = GroupModal(is_researcher, "America/Toronto", clock=lambda: NOW)
    client = Client()
    for user, opened in ((STAKEHOLDER_SLACK, False), (LEAD_SLACK, True)):
        body = {"user_id": user, "text": "group new", "channel_id": RESEARCH, "trigger_id": user}
        assert asyncio.run(modal.open(client, body)) is opened
    assert client.opened == [LEAD_SLACK]

    event = modal.submitted(submission(STAKEHOLDER_SLACK, "V1"))
    assert isinstance(event, InboundEvent)
    before = snapshot(factory)
    handled = researched.handle(event)
    assert replies(factory, handled.outbox_ids) == [("C0R/" + STAKEHOLDER_SLACK, REFUSED)]
    assert snapshot(factory) == before

    event = modal.submitted(submission(LEAD_SLACK, "V2"))
    assert isinstance(event, InboundEvent)
    said = replies(factory, researched.handle(event).outbox_ids)
    assert said[0][1].startswith("group 2 created: “Round 9”"), said


def submission(user: str, view_id: str) -> dict[str, Any]:
    """A complete group modal, submitted by `user`, as Slack posts `view_submission`."""
    values = {
        "title": {"value": {"value": "Round 9"}},
        "date": {"value": {"selected_date": "2027-03-01"}},
        "time": {"value": {"selected_time": "14:00"}},
        "duration": {"value": {"selected_option": {"value": "60"}}},
        "zone": {"value": {"selected_option": {"value": "America/Toronto"}}},
        "where": {"value": {"value": "Room 4"}},
        "cohort": {"value": {"value": "all"}},
    }
    view = {"id": view_id, "state": {"values": values}, "private_metadata": '{"channel": "C0R"}'}
    return {"user": {"id": user}, "view": view}


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_same_commands_change_the_database_for_a_researcher(
    researched: Handler, channel: str
) -> None:
    """The control: were a refusal to run the command, the snapshot would show it."""
    make, _, _ = CHANNELS[channel]
    lead = LEAD_TG if channel.startswith("telegram") else LEAD_SLACK
    factory = researched.session_factory
    for text in MUTATING:
        before = snapshot(factory)
        said = replies(factory, researched.handle(make(text, lead)).outbox_ids)
        assert said and said[0][1] != REFUSED, text
        assert snapshot(factory) != before, f"'{text}' by a researcher changed nothing: {said}"


def test_a_revoked_role_is_refused_at_the_next_command(researched: Handler) -> None:
    factory = researched.session_factory
    status = researched.handle(telegram_command("/status", LEAD_TG))
    assert replies(factory, status.outbox_ids)[0][1].startswith("Data needs of settlement")
    with UnitOfWork(factory) as uow:
        change = RoleChange(("telegram", LEAD_TG), "researcher", "cli:test", "cli", NOW)
        assert change_role(uow.session, change, grant=False)
        uow.commit()
    again = researched.handle(telegram_command("/status", LEAD_TG))
    assert replies(factory, again.outbox_ids) == [(GROUP, REFUSED)]
