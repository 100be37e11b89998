"""`/role grant|revoke|list` in the research chat (and `/parley role …` on Slack): admins only.

The words and the work are the CLI's (`parley role …`, `bot.roles`): the same identity and
role checks with the same one-line messages, the same audit row (by the admin's account,
from their channel). A researcher who is not an admin is refused, and the refusal is
audited as `refused`; the handler has already refused everyone without a role.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.researcher_commands import Caller
from bot.roles import RoleChange, RoleError, change_role, may_manage, parse_identity, parse_role
from conversations.catalog import translate
from storage import audit
from storage import roles as stored

__all__ = ["role"]


def role(session: Session, caller: Caller, argument: str) -> str:
    """Grant, revoke or list roles, if the caller is an admin."""
    platform, _, account = caller.author.partition(":")
    words = argument.split()
    sub = words[0].lower() if words else ""
    if sub not in ("grant", "revoke", "list"):
        return translate("role.usage", caller.language, slash=caller.slash)
    if not may_manage(session, platform, account):
        details = {"command": "role", "sub": sub}
        audit.record(session, caller.author, "refused", details, platform, caller.now)
        return translate("role.admins_only", caller.language)
    if sub == "list":
        return _listing(session)
    if len(words) != 3:
        return translate("role.usage", caller.language, slash=caller.slash)
    try:
        change = RoleChange(
            parse_identity(words[1]), parse_role(words[2]), caller.author, platform, caller.now
        )
    except RoleError as error:
        return translate("role.not_changed", caller.language, reason=str(error))
    granting = sub == "grant"
    changed = change_role(session, change, grant=granting)
    if granting:
        return f"{change.who}: {change.role} {'granted' if changed else 'already held'}"
    return f"{change.who}: {change.role} {'revoked' if changed else 'was not held'}"


def _listing(session: Session) -> str:
    """One line per grant, as `parley role list` shows them."""
    lines = [
        f"{g.platform}:{g.external_id} · {g.role} · {g.source} · {g.granted_by}"
        for g in stored.grants(session)
    ]
    return "\n".join(lines) or "no roles granted"
