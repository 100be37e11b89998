"""Random secrets that belong to one database, such as the key of export pseudonyms (#6).

Migration 0006 makes the pseudonym key, so reading it is all an export normally does. A
database built some other way (`Base.metadata.create_all` in a benchmark) gets one on
first use, claimed with INSERT … ON CONFLICT DO NOTHING so that two exports starting at
once end up with the same key. Nothing here commits; the caller's unit of work does.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import InstanceSecret
from storage.upsert import insert_for, table_of

__all__ = ["PSEUDONYM_KEY", "instance_secret"]

PSEUDONYM_KEY = "pseudonym_key"


def instance_secret(session: Session, name: str, now: datetime) -> str:
    """The secret called `name`, made (random, 256 bits) if this database has none yet."""
    found = _read(session, name)
    if found is not None:
        return found
    statement = (
        insert_for(session, table_of(InstanceSecret))
        .values(name=name, value=secrets.token_hex(32), created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    session.execute(statement)
    made = _read(session, name)
    if made is None:  # pragma: no cover - the insert or a concurrent one made it
        raise RuntimeError(f"instance secret {name!r} could not be stored")
    return made


def _read(session: Session, name: str) -> str | None:
    statement = select(InstanceSecret.value).where(InstanceSecret.name == name)
    return session.scalars(statement).one_or_none()
