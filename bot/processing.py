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

__all__ = ["EventProcessor"]

log = logging.getLogger(__name__)

Committed = Callable[[Sequence[Handled]], None]


class EventProcessor:
    def __init__(self, handler: Handler, on_committed: Committed, *, max_batch: int = 64) -> None:
        self.handler = handler
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
                results = await loop.run_in_executor(
                    self._executor, self.handler.handle_batch, events
                )
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

    def close(self) -> None:
        self._executor.shutdown(wait=True)
