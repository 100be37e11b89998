"""Column types that make SQLite and PostgreSQL store the same values the same way.

Two things differ between the backends and would otherwise leak into every query:
timestamps (SQLite has no time zones) and JSON (PostgreSQL's JSONB is the indexable,
compact form). These types hide both, so repository code never branches on the dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

__all__ = ["UTCDateTime", "json_document"]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend.

    PostgreSQL stores `timestamptz`; SQLite stores the naive UTC wall time (its text form
    sorts chronologically, so `not_before <= :now` still works). Naive datetimes are refused
    on the way in: a time without a zone is ambiguous, and guessing is how a reminder ends
    up an hour late.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass an aware one")
        in_utc = value.astimezone(UTC)
        return in_utc if dialect.name == "postgresql" else in_utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_document() -> TypeEngine[Any]:
    """Portable JSON, stored as JSONB on PostgreSQL."""
    return sa.JSON().with_variant(JSONB(), "postgresql")
