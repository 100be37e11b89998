"""Discussion groups and find-a-time polls against real SQLite and PostgreSQL (#5).

The service (`bot.groups`) is called as the CLI and chat commands call it; due sends go
through `Scheduling.process` as the scheduler's jobs do, with an injected clock. What
invitees receive is read back from the outbox; calendar files are parsed with icalendar.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import groups
from bot import scheduling as scheduling_module
from bot.groups import GroupError
from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Outcome, Scheduler, Scheduling
from conversations.inputs import Submit, Toggle
from conversations.messages import (
    Answered,
    Ask,
    Attachment,
    Message,
    Notice,
    Say,
    message_from_dict,
)
from storage import UnitOfWork, repository
from storage.groups import SlotTally
from storage.models import DiscussionGroup, OutboxRow, ScheduledSend
from tests.e2e.support import EXAMPLE

Factory = sessionmaker[Session]
T0 = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in Toronto
TORONTO = ZoneInfo("America/Toronto")
START = "2027-01-15 10:00"  # a Friday; 15:00 UTC
START_UTC = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


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
        uow.commit()
    return main


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def rules(session_factory: Factory, book: QuestionnaireBook, clock: Clock) -> Scheduling:
    return Scheduling(session_factory, book, clock, grace=timedelta(hours=6))


@pytest.fixture
def people(session_factory: Factory) -> dict[str, int]:
    """ann (Toronto), bob (Vancouver, French), cid (Halifax), dee (St. John's)."""
    zones = {
        "ann": ("America/Toronto", "en"),
        "bob": ("America/Vancouver", "fr"),
        "cid": ("America/Halifax", "en"),
        "dee": ("America/St_Johns", "en"),
    }
    found: dict[str, int] = {}
    with UnitOfWork(session_factory) as uow:
        for name, (zone, language) in zones.items():
            row = repository.create_stakeholder(
                uow.session, name=name, language=language, time_zone=zone, region="NS", now=T0
            )
            repository.link_identity(uow.session, row.id, "console", name, now=T0)
            found[name] = row.id
        uow.commit()
    return found


def create(sf: Factory, now: datetime = T0, **overrides: Any) -> groups.GroupResult:
    arguments: dict[str, Any] = {
        "title": "Data needs, round 1",
        "start": START,
        "to": "ann, bob, cid",
        "where": "https://meet.example.org/abc",
        "zone": "America/Toronto",
        "duration": "60",
        **overrides,
    }
    with UnitOfWork(sf) as uow:
        result = groups.create_group(uow.session, now=now, **arguments)
        uow.commit()
    return result


def answer(sf: Factory, group_id: int, who: int, response: str, now: datetime = T0) -> Any:
    with UnitOfWork(sf) as uow:
        result = groups.rsvp(
            uow.session, group_id=group_id, stakeholder_id=who, response=response, now=now
        )
        uow.commit()
    return result


def sends(sf: Factory, kind: str | None = None) -> list[ScheduledSend]:
    with UnitOfWork(sf) as uow:
        statement = select(ScheduledSend).order_by(ScheduledSend.due_at, ScheduledSend.id)
        if kind is not None:
            statement = statement.where(ScheduledSend.kind == kind)
        return list(uow.session.scalars(statement))


def inbox(sf: Factory, name: str) -> list[Message]:
    """What the outbox holds for one console address, in order."""
    with UnitOfWork(sf) as uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.address == name).order_by(OutboxRow.id)
        )
        return [message_from_dict(row.payload) for row in rows]


def outbox_rows(sf: Factory) -> list[OutboxRow]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def process_due(rules: Scheduling, clock: Clock, kind: str, at: datetime) -> dict[int, str]:
    """Wake every pending send of `kind` at `at`, as their jobs would: stakeholder -> status."""
    clock.now = at
    found = {}
    for row in sends(rules.session_factory, kind):
        if row.status == "pending" and row.due_at <= at:
            found[row.stakeholder_id] = rules.process(row.id).status
    return found


def calendar_of(message: Message) -> Any:
    assert isinstance(message, Attachment)
    parsed = Calendar.from_ical(message.content)
    [event] = parsed.walk("VEVENT")
    return parsed, event


# ------------------------------------------------------------------------ creating


def test_create_stores_the_group_invitees_and_their_sends(
    session_factory: Factory, people: dict[str, int]
) -> None:
    result = create(session_factory, capacity=8)

    assert result.lines(TORONTO) == [
        f"group {result.group_id} created: “Data needs, round 1” 2027-01-15 10:00 "
        "America/Toronto, 60 min, at https://meet.example.org/abc, capacity 8, 3 invited",
        "invitations queued for 3; reminders at T-24h and T-1h",
    ]
    invites = sends(session_factory, "group_invite")
    assert {r.stakeholder_id for r in invites} == {people[n] for n in ("ann", "bob", "cid")}
    assert {r.due_at for r in invites} == {T0}
    reminders = sends(session_factory, "group_reminder")
    assert sorted({(r.number, r.due_at) for r in reminders}) == [
        (1, START_UTC - timedelta(hours=1)),
        (24, START_UTC - timedelta(hours=24)),
    ]
    assert len(reminders) == 6


def test_invitees_by_cohort_and_the_session_within_a_day_gets_only_the_hour_reminder(
    session_factory: Factory, people: dict[str, int]
) -> None:
    result = create(session_factory, to="region:ns", start="2027-01-05 09:00")
    assert result.invited == 4
    assert {r.number for r in sends(session_factory, "group_reminder")} == {1}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "2026-12-01 10:00"}, "start: 2026-12-01 10:00 America/Toronto is in the past"),
        (
            {"zone": "Mars/Base"},
            "zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
        ),
        (
            {"start": "2027-11-07 01:30"},
            "start: 2027-11-07 01:30 is ambiguous in America/Toronto "
            "(it happens twice: UTC-04:00 and UTC-05:00); choose another time",
        ),
        (
            {"start": "2027-03-14 02:30"},
            "start: 2027-03-14 02:30 does not exist in America/Toronto "
            "(clocks jump from 02:00 to 03:00); choose another time",
        ),
        ({"duration": None, "end": "09:30"}, "end: 09:30 is not after the start"),
        ({"duration": "0"}, "duration: must be longer than 0 minutes (not '0')"),
        ({"duration": "-30"}, "duration: can't understand '-30' (use e.g. 60, 90m or 1h30)"),
        (
            {"duration": "60", "end": "11:00"},
            "duration: give either a duration (e.g. 60) or an end time, not both",
        ),
        ({"capacity": 0}, "capacity: at least 1 (not 0); leave it out for no limit"),
        ({"to": "region:QC"}, "to: 'region:QC' matches nobody who can be reached"),
        ({"to": "ann, zed"}, "to: nobody is called 'zed' (use stakeholder:ID or a cohort)"),
        ({"to": "stakeholder:99"}, "to: 'stakeholder:99' matches nobody who can be reached"),
        ({"title": "  "}, "title: must not be empty"),
        ({"where": ""}, "where: must not be empty"),
    ],
)
def test_bad_input_is_refused_with_one_line_and_nothing_is_written(
    session_factory: Factory, people: dict[str, int], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(GroupError) as refused:
        create(session_factory, **overrides)
    assert str(refused.value) == message
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(DiscussionGroup)) == 0
        assert uow.session.scalar(select(func.count()).select_from(ScheduledSend)) == 0


def test_end_instead_of_duration(session_factory: Factory, people: dict[str, int]) -> None:
    result = create(session_factory, duration=None, end="11:30")
    assert result.minutes == 90


# ---------------------------------------------------------------------- invitations


def test_the_invitation_is_in_each_invitees_zone_and_language_with_a_calendar_file(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    result = create(session_factory)
    statuses = process_due(rules, clock, "group_invite", T0)
    assert set(statuses.values()) == {"sent"}

    ask, ics = inbox(session_factory, "bob")
    assert isinstance(ask, Ask)
    assert ask.item_id == f"rsvp:{result.group_id}"
    assert [(o.value, o.label) for o in ask.options] == [
        ("yes", "Oui"),
        ("maybe", "Peut-être"),
        ("no", "Non"),
    ]
    assert "ven. 2027-01-15, 07:00–08:00 (America/Vancouver)" in ask.text
    assert "https://meet.example.org/abc" in ask.text
    calendar, event = calendar_of(ics)
    assert calendar["METHOD"] == "REQUEST"
    start = event.decoded("DTSTART")
    assert start == START_UTC
    assert str(start.tzinfo) == "America/Vancouver" and start.hour == 7
    assert event.decoded("DTEND") - start == timedelta(hours=1)
    assert str(event["URL"]) == "https://meet.example.org/abc"
    [cid_ask, _] = inbox(session_factory, "cid")
    assert (
        isinstance(cid_ask, Ask) and "Fri 2027-01-15, 11:00–12:00 (America/Halifax)" in cid_ask.text
    )

    assert rules.process(sends(session_factory, "group_invite")[0].id).status == "skipped"


def test_someone_who_never_gave_a_zone_sees_the_sessions_zone(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    with UnitOfWork(session_factory) as uow:
        row = repository.create_stakeholder(uow.session, name="eve", language="en", now=T0)
        repository.link_identity(uow.session, row.id, "console", "eve", now=T0)
        uow.commit()
    create(session_factory, to="eve")
    process_due(rules, clock, "group_invite", T0)
    ask, ics = inbox(session_factory, "eve")
    assert isinstance(ask, Ask) and "10:00–11:00 (America/Toronto)" in ask.text
    assert str(calendar_of(ics)[1].decoded("DTSTART").tzinfo) == "America/Toronto"


def test_an_invitation_due_in_quiet_hours_waits_for_the_morning(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    saturday = datetime(2027, 1, 9, 15, 0, tzinfo=UTC)
    create(session_factory, now=saturday, to="cid")
    process_due(rules, clock, "group_invite", saturday)
    monday_nine_halifax = datetime(2027, 1, 11, 13, 0, tzinfo=UTC)
    assert {row.not_before for row in outbox_rows(session_factory)} == {monday_nine_halifax}


# ------------------------------------------------------------------------ answers


def test_rsvp_changes_capacity_waitlist_and_promotion(
    session_factory: Factory, people: dict[str, int]
) -> None:
    gid = create(session_factory, to="ann, bob, cid, dee", capacity=1).group_id
    ann, bob, cid, dee = (people[n] for n in ("ann", "bob", "cid", "dee"))

    assert answer(session_factory, gid, ann, "yes").response == "yes"
    bob_yes = answer(session_factory, gid, bob, "yes", T0 + timedelta(minutes=1))
    cid_yes = answer(session_factory, gid, cid, "yes", T0 + timedelta(minutes=2))
    assert (bob_yes.response, bob_yes.position) == ("waitlisted", 1)
    assert (cid_yes.response, cid_yes.position) == ("waitlisted", 2)
    assert answer(session_factory, gid, bob, "yes").position == 1  # a second Yes keeps the place
    assert answer(session_factory, gid, dee, "maybe").response == "maybe"

    freed = answer(session_factory, gid, ann, "no", T0 + timedelta(minutes=5))
    assert freed.promoted == bob
    [told] = inbox(session_factory, "bob")
    assert isinstance(told, Say) and "Bonne nouvelle" in told.text

    assert (
        answer(session_factory, gid, cid, "no").promoted is None
    )  # leaving the list frees nothing
    assert answer(session_factory, gid, bob, "maybe").promoted is None  # nobody waiting
    with UnitOfWork(session_factory) as uow:
        report = groups.rsvps(uow.session, gid)
    assert [(sid, response) for sid, _, response in report.answers] == [
        (ann, "no"),
        (bob, "maybe"),
        (cid, "no"),
        (dee, "maybe"),
    ]


@pytest.mark.parametrize(
    ("response", "message"),
    [("perhaps", "response: use yes, maybe or no (not 'perhaps')")],
)
def test_a_bad_response_is_refused(
    session_factory: Factory, people: dict[str, int], response: str, message: str
) -> None:
    gid = create(session_factory).group_id
    with pytest.raises(GroupError) as refused:
        answer(session_factory, gid, people["ann"], response)
    assert str(refused.value) == message


# ---------------------------------------------------------------------- reminders


def test_reminders_go_to_yes_and_maybe_only_and_never_after_the_start(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    start = datetime(2027, 1, 15, 13, 30, tzinfo=UTC)  # 08:30 in Toronto: T-24h is quiet
    gid = create(session_factory, to="ann, bob, cid, dee", start="2027-01-15 08:30").group_id
    answer(session_factory, gid, people["ann"], "yes")
    answer(session_factory, gid, people["bob"], "maybe")
    answer(session_factory, gid, people["cid"], "no")  # dee never answers

    day_before = process_due(rules, clock, "group_reminder", start - timedelta(hours=24))
    assert day_before == {
        people["ann"]: "sent",
        people["bob"]: "sent",
        people["cid"]: "cancelled",
        people["dee"]: "cancelled",
    }
    [reminder] = inbox(session_factory, "ann")
    assert isinstance(reminder, Say) and reminder.text.startswith("Reminder: “Data needs")
    ann_row = next(r for r in outbox_rows(session_factory) if r.address == "ann")
    assert ann_row.not_before == start - timedelta(hours=24)  # quiet hours do not delay it

    # Down from T-1h until 5 minutes after the start: within the 6 h grace, still skipped.
    late = process_due(rules, clock, "group_reminder", start + timedelta(minutes=5))
    assert late == {
        people["ann"]: "missed",
        people["bob"]: "missed",
        people["cid"]: "cancelled",
        people["dee"]: "cancelled",
    }
    assert len(inbox(session_factory, "ann")) == 1


# ----------------------------------------------------------- reschedule and cancel


def test_reschedule_tells_everyone_who_had_not_declined_and_moves_the_reminders(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    gid = create(session_factory, to="ann, bob, cid").group_id
    process_due(rules, clock, "group_invite", T0)
    answer(session_factory, gid, people["ann"], "yes")
    answer(session_factory, gid, people["bob"], "no")
    before = {name: len(inbox(session_factory, name)) for name in ("ann", "bob", "cid")}

    with UnitOfWork(session_factory) as uow:
        result = groups.reschedule_group(
            uow.session, group_id=gid, start="2027-01-22 13:00", zone="America/Toronto", now=T0
        )
        uow.commit()

    assert result.lines(TORONTO)[1] == "2 invitee(s) who had not declined were told"
    assert len(inbox(session_factory, "bob")) == before["bob"]
    for name in ("ann", "cid"):
        ask, ics = inbox(session_factory, name)[before[name] :]
        assert isinstance(ask, Ask) and "moved to a new time" in ask.text
        _, event = calendar_of(ics)
        assert event.decoded("DTSTART") == datetime(2027, 1, 22, 18, 0, tzinfo=UTC)
        assert event["SEQUENCE"] == 1
    new_start = datetime(2027, 1, 22, 18, 0, tzinfo=UTC)
    reminders = sends(session_factory, "group_reminder")
    assert {r.status for r in reminders if r.number < 100} == {"cancelled"}
    assert {(r.number, r.due_at) for r in reminders if r.status == "pending"} == {
        (124, new_start - timedelta(hours=24)),
        (101, new_start - timedelta(hours=1)),
    }
    fired = process_due(rules, clock, "group_reminder", new_start - timedelta(hours=1))
    assert fired == {people["ann"]: "sent", people["bob"]: "cancelled", people["cid"]: "cancelled"}


def test_cancel_tells_non_decliners_and_cancels_pending_reminders(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    gid = create(session_factory, to="ann, bob, cid").group_id
    process_due(rules, clock, "group_invite", T0)
    answer(session_factory, gid, people["cid"], "no")

    with UnitOfWork(session_factory) as uow:
        result = groups.cancel_group(uow.session, group_id=gid, now=T0)
        uow.commit()

    assert result.notified == 2
    assert len(inbox(session_factory, "cid")) == 2  # only the invitation
    said, ics = inbox(session_factory, "ann")[2:]
    assert isinstance(said, Say) and "is cancelled" in said.text
    calendar, event = calendar_of(ics)
    assert (calendar["METHOD"], event["STATUS"]) == ("CANCEL", "CANCELLED")
    assert {r.status for r in sends(session_factory, "group_reminder")} == {"cancelled"}
    with pytest.raises(GroupError, match=f"group {gid} is cancelled"):
        answer(session_factory, gid, people["ann"], "yes")


# ------------------------------------------------------------------- restart


def test_restart_between_scheduling_and_firing_fires_once(
    database_url: str, session_factory: Factory, book: QuestionnaireBook, people: dict[str, int]
) -> None:
    real = Clock(datetime.now(UTC))
    gid = create(session_factory, now=real.now, start="2099-01-15 10:00", to="ann").group_id
    answer(session_factory, gid, people["ann"], "yes", real.now)
    [reminder, _] = [r for r in sends(session_factory, "group_reminder")]
    processed: list[Outcome] = []

    async def first_process() -> None:
        scheduler = Scheduler(Scheduling(session_factory, book, real), database_url)
        await scheduler.start(sweep_now=False)
        assert scheduler.aps.get_job(f"group_reminder:{reminder.id}") is not None
        scheduler.shutdown()

    async def second_process() -> None:
        later = Clock(reminder.due_at + timedelta(minutes=1))
        done = asyncio.Event()

        def record(outcome: Outcome) -> None:
            processed.append(outcome)
            done.set()

        scheduler = Scheduler(
            Scheduling(session_factory, book, later), database_url, on_processed=record
        )
        await scheduler.start(sweep_now=False)
        job = scheduler.aps.get_job(f"group_reminder:{reminder.id}")
        assert job is not None
        scheduler.aps.modify_job(job.id, next_run_time=datetime.now(UTC))
        await asyncio.wait_for(done.wait(), 10)
        await scheduling_module.wake(reminder.id)  # a duplicate wake
        scheduler.shutdown()

    asyncio.run(first_process())
    asyncio.run(second_process())
    statuses = [o.status for o in processed]
    assert statuses[-2:] == ["sent", "skipped"] and statuses.count("sent") == 1
    reminders = [m for m in inbox(session_factory, "ann") if isinstance(m, Say)]
    assert len(reminders) == 1


# ---------------------------------------------------------------------- find a time


@pytest.mark.parametrize(
    ("tallies", "order"),
    [
        ([(1, 9, 2, 0), (2, 10, 3, 0), (3, 11, 1, 1)], [2, 1, 3]),
        ([(1, 9, 1, 1), (2, 10, 2, 0)], [2, 1]),  # same votes: more Yes first
        ([(1, 11, 2, 0), (2, 10, 2, 0)], [2, 1]),  # same votes and Yes: the earliest
        ([(1, 9, 0, 0), (2, 10, 0, 1)], [2, 1]),
    ],
)
def test_ranking(tallies: list[tuple[int, int, int, int]], order: list[int]) -> None:
    slots = [
        SlotTally(number, datetime(2027, 2, 1, hour, tzinfo=UTC), yes, maybe)
        for number, hour, yes, maybe in tallies
    ]
    assert [t.number for t in groups.rank(slots)] == order


def test_find_a_time_votes_ranking_and_confirm(
    session_factory: Factory, people: dict[str, int], rules: Scheduling, clock: Clock
) -> None:
    with UnitOfWork(session_factory) as uow:
        poll = groups.create_poll(
            uow.session,
            title="Round 2",
            slots=["2027-01-18 10:00", "2027-01-19 10:00", "2027-01-20 10:00"],
            to="ann, bob, cid",
            where="Room 4, 100 Main St",
            zone="America/Toronto",
            now=T0,
            duration="90m",
        )
        uow.commit()
    process_due(rules, clock, "poll_invite", T0)
    [ask] = inbox(session_factory, "bob")
    assert isinstance(ask, Ask) and ask.item_id == f"poll:{poll.poll_id}"
    assert ask.options[0].label == "lun. 2027-01-18, 07:00–08:30 (America/Vancouver)"

    def pressed(name: str, *inputs: Toggle | Submit) -> list[Message]:
        reply: list[Message] = []
        with UnitOfWork(session_factory) as uow:
            person = repository.stakeholder_for_identity(uow.session, "console", name)
            for given in inputs:
                reply = groups.press(uow.session, person, given, T0)
            uow.commit()
        return reply

    item = f"poll:{poll.poll_id}"
    refreshed = pressed("ann", Toggle(item, "2"), Toggle(item, "3"), Toggle(item, "3"))
    assert isinstance(refreshed[0], Ask) and refreshed[0].refresh
    assert refreshed[0].selected == ("2", "3") and "(if need be)" in refreshed[0].options[2].label
    done = pressed("ann", Submit(item))
    assert isinstance(done[0], Answered) and isinstance(done[1], Notice)
    pressed("bob", Submit(item, ("1", "3")))  # Slack sends the selection with Done
    pressed("cid", Toggle(item, "2"), Toggle(item, "1"), Toggle(item, "1"), Toggle(item, "1"))

    with UnitOfWork(session_factory) as uow:
        ranking = groups.poll_results(uow.session, poll.poll_id)
    assert ranking.lines(TORONTO) == [
        f"poll {poll.poll_id}: “Round 2” (open), 2 of 3 answered",
        "  1. slot 2 2027-01-19 10:00 America/Toronto: 2 vote(s) (2 yes, 0 if need be)",
        "  2. slot 3 2027-01-20 10:00 America/Toronto: 2 vote(s) (1 yes, 1 if need be)",
        "  3. slot 1 2027-01-18 10:00 America/Toronto: 1 vote(s) (1 yes, 0 if need be)",
    ]

    with UnitOfWork(session_factory) as uow:
        result = groups.confirm_poll(uow.session, poll_id=poll.poll_id, slot=2, now=T0)
        uow.commit()
    assert result.start_at == datetime(2027, 1, 19, 15, 0, tzinfo=UTC) and result.invited == 3
    assert result.minutes == 90
    assert len(sends(session_factory, "group_invite")) == 3
    assert len(sends(session_factory, "group_reminder")) == 6
    [closed] = pressed("ann", Toggle(item, "1"))
    assert closed == Notice("This poll is closed.")
    with UnitOfWork(session_factory) as uow, pytest.raises(GroupError, match="is confirmed"):
        groups.confirm_poll(uow.session, poll_id=poll.poll_id, slot=1, now=T0)


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        (["2027-01-18 10:00"], "slot: offer 2 to 6 times (not 1)"),
        (["2027-01-18 10:00"] * 2, "slot: the same time is offered twice"),
        (["2027-01-18 10:00", "2026-01-18 10:00"], "slot 2: 2026-01-18 10:00 America/Toronto"),
    ],
)
def test_bad_polls_are_refused(
    session_factory: Factory, people: dict[str, int], slots: list[str], message: str
) -> None:
    with UnitOfWork(session_factory) as uow, pytest.raises(GroupError, match=re.escape(message)):
        groups.create_poll(
            uow.session,
            title="Round 2",
            slots=slots,
            to="all",
            where="Room 4",
            zone="America/Toronto",
            now=T0,
            duration="60",
        )


def test_listing(session_factory: Factory, people: dict[str, int]) -> None:
    gid = create(session_factory, capacity=2).group_id
    answer(session_factory, gid, people["ann"], "yes")
    with UnitOfWork(session_factory) as uow:
        listing = groups.list_groups(uow.session, now=T0)
        later = groups.list_groups(uow.session, now=START_UTC + timedelta(minutes=1))
    assert listing.lines(ZoneInfo("America/Halifax")) == [
        f"{gid}\tData needs, round 1\t2027-01-15 11:00 America/Halifax\t60 min\tscheduled\t"
        "1 yes, 0 maybe, 0 no, 0 waitlisted, 2 no answer\tcapacity 2"
    ]
    assert later.lines(TORONTO) == ["no discussion groups scheduled"]
