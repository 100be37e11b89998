"""`parley followup …`: what a researcher sees, and bad input refused with one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import UnitOfWork, make_engine, make_session_factory, repository
from storage.migrate import ensure_schema

CHECK_IN = str(Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml")


@pytest.fixture
def runner(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        for name, zone in (("ann", "America/Halifax"), ("bob", "America/Vancouver")):
            row = repository.create_stakeholder(
                uow.session, name=name, language="en", time_zone=zone, region="NS"
            )
            repository.link_identity(uow.session, row.id, "console", name)
        uow.commit()
    engine.dispose()
    return CliRunner()


def add(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["followup", "add", "--questionnaire", CHECK_IN, *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_list_cancel(runner: CliRunner) -> None:
    code, out, _ = add(runner, "--to", "all", "--at", "2099-01-15 10:00")
    assert code == 0
    assert out.splitlines() == [
        "follow-up 1: check-in v1 (wave check-in) to all: 2 stakeholder(s), "
        "at 2099-01-15 10:00 in each stakeholder's time zone",
        "first sends: 2, 2099-01-15 09:00 America/Toronto to 2099-01-15 13:00 America/Toronto",
    ]
    listed = runner.invoke(app, ["followup", "list", "--zone", "America/Halifax"]).stdout
    assert "2 pending, next 2099-01-15 10:00 America/Halifax" in listed
    cancelled = runner.invoke(app, ["followup", "cancel", "1"])
    assert cancelled.stdout == "follow-up 1 cancelled: 2 pending sends will not be sent\n"
    assert runner.invoke(app, ["followup", "list"]).stdout == "no follow-ups scheduled\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--to", "all", "--at", "2020-01-15 10:00"],
            "--at: 2020-01-15 10:00 America/Toronto is in the past",
        ),
        (
            ["--to", "all", "--at", "2099-01-15 10:00", "--zone", "Mars/Base"],
            "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
        ),
        (
            ["--to", "all", "--at", "2026-11-01 01:30"],
            "--at: 2026-11-01 01:30 is ambiguous in America/Toronto "
            "(it happens twice: UTC-04:00 and UTC-05:00); choose another time",
        ),
        (
            [
                *("--to", "all", "--every", "every 2 weeks until 2099-01-01"),
                *("--starting", "2099-01-15 10:00"),
            ],
            "--every: the series ends on 2099-01-01, before it starts on 2099-01-15",
        ),
        (
            ["--to", "region:QC", "--at", "2099-01-15 10:00"],
            "--to region:QC: matches nobody who can be reached",
        ),
        (
            ["--to", "everyone", "--at", "2099-01-15 10:00"],
            "--to everyone: use all, stakeholder:ID, org_type:X, region:X, language:fr "
            "or completed",
        ),
        (
            ["--to", "all", "--at", "2099-01-15 10:00", "--after", "14 days after completed"],
            "give exactly one of --at, --every (with --starting) or --after",
        ),
    ],
)
def test_bad_input_is_one_line_and_schedules_nothing(
    runner: CliRunner, args: list[str], line: str
) -> None:
    code, out, err = add(runner, *args)
    assert (code, out, err) == (2, "", line + "\n")
    assert runner.invoke(app, ["followup", "list"]).stdout == "no follow-ups scheduled\n"


def test_a_reminders_continue_button_reopens_the_conversation() -> None:
    from bot.channels.telegram_format import parse_callback
    from conversations.inputs import Begin

    assert parse_callback("c|nudge|resume") == Begin()
