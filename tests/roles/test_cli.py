"""`parley role …`, `parley audit` and the audit rows of every CLI action (CliRunner),
and `PARLEY_RESEARCHERS` seeded when Parley starts; SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import ConfigurationError, build
from bot.cli import app
from bot.settings import Settings
from storage import UnitOfWork, audit, ensure_schema, make_engine, make_session_factory
from storage import roles as stored
from tests.fakes.telegram_api import FakeTelegram
from tests.roles.support import EXAMPLES

ME = f"cli:{getpass.getuser()}"
CHECK_IN = str(EXAMPLES / "check-in.yaml")
GROUP = ("--where", "https://meet.example.org/abc", "--to", "all")


@pytest.fixture
def runner(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    monkeypatch.setenv("PARLEY_DATABASE_URL", database_url)
    monkeypatch.setenv("PARLEY_QUESTIONNAIRE", str(EXAMPLES / "settlement-data-needs.yaml"))
    monkeypatch.setenv("PARLEY_RESEARCHER_TIME_ZONE", "America/Toronto")
    for name in ("PARLEY_RESEARCHERS", "PARLEY_RESEARCH_CHANNEL", "PARLEY_TELEGRAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def parley(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def logged(database_url: str) -> list[tuple[str, str, str, dict[str, object]]]:
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)  # a refused command may not have touched the database
        with UnitOfWork(make_session_factory(engine)) as uow:
            return [(r.actor, r.channel, r.action, r.details) for r in audit.entries(uow.session)]
    finally:
        engine.dispose()


def test_grant_list_revoke(runner: CliRunner, database_url: str) -> None:
    assert parley(runner, "role", "grant", "slack:U0123ABC", "researcher")[1] == (
        "slack:U0123ABC: researcher granted\n"
    )
    assert parley(runner, "role", "grant", "slack:U0123ABC", "researcher")[1] == (
        "slack:U0123ABC: researcher already held\n"
    )
    assert parley(runner, "role", "grant", "telegram:42", "ADMIN")[0] == 0
    code, out, _ = parley(runner, "role", "list")
    assert code == 0
    rows = [line for line in out.splitlines() if "│" in line]  # the header has ┃
    assert [[c.strip() for c in r.split("│")[1:5]] for r in rows] == [
        ["slack:U0123ABC", "researcher", "cli", ME],
        ["telegram:42", "admin", "cli", ME],
    ]
    assert (
        parley(runner, "role", "revoke", "telegram:42", "admin")[1]
        == "telegram:42: admin revoked\n"
    )
    assert parley(runner, "role", "revoke", "telegram:42", "admin")[1] == (
        "telegram:42: admin was not held\n"
    )
    assert logged(database_url) == [
        (ME, "cli", "role.grant", {"identity": "slack:U0123ABC", "role": "researcher"}),
        (ME, "cli", "role.grant", {"identity": "telegram:42", "role": "admin"}),
        (ME, "cli", "role.revoke", {"identity": "telegram:42", "role": "admin"}),
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("grant", "U0123ABC", "researcher"),
            "IDENTITY 'U0123ABC': use slack:<user id> (e.g. slack:U0123ABC) "
            "or telegram:<user id> (e.g. telegram:123456789)",
        ),
        (
            ("grant", "telegram:ann", "researcher"),
            "IDENTITY 'telegram:ann': use slack:<user id> (e.g. slack:U0123ABC) "
            "or telegram:<user id> (e.g. telegram:123456789)",
        ),
        (("grant", "slack:U0123ABC", "boss"), "ROLE 'boss': use researcher or admin"),
        (("revoke", "slack:U0123ABC", "owner"), "ROLE 'owner': use researcher or admin"),
        (
            ("list", "--zone", "Mars/Base"),
            "--zone: unknown time zone 'Mars/Base' (use e.g. America/Toronto)",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    runner: CliRunner, database_url: str, args: tuple[str, ...], line: str
) -> None:
    code, out, err = parley(runner, "role", *args)
    assert (code, out, err) == (2, "", f"{line}\n")
    assert logged(database_url) == []


def test_revoking_someone_the_setting_seeds_warns(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_RESEARCHERS", "slack:U0LEAD001")
    parley(runner, "role", "grant", "slack:U0LEAD001", "researcher")
    code, out, err = parley(runner, "role", "revoke", "slack:U0LEAD001", "researcher")
    assert code == 0 and out == "slack:U0LEAD001: researcher revoked\n"
    assert err == (
        "warning: slack:U0LEAD001 is in PARLEY_RESEARCHERS: the next start grants it again; "
        "remove it there too\n"
    )


def settings(database_url: str, researchers: str) -> Settings:
    return Settings(
        database_url=database_url,
        questionnaire=EXAMPLES / "settlement-data-needs.yaml",
        researchers=researchers,
        scheduler=False,
        _env_file=None,  # type: ignore[call-arg]
    )


def test_parley_researchers_are_seeded_at_start_and_cli_grants_survive(
    runner: CliRunner, database_url: str
) -> None:
    parley(runner, "role", "grant", "telegram:99", "researcher")
    for _ in range(2):  # two starts: the second adds nothing
        parley_app = build(settings(database_url, " telegram:11 , slack:U0LEAD001"))
        parley_app.engine.dispose()
    parley_app = build(settings(database_url, "telegram:11"))  # U0LEAD001 taken out
    with UnitOfWork(parley_app.session_factory) as uow:
        held = [(g.platform, g.external_id, g.source) for g in stored.grants(uow.session)]
    parley_app.engine.dispose()
    assert held == [
        ("slack", "U0LEAD001", "settings"),  # kept: seeding never removes
        ("telegram", "11", "settings"),
        ("telegram", "99", "cli"),
    ]
    assert [(a, c, x) for a, c, x, _ in logged(database_url)] == [
        (ME, "cli", "role.grant"),
        ("settings:PARLEY_RESEARCHERS", "settings", "role.grant"),
        ("settings:PARLEY_RESEARCHERS", "settings", "role.grant"),
    ]


def test_a_malformed_parley_researchers_stops_start_up(database_url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        build(settings(database_url, "telegram:11,U0LEAD001"))
    assert str(raised.value) == (
        "PARLEY_RESEARCHERS 'U0LEAD001': use slack:<user id> (e.g. slack:U0123ABC) "
        "or telegram:<user id> (e.g. telegram:123456789)"
    )


def test_every_cli_action_is_audited_and_listed(
    runner: CliRunner, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parley(runner, "roster", "import", str(EXAMPLES / "roster.csv"))[0] == 0
    steps = [
        ("followup", "add", "--questionnaire", CHECK_IN, "--to", "all", "--at", "2099-01-15 10:00"),
        ("followup", "cancel", "1"),
        (
            "group",
            "create",
            "--title",
            "Round 1",
            "--start",
            "2099-01-15 10:00",
            "--duration",
            "60",
            *GROUP,
        ),
        ("group", "reschedule", "1", "--start", "2099-01-16 14:00"),
        ("group", "cancel", "1"),
        (
            "group",
            "poll",
            "create",
            "--title",
            "R2",
            "--slot",
            "2099-02-01 10:00",
            "--slot",
            "2099-02-02 10:00",
            "--duration",
            "60",
            *GROUP,
        ),
        ("group", "poll", "confirm", "1", "2"),
        ("digest", "--post"),
        ("export", "--questionnaire", "settlement-data-needs", "-o", str(tmp_path / "answers.csv")),
        ("role", "grant", "slack:U0123ABC", "admin"),
    ]
    refused = [  # bad input: exit 2 and no row
        ("group", "create", "--title", "R", "--start", "2020-01-15 10:00", *GROUP),
        ("followup", "cancel", "99"),
        ("group", "poll", "confirm", "1", "1"),  # already confirmed
    ]
    for step in steps:
        code, out, err = parley(runner, *step)
        assert code == 0, (step, out, err)
    for step in refused:
        assert parley(runner, *step)[0] == 2, step
    with FakeTelegram() as telegram:
        monkeypatch.setenv("PARLEY_TELEGRAM_TOKEN", telegram.token)
        monkeypatch.setenv("PARLEY_TELEGRAM_API_URL", telegram.api_root)
        assert parley(runner, "invite", "--output", str(tmp_path / "inv.csv"))[0] == 0

    rows = logged(database_url)
    assert [(actor, channel) for actor, channel, _, _ in rows] == [(ME, "cli")] * 11
    actions = {action: details for _, _, action, details in rows}
    assert list(actions) == [
        "followup.add",
        "followup.cancel",
        "group.create",
        "group.reschedule",
        "group.cancel",
        "group.poll.create",
        "group.poll.confirm",
        "digest.post",
        "export",
        "role.grant",
        "invite",
    ]
    assert actions["followup.add"] == {
        "followup": 1,
        "questionnaire": "check-in v1",
        "wave": "check-in",
        "to": "all",
        "schedule": "at 2099-01-15 10:00 in each stakeholder's time zone",
        "stakeholders": 4,
        "sends": 4,
    }
    assert actions["followup.cancel"] == {"followup": 1, "sends_cancelled": 4}
    assert actions["group.poll.confirm"]["poll"] == 1
    assert actions["group.poll.confirm"]["slot"] == 2
    assert actions["group.poll.confirm"]["group"] == 2
    assert actions["export"]["files"] == ["answers.csv", "answers_codebook.csv"]
    assert actions["invite"]["channel"] == "telegram"
    assert actions["invite"]["stakeholders"] == list(range(1, 16))  # ids, no names
    everything = str(rows)
    for name in ("Amina", "Kwame", "Farah", "@"):  # roster names, e-mails: never logged
        assert name not in everything

    code, out, _ = parley(runner, "audit", "--action", "group")
    assert code == 0
    cells = [line.split("│")[4].strip() for line in out.splitlines() if "│" in line]
    shown = [cell for cell in cells if cell]  # a wrapped details cell adds blank lines
    assert shown == [
        "group.create",
        "group.reschedule",
        "group.cancel",
        "group.poll.create",
        "group.poll.confirm",
    ]
    assert f"│ {ME}" in out and "│ cli " in out
    assert parley(runner, "audit", "--actor", "slack")[1] == "no audited actions match\n"
    assert parley(runner, "audit", "--since", "2099-01-01")[1] == "no audited actions match\n"
    since = parley(runner, "audit", "--since", "2020-01-01")[1]
    assert len(re.findall(r"^│ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", since, re.MULTILINE)) == 11

    assert parley(runner, "audit", "--since", "soon") == (
        2,
        "",
        "--since: 'soon' is not a date (use 2027-01-15 or 2027-01-15 09:30)\n",
    )
