"""Where each question was asked, per chat: lets a channel rewrite it once it is answered."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import literal_column, select, tuple_
from sqlalchemy.orm import Session

from storage.models import MessageRef
from storage.upsert import Insert, insert_for, table_of

__all__ = [
    "AskedAt",
    "message_for_item",
    "messages_for_items",
    "remember_message",
    "remember_messages",
]

_TABLE = table_of(MessageRef)
_UPSERTS: dict[str, Insert] = {}


class AskedAt(NamedTuple):
    """A question's place: the chat (channel, address) and the item it asked."""

    channel: str
    address: str
    item_id: str


def remember_message(
    session: Session, channel: str, address: str, item_id: str, message_id: str, now: datetime
) -> None:
    """Record (or replace) the live message asking `item_id` in this chat."""
    remember_messages(session, [(AskedAt(channel, address, item_id), message_id)], now)


def remember_messages(session: Session, refs: Sequence[tuple[AskedAt, str]], now: datetime) -> None:
    """Record (or replace) many at once, in one statement; a later entry for the same
    question wins (it was sent later)."""
    latest = dict(refs)
    if not latest:
        return
    rows = [
        {**place._asdict(), "message_id": message_id, "updated_at": now}
        for place, message_id in latest.items()
    ]
    session.execute(_upsert(session), rows)


def message_for_item(session: Session, channel: str, address: str, item_id: str) -> str | None:
    found = messages_for_items(session, [AskedAt(channel, address, item_id)])
    return found.get(AskedAt(channel, address, item_id))


def messages_for_items(session: Session, places: Collection[AskedAt]) -> dict[AskedAt, str]:
    """The live message of each question asked, in one query (the dispatcher looks up
    every rewrite in a batch at once)."""
    if not places:
        return {}
    key = tuple_(_TABLE.c.channel, _TABLE.c.address, _TABLE.c.item_id)
    statement = select(
        _TABLE.c.channel, _TABLE.c.address, _TABLE.c.item_id, _TABLE.c.message_id
    ).where(key.in_([tuple(place) for place in set(places)]))
    found: dict[AskedAt, str] = {}
    for channel, address, item_id, message_id in session.execute(statement):
        found[AskedAt(channel, address, item_id)] = message_id
    return found


def _upsert(session: Session) -> Insert:
    """Built once per dialect (building the statement costs more than running it)."""
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = _UPSERTS[dialect] = insert_for(session, _TABLE).on_conflict_do_update(
            index_elements=["channel", "address", "item_id"],
            set_={c: literal_column(f"excluded.{c}") for c in ("message_id", "updated_at")},
        )
    return statement
