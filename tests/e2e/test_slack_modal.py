"""End to end on Slack: the discussion-group modal and `/parley followup add`, through the
real `parley run` (real slack-bolt) and the loopback `FakeSlack`.

The modal is opened with the slash command's trigger, submitted with missing fields (Slack
shows the errors under them and the modal stays open, nothing is stored), then submitted
complete (the modal closes, the group is stored, the researcher reads the confirmation).
Every wait is bounded; the subprocess is always ended.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.telegram_support import free_port
from tests.e2e.test_slack import WAIT, run_cli, running, slack_env
from tests.fakes.slack_api import FakeSlack

ROSTER = str(Path(__file__).parents[2] / "examples" / "roster.csv")
LEAD = "U0LEAD001"
RESEARCH = "C0RESEARCH"
KWAME, FARAH = "U0RZP2058", "U0CLB9164"  # on the example roster, with their Slack ids


def stored(sqlite_url: str, query: str) -> list[tuple[object, ...]]:
    database = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        return database.execute(query).fetchall()
    finally:
        database.close()


def test_group_modal_errors_then_created_and_followup_add(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        lead = slack.user(LEAD, name="lead")
        eve = slack.user("U0EVE0001", name="eve")
        for user, name in ((KWAME, "kwame"), (FARAH, "farah")):
            slack.user(user, name=name)
        slack.channel(RESEARCH, name="research", members=[LEAD, "U0EVE0001"])
        env = slack_env(
            sqlite_url,
            slack,
            port,
            PARLEY_RESEARCHERS=f"slack:{LEAD}",
            PARLEY_OPEN_ENROLLMENT="false",
        )
        run_cli(["roster", "import", ROSTER], env, tmp_path)
        with running(env, tmp_path, port):
            eve.command("/parley", "group new", channel=RESEARCH).wait(WAIT)
            eve.wait_for_ephemeral(lambda e: "only members of the research team" in e.text, WAIT)
            assert eve.modal() is None and not slack.calls_for("views.open")

            lead.command("/parley", "group new", channel=RESEARCH).wait(WAIT)
            slack.wait_until(lead.modal, WAIT, "the group modal opened")
            modal = lead.modal()
            assert modal is not None and modal["title"]["text"] == "New discussion group"

            refused = lead.submit_view(
                {"title": "   ", "date": "2099-02-03", "time": "14:00", "where": "Room 4"}
            ).wait(WAIT)
            assert refused.response["response_action"] == "errors"
            assert refused.response["errors"] == {
                "title": "Give the session a title.",
                "invitees": "Pick people to invite, or type a cohort below.",
            }
            assert lead.modal() is not None, "the modal stays open to be corrected"
            past = lead.submit_view(
                {"title": "Data futures", "date": "2020-02-03", "time": "14:00",
                 "where": "Room 4", "cohort": "all"}
            ).wait(WAIT)  # fmt: skip
            assert past.response["errors"] == {
                "date": "2020-02-03 14:00 America/Toronto is in the past."
            }
            assert stored(sqlite_url, "select count(*) from discussion_groups") == [(0,)]

            lead.submit_view(
                {"title": "Data futures", "date": "2099-02-03", "time": "14:00",
                 "where": "https://meet.example/x", "capacity": "8",
                 "invitees": [KWAME, FARAH]}
            ).wait(WAIT)  # fmt: skip
            confirmation = lead.wait_for_ephemeral(lambda e: "group 1 created" in e.text, WAIT)
            assert confirmation.channel == RESEARCH
            assert "2099-02-03 14:00 America/Toronto, 60 min" in confirmation.text
            assert "capacity 8, 2 invited" in confirmation.text
            assert lead.modal() is None, "a valid submission closes the modal"
            assert stored(
                sqlite_url, "select title, capacity, created_by from discussion_groups"
            ) == [("Data futures", 8, f"slack:{LEAD}")]

            lead.command(
                "/parley", "followup add check-in region:ns 2099-01-15 10:00", channel=RESEARCH
            ).wait(WAIT)
            added = lead.wait_for_ephemeral(lambda e: "follow-up 1:" in e.text, WAIT)
            assert "first sends: 1, 2099-01-15 09:00 America/Toronto" in added.text
            assert stored(sqlite_url, "select count(*) from followups") == [(1,)]
