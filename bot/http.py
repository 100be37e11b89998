"""Parley's one HTTP server (aiohttp): platform webhooks in, health checks for operators.

Webhook handlers run the handling transaction before answering, so a 200 means the event
is committed; a platform that gets no 200 delivers again and the duplicate is ignored.

`GET /healthz` is liveness: it answers from memory (the pid and what `about()` says,
e.g. this process's role), so a busy database never makes a live process look dead.
`GET /readyz` is readiness for a load balancer: 200 with the operators' figures when the
`readiness` check passes, 503 with the reason otherwise (`bot.readiness`); it never takes
longer than `READY_DEADLINE` seconds.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

__all__ = ["HttpServer", "telegram_webhook"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ReadinessCheck = Callable[[], Awaitable[tuple[bool, Mapping[str, Any]]]]
"""(ready, JSON body): `bot.readiness.Readiness` is one."""
About = Callable[[], Mapping[str, Any]]

READY_DEADLINE = 3.0
"""The longest `/readyz` waits for its check (which has its own, shorter, deadline)."""


class HttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        readiness: ReadinessCheck | None = None,
        about: About | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self._runner: web.AppRunner | None = None
        self._readiness = readiness
        self._about = about

    def add_post(self, path: str, handler: Handler) -> None:
        self.app.router.add_post(path, handler)

    def set_readiness(self, readiness: ReadinessCheck, about: About | None = None) -> None:
        """What `/readyz` checks (and, if given, what `/healthz` says about this process)."""
        self._readiness = readiness
        if about is not None:
            self._about = about

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        about = self._about() if self._about is not None else {}
        return web.json_response({"ok": True, "pid": os.getpid(), **about})

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._readiness is None:
            return web.json_response({"ok": True, "checked": "nothing (no readiness check)"})
        try:
            ready, body = await asyncio.wait_for(self._readiness(), READY_DEADLINE)
        except TimeoutError:
            ready, body = False, {"ok": False, "reason": "the readiness check did not answer"}
        return web.json_response(dict(body), status=200 if ready else 503)


def telegram_webhook(secret: str | None, process: Callable[[object], Awaitable[None]]) -> Handler:
    """POST /telegram/webhook: checks Telegram's secret header, then handles the update."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if secret is not None and not hmac.compare_digest(given, secret):
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid JSON")
        await process(data)
        return web.Response(text="ok")

    return receive
