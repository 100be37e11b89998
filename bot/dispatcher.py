"""Sends committed outbox rows through their channel, in order per address, with retries.

The outbox is the only way anything reaches a person. Rows are read after the handling
transaction committed; each address's messages go out in order, addresses in parallel;
a failure holds back that address's later messages (so nobody sees question 5 before
question 4) and is retried with backoff, or when the platform says (`retry_after`).

Several processes on PostgreSQL (#8): a dispatcher sends only for the channels it holds
(`take`/`give_up`, driven by each platform's election in `bot.leader`), and claims the
rows it reads (`storage.outbox.claim_messages`), so a deposed holder that has not yet
noticed and its successor never take the same row. On SQLite one process holds every
channel and reads without claiming.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Channel, DeliveryError
from bot.leader import holder_name
from bot.outages import ride_out
from bot.pacing import Pacer
from conversations.messages import Answered, Ask, Message, message_from_dict
from storage import SQLITE_BEGIN_OPTION, make_session_factory, outbox, repository
from storage.message_refs import AskedAt, LiveMessage, live_messages, remember_messages
from storage.outbox import DueMessage, claim_messages, due_messages, release_claims
from storage.role_holders import still_holds
from storage.unit_of_work import UnitOfWork

__all__ = ["Dispatcher", "RetryPolicy", "dispatcher_role"]

_INLINE_WAIT = 0.25
"""A transcript rewrite whose edit slot is further away than this is put off (the row
is due again then) rather than waited for, which would hold back that chat's next
question."""

RECORD_WINDOW = 0.02
"""Seconds the recorder waits, at most, for the sends still on the wire before it writes
(group commit). Each record is a write transaction with a fixed cost, 2-3.5 ms of CPU on
SQLite (BEGIN IMMEDIATE, the UPDATE, the message-ref upsert, COMMIT), and on SQLite it
takes the write lock from the handling transactions. Sends finishing a few milliseconds
apart were recorded one or two at a time: bench/telegram.py (unlimited) ran 640 record
transactions for 2,600 sends, the dispatcher's largest cost; with this window about 300,
and 15-20 % less CPU per update. It only waits while other sends are on the wire: a send
done but not yet recorded goes out again after a kill -9, so a paced dispatcher whose
sends land one at a time records each at once, as before. A chat's next message waits
for its previous sends to be recorded, so this adds at most 20 ms to its gap between
messages; Telegram's own pace in a private chat is one a second."""
RECORD_BATCH = 64
"""Outcomes waiting that make the recorder write at once, without the window."""

_CLAIM_SECONDS = 120.0
"""How long a claim keeps other dispatchers off a row. A successor releases its
platform's claims when it takes over, so this bounds only the overlap of two holders;
it outlasts pacing waits (a chat's rows go out at about one a second)."""

TAKEOVER_GRACE = 8.0
"""Seconds a new holder leaves its predecessor's claims alone. The predecessor may be
alive: cut off from the database by a server restart, it keeps its role until its next
lock check (`Leadership.check_every`, 5 s) and records what it had sent once the database
answers. Releasing its claims at once made the new holder send those rows again (the
fault suite, tests/faults, seed 5); after a kill -9 they wait these seconds longer. The
new holder's own claims are kept: a holder deposed by a restart before its release ran
would otherwise free rows it is still sending (seed 22). The release is fenced by
`storage.role_holders.still_holds`: a holder deposed by a restart during its grace, which
has not noticed yet, released its successor's fresh claims, and both sent those rows
(seed 634331)."""

log = logging.getLogger(__name__)


def dispatcher_role(channel: str) -> str:
    """The elected role of sending for `channel` (its lock scope and `role_holders` row)."""
    return f"dispatcher:{channel}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    """Platforms have bad minutes (429s, 5xx, cut connections): 6 attempts gave up after
    16 s of them (tests/faults, seed 3); 10 ride out about 8 minutes."""
    first_delay: float = 1.0
    max_delay: float = 300.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return min(self.first_delay * 2.0 ** (attempts - 1), self.max_delay)


@dataclass(frozen=True)
class _Due:
    """A row to send, with the platform id of the message it rewrites (if any)."""

    row: DueMessage
    message: Message
    target: str | None
    superseded: bool = False
    """A rewrite whose question was asked again since (after "back"): the message it
    would hit is the newer question, so it is settled without being sent."""


@dataclass(frozen=True)
class _Outcome:
    due: _Due
    error: DeliveryError | None = None
    platform_id: str | None = None
    later: float = 0.0
    """Not tried: our pacing put it off for this many seconds (a transcript rewrite)."""

    @property
    def attempts(self) -> int:
        return self.due.row.attempts + 1


class Dispatcher:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        *,
        retry: RetryPolicy | None = None,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        max_groups: int = 256,
        max_in_flight: int = 100,
        elected: Collection[str] = (),
    ) -> None:
        """`elected`: channels sent for only once `take`n (each platform's election
        decides); this dispatcher holds the others from the start. `max_in_flight`: rows
        taken and not yet settled, at most (see `_room`)."""
        self.session_factory = session_factory
        self._reader = _reading(session_factory)
        self.channels = channels
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.record_window = RECORD_WINDOW
        self._on_wire = 0
        """Sends in progress (past pacing, waiting for the platform's answer)."""
        self._wire_idle = asyncio.Event()
        self._wake = asyncio.Event()
        self._settled = asyncio.Condition()
        self._done: set[int] = set()
        self._recent: deque[int] = deque(maxlen=100_000)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-outbox")
        """Records outcomes (and releases claims): one writer, in order."""
        self._looker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-outbox-due")
        """Finds due rows, beside the recording: a reply is looked for while earlier
        sends are still being recorded, not after them."""
        self.max_groups = max_groups
        self.max_in_flight = max_in_flight
        self._more = False
        """The last look returned as many rows as it asked for."""
        self._full = False
        """Rows in flight reached `max_in_flight`: no look until a quarter of them are
        settled (see `_room`)."""
        self._busy: set[tuple[str, str]] = set()
        self._waiting_for_free: set[tuple[str, str]] = set()
        """Chats with due rows left out while busy: freeing one calls for another look."""
        self._retries_recorded = 0
        """How many times a retry was recorded (or may have been, by a previous holder):
        see `_waiting_for_retry`."""
        self._no_retries_since: int | None = None
        """`_retries_recorded` as it was when a look found no row waiting for a retry."""
        self._counting = threading.Lock()
        self._to_record: list[tuple[list[_Outcome], asyncio.Future[list[int]]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._pacers = {
            name: Pacer(rules)
            for name, channel in channels.items()
            if (rules := getattr(channel, "pacing", None)) is not None
        }
        self._elected = frozenset(elected)
        self._held: set[str] = set(channels) - self._elected
        self.takeover_grace = TAKEOVER_GRACE
        self._releases: set[asyncio.Task[int]] = set()
        self._claiming = _dialect(session_factory) == "postgresql"
        self._holder = holder_name()

    @property
    def held(self) -> frozenset[str]:
        """The channels this dispatcher sends for now."""
        return frozenset(self._held)

    async def take(self, channel: str) -> asyncio.Task[int]:
        """This process now sends for `channel`: unclaimed rows at once, the rows a
        previous holder claimed after `TAKEOVER_GRACE` (see there), when their claims
        are released. Returns that release (how many claims it freed), for a caller
        that wants to wait for it."""
        self._held.add(channel)
        self._count_retry()  # the previous holder may have recorded retries
        self.wake()
        task = asyncio.create_task(self._release_later(channel))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)
        return task

    async def _release_later(self, channel: str) -> int:
        await asyncio.sleep(self.takeover_grace)
        if channel not in self._held:
            return 0
        loop = asyncio.get_running_loop()
        try:
            released = await loop.run_in_executor(self._executor, self._release, channel)
        except DBAPIError as error:  # the claims run out by themselves (`_CLAIM_SECONDS`)
            log.warning("releasing %s claims failed: %s", channel, error.orig)
            return 0
        if released:
            log.info("took over %d claimed %s rows", released, channel)
            self.wake()
        return released

    async def give_up(self, channel: str) -> None:
        """Stop sending for `channel` (its election was lost). A send in progress ends;
        the rest of its group stays pending for the new holder."""
        self._held.discard(channel)

    def _release(self, channel: str) -> int:
        """Free the predecessor's claims, unless this process was deposed during the
        grace (then the claims may be its successor's, on the wire)."""
        if not self._claiming:
            return 0
        with UnitOfWork(self.session_factory) as uow:
            if not still_holds(uow.session, dispatcher_role(channel), self._holder):
                log.info("not releasing %s claims: another process holds the role now", channel)
                return 0
            released = release_claims(uow.session, channel, keep=self._holder)
            uow.commit()
        return released

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll. Not while full
        (`_room`): then the next look waits for room, and a group making it wakes the
        loop. Under load every commit of every web process notifies, hundreds a second,
        and each wake-up of a full dispatcher was a turn of its loop for nothing."""
        if not self._full:
            self._wake.set()

    async def run(self) -> None:
        """Keep every address's queue moving: a new group starts as soon as rows are due,
        without waiting for other addresses' sends to finish (no batch barrier).

        One query per wake-up: the wake flag is cleared before looking, so rows committed
        (or addresses freed) while the query runs make the next wait return at once, and
        nothing else makes us look again before the poll interval.
        """
        running: set[asyncio.Task[int]] = set()
        while True:
            self._wake.clear()
            try:
                groups = await self._due_groups() if self._held and self._room() else []
            except DBAPIError as error:  # an outage: look again at the next poll
                log.warning("reading the outbox failed: %s", error.orig)
                groups = []
            for group in groups[: max(0, self.max_groups - len(running))]:
                task = self._start_group(group)
                running.add(task)
                task.add_done_callback(running.discard)
            if self._more:  # the look was cut at its limit: free chats may have more
                self._waiting_for_free |= self._busy
            if len(running) >= self.max_groups:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def _room(self) -> int:
        """How many more rows to take now. A platform sends a few dozen messages a second
        (Telegram 30), so rows beyond `max_in_flight` would only wait in memory for a
        send slot, while every wake-up (a commit anywhere) looked for more: under load
        the looks, not the sends, were most of a dispatcher's and the database's work,
        and a takeover had hundreds of claimed rows to wait out. Once full, it looks
        again when a quarter of the rows are settled, not for each one: a look costs
        about the same for 2 rows as for 25, and 75 rows still in flight keep the
        platform's send rate busy meanwhile."""
        room = self.max_in_flight - len(self._in_flight)
        if room <= 0:
            self._full = True
        elif self._full and room >= max(1, self.max_in_flight // 4):
            self._full = False
        return 0 if self._full else room

    async def drain_once(self) -> int:
        """Send what is due now and wait for it; returns how many rows were attempted."""
        groups = await self._due_groups()
        counts = await asyncio.gather(*(self._start_group(group) for group in groups))
        return sum(counts)

    async def settled(self, row_ids: Iterable[int], timeout: float = 30.0) -> None:
        """Wait until these rows were sent or gave up (the console waits for its replies)."""
        wanted = set(row_ids)
        async with self._settled:
            await asyncio.wait_for(self._settled.wait_for(lambda: wanted <= self._done), timeout)

    def close(self) -> None:
        self._looker.shutdown(wait=True)
        self._executor.shutdown(wait=True)

    # --- internals ----------------------------------------------------------------------

    async def _due_groups(self) -> list[list[_Due]]:
        """Due rows by address, leaving out addresses whose earlier rows are still going out.

        An address busy when the look began is left out even if it is free by now: its
        last sends may have been recorded while the look ran, after it read the message
        refs, so a rewrite of their questions would have found no target. It is looked
        at again at once.
        """
        loop = asyncio.get_running_loop()
        busy_before = frozenset(self._busy)
        limit = min(self.batch_size, self._room())
        sending = frozenset(self._in_flight)
        rows = await loop.run_in_executor(self._looker, self._due, sending, busy_before, limit)
        groups = [list(g) for _, g in groupby(rows, key=lambda d: (d.row.channel, d.row.address))]
        keys = {(g[0].row.channel, g[0].row.address) for g in groups}
        # The look left out the chats busy when it began, whether or not they have rows.
        left_out = self._busy & keys
        free = [g for g in groups if (g[0].row.channel, g[0].row.address) not in left_out]
        self._waiting_for_free |= busy_before & self._busy
        if busy_before - self._busy:  # freed while we looked: look again now
            self._wake.set()
        self._more = len(rows) >= limit  # there may be more than one query's worth
        return free

    def _start_group(self, group: list[_Due]) -> asyncio.Task[int]:
        """Its chat is busy and its rows in flight from now, not from when the task first
        runs: the next look, and `_room`, must already count them."""
        key = (group[0].row.channel, group[0].row.address)
        ids = {due.row.id for due in group}
        self._busy.add(key)
        self._in_flight.update(ids)
        return asyncio.create_task(self._run_group(group, key, ids))

    async def _run_group(self, group: list[_Due], key: tuple[str, str], ids: set[int]) -> int:
        """Send one address's rows in order, each recorded as soon as it was sent.

        Recording at once (in the next shared transaction) rather than after the group's
        last send keeps "sent but not yet recorded" to what is actually in flight: a
        process killed while a group waits for its next send slot would otherwise send
        the group's first messages again after a restart.
        """
        try:
            records = await self._send_in_order(group)
            settled = await asyncio.gather(*records)
            await self._announce([row_id for batch in settled for row_id in batch])
            return len(records)
        except DBAPIError as error:  # sent, not recorded: pending, so sent again later
            log.error("recording sends to %s failed for good: %s", key, error.orig)
            return 0
        finally:
            self._busy.discard(key)
            self._in_flight.difference_update(ids)
            if key in self._waiting_for_free:  # rows were left for when this chat is free
                self._waiting_for_free.discard(key)
                self._wake.set()
            if self._full and self._room():  # looks waited for this room
                self._wake.set()

    async def _record_together(self, outcomes: list[_Outcome]) -> list[int]:
        """Record these outcomes in the next shared transaction (group commit for sends):
        while other sends are on the wire, the recorder waits for them, `record_window` at
        most, before it writes; while one batch commits, the next accumulates. Returns
        settled ids."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._to_record.append((outcomes, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._flush_records())
        return await future

    async def _flush_records(self) -> None:
        """Record what the groups sent, waiting out a database outage: a send not
        recorded would go out again."""
        loop = asyncio.get_running_loop()

        def recording(outcomes: list[_Outcome]) -> Callable[[], asyncio.Future[list[int]]]:
            return lambda: loop.run_in_executor(self._executor, self._record, outcomes)

        while self._to_record:
            if len(self._to_record) < RECORD_BATCH and self._on_wire:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wire_idle.wait(), self.record_window)
            batch, self._to_record = self._to_record, []
            every = [outcome for outcomes, _ in batch for outcome in outcomes]
            try:
                settled = set(await ride_out(recording(every), limit=60.0, what="recording sends"))
            except Exception as exc:
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for outcomes, future in batch:
                future.set_result([o.due.row.id for o in outcomes if o.due.row.id in settled])

    def _due(
        self,
        sending: frozenset[int] = frozenset(),
        busy: frozenset[tuple[str, str]] = frozenset(),
        limit: int | None = None,
    ) -> list[_Due]:
        limit = self.batch_size if limit is None else limit
        if self._claiming:
            return self._claimed(sending, busy, limit)
        with UnitOfWork(self._reader) as uow:
            now = self.clock()
            rows = due_messages(
                uow.session, now, limit, exclude=sending, channels=self._channels(), busy=busy
            )
            return self._prepare(uow.session, rows, now)

    def _claimed(
        self, sending: frozenset[int], busy: frozenset[tuple[str, str]], limit: int
    ) -> list[_Due]:
        """PostgreSQL: claim the due rows of the channels held, in a write transaction of
        its own (committed before any send, so the claims are what others see); not
        those of chats still sending, which wait for their group to finish."""
        with UnitOfWork(self.session_factory) as uow:
            now = self.clock()
            rows = claim_messages(
                uow.session,
                now,
                limit,
                channels=self._channels(),
                holder=self._holder,
                lease_until=now + timedelta(seconds=_CLAIM_SECONDS),
                exclude=sending,
                busy=busy,
            )
            due = self._prepare(uow.session, rows, now)
            uow.commit()
        return due

    def _channels(self) -> frozenset[str] | None:
        """Whose rows to read: the channels held when elected; otherwise every row (one
        for a channel this process lacks is then retried and reported, not ignored)."""
        return frozenset(self._held) if self._elected else None

    def _prepare(self, session: Session, rows: list[DueMessage], now: datetime) -> list[_Due]:
        """Hold back rows behind a retry, order by address, find rewrite targets."""
        waiting = self._waiting_for_retry(session, now)
        rows = [r for r in rows if r.id < waiting.get((r.channel, r.address), r.id + 1)]
        rows.sort(key=lambda r: (r.channel, r.address, r.id))
        messages = [message_from_dict(row.payload) for row in rows]
        places = {
            row.id: AskedAt(row.channel, row.address, message.item_id)
            for row, message in zip(rows, messages, strict=True)
            if isinstance(message, Answered) or (isinstance(message, Ask) and message.refresh)
        }
        live = live_messages(session, set(places.values()))
        return [
            _rewrite(row, message, live.get(places[row.id]))
            if row.id in places
            else _Due(row, message, None)
            for row, message in zip(rows, messages, strict=True)
        ]

    def _waiting_for_retry(self, session: Session, now: datetime) -> dict[tuple[str, str], int]:
        """`repository.waiting_for_retry`, asked only while retries may be waiting: this
        dispatcher records every retry itself, counting each once it is committed, so an
        answer of "none" stays true until the count moves. One query less per wake-up.

        The count is read before the query: a retry committed while the query ran moves
        it, and the next look asks again. (Until its record commits, the failed row and
        the rest of its chat's group are in flight, so no look can hand them out.)"""
        seen = self._retries_recorded
        if self._no_retries_since == seen:
            return {}
        waiting = repository.waiting_for_retry(session, now)
        if not waiting:
            self._no_retries_since = seen
        return waiting

    def _count_retry(self) -> None:
        with self._counting:
            self._retries_recorded += 1

    async def _send_in_order(self, group: list[_Due]) -> list[asyncio.Task[list[int]]]:
        """One address's messages, in order; the first failure holds back the rest. Each
        outcome is handed to the recorder as it happens; returns those recordings.

        Rewriting an earlier message (a question turned into its answer) refers to a message
        already seen, so a failed rewrite is retried later without holding anything back
        (Slack allows few `chat.update` calls a minute)."""
        records: list[asyncio.Task[list[int]]] = []
        for due in group:
            if due.row.channel in self._elected and due.row.channel not in self._held:
                break  # deposed meanwhile: the new holder sends the rest
            outcome = await self._send_one(due)
            records.append(asyncio.create_task(self._record_together([outcome])))
            if outcome.error is not None and not isinstance(due.message, Answered):
                break
        return records

    async def _send_one(self, due: _Due) -> _Outcome:
        if due.superseded:
            log.debug("outbox row %s: its question was asked again; not rewritten", due.row.id)
            return _Outcome(due)
        channel = self.channels.get(due.row.channel)
        if channel is None:
            return _Outcome(due, DeliveryError(f"no channel {due.row.channel!r} in this process"))
        pacer = self._pacers.get(due.row.channel)
        if pacer is not None:
            if isinstance(due.message, Answered) and due.target is not None:
                later = pacer.rewrite_delay(due.row.id)
                if later > _INLINE_WAIT:
                    return _Outcome(due, later=later)
                await asyncio.sleep(later)
            counted = getattr(channel, "counted_messages", None)
            messages = counted(due.message) if counted is not None else 1
            await pacer.wait(due.row.address, edit=due.target is not None, messages=messages)
        self._on_wire += 1
        self._wire_idle.clear()
        try:
            platform_id = await channel.send(due.row.address, due.message, due.target)
        except DeliveryError as error:
            return _Outcome(due, error)
        except Exception as exc:
            log.exception("sending outbox row %s failed", due.row.id)
            return _Outcome(due, DeliveryError(repr(exc)))
        finally:
            self._on_wire -= 1
            if not self._on_wire:
                self._wire_idle.set()
        return _Outcome(due, platform_id=platform_id)

    def _record(self, outcomes: list[_Outcome]) -> list[int]:
        """Store the outcomes in one transaction; returns the rows that are settled (sent,
        or failed for good). Deliveries are one UPDATE and one upsert of message refs
        for the whole batch: this runs for every message sent."""
        now = self.clock()
        delivered = [o for o in outcomes if o.error is None and not o.later]
        retried = False
        with UnitOfWork(self.session_factory) as uow:
            settled = {o.due.row.id for o in delivered}
            repository.mark_sent_many(uow.session, settled, now)
            asked = self._asked(delivered)
            by = {place: row_id for (place, _), row_id in asked}
            remember_messages(uow.session, [ref for ref, _ in asked], now, asked_by=by)
            for outcome in outcomes:
                if outcome.later:
                    until = now + timedelta(seconds=outcome.later)
                    outbox.postpone(uow.session, outcome.due.row.id, until)
                elif outcome.error is not None:
                    if self._record_failure(uow.session, outcome, now):
                        settled.add(outcome.due.row.id)
                    else:
                        retried = True
            uow.commit()
        if retried:
            self._count_retry()
        return [o.due.row.id for o in outcomes if o.due.row.id in settled]

    def _record_failure(self, session: Session, outcome: _Outcome, now: datetime) -> bool:
        """Retry later, or give up for good (then True: the row is settled)."""
        error, row = outcome.error, outcome.due.row
        assert error is not None
        if error.permanent or outcome.attempts >= self.retry.max_attempts:
            log.warning("outbox row %s failed for good: %s", row.id, error)
            repository.mark_failed(session, row.id, str(error))
            return True
        delay = self.retry.delay(outcome.attempts, error.retry_after)
        log.info("outbox row %s will be retried in %.1fs: %s", row.id, delay, error)
        repository.mark_retry(session, row.id, str(error), now + timedelta(seconds=delay))
        return False

    @staticmethod
    def _asked(delivered: list[_Outcome]) -> list[tuple[tuple[AskedAt, str], int]]:
        """Where each question was asked (and by which row), so its answer can rewrite it
        later."""
        return [
            (
                (
                    AskedAt(o.due.row.channel, o.due.row.address, o.due.message.item_id),
                    o.platform_id,
                ),
                o.due.row.id,
            )
            for o in delivered
            if isinstance(o.due.message, Ask) and o.platform_id is not None
        ]

    async def _announce(self, row_ids: list[int]) -> None:
        """Remember recently settled rows for `settled()`; old ones are forgotten."""
        async with self._settled:
            for row_id in row_ids:
                if len(self._recent) == self._recent.maxlen:
                    self._done.discard(self._recent[0])
                self._recent.append(row_id)
                self._done.add(row_id)
            self._settled.notify_all()


def _reading(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for finding due rows, which only reads: on SQLite a deferred BEGIN, so the
    look does not queue for the write lock behind the handling transactions (nor hold
    them up). A snapshot a moment old is harmless: every commit wakes the dispatcher."""
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return session_factory
    return make_session_factory(bind.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}))


def _dialect(session_factory: sessionmaker[Session]) -> str:
    bind = session_factory.kw.get("bind")
    return bind.dialect.name if isinstance(bind, Engine) else ""


def _rewrite(row: DueMessage, message: Message, live: LiveMessage | None) -> _Due:
    """A rewrite and its target; superseded when a later row asked the question again."""
    if live is None:
        return _Due(row, message, None)
    if live.asked_by is not None and live.asked_by > row.id:
        return _Due(row, message, None, superseded=True)
    return _Due(row, message, live.message_id)
