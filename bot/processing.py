"""The bridge from asyncio to the handling transaction.

All handling runs on one worker thread, so SQLite sees a single writer and the event
loop never waits on the database (a Slack ack or a Telegram poll stays fast while a
transaction is in progress). Events queued while a transaction runs form the next
batch: under load one commit serves many events; when idle a batch is one event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.channels.base import InboundEvent
from bot.handling import Handled, Handler
from bot.outages import ride_out

__all__ = ["EventProcessor"]

log = logging.getLogger(__name__)

Committed = Callable[[Sequence[Handled]], None]


class EventProcessor:
    def __init__(
        self,
        handler: Handler,
        on_committed: Committed,
        *,
        max_batch: int = 64,
        outage_limit: float = 60.0,
    ) -> None:
        self.handler = handler
        self.outage_limit = outage_limit
        self.on_committed = on_committed
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[InboundEvent, asyncio.Future[Handled]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-db")

    async def submit(self, event: InboundEvent) -> Handled:
        """Handle `event`; returns once its transaction has committed."""
        future: asyncio.Future[Handled] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            events = [event for event, _ in batch]
            try:
                results = await self._handle(loop, events)
            except Exception as exc:  # the database itself failed: nothing was committed
                log.exception("handling a batch of %d events failed", len(events))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            self.on_committed(results)

    async def _handle(
        self, loop: asyncio.AbstractEventLoop, events: list[InboundEvent]
    ) -> list[Handled]:
        """Handle, waiting out a database outage (`bot.outages`): a Slack event was
        acknowledged before it was handled, so giving up at once would lose it. A commit
        whose outcome was unknown is safe to repeat: the event ids were recorded with it,
        so the repeat finds them and applies nothing twice."""

        def attempt() -> asyncio.Future[list[Handled]]:
            return loop.run_in_executor(self._executor, self.handler.handle_batch, events)

        return await ride_out(attempt, limit=self.outage_limit, what="handling")

    def close(self) -> None:
        self._executor.shutdown(wait=True)
