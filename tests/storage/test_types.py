"""UTCDateTime keeps the instant and hands back UTC, whatever zone came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import Dialect

from storage.types import UTCDateTime

offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
moments = st.builds(
    lambda naive, offset: naive.replace(tzinfo=timezone(offset)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    offsets,
)


@pytest.fixture(
    scope="module", params=["sqlite://", "postgresql+psycopg://"], ids=["sqlite", "postgres"]
)
def dialect(request: pytest.FixtureRequest) -> Dialect:
    """A dialect to hand the type, without connecting to anything."""
    return create_engine(request.param).dialect


@given(moment=moments)
def test_an_aware_moment_round_trips_as_utc(dialect: Dialect, moment: datetime) -> None:
    column = UTCDateTime()
    stored = column.process_bind_param(moment, dialect)
    loaded = column.process_result_value(stored, dialect)
    assert loaded == moment
    assert loaded is not None and loaded.tzinfo is UTC


def test_a_naive_moment_is_refused(dialect: Dialect) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0), dialect)
