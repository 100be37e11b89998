"""Leader election for the scheduler (#5): one leader per database, a takeover when it dies.

Three levels, all on a real PostgreSQL (and SQLite for its one rule):

- `Leadership` step by step: two claims, exactly one leads; killing the leader's
  session (`pg_terminate_backend`, what the server does when a leader's process or
  machine dies) makes it step down and lets the other lead;
- two campaigns in one event loop, each with a real `Scheduler`: only the leader's
  APScheduler runs, and after the kill the other's does, within the bound; `pause` is
  injected and records what the campaign asked to wait, so the bound is checked in the
  campaign's own seconds, not by sleeping;
- two real `parley run` processes on one schema and the loopback Telegram fake: the
  leader is killed with SIGKILL between two batches of follow-ups; the other takes
  over, and every send goes out exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.leader import Leadership, lock_key
from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Scheduler, Scheduling
from storage import UnitOfWork, make_engine, make_session_factory, repository
from storage.migrate import ensure_schema
from storage.models import OutboxRow, Run, ScheduledSend
from tests.e2e.support import EXAMPLE
from tests.e2e.telegram_support import ParleyBot, telegram_env
from tests.fakes.telegram_api import FakeTelegram
from tests.scheduling.followup_seed import schedule_check_in

Factory = sessionmaker[Session]
CHECK_IN = Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml"
TAKEOVER_BOUND = 30.0
"""The issue's promise: another process leads within 30 seconds of the leader's death."""


def terminate(admin: Engine, pid: int | None) -> None:
    """End a server session, as PostgreSQL does when its client process dies, and wait
    (up to 5 s) until it has gone: only then are its locks released."""
    assert pid is not None
    with admin.connect() as connection:
        ended = connection.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
        assert ended.scalar()


@pytest.fixture
def claims(postgres_url: str) -> Iterator[list[Leadership]]:
    made: list[Leadership] = []
    yield made
    for claim in made:
        claim.release()


def claim(claims: list[Leadership], url: str) -> Leadership:
    made = Leadership(url)
    claims.append(made)
    return made


# ------------------------------------------------------------------------ one step at a time


def test_on_sqlite_every_process_leads_without_a_connection(sqlite_url: str) -> None:
    first, second = Leadership(sqlite_url), Leadership(sqlite_url)
    assert first.acquire() and second.acquire()  # SQLite: one process by rule
    assert first.alive() and first.session_pid is None


def test_of_two_claims_exactly_one_leads_until_it_lets_go(
    postgres_url: str, claims: list[Leadership]
) -> None:
    first, second = claim(claims, postgres_url), claim(claims, postgres_url)
    assert first.acquire() is True
    assert [second.acquire(), second.acquire()] == [False, False]
    assert second.session_pid is None, "a standby keeps no session open between attempts"
    assert first.acquire() and first.alive(), "asking again while leading keeps the lead"

    first.release()
    assert not first.leading
    assert second.acquire() is True
    assert first.acquire() is False


def test_a_killed_session_steps_the_leader_down_and_the_other_leads(
    postgres_url: str, postgres_admin: Engine, claims: list[Leadership]
) -> None:
    first, second = claim(claims, postgres_url), claim(claims, postgres_url)
    assert first.acquire() and not second.acquire()

    terminate(postgres_admin, first.session_pid)

    assert second.acquire() is True, "the server freed the lock with the session"
    assert first.alive() is False and not first.leading
    assert first.acquire() is False, "the old leader now stands by"


def test_instances_in_other_schemas_elect_their_own_leader(
    postgres_url: str, postgres_admin: Engine, claims: list[Leadership]
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    other_url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        here = claim(claims, postgres_url)
        there = claim(claims, other_url.render_as_string(hide_password=False))
        assert here.acquire() and there.acquire()
        assert lock_key("scheduler", "a") != lock_key("scheduler", "b")
    finally:
        for made in claims:
            made.release()
        with postgres_admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_a_standby_may_not_ask_less_often_than_every_ten_seconds() -> None:
    with pytest.raises(ValueError, match="retry_every"):
        Leadership("postgresql+psycopg://parley@127.0.0.1/parley", retry_every=12)
    assert Leadership("postgresql+psycopg://parley@127.0.0.1/parley", retry_every=10).exclusive


# ------------------------------------------------------------------------ two campaigns


class Pauses:
    """An injected `pause`: records what each campaign asked to wait and only yields; a
    closed gate holds a campaign in its pause (a leader that has not looked yet)."""

    def __init__(self) -> None:
        self.asked: dict[str, list[float]] = {}
        self.gates: dict[str, asyncio.Event] = {}

    def for_(self, name: str) -> Callable[[float], Awaitable[None]]:
        waits = self.asked.setdefault(name, [])
        gate = self.gates.setdefault(name, asyncio.Event())
        gate.set()

        async def pause(seconds: float) -> None:
            waits.append(seconds)
            await gate.wait()
            await asyncio.sleep(0.01)  # let the other campaign and the loop run

        return pause


async def until(check: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Poll the event loop until `check()` holds; fail after `limit` real seconds."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {limit:.0f}s: {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
def book(postgres_url: str) -> Iterator[tuple[Factory, QuestionnaireBook]]:
    engine = make_engine(postgres_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    main = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(factory) as uow:
        main.store_current(uow.session)
        uow.commit()
    yield factory, main
    engine.dispose()


def test_only_the_leaders_scheduler_runs_and_the_other_takes_over_within_the_bound(
    postgres_url: str,
    postgres_admin: Engine,
    claims: list[Leadership],
    book: tuple[Factory, QuestionnaireBook],
) -> None:
    factory, main = book
    pauses = Pauses()
    first, second = claim(claims, postgres_url), claim(claims, postgres_url)

    def scheduler() -> Scheduler:
        return Scheduler(Scheduling(factory, main, lambda: datetime.now(UTC)), postgres_url)

    a, b = scheduler(), scheduler()

    async def go() -> None:
        assert await first.attempt(a.start, a.step_down)
        tasks = [
            asyncio.create_task(first.campaign(a.start, a.step_down, pauses.for_("first"))),
            asyncio.create_task(second.campaign(b.start, b.step_down, pauses.for_("second"))),
        ]
        try:
            await until(lambda: len(pauses.asked.get("second", [])) >= 3, "standby retried")
            assert a.aps.running and not b.aps.running
            assert first.leading and not second.leading
            checks = len(pauses.asked["first"])

            pauses.gates["first"].clear()  # the leader dies between two of its checks
            await until(lambda: len(pauses.asked["first"]) > checks, "the leader paused")
            terminate(postgres_admin, first.session_pid)
            waited_before = len(pauses.asked["second"])
            await until(lambda: b.aps.running, "the standby's scheduler started")
            waited = sum(pauses.asked["second"][waited_before - 1 :])
            assert waited <= TAKEOVER_BOUND, f"standby waited {waited}s of campaign time"
            assert second.leading and a.aps.running, "the old leader has not looked yet"

            pauses.gates["first"].set()
            await until(lambda: not a.aps.running, "the old leader's scheduler stopped")
            assert not first.leading and second.leading

            # The new leader goes away in turn (its process, campaign included: left
            # running, it would campaign again and race the first for the lock).
            tasks[1].cancel()
            await asyncio.gather(tasks[1], return_exceptions=True)
            second.release()
            await b.step_down()
            await until(lambda: a.aps.running, "the first leads again (a restarted scheduler)")
            assert first.leading
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            a.shutdown()
            b.shutdown()

    asyncio.run(go())
    assert all(seconds <= 10 for seconds in pauses.asked["second"])


# ------------------------------------------------------------------------ two processes

FIRST_USER = 810_001
EARLY, LATE = range(0, 3), range(3, 6)
"""Stakeholders whose follow-up is due on start (the first leader sends it) and later
(due after the first leader was killed, so the second must send it)."""


def seed(database_url: str, late_due: datetime) -> dict[int, int]:
    """Six stakeholders on Telegram and one follow-up: {telegram user id: stakeholder id}."""
    engine = make_engine(database_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    people: dict[int, int] = {}
    try:
        with UnitOfWork(factory) as uow:
            session = uow.session
            QuestionnaireBook.from_file(EXAMPLE).store_current(session)
            QuestionnaireBook.from_file(CHECK_IN).store_current(session)
            for n in range(6):
                person = repository.create_stakeholder(
                    session, name=f"P{n}", language="en", time_zone="America/Toronto", now=now
                )
                repository.link_identity(session, person.id, "telegram", str(FIRST_USER + n))
                people[FIRST_USER + n] = person.id
            due = [
                (people[FIRST_USER + n], now - timedelta(minutes=1) if n in EARLY else late_due)
                for n in range(6)
            ]
            schedule_check_in(session, due, now)
            uow.commit()
    finally:
        engine.dispose()
    return people


def leader_pid(admin: Engine, bots: list[ParleyBot], database_url: str) -> int | None:
    """The OS pid of the `parley run` whose lock session holds the scheduler's advisory
    lock, if any (each process also campaigns to dispatch, under other keys)."""
    names = {f"parley-leader:{bot.proc.pid}": bot.proc.pid for bot in bots}
    schema = str(make_url(database_url).query["options"]).split("=")[-1]
    key = lock_key("scheduler", str(schema)) & 0xFFFF_FFFF_FFFF_FFFF
    with admin.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid::bigint = :high AND l.objid::bigint = :low"
            ),
            {"high": key >> 32, "low": key & 0xFFFF_FFFF},
        ).scalars()
        held = [names[name] for name in rows if name in names]
    assert len(held) <= 1, f"two leaders: {held}"
    return held[0] if held else None


def wait_for(check: Callable[[], bool], what: str, limit: float, bots: list[ParleyBot]) -> float:
    """Poll (bounded) until `check()`; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit:
            logs = "\n---\n".join(bot.log()[-3000:] for bot in bots)
            raise AssertionError(f"not within {limit:.0f}s: {what}\n{logs}")
        time.sleep(0.2)
    return time.monotonic() - started


def sends_by_status(database_url: str) -> Counter[str]:
    """The follow-up's sends by status (nudge rows for the new runs may come and go)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            statuses = select(ScheduledSend.status).where(ScheduledSend.kind == "followup")
            return Counter(connection.execute(statuses).scalars())
    finally:
        engine.dispose()


def test_two_parley_processes_kill_9_the_leader_every_send_once(
    postgres_url: str, postgres_admin: Engine, tmp_path: Path
) -> None:
    late_due = datetime.now(UTC) + timedelta(seconds=35)
    people = seed(postgres_url, late_due)
    with FakeTelegram() as tg:
        chats = {uid: tg.user(uid, first_name=f"P{uid}") for uid in people}
        env = telegram_env(
            postgres_url, tg, PARLEY_QUIET_HOURS="00:00-00:00", PARLEY_QUIET_WEEKENDS="false"
        )
        first = ParleyBot(env, tmp_path, 1)
        bots = [first]
        try:
            wait_for(
                lambda: leader_pid(postgres_admin, bots, postgres_url) == first.proc.pid,
                "A leads",
                30,
                bots,
            )
            early = [FIRST_USER + n for n in EARLY]
            wait_for(lambda: all(chats[u].messages() for u in early), "early sends", 30, bots)

            second = ParleyBot(env, tmp_path, 2)
            bots.append(second)
            wait_for(lambda: "standing by" in second.log(), "B stands by", 30, bots)
            assert leader_pid(postgres_admin, bots, postgres_url) == first.proc.pid
            assert sends_by_status(postgres_url) == Counter(done=3, pending=3)

            first.kill9()
            killed_at = datetime.now(UTC)
            took = wait_for(
                lambda: leader_pid(postgres_admin, bots, postgres_url) == second.proc.pid,
                "B takes over",
                TAKEOVER_BOUND,
                bots,
            )
            assert took <= TAKEOVER_BOUND
            wait_for(lambda: all(c.messages() for c in chats.values()), "late sends", 60, bots)
            wait_for(
                lambda: sends_by_status(postgres_url) == Counter(done=6), "rows done", 20, bots
            )
            time.sleep(1.0)  # any duplicate would be on its way by now
        finally:
            for bot in bots:
                bot.stop()
        assert killed_at < late_due, "machine too slow: the leader died after the late sends"
        check_exactly_once(postgres_url, tg, people)


def check_exactly_once(database_url: str, tg: FakeTelegram, people: dict[int, int]) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            runs = Counter(
                connection.execute(select(Run.stakeholder_id).where(Run.wave != "main")).scalars()
            )
            outbox = connection.execute(select(OutboxRow.address, OutboxRow.status)).all()
    finally:
        engine.dispose()
    assert runs == Counter(people.values()), "one follow-up run per stakeholder"
    per_address = Counter(address for address, _ in outbox)
    assert {status for _, status in outbox} == {"sent"}
    assert set(per_address) == {str(uid) for uid in people}
    delivered = Counter(record.chat_id for record in tg.sent if record.method == "sendMessage")
    assert delivered == Counter({uid: per_address[str(uid)] for uid in people}), (
        "each outbox row delivered exactly once"
    )
