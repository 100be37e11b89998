"""The faults, drawn from one seeded RNG: kill -9 and restart, platform bursts, a database
restart. Each is recorded with its (monotonic) time so the checks can explain what they
find: a duplicate next to a cut-off send, a takeover after a holder's death.

- `RoleWatch` follows `role_holders` (who holds `scheduler`, `dispatcher:telegram`,
  `dispatcher:slack`) a few times a second, so a kill of a holder can be timed to the
  moment another process holds the role.
- `Chaos` kills processes: the holders of each elected role first (so every takeover is
  observed), then anyone, never both web processes at once; a killed holder is started
  again only after a standby took over. Meanwhile the fakes answer bursts of 429s, 5xx,
  and connections cut before or after the send took effect; PostgreSQL restarts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.faults.harness import Deployment
from tests.faults.processes import RoleProcess

__all__ = ["ELECTED_ROLES", "Chaos", "ChaosLog", "Kill", "RoleWatch"]

ELECTED_ROLES = ("dispatcher:telegram", "dispatcher:slack", "scheduler")
STARTING = re.compile(r"app\.py:\d+ in build\b|bot/app\.py\", line \d+, in build\b")
"""A traceback through `bot.app.build`: the process died starting, not running."""
TAKEOVER_LIMIT = 30.0
"""Seconds a standby has to take over a dead holder's role (the issue's promise)."""


class RoleWatch:
    """A thread that polls `role_holders`; `changes` is every (time, role, holder) seen new."""

    def __init__(self, database_url: str, every: float = 0.25) -> None:
        self.engine = sa.create_engine(database_url, pool_pre_ping=True, pool_size=1)
        self.every = every
        self.lock = threading.Lock()
        self.current: dict[str, str] = {}
        self.changes: list[tuple[float, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="role-watch", daemon=True)

    def start(self) -> RoleWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.engine.dispose()

    def _run(self) -> None:
        query = sa.text("SELECT role, holder FROM role_holders")
        while not self._stop.wait(self.every):
            try:
                with self.engine.connect() as connection:
                    rows = connection.execute(query).all()
            except DBAPIError:  # the server restarting: look again shortly
                continue
            now = time.monotonic()
            with self.lock:
                for role, holder in rows:
                    if self.current.get(role) != holder:
                        self.current[role] = holder
                        self.changes.append((now, role, holder))

    def roles_of(self, pid: int) -> list[str]:
        """The roles whose recorded holder is process `pid` ('host:pid')."""
        with self.lock:
            return [r for r, h in self.current.items() if h.rsplit(":", 1)[-1] == str(pid)]

    def holder_pid(self, role: str) -> int | None:
        with self.lock:
            holder = self.current.get(role)
        tail = holder.rsplit(":", 1)[-1] if holder else ""
        return int(tail) if tail.isdigit() else None

    def taken_after(self, role: str, since: float, old_holder_pid: int) -> float | None:
        """When another process was first seen holding `role` after `since`."""
        with self.lock:
            for t, changed, holder in self.changes:
                if changed == role and t >= since and not holder.endswith(f":{old_holder_pid}"):
                    return t
        return None


@dataclass
class Kill:
    process: str
    role: str
    pid: int
    t: float
    held: list[str]
    takeover: dict[str, float | None] = field(default_factory=dict)
    """Seconds from the kill until another process held each role (None: not in time)."""


@dataclass(frozen=True)
class Exit:
    """A process that ended without being killed, and the last line it wrote."""

    process: str
    t: float
    code: int | None
    last_line: str
    started: float
    """When the process had last been started (time.monotonic)."""
    starting: bool
    """Whether it ended while building the app (start-up), by its traceback."""


@dataclass
class ChaosLog:
    seed: int
    kills: list[Kill] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    bursts: Counter[str] = field(default_factory=Counter)
    db_restarts: list[tuple[float, float]] = field(default_factory=list)
    """(when, seconds it took)."""
    events: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """`text`, stamped with the monotonic time (the fakes' clock) and UTC (the logs')."""
        wall = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        self.events.append(f"{time.monotonic():.1f} {wall} {text}")


class Chaos:
    """Run with `await chaos.run(stop)`; `stop` set ends it (restarted processes stay up)."""

    def __init__(self, deployed: Deployment, rng: random.Random, watch: RoleWatch, log: ChaosLog):
        self.d = deployed
        self.rng = rng
        self.watch = watch
        self.log = log
        self.down: set[str] = set()
        """Processes killed here and not yet started again (the supervisor leaves them)."""

    async def run(self, stop: asyncio.Event, db_restart_after: float = 15.0) -> None:
        tasks = [
            asyncio.create_task(self._kills(stop)),
            asyncio.create_task(self._bursts(stop)),
            asyncio.create_task(self._db_restart(stop, db_restart_after)),
            asyncio.create_task(self._supervise(stop)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.d.telegram.clear_faults()
            self.d.slack.clear_faults()

    # --- kill -9 ----------------------------------------------------------------------------

    async def _kills(self, stop: asyncio.Event) -> None:
        if await _sleep_or_stop(stop, self.rng.uniform(3.0, 5.0)):
            return
        forced = ["dispatcher:telegram", "scheduler", "web", "dispatcher:slack"]
        while not stop.is_set():
            victim = self._victim(forced.pop(0) if forced else None)
            if victim is not None:
                await self._kill(victim)
            if await _sleep_or_stop(stop, self.rng.uniform(2.0, 6.0)):
                return

    def _victim(self, wanted: str | None) -> RoleProcess | None:
        alive = [p for p in self.d.fleet if p.alive() and p.proc is not None]
        webs = [p for p in alive if p.role == "web"]
        if wanted is not None and wanted != "web":
            pid = self.watch.holder_pid(wanted)
            holder = next((p for p in alive if p.proc is not None and p.proc.pid == pid), None)
            if holder is not None:
                return holder
        candidates = [p for p in alive if p.role != "web" or len(webs) > 1]
        if wanted == "web":
            candidates = [p for p in candidates if p.role == "web"] or candidates
        return self.rng.choice(candidates) if candidates else None

    async def _kill(self, process: RoleProcess) -> None:
        assert process.proc is not None
        pid = process.proc.pid
        held = self.watch.roles_of(pid)
        self.down.add(process.name)
        process.kill9()
        kill = Kill(process.name, process.role, pid, process.killed_at[-1], held)
        self.log.kills.append(kill)
        self.log.note(f"kill -9 {process.name} (pid {pid}, holding {held or 'nothing'})")
        if held:
            await self._await_takeovers(kill)
        else:
            await asyncio.sleep(self.rng.uniform(0.5, 3.0))
        process.start()
        self.down.discard(process.name)
        self.log.note(f"restarted {process.name}")

    async def _supervise(self, stop: asyncio.Event) -> None:
        """Like systemd's Restart=always: a process that exited by itself is noted (with the
        last line of its log) and started again."""
        while not await _sleep_or_stop(stop, 0.5):
            for process in self.d.fleet:
                if process.name in self.down or process.alive() or process.proc is None:
                    continue
                code = process.proc.poll()
                run = process.log().rsplit("===== start ", 1)[-1]
                lines = [line for line in run.splitlines() if line.strip()]
                last = lines[-1][:300] if lines else ""
                started, starting = process.started_at[-1], bool(STARTING.search(run))
                gone = Exit(process.name, time.monotonic(), code, last, started, starting)
                self.log.exits.append(gone)
                self.log.note(f"{process.name} exited by itself ({code}): {last}")
                process.start()

    async def _await_takeovers(self, kill: Kill) -> None:
        """Wait (bounded) until each role the dead process held has another holder."""
        deadline = kill.t + TAKEOVER_LIMIT + 10
        pending = set(kill.held)
        while pending and time.monotonic() < deadline:
            for role in list(pending):
                seen = self.watch.taken_after(role, kill.t, kill.pid)
                if seen is not None:
                    kill.takeover[role] = seen - kill.t
                    pending.discard(role)
            await asyncio.sleep(0.2)
        for role in pending:
            kill.takeover[role] = None

    # --- platform bursts -------------------------------------------------------------------

    async def _bursts(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, self.rng.uniform(2.0, 5.0)):
            platform = self.rng.choice(["telegram", "slack"])
            kind = self.rng.choice(["429", "5xx", "drop", "drop_after"])
            n = self.rng.randint(1, 3)
            self._burst(platform, kind, n)
            self.log.bursts[f"{platform} {kind}"] += n

    def _burst(self, platform: str, kind: str, n: int) -> None:
        fake = self.d.telegram if platform == "telegram" else self.d.slack
        if kind == "429":
            fake.fail_next(n, 429, retry_after=1)
        elif kind == "5xx":
            fake.fail_next(n, self.rng.choice([500, 502, 503]))
        elif kind == "drop":
            fake.drop_next(n)
        else:
            fake.drop_after_processing(n)

    # --- PostgreSQL --------------------------------------------------------------------------

    async def _db_restart(self, stop: asyncio.Event, after: float) -> None:
        if await _sleep_or_stop(stop, after * self.rng.uniform(0.8, 1.2)):
            return
        started = time.monotonic()
        self.log.note("restarting PostgreSQL")
        took = await asyncio.to_thread(self.d.cluster.restart, "fast")
        self.log.db_restarts.append((started, took))
        self.log.note(f"PostgreSQL back after {took:.1f}s")


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` is set first; whether it was."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()
