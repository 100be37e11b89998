"""Nudges for follow-up waves, on SQLite and PostgreSQL, with an injected clock.

A follow-up run (another wave) left idle is nudged like a main run, by its own
questionnaire's settings, in each stakeholder's local time (Halifax vs Vancouver).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Scheduling, Wakeup
from conversations.inputs import CommandName
from conversations.messages import Ask, message_from_dict
from storage import UnitOfWork, repository, schedules
from storage.models import OutboxRow, Run
from tests.e2e.support import EXAMPLE

Factory = sessionmaker[Session]
CHECK_IN = Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml"
DUE = datetime(2027, 1, 14, 14, 0, tzinfo=UTC)  # Thursday: 10:00 Halifax, 06:00 Vancouver


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def book(session_factory: Factory, tmp_path: Path) -> QuestionnaireBook:
    """The main questionnaire, the check-in (nudges 3 days, once) and `pulse`, the
    check-in with nudges after 5 days, twice."""
    pulse = tmp_path / "pulse.yaml"
    text = CHECK_IN.read_text(encoding="utf-8")
    text = text.replace("id: check-in", "id: pulse", 1)
    text = text.replace("after_days: 3\n  max_count: 1", "after_days: 5\n  max_count: 2")
    assert "after_days: 5" in text
    pulse.write_text(text, encoding="utf-8")
    main = QuestionnaireBook.from_file(EXAMPLE)
    with UnitOfWork(session_factory) as uow:
        main.store_current(uow.session)
        for path in (CHECK_IN, pulse):
            QuestionnaireBook.from_file(path).store_current(uow.session)
        uow.commit()
    return main


@pytest.fixture
def clock() -> Clock:
    return Clock(DUE)


@pytest.fixture
def rules(session_factory: Factory, book: QuestionnaireBook, clock: Clock) -> Scheduling:
    return Scheduling(session_factory, book, clock, grace=timedelta(hours=6))


def person(sf: Factory, name: str, zone: str) -> int:
    with UnitOfWork(sf) as uow:
        row = repository.create_stakeholder(uow.session, name=name, language="en", time_zone=zone)
        repository.link_identity(uow.session, row.id, "console", name, now=DUE)
        uow.commit()
        return row.id


def start_wave(sf: Factory, rules: Scheduling, key: str, ids: list[int]) -> None:
    """A follow-up of `key` due at DUE for `ids`, processed: each gets a run in its wave."""
    with UnitOfWork(sf) as uow:
        made = schedules.create_followup(
            uow.session,
            questionnaire_key=key,
            questionnaire_version="1",
            wave=key,
            cohort={"type": "stakeholders", "ids": ids},
            schedule={"type": "at", "date": "2027-01-14", "time": "10:00"},
            created_by="test",
            now=DUE - timedelta(days=1),
        )
        sends = [schedules.NewSend("followup", who, made.id, 1, DUE) for who in ids]
        created = schedules.schedule_sends(uow.session, sends, DUE)
        uow.commit()
    for row in created:
        assert rules.process(row.id).status == "sent"
    clear_outbox(sf)


def clear_outbox(sf: Factory) -> None:
    with UnitOfWork(sf) as uow:
        uow.session.query(OutboxRow).delete()
        uow.commit()


def outbox(sf: Factory) -> list[OutboxRow]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def wave_runs(sf: Factory) -> list[Run]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(Run).where(Run.wave != "main").order_by(Run.id)))


def fire(rules: Scheduling, clock: Clock, wakeups: list[Wakeup]) -> list[Wakeup]:
    """Process each wakeup at its due time; the wakeups they made."""
    following: list[Wakeup] = []
    for wakeup in sorted(wakeups, key=lambda w: w.due_at):
        clock.now = wakeup.due_at
        outcome = rules.process(wakeup.send_id)
        assert outcome.status == "sent"
        following += outcome.wakeups
    return following


def test_an_idle_follow_up_wave_is_nudged_by_its_own_settings_in_local_time(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    halifax = person(session_factory, "hal", "America/Halifax")
    vancouver = person(session_factory, "van", "America/Vancouver")
    start_wave(session_factory, rules, "pulse", [halifax, vancouver])
    assert [r.wave for r in wave_runs(session_factory)] == ["pulse:2027-01-14"] * 2

    first = rules.sweep()
    assert rules.sweep() == []  # one pending nudge per run
    assert {w.due_at for w in first} == {DUE + timedelta(days=5)}  # pulse: after 5 days

    second = fire(rules, clock, first)
    sent = {row.address: row.not_before for row in outbox(session_factory)}
    assert sent == {
        "hal": datetime(2027, 1, 19, 14, 0, tzinfo=UTC),  # Tuesday 10:00 AST: allowed
        "van": datetime(2027, 1, 19, 17, 0, tzinfo=UTC),  # 06:00 PST is quiet: 09:00
    }
    reminder = message_from_dict(outbox(session_factory)[0].payload)
    assert isinstance(reminder, Ask) and "Data needs check-in" in reminder.text
    assert [c.value for c in reminder.controls] == [CommandName.RESUME.value]

    clear_outbox(session_factory)
    assert {w.due_at for w in second} == {DUE + timedelta(days=10)}  # Sunday the 24th
    assert fire(rules, clock, second) == []  # pulse: at most 2
    sent = {row.address: row.not_before for row in outbox(session_factory)}
    assert sent == {
        "hal": datetime(2027, 1, 25, 13, 0, tzinfo=UTC),  # weekend: Monday 09:00 AST
        "van": datetime(2027, 1, 25, 17, 0, tzinfo=UTC),  # Monday 09:00 PST
    }
    clock.now = DUE + timedelta(days=30)
    assert rules.sweep() == []


def test_the_check_in_nudges_once_after_three_days(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    ann = person(session_factory, "ann", "America/Toronto")
    start_wave(session_factory, rules, "check-in", [ann])
    [first] = rules.sweep()
    assert first.due_at == DUE + timedelta(days=3)
    assert fire(rules, clock, [first]) == []  # check-in: at most 1
    assert rules.sweep() == [] and len(outbox(session_factory)) == 1


@pytest.mark.parametrize("status", ["completed", "withdrawn", "declined"])
def test_never_after_the_wave_is_completed_or_stopped(
    session_factory: Factory, rules: Scheduling, clock: Clock, status: str
) -> None:
    ann = person(session_factory, "ann", "America/Toronto")
    start_wave(session_factory, rules, "pulse", [ann])
    [nudge] = rules.sweep()
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(Run.__table__.update().where(Run.wave != "main").values(status=status))
        uow.commit()
    clock.now = nudge.due_at
    assert rules.process(nudge.send_id).status == "cancelled"
    assert outbox(session_factory) == [] and rules.sweep() == []


def test_answering_the_wave_moves_the_nudge_to_the_new_idle_deadline(
    session_factory: Factory, rules: Scheduling, clock: Clock
) -> None:
    ann = person(session_factory, "ann", "America/Toronto")
    start_wave(session_factory, rules, "pulse", [ann])
    [nudge] = rules.sweep()
    active = DUE + timedelta(days=2)
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(
            Run.__table__.update().where(Run.wave != "main").values(updated_at=active)
        )
        uow.commit()
    clock.now = nudge.due_at
    outcome = rules.process(nudge.send_id)
    assert outcome.status == "rescheduled"
    assert [w.due_at for w in outcome.wakeups] == [active + timedelta(days=5)]
    assert outbox(session_factory) == []
