"""`parley group …` and `parley group poll …`: what a researcher sees, in their zone;
bad input refused with one line naming the option, exit 2, nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from storage import UnitOfWork, make_engine, make_session_factory, repository
from storage.migrate import ensure_schema
from storage.models import DiscussionGroup, ScheduledSend, SchedulingPoll


@pytest.fixture
def runner(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PARLEY_RESEARCHER_TIME_ZONE", "America/Toronto")
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        for name, zone in (("ann", "America/Halifax"), ("bob", "America/Vancouver")):
            row = repository.create_stakeholder(
                uow.session, name=name, language="en", time_zone=zone
            )
            repository.link_identity(uow.session, row.id, "console", name)
        uow.commit()
    engine.dispose()
    return CliRunner()


def parley(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


CREATE = (
    *("group", "create", "--title", "Round 1", "--start", "2099-01-15 10:00"),
    *("--duration", "1h30", "--where", "https://meet.example.org/abc", "--to", "all"),
)


def test_create_list_rsvps_reschedule_cancel(runner: CliRunner) -> None:
    code, out, _ = parley(runner, *CREATE, "--capacity", "8")
    assert code == 0
    assert out.splitlines() == [
        "group 1 created: “Round 1” 2099-01-15 10:00 America/Toronto, 90 min, "
        "at https://meet.example.org/abc, capacity 8, 2 invited",
        "invitations queued for 2; reminders at T-24h and T-1h",
    ]
    listed = parley(runner, "group", "list", "--zone", "America/Halifax")[1]
    assert listed == (
        "1\tRound 1\t2099-01-15 11:00 America/Halifax\t90 min\tscheduled\t"
        "0 yes, 0 maybe, 0 no, 0 waitlisted, 2 no answer\tcapacity 8\n"
    )
    rsvps = parley(runner, "group", "rsvps", "1")[1].splitlines()
    assert rsvps[1:] == ["1\tann\tnone", "2\tbob\tnone"]
    code, out, _ = parley(runner, "group", "reschedule", "1", "--start", "2099-01-16 14:00")
    assert code == 0 and out.startswith("group 1 rescheduled: “Round 1” 2099-01-16 14:00")
    assert out.splitlines()[1] == "2 invitee(s) who had not declined were told"
    code, out, _ = parley(runner, "group", "cancel", "1")
    assert code == 0 and out.startswith("group 1 cancelled:")
    assert parley(runner, "group", "list")[1] == "no discussion groups scheduled\n"


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            ("--start", "2020-01-15 10:00"),
            "--start: 2020-01-15 10:00 America/Toronto is in the past",
        ),
        (
            ("--zone", "Mars/Base"),
            "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
        ),
        (("--to", "region:QC"), "--to: 'region:QC' matches nobody who can be reached"),
        (("--capacity", "0"), "--capacity: at least 1 (not 0); leave it out for no limit"),
        (("--duration", "0"), "--duration: must be longer than 0 minutes (not '0')"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runner: CliRunner, sqlite_url: str, change: tuple[str, str], line: str
) -> None:
    args = list(CREATE)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    code, out, err = parley(runner, *args)
    assert (code, out, err) == (2, "", line + "\n")
    engine = make_engine(sqlite_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        for table in (DiscussionGroup, ScheduledSend):
            assert uow.session.scalar(select(func.count()).select_from(table)) == 0
    engine.dispose()


def test_unknown_group_or_poll(runner: CliRunner) -> None:
    assert parley(runner, "group", "cancel", "7")[::2] == (2, "group 7 does not exist\n")
    assert parley(runner, "group", "poll", "results", "3")[::2] == (2, "poll 3 does not exist\n")


def test_poll_create_results_confirm(runner: CliRunner, sqlite_url: str) -> None:
    code, out, _ = parley(
        runner,
        *("group", "poll", "create", "--title", "Round 2", "--duration", "60"),
        *("--slot", "2099-02-01 10:00", "--slot", "2099-02-02 15:30"),
        *("--where", "Room 4", "--to", "ann,bob"),
    )
    assert code == 0
    assert out.splitlines() == [
        "poll 1: “Round 2”, 2 invited, slots:",
        "  1. 2099-02-01 10:00 America/Toronto",
        "  2. 2099-02-02 15:30 America/Toronto",
    ]
    results = parley(runner, "group", "poll", "results", "1", "--zone", "America/Vancouver")[1]
    assert results.splitlines() == [
        "poll 1: “Round 2” (open), 0 of 2 answered",
        "  1. slot 1 2099-02-01 07:00 America/Vancouver: 0 vote(s) (0 yes, 0 if need be)",
        "  2. slot 2 2099-02-02 12:30 America/Vancouver: 0 vote(s) (0 yes, 0 if need be)",
    ]
    assert parley(runner, "group", "poll", "confirm", "1", "3")[::2] == (
        2,
        "--slot: poll 1 has slots 1-2\n",
    )
    code, out, _ = parley(runner, "group", "poll", "confirm", "1", "2")
    assert code == 0 and out.startswith("group 1 created: “Round 2” 2099-02-02 15:30")
    engine = make_engine(sqlite_url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        poll = uow.session.get(SchedulingPoll, 1)
        assert poll is not None and (poll.status, poll.group_id) == ("confirmed", 1)
    engine.dispose()
    single = parley(
        runner,
        *("group", "poll", "create", "--title", "x", "--duration", "60"),
        *("--slot", "2099-02-01 10:00", "--where", "Room 4", "--to", "all"),
    )
    assert single[::2] == (2, "--slot: offer 2 to 6 times (not 1)\n")
