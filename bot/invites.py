"""`parley invite`: one personal link per stakeholder, printed and written to CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.invitations import create_invite
from storage.models import Identity, Stakeholder

__all__ = ["Invitation", "issue_telegram_invites", "write_invitations"]


@dataclass(frozen=True)
class Invitation:
    stakeholder_id: int
    name: str
    organisation: str | None
    email: str | None
    link: str
    expires_at: datetime


def issue_telegram_invites(
    session: Session, bot_username: str, *, now: datetime, valid_for: timedelta
) -> list[Invitation]:
    """A deep link `https://t.me/<bot>?start=<token>` for everyone not yet on Telegram."""
    linked = select(Identity.stakeholder_id).where(Identity.platform == "telegram")
    people = session.scalars(
        select(Stakeholder).where(Stakeholder.id.not_in(linked)).order_by(Stakeholder.id)
    ).all()
    invitations = []
    for person in people:
        token = create_invite(session, person.id, "telegram", now=now, valid_for=valid_for)
        invitations.append(
            Invitation(
                stakeholder_id=person.id,
                name=person.name,
                organisation=person.organisation,
                email=person.email,
                link=f"https://t.me/{bot_username}?start={token}",
                expires_at=now + valid_for,
            )
        )
    return invitations


def write_invitations(path: Path, invitations: list[Invitation]) -> None:
    """Written to a temporary name, then renamed: never a half-written file of secrets."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "organisation", "email", "link", "expires_at"])
        for inv in invitations:
            writer.writerow(
                [
                    inv.name,
                    inv.organisation or "",
                    inv.email or "",
                    inv.link,
                    inv.expires_at.isoformat(),
                ]
            )
    partial.replace(path)
