"""Cross-process wake-ups (#8): outbox and scheduled-send inserts notify, at commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.notices import OUTBOX, SCHEDULES, listen
from storage import (
    UnitOfWork,
    make_session_factory,
    repository,
)
from storage.outbox import enqueue
from tests.scheduling.followup_seed import schedule_check_in

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def test_a_commit_elsewhere_wakes_the_listener(pg_engine: Engine, postgres_url: str) -> None:
    factory = make_session_factory(pg_engine)

    async def scenario() -> tuple[int, int]:
        woken = asyncio.Event()
        wakes: list[int] = []

        def wake() -> None:
            wakes.append(1)
            woken.set()

        listener = asyncio.create_task(listen(postgres_url, OUTBOX, wake))
        try:
            await asyncio.wait_for(woken.wait(), 10)  # the wake on connecting
            on_connect = len(wakes)
            woken.clear()
            with UnitOfWork(factory) as uow:
                enqueue(uow.session, "telegram", "1", {"kind": "say", "text": "hi"}, now=NOW)
                uow.session.flush()
                await asyncio.sleep(0.3)
                assert not woken.is_set(), "woken before the commit"
                uow.commit()
            await asyncio.wait_for(woken.wait(), 10)
            return on_connect, len(wakes)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    on_connect, total = asyncio.run(scenario())
    assert (on_connect, total) == (1, 2)


def test_an_unreachable_database_is_retried_not_fatal() -> None:
    async def scenario() -> bool:
        listener = asyncio.create_task(
            listen("postgresql+psycopg://nobody@127.0.0.1:1/none", OUTBOX, lambda: None)
        )
        await asyncio.sleep(1.5)
        alive = not listener.done()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        return alive

    assert asyncio.run(scenario())


def test_a_scheduled_send_wakes_the_scheduler_listener(
    pg_engine: Engine, postgres_url: str
) -> None:
    factory = make_session_factory(pg_engine)

    async def scenario() -> int:
        woken = asyncio.Event()
        listener = asyncio.create_task(listen(postgres_url, SCHEDULES, woken.set))
        try:
            await asyncio.wait_for(woken.wait(), 10)  # the wake on connecting
            woken.clear()
            with UnitOfWork(factory) as uow:
                person = repository.create_stakeholder(
                    uow.session, name="P", language="en", time_zone="America/Toronto", now=NOW
                )
                made = schedule_check_in(uow.session, [(person.id, NOW)], NOW)
                uow.commit()
            await asyncio.wait_for(woken.wait(), 10)
            return made
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    assert asyncio.run(scenario()) == 1
