"""Parley's one HTTP server (aiohttp): platform webhooks in, `GET /healthz` for operators.

Webhook handlers run the handling transaction before answering, so a 200 means the event
is committed; a platform that gets no 200 delivers again and the duplicate is ignored.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["HttpServer", "telegram_webhook"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_get("/healthz", _healthz)
        self._runner: web.AppRunner | None = None

    def add_post(self, path: str, handler: Handler) -> None:
        self.app.router.add_post(path, handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


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
