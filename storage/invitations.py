"""Invitations: unguessable, single-use, expiring tokens binding an account to a roster entry.

Only a SHA-256 of each token is stored: the token itself exists in the link sent to the
person and nowhere else, so reading the database does not let anyone join as someone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Invite

__all__ = ["InviteStatus", "Redemption", "create_invite", "redeem_invite"]

TOKEN_BYTES = 18
"""24 URL-safe characters: within Telegram's 64-character `start` parameter."""


class InviteStatus(StrEnum):
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class Redemption:
    status: InviteStatus
    stakeholder_id: int | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(
    session: Session, stakeholder_id: int, channel: str, *, now: datetime, valid_for: timedelta
) -> str:
    """A new token for `stakeholder_id`; returns the token (store it nowhere but the link)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        Invite(
            stakeholder_id=stakeholder_id,
            channel=channel,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    session.flush()
    return token


def redeem_invite(session: Session, token: str, *, now: datetime) -> Redemption:
    """Use a token once. A used or expired token still names its stakeholder, so the
    caller can tell the person who already joined apart from a stranger."""
    invite = session.scalars(select(Invite).where(Invite.token_hash == _digest(token))).first()
    if invite is None:
        return Redemption(InviteStatus.UNKNOWN)
    if invite.used_at is not None:
        return Redemption(InviteStatus.USED, invite.stakeholder_id)
    if invite.expires_at <= now:
        return Redemption(InviteStatus.EXPIRED, invite.stakeholder_id)
    claimed = session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return Redemption(InviteStatus.USED, invite.stakeholder_id)
    return Redemption(InviteStatus.ACCEPTED, invite.stakeholder_id)
