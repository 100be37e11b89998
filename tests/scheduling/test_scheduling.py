"""Scheduled sends against real SQLite and PostgreSQL, with an injected clock (no sleeping).

`Scheduling` is driven directly for the rules (grace, quiet hours, DST, series, cohorts,
cancel, nudges); `Scheduler` is started in a loop for restart and reconcile.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduling as scheduling_module
from bot.followups import first_sends, parse_cohort
from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Outcome, Scheduler, Scheduling
from bot.starting import begin_run
from conversations.messages import message_from_dict
from storage import UnitOfWork, repository, schedules
from storage.models import OutboxRow, Run, ScheduledSend
from tests.e2e.support import EXAMPLE

Factory = sessionmaker[Session]
CHECK_IN = Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml"
T0 = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in Toronto


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    main = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        main.store_current(uow.session)
        QuestionnaireBook.from_file(CHECK_IN).store_current(uow.session)
        uow.commit()
    return main


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def rules(session_factory: Factory, book: QuestionnaireBook, clock: Clock) -> Scheduling:
    return Scheduling(session_factory, book, clock, grace=timedelta(hours=6))


def person(
    sf: Factory, name: str, zone: str = "America/Toronto", *, reachable: bool = True, **extra: Any
) -> int:
    with UnitOfWork(sf) as uow:
        language = extra.pop("language", "en")
        row = repository.create_stakeholder(
            uow.session, name=name, language=language, time_zone=zone, **extra
        )
        if reachable:
            repository.link_identity(uow.session, row.id, "console", name, now=T0)
        uow.commit()
        return row.id


def followup(
    sf: Factory, schedule: dict[str, Any], cohort: dict[str, Any] | None = None, now: datetime = T0
) -> tuple[int, list[ScheduledSend]]:
    with UnitOfWork(sf) as uow:
        row = schedules.create_followup(
            uow.session,
            questionnaire_key="check-in",
            questionnaire_version="1",
            wave="check-in",
            cohort=cohort or {"type": "all"},
            schedule=schedule,
            created_by="test",
            now=now,
        )
        members = schedules.cohort_members(uow.session, row.cohort)
        created = schedules.schedule_sends(
            uow.session, first_sends(row, members, now, fallback=ZoneInfo("America/Toronto")), now
        )
        uow.commit()
        return row.id, created


def outbox(sf: Factory) -> list[OutboxRow]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def runs(sf: Factory) -> list[Run]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(Run).order_by(Run.id)))


def status(sf: Factory, send_id: int) -> str:
    with UnitOfWork(sf) as uow:
        row = uow.session.get(ScheduledSend, send_id)
        assert row is not None
        return row.status


def at(day: str, clock: str = "10:00") -> dict[str, Any]:
    return {"type": "at", "date": day, "time": clock}


# ------------------------------------------------------------------------ follow-ups


def test_a_due_followup_starts_its_wave_once(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    person(session_factory, "ann")
    _, [send] = followup(session_factory, at("2027-01-15"))
    assert send.due_at == datetime(2027, 1, 15, 15, 0, tzinfo=UTC)

    clock.now = send.due_at
    first = rules.process(send.id)
    second = rules.process(send.id)  # the job ran twice

    assert (first.status, second.status) == ("sent", "skipped")
    [run] = runs(session_factory)
    assert (run.questionnaire_key, run.wave, run.status) == (
        "check-in",
        "check-in:2027-01-15",
        "consenting",
    )
    assert len(outbox(session_factory)) == len(first.outbox_ids) > 0
    assert status(session_factory, send.id) == "done"


def test_a_wake_before_its_time_does_nothing(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    person(session_factory, "ann")
    _, [send] = followup(session_factory, at("2027-01-15"))
    clock.now = send.due_at - timedelta(minutes=1)
    assert rules.process(send.id).status == "early"
    assert outbox(session_factory) == [] and status(session_factory, send.id) == "pending"


@pytest.mark.parametrize(
    ("late", "expected"),
    [(timedelta(hours=5, minutes=59), "sent"), (timedelta(hours=6, minutes=1), "missed")],
)
def test_downtime_inside_grace_sends_once_outside_is_recorded_missed(
    session_factory: Factory, rules: Scheduling, clock: Clock, late: timedelta, expected: str
) -> None:
    person(session_factory, "ann")
    _, [send] = followup(session_factory, at("2027-01-15"))
    clock.now = send.due_at + late

    pending = rules.overdue()  # what a start does first
    if expected == "missed":
        assert pending == [] and status(session_factory, send.id) == "missed"
        assert outbox(session_factory) == [] and runs(session_factory) == []
    else:
        assert [w.send_id for w in pending] == [send.id]
        assert rules.process(send.id).status == "sent"
        assert rules.process(send.id).status == "skipped"
        assert len(runs(session_factory)) == 1


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [("2027-03-14", 13), ("2026-11-01", 14)],  # spring forward (EDT, -4); fall back (EST, -5)
)
def test_dst_days_in_toronto_fire_at_the_right_instant(
    session_factory: Factory, rules: Scheduling, clock: Clock, day: str, utc_hour: int
) -> None:
    person(session_factory, "ann")
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)
    _, [send] = followup(session_factory, at(day, "09:00"), now=clock.now)
    assert send.due_at == datetime.fromisoformat(f"{day}T{utc_hour:02d}:00:00+00:00")
    clock.now = send.due_at
    assert rules.process(send.id).status == "sent"
    # both days are Sundays: the first message waits for Monday 09:00 local
    [first, *_] = outbox(session_factory)
    monday = datetime.fromisoformat(day) + timedelta(days=1)
    assert first.not_before == monday.replace(hour=utc_hour, tzinfo=UTC)


def test_quiet_hours_delay_the_outbox_row_in_each_stakeholders_zone(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    halifax = person(session_factory, "hal", "America/Halifax")
    vancouver = person(session_factory, "van", "America/Vancouver")
    due = datetime(2027, 1, 14, 12, 30, tzinfo=UTC)  # Thursday: 08:30 Halifax, 04:30 Vancouver
    fid, _ = followup(session_factory, at("2027-06-01"), cohort={"type": "stakeholders", "ids": []})
    with UnitOfWork(session_factory) as uow:
        made = schedules.schedule_sends(
            uow.session,
            [schedules.NewSend("followup", who, fid, 1, due) for who in (halifax, vancouver)],
            T0,
        )
        uow.commit()
    clock.now = due
    for send in made:
        assert rules.process(send.id).status == "sent"
    first_by_address = {}
    for row in outbox(session_factory):
        first_by_address.setdefault(row.address, row.not_before)
    assert first_by_address == {
        "hal": datetime(2027, 1, 14, 13, 0, tzinfo=UTC),  # 09:00 AST
        "van": datetime(2027, 1, 14, 17, 0, tzinfo=UTC),  # 09:00 PST
    }


def test_a_series_makes_each_next_wave_and_stops_at_its_end_date(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    person(session_factory, "ann")
    series = {**at("2027-01-15"), "type": "every", "every_days": 14, "until": "2027-02-10"}
    _, [send] = followup(session_factory, series)
    clock.now = send.due_at
    outcome = rules.process(send.id)
    [following] = outcome.wakeups
    assert following.due_at == datetime(2027, 1, 29, 15, 0, tzinfo=UTC)
    clock.now = following.due_at
    assert rules.process(following.send_id).wakeups == ()  # 2027-02-12 is after the end
    assert [r.wave for r in runs(session_factory)] == ["check-in:2027-01-15", "check-in:2027-01-29"]


def test_a_series_survives_downtime_one_missed_wave(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    person(session_factory, "ann")
    series = {**at("2027-01-15"), "type": "every", "every_days": 7, "until": None, "count": 3}
    _, [send] = followup(session_factory, series)
    clock.now = send.due_at + timedelta(days=7, hours=1)  # down over the first, near the second
    [pending] = rules.overdue()
    assert status(session_factory, send.id) == "missed"
    assert pending.due_at == datetime(2027, 1, 22, 15, 0, tzinfo=UTC)


def test_cohorts(session_factory: Factory) -> None:
    ann = person(session_factory, "ann", organisation_type="university", region="ON", language="fr")
    bob = person(session_factory, "bob", organisation_type="municipality", region="BC")
    person(session_factory, "cat", reachable=False)  # on the roster, never joined
    with UnitOfWork(session_factory) as uow:
        begin_run(
            uow.session,
            QuestionnaireBook.from_file(EXAMPLE).current,
            bob,
            "en",
            "console",
            "bob",
            T0,
        )
        uow.session.execute(Run.__table__.update().values(completed_at=T0, status="completed"))
        uow.commit()

    def members(text: str) -> list[int]:
        with UnitOfWork(session_factory) as uow:
            found = schedules.cohort_members(
                uow.session, parse_cohort(text, "settlement-data-needs")
            )
            return [p.id for p in found]

    assert members("all") == [ann, bob]
    assert members("org_type:University") == [ann]
    assert members("region:bc") == [bob]
    assert members("language:fr") == [ann]
    assert members("completed") == [bob]
    assert members(f"stakeholder:{bob}") == [bob]
    assert members("region:QC") == []


def test_cancel_stops_pending_sends(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    person(session_factory, "ann")
    fid, [send] = followup(session_factory, at("2027-01-15"))
    with UnitOfWork(session_factory) as uow:
        assert schedules.cancel_followup(uow.session, fid, T0) == 1
        assert schedules.cancel_followup(uow.session, fid, T0) == 0
        uow.commit()
    clock.now = send.due_at
    assert rules.process(send.id).status == "skipped"
    assert runs(session_factory) == [] and status(session_factory, send.id) == "cancelled"


# ---------------------------------------------------------------------------- nudges


def _main_run(sf: Factory, book: QuestionnaireBook, who: int, name: str) -> int:
    with UnitOfWork(sf) as uow:
        run, _ = begin_run(uow.session, book.current, who, "fr", "console", name, T0)
        uow.session.query(OutboxRow).delete()
        uow.commit()
        return run.id


def test_nudges_after_days_at_most_max_count_with_a_continue_button(
    session_factory: Factory, book: QuestionnaireBook, rules: Scheduling, clock: Clock
) -> None:
    ann = person(session_factory, "ann", language="fr")
    _main_run(session_factory, book, ann, "ann")
    [first] = rules.sweep()
    assert rules.sweep() == []  # one pending nudge per run
    assert first.due_at == T0 + timedelta(days=3)

    clock.now = first.due_at
    sent = rules.process(first.send_id)
    assert sent.status == "sent"
    reminder = message_from_dict(outbox(session_factory)[0].payload)
    assert "Continuer" in str(reminder) and "resume" in str(reminder)
    [second] = sent.wakeups
    clock.now = second.due_at
    assert rules.process(second.send_id).wakeups == ()  # max_count 2
    assert rules.sweep() == []
    assert len(outbox(session_factory)) == 2


def test_no_nudge_after_completion_and_a_later_one_after_activity(
    session_factory: Factory, book: QuestionnaireBook, rules: Scheduling, clock: Clock
) -> None:
    ann, bob = person(session_factory, "ann"), person(session_factory, "bob")
    ann_run, bob_run = (
        _main_run(session_factory, book, ann, "ann"),
        _main_run(session_factory, book, bob, "bob"),
    )
    nudges = {w.send_id: w for w in rules.sweep()}
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(
            Run.__table__.update().where(Run.id == ann_run).values(status="completed")
        )
        uow.session.execute(
            Run.__table__.update()
            .where(Run.id == bob_run)
            .values(updated_at=T0 + timedelta(days=2))
        )
        uow.commit()
    clock.now = T0 + timedelta(days=3)
    outcomes = sorted(rules.process(i).status for i in nudges)
    assert outcomes == ["cancelled", "rescheduled"]
    assert outbox(session_factory) == []


# ------------------------------------------------------------------------- scheduler


def test_restart_between_scheduling_and_firing_fires_once(
    database_url: str, session_factory: Factory, book: QuestionnaireBook
) -> None:
    person(session_factory, "ann")
    real = Clock(datetime.now(UTC))
    _, [send] = followup(session_factory, {**at("2099-01-15")}, now=real.now)
    processed: list[Outcome] = []

    async def first_process() -> None:
        scheduler = Scheduler(Scheduling(session_factory, book, real), database_url)
        await scheduler.start(sweep_now=False)
        assert scheduler.aps.get_job(f"followup:{send.id}") is not None
        scheduler.shutdown()  # the process stops before the send is due

    async def second_process() -> None:
        later = Clock(send.due_at + timedelta(minutes=1))
        done = asyncio.Event()

        def record(outcome: Outcome) -> None:
            processed.append(outcome)
            done.set()

        scheduler = Scheduler(
            Scheduling(session_factory, book, later), database_url, on_processed=record
        )
        await scheduler.start(sweep_now=False)
        job = scheduler.aps.get_job(f"followup:{send.id}")
        assert job is not None  # found in the database, not recreated
        scheduler.aps.modify_job(job.id, next_run_time=datetime.now(UTC))  # "time passes"
        await asyncio.wait_for(done.wait(), 10)
        await scheduling_module.wake(send.id)  # a duplicate wake
        scheduler.shutdown()

    asyncio.run(first_process())
    asyncio.run(second_process())
    assert [o.status for o in processed] == ["sent", "skipped"]
    assert len(runs(session_factory)) == 1


def test_reconcile_recreates_missing_jobs_and_removes_orphans(
    database_url: str, session_factory: Factory, book: QuestionnaireBook
) -> None:
    person(session_factory, "ann")
    real = Clock(datetime.now(UTC))
    _, [send] = followup(session_factory, at("2099-01-15"), now=real.now)

    async def go() -> None:
        scheduler = Scheduler(Scheduling(session_factory, book, real), database_url)
        await scheduler.start(sweep_now=False)
        scheduler.aps.remove_job(f"followup:{send.id}")
        scheduler.aps.add_job(
            "bot.scheduling:wake",
            "date",
            run_date=datetime(2099, 1, 1, tzinfo=UTC),
            args=[999],
            id="nudge:999",
        )
        with UnitOfWork(session_factory) as uow:
            pending = [_wakeup(row) for row in schedules.pending_sends(uow.session)]
        scheduler.reconcile(pending)
        ids = {job.id for job in scheduler.aps.get_jobs()}
        scheduler.shutdown()
        assert f"followup:{send.id}" in ids and "nudge:999" not in ids

    asyncio.run(go())
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ScheduledSend)) == 1


def _wakeup(row: ScheduledSend) -> scheduling_module.Wakeup:
    return scheduling_module.Wakeup.of(row)
