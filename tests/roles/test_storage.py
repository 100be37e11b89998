"""Stored roles and the audit log: one contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.roles import SEEDER, may_manage, may_research, seed_researchers
from storage import UnitOfWork, audit
from storage import roles as stored

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
Factory = sessionmaker[Session]


def grant(session: Session, who: tuple[str, str], role: str, source: str = "cli") -> bool:
    return stored.grant(session, *who, role, source=source, granted_by="cli:ann", now=NOW)


def test_grant_is_idempotent_and_revoke_takes_it_away(session_factory: Factory) -> None:
    lead = ("slack", "U0LEAD001")
    with UnitOfWork(session_factory) as uow:
        assert grant(uow.session, lead, "researcher") is True
        assert grant(uow.session, lead, "researcher") is False  # ON CONFLICT: no error
        assert grant(uow.session, lead, "admin") is True
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert stored.roles_of(uow.session, *lead) == {"researcher", "admin"}
        assert may_research(uow.session, *lead) and may_manage(uow.session, *lead)
        assert not may_research(uow.session, "telegram", "U0LEAD001")  # other platform
        assert stored.revoke(uow.session, *lead, "admin") is True
        assert stored.revoke(uow.session, *lead, "admin") is False
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert not may_manage(uow.session, *lead)
        assert may_research(uow.session, *lead)
        rows = stored.grants(uow.session)
        assert [(r.platform, r.external_id, r.role, r.source, r.granted_by) for r in rows] == [
            ("slack", "U0LEAD001", "researcher", "cli", "cli:ann")
        ]
        assert rows[0].granted_at == NOW


@pytest.mark.parametrize(
    ("roles", "researcher", "admin"),
    [((), False, False), (("researcher",), True, False), (("admin",), True, True)],
)
def test_admin_includes_the_researchers_rights(
    session_factory: Factory, roles: tuple[str, ...], researcher: bool, admin: bool
) -> None:
    who = ("telegram", "11")
    with UnitOfWork(session_factory) as uow:
        for role in roles:
            grant(uow.session, who, role)
        assert may_research(uow.session, *who) is researcher
        assert may_manage(uow.session, *who) is admin


def test_seeding_adds_never_removes_and_is_audited_once(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        grant(uow.session, ("slack", "U0CLI0001"), "researcher")  # made with the CLI
        added = seed_researchers(uow.session, {("telegram", "11"), ("slack", "U0A")}, NOW)
        assert added == ["slack:U0A", "telegram:11"]
        uow.commit()
    with UnitOfWork(session_factory) as uow:  # a restart with a shorter setting
        assert seed_researchers(uow.session, {("telegram", "11")}, NOW) == []
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        held = {(r.platform, r.external_id, r.source) for r in stored.grants(uow.session)}
        assert held == {
            ("slack", "U0CLI0001", "cli"),
            ("slack", "U0A", "settings"),
            ("telegram", "11", "settings"),
        }
        rows = audit.entries(uow.session)
        assert [(r.actor, r.channel, r.action, r.details) for r in rows] == [
            (SEEDER, "settings", "role.grant", {"identity": "slack:U0A", "role": "researcher"}),
            (SEEDER, "settings", "role.grant", {"identity": "telegram:11", "role": "researcher"}),
        ]


def test_audit_rows_filtered_by_time_actor_and_action(session_factory: Factory) -> None:
    log: list[tuple[int, str, str, dict[str, object]]] = [
        (0, "cli:ann", "followup.add", {"followup": 1}),
        (1, "telegram:11", "group.create", {"group": 3}),
        (2, "slack:U0LEAD001", "group.poll.confirm", {"poll": 2, "slot": 1}),
        (3, "cli:annie", "groupie", {}),
        (4, "telegram:12", "refused", {"command": "followup"}),
    ]
    with UnitOfWork(session_factory) as uow:
        for minutes, actor, action, details in log:
            at = NOW + timedelta(minutes=minutes)
            audit.record(uow.session, actor, action, details, audit.channel_of(actor), at)
        uow.commit()

    def actions(**filters: object) -> list[str]:
        with UnitOfWork(session_factory) as uow:
            return [r.action for r in audit.entries(uow.session, **filters)]  # type: ignore[arg-type]

    everything = ["followup.add", "group.create", "group.poll.confirm", "groupie", "refused"]
    assert actions() == everything
    assert actions(since=NOW + timedelta(minutes=2)) == everything[2:]
    assert actions(action="group") == ["group.create", "group.poll.confirm"]  # not groupie
    assert actions(action="group.poll") == ["group.poll.confirm"]
    assert actions(actor="cli") == ["followup.add", "groupie"]
    assert actions(actor="cli:ann") == ["followup.add"]  # not cli:annie
    assert actions(actor="telegram", action="refused") == ["refused"]
    with UnitOfWork(session_factory) as uow:
        channels = [r.channel for r in audit.entries(uow.session)]
        assert channels == ["cli", "telegram", "slack", "cli", "telegram"]


def test_details_are_plain_json_and_clipped(session_factory: Factory) -> None:
    details = {
        "title": "x" * 500,
        "ids": (3, 1),
        "users": {"U2", "U1"},
        "since": NOW,
        "nothing": None,
        "flag": True,
    }
    with UnitOfWork(session_factory) as uow:
        audit.record(uow.session, "cli:ann", "export", details, "cli", NOW)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        (row,) = audit.entries(uow.session)
        assert row.details == {
            "title": "x" * audit.MAX_TEXT,
            "ids": [3, 1],
            "users": ["U1", "U2"],
            "since": NOW.isoformat(),
            "nothing": None,
            "flag": True,
        }
        assert row.at == NOW


def test_a_rolled_back_action_leaves_no_row(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        audit.record(uow.session, "cli:ann", "followup.add", {"followup": 1}, "cli", NOW)
        uow.rollback()
    with UnitOfWork(session_factory) as uow:
        assert audit.entries(uow.session) == []
