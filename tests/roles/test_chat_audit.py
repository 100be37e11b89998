"""Researcher actions in chat are audited in the handling transaction: who (their
account), from which channel, what (ids and counts); an action refused for bad input
leaves no row (its savepoint is rolled back), so the log never says "done" for it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.roles import RoleChange, change_role
from storage import UnitOfWork, audit
from tests.roles.support import (
    GROUP,
    LEAD_SLACK,
    LEAD_TG,
    Factory,
    handler,
    replies,
    slack_command,
    study,
    telegram_command,
)

NOW = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
TO_ALL = "--where https://meet.example/x --to all"


def test_chat_actions_are_audited_and_refused_input_is_not(session_factory: Factory) -> None:
    book = study(session_factory, NOW)
    with UnitOfWork(session_factory) as uow:
        for who in (("telegram", LEAD_TG), ("slack", LEAD_SLACK)):
            change = RoleChange(who, "researcher", "cli:test", "cli", NOW)
            change_role(uow.session, change, grant=True)
        uow.commit()
    handle = handler(session_factory, book, NOW)
    said = []
    for event in (
        telegram_command("/followup add check-in region:ns 2027-01-15 10:00", LEAD_TG),
        telegram_command("/followup add check-in region:QC 2027-01-15 10:00", LEAD_TG),  # nobody
        telegram_command("/followup cancel 1", LEAD_TG),
        telegram_command("/status", LEAD_TG),  # reading is not audited
        slack_command(f'group create "Round 1" 2027-02-01 14:00 {TO_ALL}', LEAD_SLACK),
        slack_command("group reschedule 1 2020-02-10 14:00", LEAD_SLACK),  # in the past
        slack_command("group reschedule 1 2027-02-10 14:00", LEAD_SLACK),
        slack_command("invite <@U0CLB9164>", LEAD_SLACK),
        telegram_command("/digest fr", LEAD_TG),
        telegram_command("/digest de", LEAD_TG),  # no such language
    ):
        said += replies(session_factory, handle.handle(event).outbox_ids)
    assert sum("Nothing was scheduled" in text for _, text in said) == 2, said
    with UnitOfWork(session_factory) as uow:
        rows = [(r.actor, r.channel, r.action, r.details) for r in audit.entries(uow.session)]
    tg, slack = f"telegram:{LEAD_TG}", f"slack:{LEAD_SLACK}"
    assert [row[:3] for row in rows[2:]] == [
        (tg, "telegram", "followup.add"),
        (tg, "telegram", "followup.cancel"),
        (slack, "slack", "group.create"),
        (slack, "slack", "group.reschedule"),
        (slack, "slack", "invite"),
        (tg, "telegram", "digest.post"),
    ]
    details = {action: found for _, _, action, found in rows[2:]}
    assert details["followup.add"]["to"] == "region:ns"
    assert details["followup.add"]["stakeholders"] == 1
    assert details["followup.cancel"] == {"followup": 1, "sends_cancelled": 1}
    assert details["group.reschedule"]["group"] == 1
    assert details["group.reschedule"]["start"] == "2027-02-10T19:00:00+00:00"
    assert details["invite"] == {"channel": "slack", "asked": 1, "invited": ["U0CLB9164"]}
    assert details["digest.post"] == {"digest": 1, "to": f"telegram:{GROUP}", "language": "fr"}
