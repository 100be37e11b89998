"""The digest schedule against real SQLite and PostgreSQL, with an injected clock.

`Digests` is driven directly for the rules (DST days, downtime inside and outside grace,
a second wake), and through `Scheduler` for a restart between scheduling and firing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling as scheduling_module
from bot.app import ConfigurationError, build
from bot.digests import CONSOLE_ADDRESS, DigestPlan, Digests, parse_plan
from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Outcome, Scheduler, Scheduling
from bot.settings import Settings
from bot.timing import DigestSchedule, TimingError
from conversations.messages import Rich, message_from_dict
from storage import UnitOfWork
from storage import digests as handled
from storage.models import Digest, OutboxRow, ReceivedEvent
from tests.e2e.support import EXAMPLE

Factory = sessionmaker[Session]
TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
RESEARCH = ("telegram", "-1001234")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    main = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        main.store_current(uow.session)
        uow.commit()
    return main


def digests(
    sf: Factory, book: QuestionnaireBook, clock: Clock, schedule: str = "daily 09:00"
) -> Digests:
    plan = parse_plan(schedule, TORONTO)
    assert plan is not None
    return Digests(sf, book, clock, plan, RESEARCH, timedelta(hours=6))


def posts(sf: Factory) -> list[OutboxRow]:
    """One outbox row per digest posted: the first of its messages (#6 posts several)."""
    with UnitOfWork(sf) as uow:
        every = list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    firsts: dict[str, OutboxRow] = {}
    for row in every:
        firsts.setdefault(str(row.payload.get("thread", row.id)), row)
    return list(firsts.values())


def rows(sf: Factory, status: str | None = None) -> list[datetime]:
    """The `digests` rows' occurrences (of one status), oldest first."""
    with UnitOfWork(sf) as uow:
        return [
            row.due_at
            for row in handled.digests(uow.session)
            if status is None or row.status == status
        ]


def no_fake_platform_events(sf: Factory) -> bool:
    """`inbound_events` holds platform deliveries only: no marks of Parley's own."""
    with UnitOfWork(sf) as uow:
        count = uow.session.scalar(
            select(func.count())
            .select_from(ReceivedEvent)
            .where(ReceivedEvent.platform == "parley")
        )
    return count == 0


# --------------------------------------------------------------------------- setting


@pytest.mark.parametrize(
    ("text", "days", "at", "zone"),
    [
        ("weekdays 09:00 America/Toronto", (0, 1, 2, 3, 4), time(9), TORONTO),
        ("weekdays 09:00 america/vancouver", (0, 1, 2, 3, 4), time(9), VANCOUVER),
        ("mon,wed 08:30", (0, 2), time(8, 30), TORONTO),
        ("weekly fri 16:00 UTC", (4,), time(16), ZoneInfo("UTC")),
    ],
)
def test_the_setting_names_days_a_time_and_optionally_a_zone(
    text: str, days: tuple[int, ...], at: time, zone: ZoneInfo
) -> None:
    assert parse_plan(text, TORONTO) == DigestPlan(DigestSchedule(days, at), zone)


def test_an_empty_setting_is_off() -> None:
    assert parse_plan("  ", TORONTO) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("weekdays 25:00", "'25:00' is not a time of day"),
        ("weekdays 09:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("sometimes 09:00", "unknown day 'sometimes'"),
        ("weekdays", "can't understand 'weekdays'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_setting(text: str, says: str) -> None:
    with pytest.raises(TimingError) as error:
        parse_plan(text, TORONTO)
    message = str(error.value)
    assert message.startswith("PARLEY_DIGEST_SCHEDULE: ") and says in message
    assert "\n" not in message


def test_a_bad_setting_stops_start_up(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, digest_schedule="weekdays 9h")
    with pytest.raises(ConfigurationError, match="PARLEY_DIGEST_SCHEDULE"):
        build(settings)


def test_build_wires_digests_to_the_research_channel(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        digest_schedule="weekdays 09:00",
        telegram_token=SecretStr("1:fake"),  # its platform must be set up (#6)
        research_channel="telegram:-1001234",
        researcher_time_zone="America/Halifax",
    )
    app = build(settings)
    try:
        assert app.scheduler is not None
        wired = app.scheduler.scheduling.digests
        assert wired is not None and wired.address == RESEARCH
        assert wired.plan.zone == ZoneInfo("America/Halifax")
    finally:
        app.scheduler.shutdown()
        app.engine.dispose()


# -------------------------------------------------------------------------- firing


def test_a_digest_posts_once_and_stores_its_numbers(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T12:00"))  # Monday 07:00 in Toronto
    rules = digests(session_factory, book, clock)
    [due] = rules.pending()
    assert due == utc("2027-01-04T14:00")  # 09:00 EST

    clock.now = due
    first, second = rules.process(due), rules.process(due)  # the job ran twice
    assert (first.status, second.status) == ("sent", "skipped")
    assert first.following == utc("2027-01-05T14:00")
    [post] = posts(session_factory)
    assert (post.channel, post.address, post.id) == (*RESEARCH, first.outbox_id)
    said = message_from_dict(post.payload)
    assert isinstance(said, Rich)  # the digest itself (#6), as Telegram HTML
    assert said.html.startswith("<b>Digest: Data needs of settlement organisations</b>")
    with UnitOfWork(session_factory) as uow:
        [row] = uow.session.scalars(select(Digest).where(Digest.status == "done")).all()
    assert (row.due_at, row.handled_at, row.channel, row.address) == (due, due, *RESEARCH)
    assert row.summary is not None and row.summary["built_at"].startswith("2027-01-04T14:00")
    assert no_fake_platform_events(session_factory)


def test_a_wake_before_its_time_posts_nothing(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T12:00"))
    rules = digests(session_factory, book, clock)
    [due] = rules.pending()
    clock.now = due - timedelta(seconds=1)
    assert rules.process(due).status == "early"
    assert posts(session_factory) == [] and rows(session_factory, "done") == []


def test_without_a_research_channel_the_console_gets_it(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T14:00"))
    plan = parse_plan("daily 09:00", TORONTO)
    assert plan is not None
    rules = Digests(session_factory, book, clock, plan)
    assert rules.process(clock.now).status == "sent"
    [post] = posts(session_factory)
    assert (post.channel, post.address) == CONSOLE_ADDRESS


@pytest.mark.parametrize(
    ("at", "before", "day", "expected"),
    [
        # spring forward, 2027-03-14: EST (-5) until 02:00, then EDT (-4)
        ("09:00", "2027-03-13T12:00", "2027-03-14", "2027-03-14T13:00"),
        ("02:30", "2027-03-13T12:00", "2027-03-14", "2027-03-14T07:00"),  # the gap: at 03:00 EDT
        # fall back, 2026-11-01: EDT (-4) until 02:00, then EST (-5)
        ("09:00", "2026-10-31T12:00", "2026-11-01", "2026-11-01T14:00"),
        ("01:30", "2026-10-31T12:00", "2026-11-01", "2026-11-01T05:30"),  # the first 01:30
    ],
)
def test_dst_days_in_toronto_fire_exactly_once(
    session_factory: Factory,
    book: QuestionnaireBook,
    at: str,
    before: str,
    day: str,
    expected: str,
) -> None:
    clock = Clock(utc(before))
    rules = digests(session_factory, book, clock, f"daily {at}")
    [due] = rules.pending()
    fired: list[datetime] = []
    for _ in range(3):  # walk three occurrences, waking each one twice
        clock.now = due
        first, again = rules.process(due), rules.process(due)
        assert (first.status, again.status) == ("sent", "skipped")
        fired.append(due)
        assert first.following is not None
        due = first.following
    local_days = [f.astimezone(TORONTO).date().isoformat() for f in fired]
    assert len(set(local_days)) == 3 and day in local_days
    assert utc(expected) in fired
    assert len(posts(session_factory)) == 3


def test_downtime_the_latest_within_grace_fires_once_older_ones_are_recorded_missed(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T12:00"))
    rules = digests(session_factory, book, clock)
    [monday] = rules.pending()
    clock.now = monday
    rules.process(monday)

    clock.now = utc("2027-01-07T15:00")  # down Tue and Wed; Thursday's is an hour late
    thursday = utc("2027-01-07T14:00")
    assert rules.pending() == [thursday, utc("2027-01-08T14:00")]
    assert rows(session_factory, "missed") == [utc("2027-01-05T14:00"), utc("2027-01-06T14:00")]
    assert rules.process(thursday).status == "sent"
    assert rules.pending() == [utc("2027-01-08T14:00")]  # nothing left to settle
    assert len(posts(session_factory)) == 2
    assert rows(session_factory, "done") == [monday, thursday]
    assert no_fake_platform_events(session_factory)


def test_downtime_beyond_grace_posts_nothing(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T12:00"))
    rules = digests(session_factory, book, clock)
    rules.pending()
    clock.now = utc("2027-01-04T20:01")  # 09:00 was 6 h 1 min ago
    assert rules.pending() == [utc("2027-01-05T14:00")]
    assert rows(session_factory, "missed") == [utc("2027-01-04T14:00")]
    assert posts(session_factory) == []


def test_the_first_start_does_not_count_earlier_occurrences_as_missed(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T15:00"))  # an hour after today's 09:00
    rules = digests(session_factory, book, clock)
    assert rules.pending() == [utc("2027-01-05T14:00")]
    assert rows(session_factory) == rows(session_factory, "started") == [clock.now]
    assert no_fake_platform_events(session_factory)


def test_a_restart_before_the_first_digest_still_expects_it(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    clock = Clock(utc("2027-01-04T12:00"))  # first seen at 07:00 in Toronto
    digests(session_factory, book, clock).pending()
    clock.now = utc("2027-01-04T15:00")  # down over 09:00, back within grace
    again = digests(session_factory, book, clock)  # a new process
    monday = utc("2027-01-04T14:00")
    assert again.pending() == [monday, utc("2027-01-05T14:00")]
    assert again.process(monday).status == "sent"
    assert rows(session_factory, "started") == [utc("2027-01-04T12:00")]  # not moved
    assert rows(session_factory, "done") == [monday]


def test_restart_between_scheduling_and_firing_fires_once(
    database_url: str, session_factory: Factory, book: QuestionnaireBook
) -> None:
    real = Clock(datetime.now(UTC))
    processed: list[Outcome] = []
    first_plan = digests(session_factory, book, real)
    due = first_plan.plan.next_after(real.now)
    job_id = f"digest:{int(due.timestamp())}"

    def rules(clock: Clock) -> Scheduling:
        return Scheduling(
            session_factory, book, clock, digests=digests(session_factory, book, clock)
        )

    async def first_process() -> None:
        scheduler = Scheduler(rules(real), database_url)
        await scheduler.start(sweep_now=False)
        assert scheduler.aps.get_job(job_id) is not None
        scheduler.shutdown()  # the process stops before the digest is due

    async def second_process() -> None:
        later = Clock(due + timedelta(minutes=1))
        done = asyncio.Event()

        def record(outcome: Outcome) -> None:
            processed.append(outcome)
            done.set()

        scheduler = Scheduler(rules(later), database_url, on_processed=record)
        await scheduler.start(sweep_now=False)
        job = scheduler.aps.get_job(job_id)
        assert job is not None
        scheduler.aps.modify_job(job.id, next_run_time=datetime.now(UTC))  # "time passes"
        await asyncio.wait_for(done.wait(), 10)
        await scheduling_module.wake_digest(int(due.timestamp()))  # a duplicate wake
        next_due = first_plan.plan.next_after(due)
        following = scheduler.aps.get_job(f"digest:{int(next_due.timestamp())}")
        scheduler.shutdown()
        assert following is not None  # the next occurrence is woken in its turn

    asyncio.run(first_process())
    asyncio.run(second_process())
    assert [o.status for o in processed] == ["sent", "skipped"]
    assert len(posts(session_factory)) == 1
