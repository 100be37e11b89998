"""The load balancer between the platform fakes and the web processes, with its faults.

The fakes deliver inbound traffic to one URL each (Telegram's webhook, Slack's request
URL); `Router` is that URL. It answers the fake at once (the fake's own delivery is one
at a time) and takes over the platform's promise: every update or event is delivered,
and one that got no 200 (a web process killed, a connection cut, PostgreSQL away) is
delivered again, with backoff, to another web process, until it gets a 200 or the
deadline passes (then it counts as undelivered).

Faults it adds on purpose: every delivery is made twice (`copies`), to two different
web processes when there are two; a share of them (`reorder_share`) is held back a
little so the copies, and other stakeholders' traffic, arrive out of order. Slack
requests are signed again at each attempt (a fresh timestamp, as Slack's retries are)
and a redelivery carries `X-Slack-Retry-Num`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from tests.fakes.slack_api import sign

__all__ = ["Inbound", "Router", "RouterStats"]

T = TypeVar("T")

TELEGRAM_PATH = "/telegram/webhook"
SLACK_PATH = "/slack/events"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Inbound:
    """One update or event as the platform sent it."""

    platform: str  # "telegram" or "slack"
    body: bytes
    headers: dict[str, str]
    number: int


@dataclass
class RouterStats:
    received: int = 0
    copies: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    redelivered: int = 0
    held_back: int = 0
    delivered: int = 0
    undelivered: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


class Router:
    """An HTTP server on 127.0.0.1 that fans inbound traffic out to the web processes.

    Args:
        targets: the base URLs of the web processes (read at every attempt, so a test
            may change it); a dead one is tried, fails, and the copy moves on.
        rng: the seeded source of every random choice here.
        signing_secret: the Slack app's, to sign each attempt.
        copies: deliveries per inbound (2: every update and event duplicated).
        reorder_share: the share of copies held back by `hold_back` seconds.
        deadline: seconds a copy keeps being redelivered before it counts as lost.
    """

    def __init__(
        self,
        targets: Callable[[], list[str]],
        rng: random.Random,
        signing_secret: str,
        *,
        copies: int = 2,
        reorder_share: float = 0.2,
        hold_back: tuple[float, float] = (0.3, 1.5),
        deadline: float = 150.0,
        attempt_timeout: float = 10.0,
    ) -> None:
        self.targets = targets
        self.rng = rng
        self.signing_secret = signing_secret
        self.copies = copies
        self.reorder_share = reorder_share
        self.hold_back = hold_back
        self.deadline = deadline
        self.attempt_timeout = attempt_timeout
        self.stats = RouterStats()
        self.lock = threading.Lock()
        self._pending = 0
        self._numbers = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Router:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the router did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        finally:
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        app = web.Application()
        app.router.add_post(TELEGRAM_PATH, self._receiver("telegram"))
        app.router.add_post(SLACK_PATH, self._receiver("slack"))
        runner = web.AppRunner(app, access_log=None)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        self._stopping = asyncio.Event()
        ready.set()
        await self._stopping.wait()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.close()
        await runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=15)
        self._thread = None

    def __enter__(self) -> Router:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{TELEGRAM_PATH}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SLACK_PATH}"

    @property
    def pending(self) -> int:
        """Copies not yet delivered (nor given up)."""
        with self.lock:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending == 0:
                return True
            time.sleep(0.1)
        return self.pending == 0

    # --- receiving from the fakes ----------------------------------------------------------

    def _receiver(self, platform: str) -> Callable[[web.Request], Coroutine[Any, Any, Any]]:
        async def receive(request: web.Request) -> web.Response:
            body = await request.read()
            headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
            if SECRET_HEADER in request.headers:
                headers[SECRET_HEADER] = request.headers[SECRET_HEADER]
            with self.lock:
                self._numbers += 1
                inbound = Inbound(platform, body, headers, self._numbers)
                self.stats.received += 1
            self._fan_out(inbound)
            return web.Response(text="ok")

        return receive

    def _fan_out(self, inbound: Inbound) -> None:
        first = self.rng.randrange(64)
        for copy in range(self.copies):
            delay = self.rng.uniform(0.0, 0.05)
            if self.rng.random() < self.reorder_share:
                delay += self.rng.uniform(*self.hold_back)
                with self.lock:
                    self.stats.held_back += 1
            with self.lock:
                self._pending += 1
                self.stats.copies += 1
            task = asyncio.get_running_loop().create_task(
                self._deliver(inbound, first + copy, delay)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # --- delivering to the web processes ----------------------------------------------------

    async def _deliver(self, inbound: Inbound, slot: int, delay: float) -> None:
        delivered = False
        try:
            await asyncio.sleep(delay)
            started, attempt = time.monotonic(), 0
            while time.monotonic() - started < self.deadline:
                targets = self.targets()
                target = targets[(slot + attempt) % len(targets)] if targets else None
                if target is not None and await self._attempt(inbound, target, attempt):
                    delivered = True
                    return
                attempt += 1
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0) * self.rng.uniform(0.5, 1.0))
        finally:
            with self.lock:
                self._pending -= 1
                if delivered:
                    self.stats.delivered += 1
                else:
                    self.stats.undelivered += 1

    async def _attempt(self, inbound: Inbound, target: str, attempt: int) -> bool:
        path = TELEGRAM_PATH if inbound.platform == "telegram" else SLACK_PATH
        headers = dict(inbound.headers)
        if inbound.platform == "slack":
            timestamp = int(time.time())
            headers["X-Slack-Request-Timestamp"] = str(timestamp)
            headers["X-Slack-Signature"] = sign(self.signing_secret, inbound.body, timestamp)
            if attempt > 0:
                headers["X-Slack-Retry-Num"] = str(min(attempt, 3))
                headers["X-Slack-Retry-Reason"] = "http_error"
        status = await self._post(f"{target}{path}", inbound.body, headers)
        with self.lock:
            self.stats.attempts += 1
            self.stats.redelivered += attempt > 0
            self.stats.statuses[status] += 1
            if status != "200":
                self.stats.failed_attempts += 1
        return status == "200"

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> str:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=self.attempt_timeout)
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
                await r.read()
                return str(r.status)
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError as error:
            return type(error).__name__
        except OSError as error:
            with contextlib.suppress(Exception):
                return type(error).__name__
            return "OSError"
