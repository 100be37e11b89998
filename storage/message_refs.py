"""Where each question was asked, per chat: lets a channel rewrite it once it is answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import MessageRef
from storage.upsert import table_of

__all__ = ["message_for_item", "remember_message"]


def remember_message(
    session: Session, channel: str, address: str, item_id: str, message_id: str, now: datetime
) -> None:
    """Record (or replace) the live message asking `item_id` in this chat."""
    ref = session.scalars(
        select(MessageRef).where(
            MessageRef.channel == channel,
            MessageRef.address == address,
            MessageRef.item_id == item_id,
        )
    ).first()
    if ref is None:
        session.add(
            MessageRef(
                channel=channel,
                address=address,
                item_id=item_id,
                message_id=message_id,
                updated_at=now,
            )
        )
    else:
        ref.message_id = message_id
        ref.updated_at = now
    session.flush()


def message_for_item(session: Session, channel: str, address: str, item_id: str) -> str | None:
    table = table_of(MessageRef)
    return session.execute(
        select(table.c.message_id).where(
            table.c.channel == channel, table.c.address == address, table.c.item_id == item_id
        )
    ).scalar_one_or_none()
