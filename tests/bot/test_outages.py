"""Waiting out a database outage (#8): connection failures are retried for a while,
anything else fails at once. The errors are real ones, from a real failed connection."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app import _when_reachable
from bot.outages import ride_out, unreachable


def real_connection_error() -> DBAPIError:
    engine = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("connected to a closed port")


def real_statement_error() -> DBAPIError:
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM nowhere"))
    except DBAPIError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("a missing table answered")


def test_a_refused_connection_is_an_outage_a_bad_statement_is_not() -> None:
    assert unreachable(real_connection_error())
    assert isinstance(real_connection_error(), OperationalError)
    assert not unreachable(ValueError("no"))


def test_an_outage_is_waited_out() -> None:
    error = real_connection_error()
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise error
        return "done"

    assert asyncio.run(ride_out(attempt, limit=5.0, what="test")) == "done"
    assert len(calls) == 3


def test_an_outage_longer_than_the_limit_fails_with_its_error() -> None:
    error = real_connection_error()

    async def attempt() -> str:
        raise error

    with pytest.raises(OperationalError):
        asyncio.run(ride_out(attempt, limit=0.5, what="test"))


def test_an_error_that_is_no_outage_is_not_retried() -> None:
    error = real_statement_error()
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise error

    with pytest.raises(DBAPIError):
        asyncio.run(ride_out(attempt, limit=5.0, what="test"))
    assert len(calls) == 1


def test_start_up_waits_for_an_unreachable_database() -> None:
    """`parley run` started during a PostgreSQL restart starts once the server answers."""
    error = real_connection_error()
    calls: list[int] = []

    def migrate() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise error

    def broken() -> None:
        raise real_statement_error()

    _when_reachable(migrate, limit=5.0)
    assert len(calls) == 3
    with pytest.raises(DBAPIError):  # a real error is not waited out
        _when_reachable(broken, limit=5.0)
