"""End to end on Slack: the real `parley run` (real slack-bolt) against the loopback `FakeSlack`.

HTTP mode: the fake signs and POSTs events, interactivity and slash commands to Parley's
`/slack/events`, and records each ack's status and latency. Socket Mode: the fake hands out
a loopback WebSocket from `apps.connections.open`. Every wait is bounded; the subprocess is
always ended in a `finally`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.support import PARLEY, label, parley_env
from tests.e2e.telegram_support import ParleyBot, answer_counts, answers, free_port
from tests.fakes.slack_api import FakeSlack, FakeUser, SlackMessage

WAIT = 20.0
CONSENT_EN = "Do you agree to take part?"


def slack_env(database_url: str, slack: FakeSlack, port: int, **extra: str) -> dict[str, str]:
    env = parley_env(database_url)
    env.update(
        PARLEY_SLACK_BOT_TOKEN=slack.bot_token,
        PARLEY_SLACK_SIGNING_SECRET=slack.signing_secret,
        PARLEY_SLACK_API_URL=slack.api_url,
        PARLEY_HTTP_PORT=str(port),
        PARLEY_OPEN_ENROLLMENT="true",
        PARLEY_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@contextmanager
def running(
    env: dict[str, str], cwd: Path, port: int | None, number: int = 1
) -> Iterator[ParleyBot]:
    bot = ParleyBot(env, cwd, number)
    try:
        if port is not None:
            _wait_healthy(port, bot)
        yield bot
    finally:
        bot.stop()


def _wait_healthy(port: int, bot: ParleyBot) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert bot.alive(), bot.log()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"parley did not listen on {port}:\n{bot.log()}")


def question(user: FakeUser, item_id: str, after: str = "0") -> SlackMessage:
    """The first message asking `item_id` (posted after `after`) that is not yet answered."""
    text = label(item_id)

    def asking(m: SlackMessage) -> bool:
        return float(m.ts) > float(after) and text in m.visible_text and "✓" not in m.visible_text

    return user.wait_for(asking, WAIT)


def consented(user: FakeUser) -> None:
    user.say("hi")
    consent = user.wait_for(lambda m: CONSENT_EN in m.visible_text, WAIT)
    user.click("I agree", ts=consent.ts)


def test_http_mode_buttons_select_checkboxes_text_and_back(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        slack.interactivity_url = slack.commands_url = slack.request_url
        alice = slack.user("U0ALICE01", name="alice", real_name="Alice Tremblay")
        with running(slack_env(sqlite_url, slack, port), tmp_path, port) as bot:
            consented(alice)
            first = question(alice, "org_type")
            alice.select("Municipality", ts=first.ts)  # 6 choices: a select menu
            province = question(alice, "province")
            answered = next(m for m in alice.messages() if m.ts == first.ts)
            assert "✓ *Municipality*" in answered.visible_text and not answered.options()
            alice.select("Ontario", ts=province.ts)
            question(alice, "respondent_role")
            alice.say("back")
            again = alice.wait_for(lambda m: "Your current answer: Ontario" in m.visible_text, WAIT)
            alice.select("Quebec", ts=again.ts)
            question(alice, "respondent_role", after=again.ts)
            stored = {item: value for _, item, value, _ in answers(sqlite_url)}
            assert stored == {"org_type": "municipality", "province": "qc"}
            assert all(n == 1 for n in answer_counts(sqlite_url).values())
            assert all(d.status == 200 for d in slack.deliveries), bot.log()
            assert max(d.elapsed for d in slack.deliveries) < 3.0


def test_checkboxes_text_scale_skip_and_a_stale_button(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        bob = slack.user("U0BOB0001", name="bob")
        with running(slack_env(sqlite_url, slack, port), tmp_path, port):
            consented(bob)
            bob.select("Municipality", ts=question(bob, "org_type").ts)
            province = question(bob, "province")
            bob.say("back")  # the province question keeps its menu: a later pick there is stale
            again = bob.wait_for(
                lambda m: "Your current answer: Municipality" in m.visible_text, WAIT
            )
            bob.select("Ontario", ts=province.ts)
            bob.wait_for_ephemeral(lambda e: "already been answered" in e.text, WAIT)
            assert [item for _, item, _, _ in answers(sqlite_url)] == ["org_type"]
            bob.select("Municipality", ts=again.ts)
            bob.select("Ontario", ts=question(bob, "province").ts)
            bob.click("Program or service manager", ts=question(bob, "respondent_role").ts)
            for typed, item in (("40", "data_staff"), ("4", "data_fte"), ("2.5", "annual_budget")):
                bob.say(typed)
                question(bob, item)
            bob.click("Prefer not to say", ts=question(bob, "annual_budget").ts)
            bob.click("5", ts=question(bob, "data_importance").ts)
            uses = question(bob, "data_uses")
            bob.check(
                ["Planning programs and services", "Funding applications and reports"], ts=uses.ts
            )
            bob.click("Done", ts=uses.ts)
            question(bob, "data_capacity")
            got = {item: (value, state) for _, item, value, state in answers(sqlite_url)}
            assert got["data_uses"] == (["program_planning", "funding"], "answered"), got
            assert got["annual_budget"] == (None, "skipped")
            assert got["data_importance"] == (5, "answered")
            assert got["data_fte"] == (2.5, "answered")
            assert all(n == 1 for n in answer_counts(sqlite_url).values())


def test_signatures_retries_and_duplicates(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        cleo = slack.user("U0CLEO001", name="cleo")
        with running(slack_env(sqlite_url, slack, port), tmp_path, port):
            consented(cleo)
            for choice, item in (("Municipality", "org_type"), ("Ontario", "province")):
                cleo.select(choice, ts=question(cleo, item).ts)
            cleo.click("Program or service manager", ts=question(cleo, "respondent_role").ts)
            typed = cleo.say("40")
            question(cleo, "data_staff")
            event = slack.event_envelope(
                {"type": "message", "channel_type": "im", "channel": cleo.dm(), "user": cleo.id,
                 "text": "41", "ts": "1764165600.000200"}
            )  # fmt: skip
            body = json.dumps(event)
            forged = {"Content-Type": "application/json", **slack.sign(body)}
            forged["X-Slack-Signature"] = "v0=" + "0" * 64
            assert slack.post_raw(body, forged).status == 401
            stale = {"Content-Type": "application/json", **slack.sign(body, int(time.time()) - 600)}
            assert slack.post_raw(body, stale).status == 401
            assert typed.event_id is not None
            assert slack.redeliver(typed.event_id).wait(WAIT).status == 200
            assert slack.redeliver(typed.event_id, retry_num=1).wait(WAIT).status == 200
            cleo.say("4")
            question(cleo, "data_fte")
            got = {item: value for _, item, value, _ in answers(sqlite_url)}
            assert got["total_staff"] == 40 and got["data_staff"] == 4
            assert all(n == 1 for n in answer_counts(sqlite_url).values())
            asked = [m for m in cleo.messages() if label("data_staff") in m.visible_text]
            assert len(asked) == 1, "a redelivered answer is not answered twice"


def test_acks_stay_fast_while_the_database_is_busy(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        dana = slack.user("U0DANA001", name="dana")
        with running(slack_env(sqlite_url, slack, port), tmp_path, port):
            consented(dana)
            first = question(dana, "org_type")
            database = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=10)
            try:
                database.execute("BEGIN EXCLUSIVE")  # the bot's writes must wait ~3.5 s
                started = time.monotonic()
                delivery = dana.select("Municipality", ts=first.ts).wait(WAIT)
                assert delivery.status == 200 and delivery.elapsed < 1.0
                time.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
            finally:
                database.rollback()
                database.close()
            question(dana, "province")
            assert [item for _, item, _, _ in answers(sqlite_url)] == ["org_type"]


def test_researchers_use_parley_others_are_refused(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        lead = slack.user("U0LEAD001", name="lead")
        eve = slack.user("U0EVE0001", name="eve")
        newcomer = slack.user("U0NEW0001", name="newcomer")
        env = slack_env(sqlite_url, slack, port, PARLEY_RESEARCHERS="slack:U0LEAD001")
        with running(env, tmp_path, port):
            eve.command("/parley", "status").wait(WAIT)
            eve.wait_for_ephemeral(lambda e: "only members of the research team" in e.text, WAIT)
            eve.command("/parley", f"invite <@{newcomer.id}|newcomer>").wait(WAIT)
            lead.command("/parley", "status").wait(WAIT)
            lead.wait_for_ephemeral(lambda e: "0 invited" in e.text or "invited" in e.text, WAIT)
            assert not newcomer.messages(), "a refused invite sends nothing"
            lead.command("/parley", f"invite <@{newcomer.id}|newcomer>").wait(WAIT)
            lead.wait_for_ephemeral(lambda e: "U0NEW0001" in e.text, WAIT)
            newcomer.wait_for(lambda m: CONSENT_EN in m.visible_text, WAIT)
            newcomer.open_home().wait(WAIT)
            slack.wait_until(lambda: newcomer.home(), WAIT, "the home tab published")
            home = newcomer.home()
            assert home is not None and "Continue" in json.dumps(home)
            newcomer.click("Continue", surface="home").wait(WAIT)
            newcomer.wait_for(lambda m: "Welcome to" in m.visible_text, WAIT)


def test_invitation_only_without_open_enrollment(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        stranger = slack.user("U0STRANGE", name="stranger")
        env = slack_env(sqlite_url, slack, port, PARLEY_OPEN_ENROLLMENT="false")
        with running(env, tmp_path, port):
            stranger.say("hi")
            stranger.wait_for(lambda m: "by invitation only" in m.visible_text, WAIT)
            assert not any(CONSENT_EN in m.visible_text for m in stranger.messages())


def test_socket_mode_and_a_429_storm(tmp_path: Path, sqlite_url: str) -> None:
    with FakeSlack() as slack:
        finn = slack.user("U0FINN001", name="finn")
        env = slack_env(sqlite_url, slack, free_port(), PARLEY_SLACK_APP_TOKEN=slack.app_token)
        with running(env, tmp_path, None) as bot:
            slack.wait_until(lambda: slack.socket_connections, WAIT, "a socket connection")
            finn.say("hi")
            consent = finn.wait_for(lambda m: CONSENT_EN in m.visible_text, WAIT)
            slack.fail_next(3, status=429, retry_after=1)
            finn.click("I agree", ts=consent.ts)
            question(finn, "org_type")
            texts = [m.visible_text for m in finn.messages()]
            assert len([t for t in texts if t.startswith("Section 1")]) == 1, texts
            assert all(d.transport == "socket" and d.status == 200 for d in slack.deliveries)
            assert bot.alive()


def test_unknown_and_malformed_requests_are_acked_and_change_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        gil = slack.user("U0GIL0001", name="gil")
        with running(slack_env(sqlite_url, slack, port), tmp_path, port) as bot:
            assert (
                slack.send_event({"type": "reaction_added", "user": gil.id}).wait(WAIT).status
                == 200
            )
            button = {"type": "button", "action_id": "nope", "value": "???"}
            junk = {"type": "block_actions", "user": {"id": gil.id}, "actions": [button]}
            assert slack.send_interactive(junk).wait(WAIT).status == 200
            body = "{not json"
            response = slack.post_raw(
                body, {"Content-Type": "application/json", **slack.sign(body)}
            )
            assert response.status < 500
            assert answers(sqlite_url) == [] and bot.alive()
            consented(gil)
            question(gil, "org_type")


def test_kill_9_then_continue_in_the_same_dm(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    with FakeSlack(retry_backoff=(1.0, 2.0, 4.0)) as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        hana = slack.user("U0HANA001", name="hana")
        env = slack_env(sqlite_url, slack, port)
        with running(env, tmp_path, port) as bot:
            consented(hana)
            hana.select("Municipality", ts=question(hana, "org_type").ts)
            province = question(hana, "province")
            bot.kill9()
        assert [item for _, item, _, _ in answers(sqlite_url)] == ["org_type"]
        with running(env, tmp_path, port, number=2):
            hana.select("Ontario", ts=province.ts)
            hana.click("Program or service manager", ts=question(hana, "respondent_role").ts)
            question(hana, "total_staff")
        got = {item: value for _, item, value, _ in answers(sqlite_url)}
        assert got == {"org_type": "municipality", "province": "on", "respondent_role": "manager"}
        assert all(n == 1 for n in answer_counts(sqlite_url).values())


def test_cli_invites_the_roster_on_slack_by_id_and_by_email(
    tmp_path: Path, sqlite_url: str
) -> None:
    port = free_port()
    with FakeSlack() as slack:
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        priya = slack.user("U0HKT4821", name="priya")  # the roster's Slack id
        daniel = slack.user("U0DANIEL1", name="daniel", email="dokafor@example.org")  # by e-mail
        env = slack_env(sqlite_url, slack, port, PARLEY_OPEN_ENROLLMENT="false")
        roster = str(Path(__file__).parents[2] / "examples" / "roster.csv")
        run_cli(["roster", "import", roster], env, tmp_path)
        printed = run_cli(["invite", "--channel", "slack"], env, tmp_path)
        assert "Priya Nandakumar: invited on Slack (U0HKT4821)" in printed
        assert "Daniel Okafor: invited on Slack (U0DANIEL1)" in printed
        assert "not on Slack" in printed
        assert "already invited" in run_cli(["invite", "--channel", "slack"], env, tmp_path)
        with running(env, tmp_path, port):
            consent = priya.wait_for(lambda m: CONSENT_EN in m.visible_text, WAIT)
            daniel.wait_for(lambda m: CONSENT_EN in m.visible_text, WAIT)
            priya.click("I agree", ts=consent.ts)
            question(priya, "org_type")


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(PARLEY), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
