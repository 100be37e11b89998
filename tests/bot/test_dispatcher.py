"""The outbox dispatcher against a real database (SQLite and PostgreSQL) and small real channels.

`Recorder` is a channel that records what it sends; `Flaky` raises the `DeliveryError`s
it was scripted with, once each, before it delivers. The clock is a value the test moves,
so a retry's `not_before` is exact and nothing waits for wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import DeliveryError, EventSink
from bot.dispatcher import Dispatcher, RetryPolicy, dispatcher_role
from bot.leader import holder_name
from bot.pacing import PacingRules, RateLimit
from conversations.messages import Answered, Message, Say, message_to_dict
from storage import UnitOfWork, enqueue_many, make_session_factory
from storage.message_refs import AskedAt, remember_messages
from storage.models import OutboxRow
from storage.outbox import claim_messages
from storage.role_holders import heartbeat

Factory = sessionmaker[Session]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = "test"
POLICY = RetryPolicy(max_attempts=3, first_delay=10.0, max_delay=60.0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A channel that delivers everything and remembers (address, text) in order."""

    name = CHANNEL

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.attempts: list[tuple[str, str]] = []

    async def start(self, sink: EventSink) -> None:
        return None

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        assert isinstance(message, Say) and target is None
        self.attempts.append((address, message.text))
        self.fail_if_scripted(address)
        self.sent.append((address, message.text))
        return f"{address}/{len(self.sent)}"

    def fail_if_scripted(self, address: str) -> None:
        return None

    async def stop(self) -> None:
        return None

    def sent_to(self, address: str) -> list[str]:
        return [text for to, text in self.sent if to == address]


class Flaky(Recorder):
    """Raises the scripted errors for an address, one per send, then delivers."""

    def __init__(self, failures: Mapping[str, Iterable[DeliveryError]]) -> None:
        super().__init__()
        self.failures = {address: list(errors) for address, errors in failures.items()}

    def fail_if_scripted(self, address: str) -> None:
        pending = self.failures.get(address)
        if pending:
            raise pending.pop(0)


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout=20))


@contextlib.asynccontextmanager
async def running(outbox_dispatcher: Dispatcher) -> AsyncIterator[Dispatcher]:
    """The dispatcher's loop running for the block, then stopped and closed."""
    worker = asyncio.create_task(outbox_dispatcher.run())
    try:
        yield outbox_dispatcher
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
        outbox_dispatcher.close()


def enqueue(factory: Factory, address: str, *texts: str, now: datetime = START) -> list[int]:
    payloads = [message_to_dict(Say(text)) for text in texts]
    with UnitOfWork(factory) as uow:
        ids = enqueue_many(uow.session, CHANNEL, address, payloads, now=now)
        uow.commit()
    return ids


def interleaved(factory: Factory) -> dict[str, list[int]]:
    """a1 b1 a2 b2 a3, each committed on its own, so ids interleave across addresses."""
    ids: dict[str, list[int]] = {"a": [], "b": []}
    for address, text in (("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3")):
        ids[address] += enqueue(factory, address, text)
    return ids


def outbox(factory: Factory) -> dict[int, OutboxRow]:
    with UnitOfWork(factory) as uow:
        return {row.id: row for row in uow.session.scalars(select(OutboxRow))}


def statuses(factory: Factory, ids: Iterable[int]) -> list[tuple[str, int]]:
    rows = outbox(factory)
    return [(rows[i].status, rows[i].attempts) for i in ids]


def dispatcher(factory: Factory, channel: Recorder, clock: Clock) -> Dispatcher:
    return Dispatcher(factory, {CHANNEL: channel}, clock, retry=POLICY, poll_interval=0.05)


# --- in order ---------------------------------------------------------------------------


def test_rows_are_sent_and_marked_in_order_per_address(session_factory: Factory) -> None:
    ids = interleaved(session_factory)
    channel, clock = Recorder(), Clock()
    clock.advance(1)

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            assert await outbox_dispatcher.drain_once() == 5
            assert await outbox_dispatcher.drain_once() == 0
        finally:
            outbox_dispatcher.close()

    run(scenario())

    assert channel.sent_to("a") == ["a1", "a2", "a3"]
    assert channel.sent_to("b") == ["b1", "b2"]
    rows = outbox(session_factory)
    for row_id in ids["a"] + ids["b"]:
        row = rows[row_id]
        assert (row.status, row.attempts, row.sent_at, row.last_error) == (
            "sent",
            1,
            clock.now,
            None,
        )


def test_a_row_scheduled_for_later_waits_without_holding_back_others(
    session_factory: Factory,
) -> None:
    later = START + timedelta(seconds=30)
    with UnitOfWork(session_factory) as uow:
        [scheduled] = enqueue_many(
            uow.session, CHANNEL, "a", [message_to_dict(Say("later"))], not_before=later, now=START
        )
        uow.commit()
    [due] = enqueue(session_factory, "a", "now")
    channel, clock = Recorder(), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            await outbox_dispatcher.drain_once()
            assert statuses(session_factory, [due, scheduled]) == [("sent", 1), ("pending", 0)]
            clock.advance(30)
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert channel.sent == [("a", "now"), ("a", "later")]


# --- failures ---------------------------------------------------------------------------


def test_a_failure_holds_back_that_address_only(session_factory: Factory) -> None:
    ids = interleaved(session_factory)
    channel, clock = Flaky({"a": [DeliveryError("connection reset")]}), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            await outbox_dispatcher.drain_once()
            assert channel.sent_to("a") == []
            assert channel.sent_to("b") == ["b1", "b2"]
            assert statuses(session_factory, ids["a"]) == [
                ("pending", 1),
                ("pending", 0),
                ("pending", 0),
            ]
            first = outbox(session_factory)[ids["a"][0]]
            assert first.not_before == START + timedelta(seconds=POLICY.first_delay)
            assert first.last_error == "connection reset"

            clock.advance(POLICY.first_delay - 1)  # a2 and a3 are due, but a1 is not yet
            await outbox_dispatcher.drain_once()
            assert channel.sent_to("a") == [], "a later message overtook the one held back"

            clock.advance(1)
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())

    assert channel.sent_to("a") == ["a1", "a2", "a3"]
    assert statuses(session_factory, ids["a"]) == [("sent", 2), ("sent", 1), ("sent", 1)]
    assert channel.attempts.count(("a", "a1")) == 2
    assert channel.attempts.count(("b", "b1")) == 1


def test_retry_after_is_honoured(session_factory: Factory) -> None:
    [row_id] = enqueue(session_factory, "a", "hello")
    channel = Flaky({"a": [DeliveryError("429 Too Many Requests", retry_after=42)]})
    clock = Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            await outbox_dispatcher.drain_once()
            row = outbox(session_factory)[row_id]
            assert (row.status, row.attempts) == ("pending", 1)
            assert row.not_before == START + timedelta(seconds=42), "retry_after, not backoff"

            clock.advance(41)
            assert await outbox_dispatcher.drain_once() == 0
            assert channel.sent == []

            clock.advance(1)
            assert await outbox_dispatcher.drain_once() == 1
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert channel.sent == [("a", "hello")]
    assert statuses(session_factory, [row_id]) == [("sent", 2)]


def test_backoff_doubles_until_max_attempts_then_the_row_fails(session_factory: Factory) -> None:
    [row_id, after] = enqueue(session_factory, "a", "doomed", "after it")
    errors = [DeliveryError(f"timeout {n}") for n in range(1, POLICY.max_attempts + 1)]
    channel, clock = Flaky({"a": errors}), Clock()
    waits: list[timedelta] = []

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            for _ in range(POLICY.max_attempts - 1):
                await outbox_dispatcher.drain_once()
                row = outbox(session_factory)[row_id]
                assert row.status == "pending"
                waits.append(row.not_before - clock.now)
                clock.now = row.not_before
            await outbox_dispatcher.drain_once()
            assert channel.sent == [], "held back until the first row is given up"
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())

    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    row = outbox(session_factory)[row_id]
    assert (row.status, row.attempts, row.sent_at) == ("failed", POLICY.max_attempts, None)
    assert row.last_error == f"timeout {POLICY.max_attempts}"
    assert channel.attempts.count(("a", "doomed")) == POLICY.max_attempts
    assert statuses(session_factory, [after]) == [("sent", 1)], "the next message goes out"
    assert channel.sent == [("a", "after it")]


def test_a_permanent_error_fails_at_once(session_factory: Factory) -> None:
    [row_id] = enqueue(session_factory, "a", "blocked")
    [other] = enqueue(session_factory, "b", "fine")
    channel, clock = Flaky({"a": [DeliveryError("bot was blocked", permanent=True)]}), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert statuses(session_factory, [row_id, other]) == [("failed", 1), ("sent", 1)]
    assert outbox(session_factory)[row_id].last_error == "bot was blocked"


def test_a_row_for_a_channel_this_process_lacks_is_retried_not_lost(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        [row_id] = enqueue_many(uow.session, "slack", "C1", [message_to_dict(Say("hi"))], now=START)
        uow.commit()
    channel, clock = Recorder(), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())
    row = outbox(session_factory)[row_id]
    assert (row.status, row.attempts) == ("pending", 1)
    assert "no channel 'slack'" in (row.last_error or "")


# --- settled() --------------------------------------------------------------------------


def test_settled_returns_once_rows_are_sent_or_given_up(session_factory: Factory) -> None:
    channel = Flaky(
        {
            "blocked": [DeliveryError("blocked", permanent=True)],
            "slow": [DeliveryError("429", retry_after=600)],
        }
    )
    clock = Clock()

    async def scenario() -> None:
        async with running(dispatcher(session_factory, channel, clock)) as outbox_dispatcher:
            sent = enqueue(session_factory, "a", "one", "two", "three")
            failed = enqueue(session_factory, "blocked", "nope")
            held = enqueue(session_factory, "slow", "later")
            outbox_dispatcher.wake()
            await outbox_dispatcher.settled(sent + failed, timeout=5)
            assert channel.sent_to("a") == ["one", "two", "three"]
            assert statuses(session_factory, sent + failed) == [("sent", 1)] * 3 + [("failed", 1)]
            with pytest.raises(TimeoutError):
                await outbox_dispatcher.settled(held, timeout=0.3)
            assert statuses(session_factory, held) == [("pending", 1)]

    run(scenario())


class RewritesRefused(Recorder):
    """Delivers new messages; refuses every rewrite of an answered question with a 429."""

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        if isinstance(message, Answered):
            self.attempts.append((address, "rewrite"))
            raise DeliveryError("429 Too Many Requests", retry_after=30)
        return await super().send(address, message, target)


def test_a_refused_rewrite_is_retried_without_holding_back_the_next_question(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        payloads = [message_to_dict(Answered("q1", "Q1?", "Yes")), message_to_dict(Say("Q2?"))]
        rewrite, _ = enqueue_many(uow.session, CHANNEL, "a", payloads, now=START)
        uow.commit()
    channel, clock = RewritesRefused(), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            assert await outbox_dispatcher.drain_once() == 2
            enqueue(session_factory, "a", "Q3?")
            assert await outbox_dispatcher.drain_once() == 1, "the retrying rewrite blocks nothing"
            clock.advance(30)
            await outbox_dispatcher.drain_once()
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert channel.sent_to("a") == ["Q2?", "Q3?"]
    assert channel.attempts.count(("a", "rewrite")) == 2
    assert statuses(session_factory, [rewrite]) == [("pending", 2)]


class PacedRewrites(Recorder):
    """Delivers everything; its platform allows one rewrite a second (no burst beyond it)."""

    pacing = PacingRules(
        overall=RateLimit(1000.0, burst=1000.0),
        direct=RateLimit(1000.0, burst=1000.0),
        group=RateLimit(1000.0, burst=1000.0),
        edits=RateLimit(1.0, burst=1.0),
    )

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        if isinstance(message, Answered):
            self.attempts.append((address, f"rewrite {target}"))
            return target
        return await super().send(address, message, target)


def test_a_rewrite_over_the_edit_budget_is_put_off_uncounted_and_holds_nothing_back(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        asked = [(AskedAt(CHANNEL, "a", item), f"m-{item}") for item in ("q1", "q2")]
        remember_messages(uow.session, asked, START)
        payloads = [
            message_to_dict(Answered("q1", "Q1?", "Yes")),
            message_to_dict(Answered("q2", "Q2?", "No")),
            message_to_dict(Say("Q3?")),
        ]
        first, second, _ = enqueue_many(uow.session, CHANNEL, "a", payloads, now=START)
        uow.commit()
    channel, clock = PacedRewrites(), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            assert await outbox_dispatcher.drain_once() == 3
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert channel.attempts == [("a", "rewrite m-q1"), ("a", "Q3?")]
    assert statuses(session_factory, [first, second]) == [("sent", 1), ("pending", 0)]
    put_off = outbox(session_factory)[second].not_before
    assert START < put_off <= START + timedelta(seconds=1.1)


class HeldAt(Recorder):
    """Delivers at once, except that it holds one text until the test lets it go."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.release = asyncio.Event()

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        if isinstance(message, Say) and message.text == self.held:
            await self.release.wait()
        return await super().send(address, message, target)


def test_each_send_is_recorded_before_the_rest_of_its_group_goes_out(
    session_factory: Factory,
) -> None:
    """A process killed while a chat's second message waits must not send the first again."""
    first, second = enqueue(session_factory, "a", "Welcome!", "Q1?")
    channel, clock = HeldAt("Q1?"), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        draining = asyncio.create_task(outbox_dispatcher.drain_once())
        try:
            for _ in range(200):  # bounded: 200 × 10 ms
                if statuses(session_factory, [first]) == [("sent", 1)]:
                    break
                await asyncio.sleep(0.01)
            assert statuses(session_factory, [first, second]) == [("sent", 1), ("pending", 0)]
            channel.release.set()
            assert await draining == 2
        finally:
            channel.release.set()
            outbox_dispatcher.close()

    run(scenario())
    assert statuses(session_factory, [first, second]) == [("sent", 1), ("sent", 1)]


class Staggered(Recorder):
    """Delivers to chat n after n × 10 ms: sends that finish a few milliseconds apart."""

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        await asyncio.sleep(int(address) * 0.01)
        return await super().send(address, message, target)


@pytest.mark.parametrize(("window", "records"), [(0.2, [1]), (0.0, [2, 3, 4, 5])])
def test_sends_finishing_within_the_record_window_are_recorded_together(
    session_factory: Factory, window: float, records: list[int]
) -> None:
    """Group commit: each record is a write transaction with a fixed cost (and SQLite's
    write lock), so sends finishing close together share one: the recorder waits for
    the sends still on the wire."""
    ids = [row_id for chat in range(5) for row_id in enqueue(session_factory, str(chat), "Hi")]
    outbox_dispatcher = dispatcher(session_factory, Staggered(), Clock())
    outbox_dispatcher.record_window = window
    commits: list[None] = []
    engine = session_factory.kw["bind"]

    def count(connection: object) -> None:
        commits.append(None)

    async def scenario() -> None:
        rows = await outbox_dispatcher.drain_once()
        assert rows == 5

    event.listen(engine, "commit", count)
    try:
        run(scenario())
    finally:
        event.remove(engine, "commit", count)
        outbox_dispatcher.close()
    assert statuses(session_factory, ids) == [("sent", 1)] * 5
    looks = 1 if engine.dialect.name == "postgresql" else 0  # a claim is a write there
    assert len(commits) - looks in records  # without a window, one per send unless slow


def test_a_send_with_nothing_else_on_the_wire_is_recorded_without_waiting(
    session_factory: Factory,
) -> None:
    """A send done but not recorded goes out again after a kill -9: a paced dispatcher,
    whose sends land one at a time, must not hold each one's record back for the window."""
    ids = enqueue(session_factory, "a", "Hi")
    outbox_dispatcher = dispatcher(session_factory, Recorder(), Clock())
    outbox_dispatcher.record_window = 60.0

    async def scenario() -> None:
        assert await asyncio.wait_for(outbox_dispatcher.drain_once(), 10) == 1

    try:
        run(scenario())
    finally:
        outbox_dispatcher.close()
    assert statuses(session_factory, ids) == [("sent", 1)]


@pytest.mark.parametrize(
    ("asked_again", "attempts"),
    [
        (False, [("a", "rewrite m-q1")]),  # the question is the one this answer answered
        (True, []),  # "back" asked it again since: the ref is the newer question's
    ],
)
def test_a_rewrite_older_than_its_question_s_latest_asking_is_settled_unsent(
    session_factory: Factory, asked_again: bool, attempts: list[tuple[str, str]]
) -> None:
    """A put-off rewrite that comes back after the person went back to the same item
    must not turn the new question into the old answer (and take its buttons away)."""
    place = AskedAt(CHANNEL, "a", "q1")
    with UnitOfWork(session_factory) as uow:
        [rewrite] = enqueue_many(
            uow.session, CHANNEL, "a", [message_to_dict(Answered("q1", "Q1?", "Yes"))], now=START
        )
        asking_row = rewrite + 1 if asked_again else rewrite - 1
        remember_messages(uow.session, [(place, "m-q1")], START, asked_by={place: asking_row})
        uow.commit()
    channel, clock = PacedRewrites(), Clock()

    async def scenario() -> None:
        outbox_dispatcher = dispatcher(session_factory, channel, clock)
        try:
            assert await outbox_dispatcher.drain_once() == 1
        finally:
            outbox_dispatcher.close()

    run(scenario())
    assert channel.attempts == attempts
    assert statuses(session_factory, [rewrite]) == [("sent", 1)]


class Slow(Recorder):
    """Takes a moment per send and remembers how many rows the dispatcher held at once."""

    def __init__(self, owner: list[Dispatcher]) -> None:
        super().__init__()
        self.owner = owner
        self.most_in_flight = 0

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        self.most_in_flight = max(self.most_in_flight, len(self.owner[0]._in_flight))
        await asyncio.sleep(0.002)
        return await super().send(address, message, target)


def test_rows_in_flight_stay_under_the_cap_and_every_row_goes_out(
    session_factory: Factory,
) -> None:
    """Under a flood the dispatcher takes at most `max_in_flight` rows; as they settle
    it looks again by itself (the poll here is far beyond the test's time)."""
    owner: list[Dispatcher] = []
    channel, clock = Slow(owner), Clock()
    ids = [i for n in range(30) for i in enqueue(session_factory, f"chat-{n}", "one", "two")]

    async def scenario() -> None:
        outbox_dispatcher = Dispatcher(
            session_factory, {CHANNEL: channel}, clock, poll_interval=60.0, max_in_flight=8
        )
        owner.append(outbox_dispatcher)
        async with running(outbox_dispatcher):
            await outbox_dispatcher.settled(ids, timeout=10)

    run(scenario())
    assert statuses(session_factory, ids) == [("sent", 1)] * 60
    assert 2 <= channel.most_in_flight <= 8
    assert all(channel.sent_to(f"chat-{n}") == ["one", "two"] for n in range(30))


# --- takeovers (PostgreSQL) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported_holder", "released"),
    [("me", 2), ("successor:2", 0)],
    ids=["still-holding", "deposed-meanwhile"],
)
def test_a_new_holder_frees_its_predecessor_s_claims_only_while_it_holds_the_role(
    pg_engine: Engine, reported_holder: str, released: int
) -> None:
    """A holder deposed during its grace (a server restart ends its lock's session; it
    notices at its next check) must leave the claims alone: they may be its successor's,
    whose rows are on the wire, and it would send them too (tests/faults, seed 634331)."""
    factory = make_session_factory(pg_engine)
    ids = enqueue(factory, "a", "a1", "a2")
    with UnitOfWork(factory) as uow:
        claimed = claim_messages(
            uow.session,
            START,
            10,
            channels=(CHANNEL,),
            holder="other:1",
            lease_until=START + timedelta(minutes=2),
        )
        uow.commit()
    assert [row.id for row in claimed] == ids
    outbox_dispatcher = Dispatcher(factory, {CHANNEL: Recorder()}, Clock(), elected=(CHANNEL,))
    outbox_dispatcher.takeover_grace = 0.0
    holder = holder_name() if reported_holder == "me" else reported_holder
    with pg_engine.begin() as connection:
        heartbeat(connection, dispatcher_role(CHANNEL), holder, START, START)

    async def scenario() -> None:
        assert await (await outbox_dispatcher.take(CHANNEL)) == released

    run(scenario())
    outbox_dispatcher.close()
    rows = outbox(factory)
    claimers = {rows[i].claimed_by for i in ids}
    assert claimers == ({None} if released else {"other:1"})
