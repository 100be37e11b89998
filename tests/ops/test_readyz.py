"""`GET /readyz` and `GET /healthz` on a real HTTP server, against real databases: 200 with
the operators' figures, 503 with the reason (starting, stopping, database refused, database
silent), always within the deadline."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.http import HttpServer
from bot.readiness import Readiness
from storage import make_engine, make_session_factory
from tests.ops.support import populate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=10)
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession(timeout=timeout) as client, client.get(url) as response:
        return response.status, await response.json()


async def serving(readiness: Readiness, *calls: str) -> list[tuple[int, dict[str, Any], float]]:
    """Start a server, answer `calls` in turn (`ready`/`stopping` switch the process's own
    state), stop it; each answer with the seconds it took."""
    port = free_port()
    server = HttpServer("127.0.0.1", port, readiness=readiness, about=lambda: {"role": "web"})
    await server.start()
    answers = []
    try:
        for call in calls:
            if call == "ready":
                readiness.ready()
            elif call == "stopping":
                readiness.not_ready("stopping")
            else:
                started = time.monotonic()
                status, body = await get(port, call)
                answers.append((status, body, time.monotonic() - started))
    finally:
        await server.stop()
        readiness.close()
    return answers


def test_ready_once_started_with_the_figures(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    populate(engine, datetime.now(UTC))
    readiness = Readiness(session_factory, lambda: datetime.now(UTC))

    starting, ready, health, stopping = asyncio.run(
        serving(readiness, "/readyz", "ready", "/readyz", "/healthz", "stopping", "/readyz")
    )

    assert starting[0] == 503 and starting[1]["reason"] == "starting"
    status, body, _ = ready
    assert status == 200 and body["ok"] is True
    assert (body["outbox"]["pending"], body["outbox"]["due"], body["outbox"]["failed"]) == (5, 3, 1)
    assert body["scheduler"]["overdue_sends"] == 1 and body["scheduler"]["lag_s"] >= 300
    assert {r["role"]: r["alive"] for r in body["roles"]} == {
        "scheduler": True,
        "dispatcher:telegram": False,
    }
    assert health[:2] == (200, {"ok": True, "pid": os.getpid(), "role": "web"})
    assert stopping[0] == 503 and stopping[1]["reason"] == "stopping"
    assert stopping[1]["outbox"]["pending"] == 5  # the figures still come along


def test_a_database_that_refuses_is_503_at_once() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"  # nobody listens
    engine = make_engine(url)
    readiness = Readiness(make_session_factory(engine), lambda: datetime.now(UTC), ready=True)

    [(status, body, took)] = asyncio.run(serving(readiness, "/readyz"))
    engine.dispose()

    assert status == 503
    assert body["ok"] is False and body["reason"].startswith("database unreachable: ")
    assert "refused" in body["reason"].lower()
    assert took < 2


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word, as a database behind a
    network that swallows its answers would."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()  # the stuck connection attempts fail, their thread ends


def test_a_silent_database_is_503_within_the_deadline(silent_server: int) -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/test")
    readiness = Readiness(
        make_session_factory(engine), lambda: datetime.now(UTC), timeout=1.0, ready=True
    )

    (late, _, late_took), (again, body, again_took) = asyncio.run(
        serving(readiness, "/readyz", "/readyz")
    )

    assert late == 503 and 0.9 < late_took < 2.5
    assert again == 503 and again_took < 0.5  # no second thread piles up behind the first
    assert body["reason"] == "the previous database check has not answered yet"
    engine.dispose()
