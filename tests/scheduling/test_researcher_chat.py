"""Scheduling from chat: `/followup …` in the Telegram research group and `/parley followup …`
on Slack, through the real Handler on SQLite and PostgreSQL.

What a researcher reads is checked line by line (times in their zone); bad input gets one
message naming the field and leaves no row behind; non-researchers are refused and
nothing is scheduled.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import build
from bot.channels.base import InboundEvent
from bot.handling import Access, Handler
from bot.questionnaires import QuestionnaireBook
from bot.researcher_commands import Desk, scheduling_command
from bot.roster import import_roster, read_roster
from bot.settings import Settings
from conversations.inputs import Reply
from conversations.messages import Notice, message_from_dict
from storage import UnitOfWork
from storage.models import DiscussionGroup, Followup, OutboxRow, ScheduledSend, SchedulingPoll

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOW = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
GROUP = "-100777"
LEAD, OTHER = "11", "12"
Factory = sessionmaker[Session]
_ids = itertools.count(1)


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    """The main questionnaire and the example roster: four people reachable (on Slack)."""
    book = QuestionnaireBook.from_file(EXAMPLES / "settlement-data-needs.yaml")
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        import_roster(uow.session, read_roster(EXAMPLES / "roster.csv", ("en", "fr")), NOW)
        uow.commit()
    return book


@pytest.fixture
def handler(session_factory: Factory, book: QuestionnaireBook) -> Handler:
    access = Access(
        research_address=("telegram", GROUP),
        researchers=frozenset({("telegram", LEAD), ("slack", "U0LEAD001")}),
        desk=Desk("America/Toronto", EXAMPLES),
    )
    return Handler(session_factory, book, lambda: NOW, access=access)


def in_group(handler: Handler, text: str, sender: str = LEAD) -> str:
    """Say `text` in the research group; the bot's reply (one message)."""
    event = InboundEvent(
        platform="telegram",
        event_id=str(next(_ids)),
        sender=sender,
        address=GROUP,
        input=Reply(text),
        group=True,
    )
    handled = handler.handle(event)
    assert len(handled.outbox_ids) == 1
    return reply_text(handler.session_factory, handled.outbox_ids[0])


def reply_text(factory: Factory, outbox_id: int) -> str:
    with UnitOfWork(factory) as uow:
        row = uow.session.get_one(OutboxRow, outbox_id)
        return str(message_from_dict(row.payload).__dict__["text"])


def counts(factory: Factory) -> tuple[int, int]:
    """(follow-ups, scheduled sends) stored."""
    with UnitOfWork(factory) as uow:
        followups = uow.session.scalar(select(func.count()).select_from(Followup))
        sends = uow.session.scalar(select(func.count()).select_from(ScheduledSend))
        return followups or 0, sends or 0


def test_add_list_cancel_in_the_research_group(handler: Handler) -> None:
    added = in_group(handler, "/followup add check-in region:ns 2027-01-15 10:00")
    assert added.splitlines() == [
        "follow-up 1: check-in v1 (wave check-in) to region:ns: 1 stakeholder(s), "
        "at 2027-01-15 10:00 in each stakeholder's time zone",
        "first sends: 1, 2027-01-15 09:00 America/Toronto",  # Halifax 10:00, in Toronto
    ]
    with UnitOfWork(handler.session_factory) as uow:
        stored = uow.session.scalars(select(Followup)).one()
        assert stored.created_by == "telegram:11"
    listed = in_group(handler, "/followup@ParleyBot list --zone America/Halifax")
    assert listed == (
        "1 · check-in (wave check-in) · region:ns · at 2027-01-15 10:00 in each stakeholder's "
        "time zone · 1 pending, next 2027-01-15 10:00 America/Halifax"
    )
    assert in_group(handler, "/followup cancel 1") == (
        "follow-up 1 cancelled: 1 pending sends will not be sent"
    )
    assert in_group(handler, "/followup list") == "no follow-ups scheduled"


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        (
            '/followup add check-in "completed" every 4 weeks until 2027-06-30 '
            "starting 2027-01-15 10:00 --wave spring",
            None,  # nobody completed: refused below
        ),
        (
            "/followup add check-in all 14 days after completed",
            "follow-up 1: check-in v1 (wave check-in) to all: 4 stakeholder(s), "
            "14 days after completed",
        ),
        (
            "/followup add check-in stakeholder:1 every 2 weeks x 3 starting 2027-01-15 10:00 "
            "--zone America/Vancouver",
            "follow-up 1: check-in v1 (wave check-in) to stakeholder:1: 1 stakeholder(s), "
            "at 2027-01-15 10:00 in each stakeholder's time zone, every 14 days, 3 times",
        ),
        (
            "/followup add --questionnaire check-in --to language:en --at “tomorrow 09:30”",
            "follow-up 1: check-in v1 (wave check-in) to language:en: 4 stakeholder(s), "
            "at 2026-10-02 09:30 in each stakeholder's time zone",
        ),
    ],
)
def test_the_when_forms_and_cli_options(
    handler: Handler, text: str, first_line: str | None
) -> None:
    said = in_group(handler, text)
    if first_line is None:
        assert said == "Nothing was scheduled. --to completed: matches nobody who can be reached"
        assert counts(handler.session_factory) == (0, 0)
    else:
        assert said.splitlines()[0] == first_line
        assert counts(handler.session_factory)[0] == 1


BAD_INPUT = [
    ("2020-01-15 10:00", "--at: 2020-01-15 10:00 America/Toronto is in the past"),
    (
        "2027-01-15 10:00 --zone Mars/Base",
        "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
    ),
    (
        "2026-11-01 01:30",
        "--at: 2026-11-01 01:30 is ambiguous in America/Toronto "
        "(it happens twice: UTC-04:00 and UTC-05:00); choose another time",
    ),
    (
        "every 2 weeks until 2027-01-01 starting 2027-01-15 10:00",
        "--every: the series ends on 2027-01-01, before it starts on 2027-01-15",
    ),
    ("every 2 weeks", "--starting: missing in 'every 2 weeks' (e.g. every 4 weeks until "),
    ("soonish", "--at: can't understand 'soonish' as a date and time"),
    ("", "give exactly one of --at, --every (with --starting) or --after"),
    ('2027-01-15 10:00 --wave "a:b"', "--wave 'a:b': 1-40 characters, no ':'"),
    ("2027-01-15 10:00 --colour red", "--colour: unknown option (options here: --after, "),
    ('"2027-01-15 10:00', "a quotation mark is not closed"),
]


@pytest.mark.parametrize(("when", "message"), BAD_INPUT)
def test_bad_when_says_the_field_and_schedules_nothing(
    handler: Handler, when: str, message: str
) -> None:
    said = in_group(handler, f"/followup add check-in all {when}".rstrip())
    assert said.startswith(f"Nothing was scheduled. {message}"), said
    assert "\n" not in said
    assert counts(handler.session_factory) == (0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "/followup add check-in region:QC 2027-01-15 10:00",
            "--to region:QC: matches nobody who can be reached",
        ),
        (
            "/followup add check-in everyone 2027-01-15 10:00",
            "--to everyone: use all, stakeholder:ID, org_type:X, region:X, language:fr or "
            "completed",
        ),
        (
            "/followup add nowhere all 2027-01-15 10:00",
            "<questionnaire> 'nowhere': not found (available: check-in, settlement-data-needs)",
        ),
        (
            "/followup add ../roster all 2027-01-15 10:00",
            "<questionnaire> '../roster': not found (available: check-in, settlement-data-needs)",
        ),
        ("/followup add check-in", "--to: missing (all, completed, region:X, stakeholder:ID …)"),
        ("/followup cancel seven", "ID 'seven': use the number shown by list"),
        ("/followup cancel 7", "follow-up 7 does not exist"),
    ],
)
def test_bad_who_what_and_ids(handler: Handler, text: str, message: str) -> None:
    assert in_group(handler, text) == f"Nothing was scheduled. {message}"
    assert counts(handler.session_factory) == (0, 0)


def test_non_researchers_are_refused_and_nothing_is_scheduled(handler: Handler) -> None:
    for text in ("/followup add check-in all 2027-01-15 10:00", "/followup list", "/help"):
        said = in_group(handler, text, sender=OTHER)
        assert said == "Sorry, only members of the research team can use that command."
    assert counts(handler.session_factory) == (0, 0)


def test_slack_command_is_answered_to_its_author_with_slack_words(handler: Handler) -> None:
    def command(text: str, user: str) -> tuple[type, str]:
        event = InboundEvent(
            platform="slack",
            event_id=f"command:{next(_ids)}",
            sender=user,
            address=f"C0RESEARCH/{user}",
            input=Reply(f"/{text}"),
            group=True,
            command=True,
        )
        [outbox_id] = handler.handle(event).outbox_ids
        with UnitOfWork(handler.session_factory) as uow:
            message = message_from_dict(uow.session.get_one(OutboxRow, outbox_id).payload)
        return type(message), str(message.__dict__["text"])

    kind, said = command("followup add check-in org_type:university 2027-03-02 13:00", "U0LEAD001")
    assert kind is Notice  # ephemeral: only the researcher sees it
    assert said.endswith("first sends: 1, 2027-03-02 13:00 America/Toronto")
    _, usage = command("followup", "U0LEAD001")
    assert usage.startswith("Usage: /parley followup add <questionnaire> <who> <when>")
    _, refused = command("followup cancel 1", "U0EVE0001")
    assert refused == "Sorry, only members of the research team can use that command."
    assert counts(handler.session_factory) == (1, 1)


def test_help_lists_the_commands_as_typed_here(handler: Handler) -> None:
    said = in_group(handler, "/help")
    assert said.startswith("Researcher commands (times in America/Toronto):\n/status")
    assert "/followup add <questionnaire> <who> <when>" in said
    assert "/followup list · /followup cancel ID" in said
    unknown = in_group(handler, "/reschedule")
    assert unknown.startswith("Unknown command. Researcher commands: /status, /invite")
    assert "/help" in unknown


@pytest.mark.parametrize(
    ("text", "schedules"),
    [
        ("/followup add check-in all tomorrow 10:00", True),
        ("/followup@ParleyBot cancel 3", True),
        ("/followup list", False),
        ("/group create x", True),
        ("/group poll confirm 1 2", True),
        ("/group rsvps 1", False),
        ("/status", False),
        ("hello", False),
    ],
)
def test_which_commands_may_have_scheduled_something(text: str, schedules: bool) -> None:
    assert scheduling_command(text) is schedules


def test_a_command_gets_its_jobs_right_after_the_commit(database_url: str) -> None:
    """In `parley run`, a chat-created send has its APScheduler job without waiting for the
    next sweep (15 minutes)."""
    group = "-100777"  # not GROUP: a module constant of that name is redefined below
    settings = Settings(
        database_url=database_url,
        telegram_token=SecretStr("1:fake"),  # its platform must be set up (#6)
        research_channel=f"telegram:{group}",
        researchers=f"telegram:{LEAD}",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = build(settings)
    with UnitOfWork(app.session_factory) as uow:
        import_roster(uow.session, read_roster(EXAMPLES / "roster.csv", ("en", "fr")), NOW)
        uow.commit()
    assert app.scheduler is not None
    scheduler = app.scheduler

    async def go() -> set[str]:
        await scheduler.start(sweep_now=False)
        processing = asyncio.create_task(app.processor.run())
        try:
            event = InboundEvent(
                platform="telegram",
                event_id="job-1",
                sender=LEAD,
                address=group,
                input=Reply("/followup add check-in region:bc 2099-01-15 10:00"),
                group=True,
            )
            await app.submit(event)
            for _ in range(250):  # bounded: the job is added by a task after the commit
                jobs = {job.id for job in scheduler.aps.get_jobs()}
                if any(job.startswith("followup:") for job in jobs):
                    return jobs
                await asyncio.sleep(0.02)
            return {job.id for job in scheduler.aps.get_jobs()}
        finally:
            processing.cancel()
            scheduler.shutdown()

    try:
        jobs = asyncio.run(go())
    finally:
        app.processor.close()
        app.dispatcher.close()
        app.engine.dispose()
    with UnitOfWork(app.session_factory) as uow:
        send = uow.session.scalars(select(ScheduledSend)).one()
    assert f"followup:{send.id}" in jobs


# ----------------------------------------------------------------- discussion groups


def group_counts(factory: Factory) -> tuple[int, int, int]:
    """(groups, polls, scheduled sends) stored."""
    with UnitOfWork(factory) as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(DiscussionGroup)) or 0,
            uow.session.scalar(select(func.count()).select_from(SchedulingPoll)) or 0,
            uow.session.scalar(select(func.count()).select_from(ScheduledSend)) or 0,
        )


def test_group_create_list_rsvps_reschedule_cancel(handler: Handler) -> None:
    created = in_group(
        handler,
        '/group create "Data futures" 2027-02-03 14:00 --where https://meet.example/x '
        "--to region:ns --capacity 8",
    )
    assert created.splitlines() == [
        "group 1 created: “Data futures” 2027-02-03 14:00 America/Toronto, 60 min, "
        "at https://meet.example/x, capacity 8, 1 invited",
        "invitations queued for 1; reminders at T-24h and T-1h",
    ]
    with UnitOfWork(handler.session_factory) as uow:
        stored = uow.session.scalars(select(DiscussionGroup)).one()
        assert (stored.created_by, stored.time_zone) == ("telegram:11", "America/Toronto")
    listed = in_group(handler, "/group list --zone America/Halifax")
    assert listed.startswith("1 · Data futures · 2027-02-03 15:00 America/Halifax · 60 min")
    rsvps = in_group(handler, "/group rsvps 1")
    assert rsvps.splitlines()[1:] == ["11 · Kwame Mensah · none"]
    moved = in_group(handler, "/group reschedule 1 2027-02-10 15:30 --duration 90")
    assert moved.splitlines()[0].startswith(
        "group 1 rescheduled: “Data futures” 2027-02-10 15:30 America/Toronto, 90 min"
    )
    cancelled = in_group(handler, "/group cancel 1")
    assert cancelled.splitlines()[1] == "1 invitee(s) who had not declined were told"


def test_find_a_time_poll_in_chat_and_slack_people_as_invitees(handler: Handler) -> None:
    made = in_group(
        handler,
        "/group poll create “Data futures” 2027-02-03 14:00 | 2027-02-04 10:00 "
        '--where "Room 4" --to <@U0RZP2058>,<@U0CLB9164|farah>',
    )
    assert made.splitlines() == [
        "poll 1: “Data futures”, 2 invited, slots:",
        "  1. 2027-02-03 14:00 America/Toronto",
        "  2. 2027-02-04 10:00 America/Toronto",
    ]
    results = in_group(handler, "/group poll results 1")
    assert results.splitlines()[0] == "poll 1: “Data futures” (open), 0 of 2 answered"
    confirmed = in_group(handler, "/group poll confirm 1 2")
    assert confirmed.startswith("group 1 created: “Data futures” 2027-02-04 10:00 America/Toronto")
    assert group_counts(handler.session_factory)[:2] == (1, 1)
    as_in_the_cli = in_group(
        handler,
        '/group poll create --title Retro --slot "2027-03-01 09:00" --slot "2027-03-02 09:00" '
        "--slot 2027-03-03T09:00 --duration 90m --where Zoom --to all",
    )
    assert as_in_the_cli.splitlines()[0] == "poll 2: “Retro”, 4 invited, slots:"


GROUP = '/group create "Data futures" {start} --where "Room 4" --to {to}{extra}'
BAD_GROUPS = [
    ({"start": "2020-02-03 14:00"}, "start: 2020-02-03 14:00 America/Toronto is in the past"),
    (
        {"extra": " --zone Mars/Base"},
        "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
    ),
    (
        {"start": "2026-11-01 01:30"},
        "start: 2026-11-01 01:30 is ambiguous in America/Toronto "
        "(it happens twice: UTC-04:00 and UTC-05:00); choose another time",
    ),
    ({"extra": " --end 13:00"}, "end: 13:00 is not after the start"),
    ({"extra": " --duration 0"}, "duration: must be longer than 0 minutes (not '0')"),
    ({"to": "region:QC"}, "to: 'region:QC' matches nobody who can be reached"),
    ({"to": "<@U0NOBODY1>"}, "to: <@U0NOBODY1> is not a stakeholder (not on the roster)"),
    ({"extra": " --capacity lots"}, "capacity: 'lots' is not a whole number"),
    ({"extra": " --capacity 0"}, "capacity: at least 1 (not 0); leave it out for no limit"),
    ({"start": ""}, "start: missing (e.g. 2027-02-03 14:00)"),
]


@pytest.mark.parametrize(("parts", "message"), BAD_GROUPS)
def test_bad_group_input_says_the_field_and_schedules_nothing(
    handler: Handler, parts: dict[str, str], message: str
) -> None:
    text = GROUP.format(**{"start": "2027-02-03 14:00", "to": "all", "extra": "", **parts})
    assert in_group(handler, text) == f"Nothing was scheduled. {message}"
    assert group_counts(handler.session_factory) == (0, 0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('/group create "Data futures" 2027-02-03 14:00 --to all', "where: missing (e.g. "),
        ('/group create "Data futures" 2027-02-03 14:00 --where x', "to: missing (e.g. "),
        ('/group create "  " 2027-02-03 14:00 --where x --to all', "title: missing"),
        ("/group poll create T 2027-02-03 14:00 --where x --to all", "slot: offer 2 to 6 times"),
        (
            "/group poll create T 2027-02-03 14:00 | 2027-02-03 14:00 --where x --to all",
            "slot: the same time is offered twice",
        ),
        ("/group poll confirm 1", "slot: give one slot number from poll results"),
        ("/group poll vote 1", "poll: use poll create, poll results or poll confirm"),
        ("/group cancel 9", "group 9 does not exist"),
        ("/group reschedule 9 2027-02-10 14:00", "group 9 does not exist"),
        ("/group rsvps", "ID: give one number, e.g. rsvps 3"),
    ],
)
def test_bad_group_commands(handler: Handler, text: str, message: str) -> None:
    said = in_group(handler, text)
    assert said.startswith(f"Nothing was scheduled. {message}"), said
    assert group_counts(handler.session_factory) == (0, 0, 0)


def test_group_usage_and_refusal(handler: Handler) -> None:
    assert in_group(handler, "/group").startswith('Usage: /group create "<title>" <start>')
    refused = in_group(handler, '/group create "X" 2027-02-03 14:00 --where x --to all', OTHER)
    assert refused == "Sorry, only members of the research team can use that command."
    assert group_counts(handler.session_factory) == (0, 0, 0)
    assert "/group poll create" in in_group(handler, "/help")
