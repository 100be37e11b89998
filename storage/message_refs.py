"""Where each question was asked, per chat: lets a channel rewrite it once it is answered."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import literal_column, select, tuple_
from sqlalchemy.orm import Session

from storage.models import MessageRef
from storage.upsert import Insert, insert_for, table_of

__all__ = [
    "AskedAt",
    "LiveMessage",
    "live_messages",
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


class LiveMessage(NamedTuple):
    """The message asking a question now, and the outbox row that asked it (if known)."""

    message_id: str
    asked_by: int | None


def remember_message(
    session: Session, channel: str, address: str, item_id: str, message_id: str, now: datetime
) -> None:
    """Record (or replace) the live message asking `item_id` in this chat."""
    remember_messages(session, [(AskedAt(channel, address, item_id), message_id)], now)


def remember_messages(
    session: Session,
    refs: Sequence[tuple[AskedAt, str]],
    now: datetime,
    *,
    asked_by: Mapping[AskedAt, int] | None = None,
) -> None:
    """Record (or replace) many at once, in one statement; a later entry for the same
    question wins (it was sent later). `asked_by`: the outbox row behind each."""
    latest = dict(refs)
    if not latest:
        return
    rows = [
        {
            **place._asdict(),
            "message_id": message_id,
            "updated_at": now,
            "asked_by": (asked_by or {}).get(place),
        }
        for place, message_id in latest.items()
    ]
    session.execute(_upsert(session), rows)


def message_for_item(session: Session, channel: str, address: str, item_id: str) -> str | None:
    found = messages_for_items(session, [AskedAt(channel, address, item_id)])
    return found.get(AskedAt(channel, address, item_id))


def messages_for_items(session: Session, places: Collection[AskedAt]) -> dict[AskedAt, str]:
    """The live message id of each question asked."""
    return {place: live.message_id for place, live in live_messages(session, places).items()}


def live_messages(session: Session, places: Collection[AskedAt]) -> dict[AskedAt, LiveMessage]:
    """The live message of each question asked, in one query (the dispatcher looks up
    every rewrite in a batch at once)."""
    if not places:
        return {}
    key = tuple_(_TABLE.c.channel, _TABLE.c.address, _TABLE.c.item_id)
    statement = select(
        _TABLE.c.channel,
        _TABLE.c.address,
        _TABLE.c.item_id,
        _TABLE.c.message_id,
        _TABLE.c.asked_by,
    ).where(key.in_([tuple(place) for place in set(places)]))
    found: dict[AskedAt, LiveMessage] = {}
    for channel, address, item_id, message_id, asked_by in session.execute(statement):
        found[AskedAt(channel, address, item_id)] = LiveMessage(message_id, asked_by)
    return found


def _upsert(session: Session) -> Insert:
    """Built once per dialect (building the statement costs more than running it)."""
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = _UPSERTS[dialect] = insert_for(session, _TABLE).on_conflict_do_update(
            index_elements=["channel", "address", "item_id"],
            set_={
                c: literal_column(f"excluded.{c}") for c in ("message_id", "updated_at", "asked_by")
            },
        )
    return statement
