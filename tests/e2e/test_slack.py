"""End to end on Slack: the real `parley run` (real slack-bolt) against the loopback `FakeSlack`.

HTTP mode: the fake signs and POSTs events, interactivity and slash commands to Parley's
`/slack/events`, and records each ack's status and latency. Socket Mode: the fake hands out
a loopback WebSocket from `apps.connections.open`. Every wait is bounded; the subprocess is
always ended in a `finally`.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.support import label, parley_env
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


def question(user: FakeUser, item_id: str) -> SlackMessage:
    """The newest message asking `item_id` that still has its buttons."""
    text = label(item_id)
    return user.wait_for(lambda m: text in m.visible_text and "✓" not in m.visible_text, WAIT)


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
            question(alice, "respondent_role")
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
