"""Roles as the shell uses them: read an identity, check a command, grant, revoke, seed.

Every researcher command, in every channel, asks `may_research` first: one lookup in the
stored grants (`storage.roles`), so a grant or revocation with `parley role …` takes
effect at the next command, without a restart. `PARLEY_RESEARCHERS` is seeded at
start-up by `seed_researchers`: it adds what is missing and never removes a grant, so a
role granted with the CLI survives a restart, and an identity taken out of the setting
keeps its role until `parley role revoke` (which warns when the setting would grant it
again at the next start).

Every change of a role is an audit row (`storage.audit`) in the same transaction.
"""

from __future__ import annotations

import asyncio
import getpass
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage import roles as stored
from storage.models import ROLES
from storage.unit_of_work import UnitOfWork

__all__ = [
    "ROLES",
    "SEEDER",
    "RoleChange",
    "RoleError",
    "change_role",
    "cli_actor",
    "may_manage",
    "may_research",
    "parse_identity",
    "parse_researchers",
    "parse_role",
    "researcher_check",
    "seed_researchers",
]

SEEDER = "settings:PARLEY_RESEARCHERS"
"""The actor recorded for grants seeded from the setting."""
_IDS = {
    "telegram": re.compile(r"-?[0-9]{1,20}"),
    "slack": re.compile(r"[UW][A-Z0-9]{2,30}"),
}


class RoleError(ValueError):
    """Bad input for a role command: one line naming the field."""


def cli_actor() -> str:
    """Who acts from the command line: `cli:<os user>`."""
    return f"cli:{getpass.getuser()}"


def parse_identity(text: str, field: str = "IDENTITY") -> tuple[str, str]:
    """`slack:U0123` → ("slack", "U0123"); anything else is refused, naming `field`."""
    platform, _, external = text.strip().partition(":")
    pattern = _IDS.get(platform.lower())
    if pattern is None or not pattern.fullmatch(external):
        raise RoleError(
            f"{field} '{text}': use slack:<user id> (e.g. slack:U0123ABC) "
            "or telegram:<user id> (e.g. telegram:123456789)"
        )
    return platform.lower(), external


def parse_researchers(setting: str) -> frozenset[tuple[str, str]]:
    """`PARLEY_RESEARCHERS` (`telegram:123,slack:U456`); a bad entry names the setting."""
    entries = (entry for entry in setting.split(",") if entry.strip())
    return frozenset(parse_identity(entry, "PARLEY_RESEARCHERS") for entry in entries)


def parse_role(text: str, field: str = "ROLE") -> str:
    role = text.strip().lower()
    if role not in ROLES:
        raise RoleError(f"{field} '{text}': use {' or '.join(ROLES)}")
    return role


def may_research(session: Session, platform: str, external_id: str) -> bool:
    """Whether this account may run researcher commands (researcher or admin)."""
    return stored.has_role(session, platform, external_id, stored.RESEARCH_ROLES)


def researcher_check(
    session_factory: sessionmaker[Session], platform: str
) -> Callable[[str], Awaitable[bool]]:
    """`may_research` for accounts of `platform`, off the event loop (the Slack modal)."""

    def check(external_id: str) -> bool:
        with UnitOfWork(session_factory) as uow:
            return may_research(uow.session, platform, external_id)

    async def checked(external_id: str) -> bool:
        return await asyncio.to_thread(check, external_id)

    return checked


def may_manage(session: Session, platform: str, external_id: str) -> bool:
    """Whether this account may grant and revoke roles from chat (admins only)."""
    return stored.has_role(session, platform, external_id, ("admin",))


@dataclass(frozen=True)
class RoleChange:
    """A grant or revocation as asked: whose, which role, by whom, from where."""

    identity: tuple[str, str]
    role: str
    actor: str
    channel: str
    now: datetime

    @property
    def who(self) -> str:
        return ":".join(self.identity)


def change_role(session: Session, change: RoleChange, *, grant: bool) -> bool:
    """Grant or revoke; True when something changed (only then is it audited)."""
    platform, external = change.identity
    if grant:
        source = change.channel if change.channel in ("cli", "settings") else "chat"
        changed = stored.grant(
            session,
            platform,
            external,
            change.role,
            source=source,
            granted_by=change.actor,
            now=change.now,
        )
    else:
        changed = stored.revoke(session, platform, external, change.role)
    if changed:
        action = "role.grant" if grant else "role.revoke"
        details = {"identity": change.who, "role": change.role}
        audit.record(session, change.actor, action, details, change.channel, change.now)
    return changed


def seed_researchers(
    session: Session, identities: Iterable[tuple[str, str]], now: datetime
) -> list[str]:
    """Grant `researcher` to each identity of `PARLEY_RESEARCHERS` that lacks it.

    Adds only: a grant made with the CLI, or one whose identity left the setting, is
    kept. Returns the identities granted now (each one audited).
    """
    added = []
    for platform, external in sorted(identities):
        change = RoleChange((platform, external), "researcher", SEEDER, "settings", now)
        if change_role(session, change, grant=True):
            added.append(change.who)
    return added
