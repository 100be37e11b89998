"""`/role` in chat: admins grant, revoke and list roles (audited as themselves, from their
channel); a researcher who is not an admin is refused and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.roles import RoleChange, change_role
from storage import UnitOfWork, audit
from storage import roles as stored
from tests.roles.support import (
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
EVE = "U0EVE0001"
REFUSED = "Sorry, only members of the research team can use that command."


def test_admins_manage_roles_from_chat(session_factory: Factory) -> None:
    book = study(session_factory, NOW)
    with UnitOfWork(session_factory) as uow:
        for who, role in ((("telegram", LEAD_TG), "admin"), (("slack", LEAD_SLACK), "researcher")):
            change_role(uow.session, RoleChange(who, role, "cli:test", "cli", NOW), grant=True)
        uow.commit()
    handle = handler(session_factory, book, NOW)

    def say(text: str, by: str = LEAD_TG) -> str:
        event = telegram_command(f"/{text}", by) if by.isdigit() else slack_command(text, by)
        (said,) = replies(session_factory, handle.handle(event).outbox_ids)
        return said[1]

    assert say(f"role grant slack:{EVE} researcher", LEAD_SLACK) == (
        "Sorry, only admins can change who holds a role."
    )
    assert say("status", EVE) == REFUSED
    assert say(f"role grant slack:{EVE} researcher") == f"slack:{EVE}: researcher granted"
    assert say("status", EVE).startswith("Data needs of settlement organisations")
    assert say("role grant eve researcher") == (
        "Nothing changed. IDENTITY 'eve': use slack:<user id> (e.g. slack:U0123ABC) "
        "or telegram:<user id> (e.g. telegram:123456789)"
    )
    assert say(f"role grant slack:{EVE} owner") == (
        "Nothing changed. ROLE 'owner': use researcher or admin"
    )
    assert say("role").startswith("Usage: /role grant")
    assert say("role list").splitlines() == [
        f"slack:{EVE} · researcher · chat · telegram:{LEAD_TG}",
        f"slack:{LEAD_SLACK} · researcher · cli · cli:test",
        f"telegram:{LEAD_TG} · admin · cli · cli:test",
    ]
    assert say(f"role revoke slack:{EVE} researcher") == f"slack:{EVE}: researcher revoked"
    assert say("status", EVE) == REFUSED
    assert "/role grant|revoke" in say("help")

    with UnitOfWork(session_factory) as uow:
        assert stored.roles_of(uow.session, "slack", EVE) == frozenset()
        rows = [(r.actor, r.channel, r.action, r.details) for r in audit.entries(uow.session)]
    assert rows[2:] == [
        (f"slack:{LEAD_SLACK}", "slack", "refused", {"command": "role", "sub": "grant"}),
        (f"slack:{EVE}", "slack", "refused", {"command": "status"}),
        (
            f"telegram:{LEAD_TG}",
            "telegram",
            "role.grant",
            {"identity": f"slack:{EVE}", "role": "researcher"},
        ),
        (
            f"telegram:{LEAD_TG}",
            "telegram",
            "role.revoke",
            {"identity": f"slack:{EVE}", "role": "researcher"},
        ),
        (f"slack:{EVE}", "slack", "refused", {"command": "status"}),
    ]
