"""Outbox claims and role holders (#8): what keeps two dispatchers off the same row."""

from __future__ import annotations

import select as selectors
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import make_session_factory
from storage.outbox import (
    claim_messages,
    due_messages,
    enqueue,
    mark_retry,
    postpone,
    release_claims,
)
from storage.role_holders import heartbeat, role_holders, still_holds
from storage.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=60)


def _enqueue(factory: sessionmaker[Session], channel: str, count: int) -> list[int]:
    with UnitOfWork(factory) as uow:
        ids = [
            enqueue(uow.session, channel, f"chat-{n}", {"kind": "say", "text": "hi"}, now=NOW)
            for n in range(count)
        ]
        uow.commit()
    return ids


def _claim(
    factory: sessionmaker[Session], holder: str, channels: tuple[str, ...] = ("telegram",)
) -> list[int]:
    with UnitOfWork(factory) as uow:
        rows = claim_messages(
            uow.session, NOW, 100, channels=channels, holder=holder, lease_until=LEASE
        )
        uow.commit()
    return [row.id for row in rows]


def test_a_claimed_row_is_not_claimed_again_until_released(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _enqueue(session_factory, "telegram", 3)
    assert _claim(session_factory, "a:1") == ids
    assert _claim(session_factory, "b:2") == []
    with UnitOfWork(session_factory) as uow:
        assert release_claims(uow.session, "telegram") == 3
        uow.commit()
    assert _claim(session_factory, "b:2") == ids


def test_a_new_holder_keeps_its_own_claims_when_it_releases(
    session_factory: sessionmaker[Session],
) -> None:
    old = _enqueue(session_factory, "telegram", 2)
    assert _claim(session_factory, "a:1") == old
    mine = _enqueue(session_factory, "telegram", 1)
    assert _claim(session_factory, "b:2") == mine
    with UnitOfWork(session_factory) as uow:
        assert release_claims(uow.session, "telegram", keep="b:2") == 2
        uow.commit()
    assert _claim(session_factory, "c:3") == old


def test_claims_are_per_channel(session_factory: sessionmaker[Session]) -> None:
    telegram = _enqueue(session_factory, "telegram", 2)
    slack = _enqueue(session_factory, "slack", 2)
    assert _claim(session_factory, "a:1", channels=("slack",)) == slack
    assert _claim(session_factory, "b:2", channels=("telegram", "slack")) == telegram
    with UnitOfWork(session_factory) as uow:
        assert release_claims(uow.session, "telegram") == 2
        uow.commit()
    assert _claim(session_factory, "c:3", channels=("slack",)) == []


def test_an_expired_claim_is_due_again(session_factory: sessionmaker[Session]) -> None:
    ids = _enqueue(session_factory, "telegram", 1)
    assert _claim(session_factory, "a:1") == ids
    with UnitOfWork(session_factory) as uow:
        later = claim_messages(
            uow.session,
            LEASE + timedelta(seconds=1),
            10,
            channels=("telegram",),
            holder="b:2",
            lease_until=LEASE + timedelta(seconds=61),
        )
        uow.commit()
    assert [row.id for row in later] == ids


def test_a_holder_skips_rows_it_is_sending_and_chats_that_are_busy(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _enqueue(session_factory, "telegram", 4)  # chat-0 .. chat-3
    slack = _enqueue(session_factory, "slack", 1)  # chat-0 on another platform
    assert _claim(session_factory, "a:1", channels=("telegram", "slack")) == ids + slack
    with UnitOfWork(session_factory) as uow:
        again = claim_messages(
            uow.session,
            NOW,
            100,
            channels=("telegram", "slack"),
            holder="a:1",
            lease_until=LEASE,
            exclude=[ids[1]],
            busy=[("telegram", "chat-0"), ("telegram", "chat-3")],
        )
    assert [row.id for row in again] == [ids[2], *slack]


@pytest.mark.parametrize("hold_back", ["retry", "postpone"])
def test_a_row_held_back_is_unclaimed_so_it_goes_out_at_its_time(
    session_factory: sessionmaker[Session], hold_back: str
) -> None:
    [row_id] = _enqueue(session_factory, "telegram", 1)
    _claim(session_factory, "a:1")
    soon = NOW + timedelta(seconds=2)
    with UnitOfWork(session_factory) as uow:
        if hold_back == "retry":
            assert mark_retry(uow.session, row_id, "429", soon)
        else:
            assert postpone(uow.session, row_id, soon)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        rows = claim_messages(
            uow.session, soon, 10, channels=("telegram",), holder="a:1", lease_until=LEASE
        )
    assert [row.id for row in rows] == [row_id]


def test_due_messages_can_be_limited_to_channels(session_factory: sessionmaker[Session]) -> None:
    _enqueue(session_factory, "telegram", 1)
    slack = _enqueue(session_factory, "slack", 1)
    with UnitOfWork(session_factory) as uow:
        rows = due_messages(uow.session, NOW, 10, channels=("slack",))
    assert [row.id for row in rows] == slack


def test_a_row_locked_by_another_claim_is_skipped_not_waited_for(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    ids = _enqueue(factory, "telegram", 4)
    with UnitOfWork(factory) as first:
        mine = claim_messages(
            first.session, NOW, 2, channels=("telegram",), holder="a:1", lease_until=LEASE
        )
        # still uncommitted: the other dispatcher must not block on these rows
        with UnitOfWork(factory) as second:
            second.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            theirs = claim_messages(
                second.session, NOW, 10, channels=("telegram",), holder="b:2", lease_until=LEASE
            )
            second.commit()
        first.commit()
    assert [row.id for row in mine] == ids[:2]
    assert [row.id for row in theirs] == ids[2:]


def test_an_outbox_insert_notifies_listeners_at_commit(
    pg_engine: Engine, postgres_url: str
) -> None:
    factory = make_session_factory(pg_engine)
    conninfo = sa.make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute("LISTEN parley_outbox")
        schema = listener.execute("SELECT current_schema()").fetchone()
        _enqueue(factory, "telegram", 2)
        ready, _, _ = selectors.select([listener.fileno()], [], [], 5.0)
        assert ready, "no notification within 5 s"
        payloads = [note.payload for note in listener.notifies(timeout=0.5)]
    assert schema is not None
    assert payloads.count(schema[0]) == 1  # one per statement; other schemas' runs notify too


def test_heartbeats_say_who_holds_each_role(session_factory: sessionmaker[Session]) -> None:
    engine = session_factory.kw["bind"]
    with engine.begin() as connection:
        heartbeat(connection, "scheduler", "host:1", NOW, NOW)
        heartbeat(connection, "dispatcher:slack", "host:2", NOW, NOW)
    later = NOW + timedelta(seconds=5)
    with engine.begin() as connection:
        heartbeat(connection, "scheduler", "other:9", later, later)
    with UnitOfWork(session_factory) as uow:
        holders = role_holders(uow.session)
    assert [(h.role, h.holder, h.heartbeat_at) for h in holders] == [
        ("dispatcher:slack", "host:2", NOW),
        ("scheduler", "other:9", later),
    ]


def test_still_holds_names_the_last_reported_holder(session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        assert not still_holds(uow.session, "dispatcher:telegram", "a:1")  # no report yet
    engine = session_factory.kw["bind"]
    with engine.begin() as connection:
        heartbeat(connection, "dispatcher:telegram", "a:1", NOW, NOW)
    with UnitOfWork(session_factory) as uow:
        assert still_holds(uow.session, "dispatcher:telegram", "a:1")
        assert not still_holds(uow.session, "dispatcher:telegram", "b:2")
        assert not still_holds(uow.session, "dispatcher:slack", "a:1")


def test_a_successor_s_first_heartbeat_waits_for_a_fenced_transaction(pg_engine: Engine) -> None:
    """What a holder does under `still_holds` commits before a successor can act."""
    factory = make_session_factory(pg_engine)
    with pg_engine.begin() as connection:
        heartbeat(connection, "dispatcher:telegram", "a:1", NOW, NOW)
    with UnitOfWork(factory) as fenced:
        assert still_holds(fenced.session, "dispatcher:telegram", "a:1")
        with pg_engine.connect() as successor:
            successor.execute(sa.text("SET lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                heartbeat(successor, "dispatcher:telegram", "b:2", LEASE, LEASE)
            successor.rollback()
        fenced.commit()
    with pg_engine.begin() as connection:
        heartbeat(connection, "dispatcher:telegram", "b:2", LEASE, LEASE)
    with UnitOfWork(factory) as uow:
        assert still_holds(uow.session, "dispatcher:telegram", "b:2")


def test_a_holder_gets_its_own_claims_again(session_factory: sessionmaker[Session]) -> None:
    """Rows it claimed but left unsent (a busy chat) must not wait for the lease."""
    ids = _enqueue(session_factory, "telegram", 2)
    assert _claim(session_factory, "a:1") == ids
    assert _claim(session_factory, "a:1") == ids
    assert _claim(session_factory, "b:2") == []
