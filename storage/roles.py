"""Who holds which role: grants keyed by platform account (`slack:U0123`), not stakeholder.

A researcher command is checked here before it runs, with one lookup by the grants'
unique key, so the check costs nothing for the stakeholders' turns (they never reach it).
`admin` includes the researcher's rights and adds managing who holds a role.

Grants are added with INSERT … ON CONFLICT DO NOTHING: two processes seeding the same
`PARLEY_RESEARCHERS` at start-up neither fail nor duplicate, and on PostgreSQL a unique
key hit never aborts the surrounding transaction. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import ROLES, RoleGrant
from storage.upsert import insert_for, table_of

__all__ = ["RESEARCH_ROLES", "ROLES", "grant", "grants", "has_role", "revoke", "roles_of"]

RESEARCH_ROLES = ("researcher", "admin")
"""Roles that may run researcher commands."""


def grant(
    session: Session,
    platform: str,
    external_id: str,
    role: str,
    *,
    source: str,
    granted_by: str,
    now: datetime,
) -> bool:
    """Give `role` to the account; False when it already had it (nothing changes then)."""
    statement = (
        insert_for(session, table_of(RoleGrant))
        .values(
            platform=platform,
            external_id=external_id,
            role=role,
            source=source,
            granted_by=granted_by,
            granted_at=now,
        )
        .on_conflict_do_nothing(index_elements=["platform", "external_id", "role"])
        .returning(table_of(RoleGrant).c.id)
    )
    return session.execute(statement).scalar() is not None  # no row back: it was there


def revoke(session: Session, platform: str, external_id: str, role: str) -> bool:
    """Take `role` away; False when the account did not have it."""
    statement = delete(RoleGrant).where(
        RoleGrant.platform == platform,
        RoleGrant.external_id == external_id,
        RoleGrant.role == role,
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def roles_of(session: Session, platform: str, external_id: str) -> frozenset[str]:
    rows = session.scalars(
        select(RoleGrant.role).where(
            RoleGrant.platform == platform, RoleGrant.external_id == external_id
        )
    )
    return frozenset(rows)


def has_role(session: Session, platform: str, external_id: str, roles: Iterable[str]) -> bool:
    """Whether the account holds any of `roles`: the check before a researcher command."""
    found = session.scalar(
        select(RoleGrant.id)
        .where(
            RoleGrant.platform == platform,
            RoleGrant.external_id == external_id,
            RoleGrant.role.in_(list(roles)),
        )
        .limit(1)
    )
    return found is not None


def grants(session: Session) -> list[RoleGrant]:
    """Every grant, by account then role."""
    return list(
        session.scalars(
            select(RoleGrant).order_by(RoleGrant.platform, RoleGrant.external_id, RoleGrant.role)
        )
    )
