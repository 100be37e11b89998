"""`GET /readyz`: is this process ready for traffic, and what do the operators' figures say.

Ready means two things: the process says so (it finished starting and is not stopping:
`ready()` / `not_ready(reason)`, called by the composition root), and the database
answers the health read (`bot.health`) in time. The read runs on a thread of its own with
a deadline, so a database that is down, or a network that swallows packets, turns into a
503 within `timeout` seconds instead of a hung probe; while a read that missed its
deadline is still stuck, later probes answer 503 at once rather than piling up threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.health import Health, read_health

__all__ = ["Readiness"]

log = logging.getLogger(__name__)

Verdict = tuple[bool, dict[str, Any]]


class Readiness:
    """The `/readyz` check for one process; `await readiness()` gives (ready, JSON body)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        timeout: float = 2.0,
        ready: bool = False,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.timeout = timeout
        self._reason: str | None = None if ready else "starting"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-readyz")
        self._reading: Future[Health] | None = None

    def ready(self) -> None:
        """The process has started: it is ready whenever its database answers."""
        self._reason = None

    def not_ready(self, reason: str) -> None:
        """Say 503 with `reason` from now on (e.g. "stopping", so a load balancer drains)."""
        self._reason = reason

    async def __call__(self) -> Verdict:
        try:
            health = await self._read()
        except TimeoutError:
            return False, _refusal(f"the database did not answer within {self.timeout:g} s")
        except _StillReading:
            return False, _refusal("the previous database check has not answered yet")
        except SQLAlchemyError as error:
            log.warning("readiness: database check failed: %s", _first_line(error))
            return False, _refusal(f"database unreachable: {_first_line(error)}")
        body = {"ok": self._reason is None, **health.to_dict()}
        if self._reason is not None:
            body["reason"] = self._reason
        return self._reason is None, body

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _read(self) -> Health:
        if self._reading is not None and not self._reading.done():
            raise _StillReading
        reading = self._executor.submit(read_health, self.session_factory, self.clock())
        self._reading = reading
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(reading)), self.timeout)


class _StillReading(Exception):
    pass


def _refusal(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


def _first_line(error: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's SQL and background-link lines."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
