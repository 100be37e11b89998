"""The loopback Slack fake, driven by the real slack_sdk and slack-bolt over HTTP and WebSocket.

Bolt apps run on their own event loop in a thread (`AppLoop`), the way `parley run` will
run in its own process, so the test body can block on the fake's bounded waits.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import FakeSlack, FakeUser, RateLimits
from tests.fakes.slack_blocks import validate_blocks, validate_view

T = TypeVar("T")

QUESTION = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Q1* Do you agree?"}},
    {
        "type": "actions",
        "block_id": "q1",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Yes"},
                "action_id": "answer_yes",
                "value": "yes",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "No"},
                "action_id": "answer_no",
                "value": "no",
            },
        ],
    },
]


def button(label: str, action_id: str, value: str = "v") -> dict[str, Any]:
    text = {"type": "plain_text", "text": label}
    return {"type": "button", "text": text, "action_id": action_id, "value": value}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def options(*labels: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": x}, "value": x.lower()} for x in labels]


class AppLoop:
    """An event loop in a thread for the app under test: bolt, its server, its sockets."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(retry_backoff=(0.01, 0.02, 0.05)) as fake:
        yield fake


@pytest.fixture
def alice(slack: FakeSlack) -> FakeUser:
    return slack.user(
        "U123", name="alice", real_name="Alice A", email="alice@example.org", locale="fr-CA"
    )


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url)


@pytest.fixture
def app_loop() -> Iterator[AppLoop]:
    loop = AppLoop()
    yield loop
    loop.close()


def make_app(fake: FakeSlack, **kwargs: Any) -> AsyncApp:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    return AsyncApp(client=client, signing_secret=fake.signing_secret, **kwargs)


@pytest.fixture
def bolt(slack: FakeSlack, app_loop: AppLoop) -> Iterator[AsyncApp]:
    """A real bolt AsyncApp served over HTTP on loopback; the fake's request_url."""

    async def start() -> tuple[AsyncApp, web.AppRunner, str]:
        app = make_app(slack)
        runner, url = await serve(app.web_app(path="/slack/events"))
        return app, runner, url

    app, runner, url = app_loop.run(start())
    slack.request_url = f"{url}/slack/events"
    yield app
    app_loop.run(runner.cleanup())


# --------------------------------------------------------------------------- Web API


def test_web_client_methods_behave_like_slack(
    slack: FakeSlack, alice: FakeUser, client: WebClient
) -> None:
    me = client.auth_test()
    assert (me["user_id"], me["team_id"], me["bot_id"]) == (
        "U0PARLEYBOT",
        "T0PARLEY01",
        "B0PARLEY01",
    )

    dm = client.conversations_open(users="U123")["channel"]["id"]
    assert dm == alice.dm() and dm.startswith("D")
    assert client.conversations_open(users="U123")["already_open"] is True

    posted = client.chat_postMessage(channel=dm, text="Q1 fallback", blocks=QUESTION)
    assert posted["channel"] == dm and posted["message"]["bot_id"] == "B0PARLEY01"
    later = client.chat_postMessage(channel="U123", text="to the user id lands in the DM")
    assert later["channel"] == dm and float(later["ts"]) > float(posted["ts"])
    assert [m.text for m in alice.messages()] == ["Q1 fallback", "to the user id lands in the DM"]
    assert alice.messages()[0].buttons == ["Yes", "No"]
    assert all(b["block_id"] for b in alice.messages()[0].blocks), "Slack fills in block ids"

    client.chat_update(channel=dm, ts=posted["ts"], text="Q1 answered", blocks=[section("Done")])
    first = alice.messages()[0]
    assert (first.text, first.visible_text, first.edits) == ("Q1 answered", "Done", 1)
    client.chat_delete(channel=dm, ts=later["ts"])
    assert len(alice.messages()) == 1

    eph = client.chat_postEphemeral(channel=dm, user="U123", text="only you")
    assert eph["message_ts"] and [e.text for e in alice.ephemerals()] == ["only you"]

    info = client.users_info(user="U123", include_locale=True)["user"]
    assert (info["name"], info["real_name"], info["locale"]) == ("alice", "Alice A", "fr-CA")
    assert "locale" not in client.users_info(user="U123")["user"]
    found = client.users_lookupByEmail(email="ALICE@example.org")["user"]
    assert found["id"] == "U123" and found["profile"]["email"] == "alice@example.org"

    home = {"type": "home", "blocks": [section("Your studies")]}
    published = client.views_publish(user_id="U123", view=home)["view"]
    assert alice.home() is not None and alice.home()["id"] == published["id"]

    assert [c.method for c in slack.calls][:2] == ["auth.test", "conversations.open"]
    assert all(c.token == slack.bot_token for c in slack.calls)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.chat_postMessage(channel="C404", text="x"), "channel_not_found"),
        (lambda c: c.chat_postMessage(channel="CQUIET", text="x"), "not_in_channel"),
        (lambda c: c.chat_postMessage(channel="U123"), "no_text"),
        (lambda c: c.users_info(user="U404"), "user_not_found"),
        (lambda c: c.users_lookupByEmail(email="nobody@x.org"), "users_not_found"),
        (lambda c: c.chat_update(channel="U123", ts="1.000100", text="x"), "channel_not_found"),
        (lambda c: c.views_open(trigger_id="123.456.abc", view={}), "invalid_trigger_id"),
        (lambda c: c.api_call("no.such.method"), "unknown_method"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_errors_are_slacks(
    slack: FakeSlack, alice: FakeUser, client: WebClient, call: Any, error: str
) -> None:
    slack.channel("CQUIET", "quiet", members=[alice], bot_member=False)
    with pytest.raises(SlackApiError) as caught:
        call(client)
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error


def test_dropped_connections_before_and_after_processing(slack: FakeSlack, alice: FakeUser) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    slack.drop_next(1)
    with pytest.raises(OSError):
        client.chat_postMessage(channel=alice.dm(), text="lost on the way in")
    assert alice.messages() == []
    slack.drop_after_processing(1)
    with pytest.raises(OSError):
        client.chat_postMessage(channel=alice.dm(), text="posted, reply lost")
    assert [m.text for m in alice.messages()] == ["posted, reply lost"]
    assert [(d.method, d.channel, d.after_processing) for d in slack.dropped] == [
        ("chat.postMessage", alice.dm(), False),
        ("chat.postMessage", alice.dm(), True),
    ]
    assert [c.error for c in slack.calls_for("chat.postMessage")] == ["dropped", "dropped"]


def test_tokens_are_checked(slack: FakeSlack, alice: FakeUser) -> None:
    def error_with(token: str | None) -> str:
        with pytest.raises(SlackApiError) as caught:
            WebClient(token=token, base_url=slack.api_url).chat_postMessage(
                channel=alice.dm(), text="x"
            )
        return str(caught.value.response["error"])

    assert error_with("xoxb-wrong") == "invalid_auth"
    assert error_with(None) == "not_authed"
    assert error_with(slack.app_token) == "not_allowed_token_type"
    bot = WebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        bot.apps_connections_open(app_token=slack.bot_token)
    assert bot.apps_connections_open(app_token=slack.app_token)["url"].startswith("ws://127.0.0.1")
    assert [v.kind for v in slack.violations] == ["bad_token"]


def test_async_web_client_and_files_upload_v2(slack: FakeSlack, alice: FakeUser) -> None:
    async def main() -> None:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        assert (await client.auth_test())["user_id"] == slack.bot_user_id
        found = await client.users_lookupByEmail(email="alice@example.org")
        assert found["user"]["id"] == "U123"
        dm = (await client.conversations_open(users="U123"))["channel"]["id"]
        posted = await client.chat_postMessage(channel=dm, text="hello", blocks=QUESTION)
        await client.chat_update(channel=dm, ts=posted["ts"], text="edited")
        await client.chat_postEphemeral(channel=dm, user="U123", text="psst")
        info = await client.users_info(user="U123", include_locale=True)
        assert info["user"]["locale"] == "fr-CA"
        await client.views_publish(user_id="U123", view={"type": "home", "blocks": QUESTION})
        done = await client.files_upload_v2(
            content=b"\x89PNG fake chart",
            filename="chart.png",
            title="Week 3",
            channel=dm,
            initial_comment="This week's answers",
        )
        assert done["file"]["title"] == "Week 3"

    asyncio.run(main())
    (uploaded,) = slack.files
    assert (uploaded.data, uploaded.mimetype, uploaded.channel) == (
        b"\x89PNG fake chart",
        "image/png",
        alice.dm(),
    )
    last = alice.messages()[-1]
    assert last.text == "This week's answers" and last.files[0]["id"] == uploaded.id
    assert alice.messages()[0].text == "edited" and alice.home() is not None


def test_sync_files_upload_v2_and_upload_checks(
    slack: FakeSlack, alice: FakeUser, client: WebClient
) -> None:
    result = client.files_upload_v2(content="a,b\n1,2\n", filename="answers.csv")
    assert result["file"]["name"] == "answers.csv" and result["file"]["size"] == 8
    assert slack.files[0].channel is None and alice.messages() == []
    announced = client.files_getUploadURLExternal(filename="x.png", length=10)
    with pytest.raises(SlackApiError, match="file_not_found"):
        client.files_completeUploadExternal(files=[{"id": announced["file_id"], "title": "x"}])
    assert [v.kind for v in slack.violations] == ["upload"]


def test_response_urls_channels_and_view_stacks(
    slack: FakeSlack, alice: FakeUser, client: WebClient
) -> None:
    """No app here: what users do stays pending, but its ids work against the Web API."""
    general = slack.channel("C0GENERAL", "general", members=[alice])
    assert client.chat_postMessage(channel="#general", text="hi all")["channel"] == "C0GENERAL"
    alice.say("hi bot", channel="C0GENERAL")
    theirs = general.messages(include_users=True)[-1]
    assert theirs.user == "U123" and [m.text for m in general.messages()] == ["hi all"]
    with pytest.raises(SlackApiError, match="cant_update_message"):
        client.chat_update(channel="C0GENERAL", ts=theirs.ts, text="edited by the bot")

    client.chat_postMessage(channel=alice.dm(), text="Q1", blocks=QUESTION)
    hook = WebhookClient(alice.click("answer_no").payload["response_url"])
    assert hook.send(text="just for you").status_code == 200
    assert hook.send(text="Q1 closed", replace_original=True).status_code == 200
    assert hook.send(text="for everyone", response_type="in_channel").status_code == 200
    assert [m.text for m in alice.messages()] == ["Q1 closed", "for everyone"]
    assert hook.send(delete_original=True).status_code == 200
    assert [m.text for m in alice.messages()] == ["for everyone"]
    assert hook.send(text="fifth use").status_code == 200
    assert hook.send(text="sixth use").status_code == 404, "a response_url is good 5 times"
    assert [(e.text, e.source) for e in alice.ephemerals()] == [
        ("just for you", "response_url"),
        ("fifth use", "response_url"),
    ]

    step = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Step 1"},
        "notify_on_close": True,
        "blocks": [{"type": "actions", "elements": [button("Next", "next")]}],
    }
    opened = client.views_open(trigger_id=alice.command("/parley").payload["trigger_id"], view=step)
    trigger = alice.click("Next", surface="modal").payload["trigger_id"]
    pushed = client.views_push(trigger_id=trigger, view={**step, "external_id": "s2"})["view"]
    assert pushed["root_view_id"] == opened["view"]["id"] == pushed["previous_view_id"]
    renamed = {**step, "title": {"type": "plain_text", "text": "Step 2"}}
    client.views_update(external_id="s2", view=renamed)
    assert alice.modal()["id"] == pushed["id"] and alice.modal()["title"]["text"] == "Step 2"
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=pushed["id"], hash="stale", view=renamed)
    closed = alice.close_view()
    assert closed is not None and closed.payload["type"] == "view_closed"
    assert alice.modal()["id"] == opened["view"]["id"]
    kinds = [(i.kind, i.payload.get("type")) for i in slack.inbound]
    assert kinds[-1] == ("interactive", "view_closed") and len(kinds) == 5
    assert all(i.status == "pending" for i in slack.inbound)


# --------------------------------------------------------------------------- Block Kit


def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "actions", "elements": list(elements)}]


def select(action_id: str, *labels: str, kind: str = "static_select") -> dict[str, Any]:
    return {"type": kind, "action_id": action_id, "options": options(*labels)}


LIMITS = [
    ([section("x")] * 51, "no more than 50 items allowed", "/blocks"),
    ([section("x" * 3001)], "must be less than 3001 characters", "/blocks/0/text/text"),
    (
        actions(button("y" * 76, "a")),
        "must be less than 76 characters",
        "/blocks/0/elements/0/text/text",
    ),
    (
        actions(*(button("b", f"a{i}") for i in range(26))),
        "no more than 25 items allowed",
        "/blocks/0/elements",
    ),
    (
        actions(select("s", *(f"o{i}" for i in range(101)))),
        "no more than 100 items allowed",
        "/blocks/0/elements/0/options",
    ),
    (
        [{**section("x"), "block_id": "b" * 256}],
        "must be less than 256 characters",
        "/blocks/0/block_id",
    ),
    (
        actions(button("b", "a" * 256)),
        "must be less than 256 characters",
        "/blocks/0/elements/0/action_id",
    ),
    (
        actions(button("b", "a", "v" * 2001)),
        "must be less than 2001 characters",
        "/blocks/0/elements/0/value",
    ),
    ([{"type": "section"}], "must define either `text` or `fields`", "/blocks/0/type"),
    ([{"type": "carousel"}], "unsupported type: carousel", "/blocks/0/type"),
]


@pytest.mark.parametrize(("blocks", "message", "pointer"), LIMITS)
def test_block_kit_limits(
    client: WebClient, alice: FakeUser, blocks: list[dict[str, Any]], message: str, pointer: str
) -> None:
    expected = f"{message} [json-pointer:{pointer}]"
    assert expected in validate_blocks(blocks)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=alice.dm(), text="x", blocks=blocks)
    response = caught.value.response
    assert response["error"] == "invalid_blocks" and expected in response["errors"]
    assert f"[ERROR] {expected}" in response["response_metadata"]["messages"]
    assert alice.messages() == []


def test_valid_blocks_pass_and_views_have_their_own_limits(client: WebClient) -> None:
    survey = [
        section("intro"),
        *QUESTION[1:],
        *actions(select("boxes", "A", "B", kind="checkboxes")),
        {"type": "header", "text": {"type": "plain_text", "text": "Thanks"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "1 of 3"}]},
        {"type": "divider"},
    ]
    assert validate_blocks(survey) == []
    assert validate_view({"type": "home", "blocks": [section("x")] * 100}, kind="home") == []
    assert validate_view({"type": "home", "blocks": [section("x")] * 101}, kind="home") == [
        "no more than 100 items allowed [json-pointer:/view/blocks]"
    ]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []}
    assert "must be less than 25 characters [json-pointer:/view/title/text]" in validate_view(
        modal, kind="modal"
    )
    with pytest.raises(SlackApiError) as caught:
        client.views_publish(user_id="U0PARLEYBOT", view={"type": "home", "blocks": []})
    assert caught.value.response["error"] == "invalid_arguments"


def test_long_text_is_truncated_and_recorded(slack: FakeSlack, alice: FakeUser) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    client.chat_postMessage(channel=alice.dm(), text="x" * 40_001)
    assert len(alice.messages()[0].text) == 40_000
    assert [v.kind for v in slack.violations] == ["text_truncated"]
    strict = FakeSlack(long_text="error")
    with strict:
        bob = strict.user("U9")
        with pytest.raises(SlackApiError, match="msg_too_long"):
            WebClient(token=strict.bot_token, base_url=strict.api_url).chat_postMessage(
                channel=bob.dm(), text="x" * 40_001
            )


# --------------------------------------------------------------------------- rate limits, faults


def test_injected_429_reaches_the_sdk_with_retry_after(
    slack: FakeSlack, alice: FakeUser, client: WebClient
) -> None:
    slack.fail_next(1, status=429, retry_after=2)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=alice.dm(), text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "2"
    assert caught.value.response["error"] == "ratelimited"

    slack.fail_next(1, status=503)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=alice.dm(), text="x")
    assert caught.value.response.status_code == 503

    slack.fail_next(1, status=200, error="not_in_channel", method="chat.postMessage")
    with pytest.raises(SlackApiError, match="not_in_channel"):
        client.chat_postMessage(channel=alice.dm(), text="x")
    assert client.auth_test()["ok"], "auth.test is not a send method"


def test_rate_limit_retry_handler_retries_after_a_429(
    slack: FakeSlack, alice: FakeUser, client: WebClient
) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next(1, status=429, retry_after=1, method="chat.postMessage")
    started = time.monotonic()
    assert client.chat_postMessage(channel=alice.dm(), text="eventually")["ok"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls_for("chat.postMessage")] == [429, 200]
    assert [m.text for m in alice.messages()] == ["eventually"]


def test_post_message_is_limited_per_channel() -> None:
    limits = RateLimits(post_message_per_second=1.0, post_message_burst=2)
    with FakeSlack(rate_limits=limits) as fake:
        alice, bob = fake.user("U1"), fake.user("U2")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        client.chat_postMessage(channel=alice.dm(), text="1")
        client.chat_postMessage(channel=alice.dm(), text="2")
        client.chat_postMessage(channel=bob.dm(), text="other channel, own bucket")
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel=alice.dm(), text="3")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "1"
        assert [v.kind for v in fake.violations] == ["ratelimited"]
    with FakeSlack(rate_limits=limits, enforce_rate_limits=False) as fake:
        alice = fake.user("U1")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        for n in range(4):
            client.chat_postMessage(channel=alice.dm(), text=str(n))
        assert len(alice.messages()) == 4
        assert [v.enforced for v in fake.violations] == [False, False]


# --------------------------------------------------------------------------- delivery, HTTP mode


def test_bolt_over_http_receives_signed_events_actions_and_commands(
    slack: FakeSlack, alice: FakeUser, bolt: AsyncApp
) -> None:
    seen: dict[str, Any] = {}

    @bolt.event("message")
    async def on_message(event: dict[str, Any], say: Any) -> None:
        seen["message"] = event
        await say(text="Q1", blocks=QUESTION)

    @bolt.action("answer_yes")
    async def on_yes(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen["action"] = body
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text="You said yes",
            blocks=[section("You said *yes*")],
        )

    @bolt.command("/parley")
    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        seen["command"] = command
        await ack(f"status: {command['text']} ok")

    said = alice.say("hello")
    assert said.wait().acked
    question = alice.wait_for(lambda m: m.text == "Q1")
    event = seen["message"]
    assert (event["channel_type"], event["user"], event["text"]) == ("im", "U123", "hello")
    assert event["channel"] == alice.dm()

    clicked = alice.click("Yes")
    assert clicked.wait().acked
    alice.wait_for(lambda m: m.visible_text == "You said *yes*")
    body = seen["action"]
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "answer_yes",
        "q1",
        "yes",
        "button",
    )
    assert body["container"]["message_ts"] == question.ts and body["message"]["blocks"]
    assert body["trigger_id"] and body["response_url"].startswith(slack.root_url)
    assert body["user"]["id"] == "U123" and body["channel"]["id"] == alice.dm()

    command = alice.command("/parley", "status")
    assert command.wait().response == {"text": "status: status ok"}
    assert seen["command"]["trigger_id"] and seen["command"]["channel_name"] == "directmessage"
    assert [e.text for e in alice.ephemerals()] == ["status: status ok"]

    deliveries = slack.deliveries
    assert [(d.kind, d.transport, d.status) for d in deliveries] == [
        ("events_api", "http", 200),
        ("interactive", "http", 200),
        ("slash_commands", "http", 200),
    ]
    assert all(d.elapsed < 3.0 for d in deliveries), [d.elapsed for d in deliveries]
    assert slack.violations == []


def test_signatures_are_slacks_and_forgeries_are_refused(
    slack: FakeSlack, alice: FakeUser, bolt: AsyncApp
) -> None:
    @bolt.event("app_mention")
    async def mentioned() -> None:
        pass

    body = json.dumps(slack.event_envelope({"type": "app_mention", "user": "U123", "text": "x"}))
    headers = {"Content-Type": "application/json", **slack.sign(body)}
    verifier = SignatureVerifier(slack.signing_secret)
    assert verifier.is_valid_request(body, headers)

    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert slack.post_raw(body, forged).status == 401
    stale = {"Content-Type": "application/json", **slack.sign(body, int(time.time()) - 301)}
    assert slack.post_raw(body, stale).status == 401
    assert slack.post_raw(body, headers).status == 200

    challenge = slack.url_verification("abc123")
    assert challenge.status == 200 and challenge.json() == {"challenge": "abc123"}


def test_interactive_selections_carry_state(
    slack: FakeSlack, alice: FakeUser, bolt: AsyncApp, client: WebClient
) -> None:
    payloads: list[dict[str, Any]] = []

    @bolt.action({"action_id": "topics"})
    @bolt.action({"action_id": "score"})
    @bolt.action({"action_id": "submit"})
    async def record(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        payloads.append(body)

    blocks = [
        section("Pick topics"),
        {
            "type": "actions",
            "block_id": "b1",
            "elements": [
                select("topics", "Food", "Sleep", "Work", kind="checkboxes"),
                select("score", "Low", "High"),
                button("Submit", "submit"),
            ],
        },
    ]
    client.chat_postMessage(channel=alice.dm(), text="topics", blocks=blocks)
    alice.check(["Food", "Work"]).wait()
    alice.select("High").wait()
    alice.click("submit").wait()
    checked, selected, submitted = (p["actions"][0] for p in payloads)
    assert [o["value"] for o in checked["selected_options"]] == ["food", "work"]
    assert selected["selected_option"]["value"] == "high"
    assert submitted["type"] == "button"
    state = payloads[-1]["state"]["values"]["b1"]
    assert [o["value"] for o in state["topics"]["selected_options"]] == ["food", "work"]
    assert state["score"] == {
        "type": "static_select",
        "selected_option": selected["selected_option"],
    }
    with pytest.raises(LookupError, match="no button 'Maybe'"):
        alice.click("Maybe")


def test_modals_need_fresh_triggers_and_submissions_follow_response_action(
    slack: FakeSlack, alice: FakeUser, bolt: AsyncApp
) -> None:
    triggers: list[str] = []
    modal = {
        "type": "modal",
        "callback_id": "feedback",
        "title": {"type": "plain_text", "text": "Feedback"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "age",
                "label": {"type": "plain_text", "text": "Age"},
                "element": {"type": "plain_text_input", "action_id": "age_value"},
            },
            {
                "type": "input",
                "block_id": "mood",
                "optional": True,
                "label": {"type": "plain_text", "text": "Mood"},
                "element": select("m", "Good", "Bad", kind="radio_buttons"),
            },
        ],
    }
    submissions: list[dict[str, Any]] = []

    @bolt.command("/parley")
    async def open_modal(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        triggers.append(command["trigger_id"])
        await client.views_open(trigger_id=command["trigger_id"], view=modal)

    @bolt.view("feedback")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        submissions.append(view["state"]["values"])
        if view["state"]["values"]["age"]["age_value"]["value"] == "old":
            await ack(response_action="errors", errors={"age": "A number, please"})
        else:
            await ack()

    alice.command("/parley", "feedback").wait()
    slack.wait_for_call("views.open")
    assert alice.modal() is not None and alice.modal()["callback_id"] == "feedback"

    with pytest.raises(ValueError, match="'Age' is required"):
        alice.submit_view({})
    refused = alice.submit_view({"Age": "old"})
    assert refused.wait().response["response_action"] == "errors"
    assert alice.modal() is not None, "errors keep the modal open"
    alice.submit_view({"age_value": "42", "mood": "Good"}).wait()
    assert alice.modal() is None
    assert submissions[-1]["age"]["age_value"] == {"type": "plain_text_input", "value": "42"}
    assert submissions[-1]["mood"]["m"]["selected_option"]["value"] == "good"

    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError, match="trigger_exchanged"):
        client.views_open(trigger_id=triggers[0], view=modal)
    with FakeSlack(trigger_ttl=0.0) as strict:
        bob = strict.user("U2")
        bob.command("/x")  # no app: the trigger is issued, nobody uses it in time
        trigger = strict.inbound[0].payload["trigger_id"]
        time.sleep(0.01)
        other = WebClient(token=strict.bot_token, base_url=strict.api_url)
        with pytest.raises(SlackApiError, match="expired_trigger_id"):
            other.views_open(trigger_id=trigger, view=modal)


def test_home_tab_is_published_on_app_home_opened(
    slack: FakeSlack, alice: FakeUser, bolt: AsyncApp
) -> None:
    @bolt.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        view = {"type": "home", "blocks": [section(f"Hi <@{event['user']}>"), QUESTION[1]]}
        await client.views_publish(user_id=event["user"], view=view)

    clicks: list[dict[str, Any]] = []

    @bolt.action("answer_no")
    async def on_no(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicks.append(body)

    alice.open_home().wait()
    slack.wait_until(lambda: alice.home(), 2, "a home view")
    assert alice.home()["blocks"][0]["text"]["text"] == "Hi <@U123>"
    assert alice.click("No", surface="home").wait().acked
    assert clicks[0]["container"]["type"] == "view" and clicks[0]["view"]["type"] == "home"
    assert "message" not in clicks[0]
    second = alice.open_home()
    second.wait()
    assert second.payload["event"]["view"]["id"] == alice.home()["id"]
    slack.wait_until(lambda: len(slack.calls_for("views.publish")) == 2, 2, "a republish")


def test_unacknowledged_events_are_retried_like_slack(
    slack: FakeSlack, alice: FakeUser, app_loop: AppLoop
) -> None:
    """A receiver that answers slowly, then with an error, then well: Slack's retry headers."""
    seen: list[dict[str, str]] = []
    script = ["slow", "error", "ok"]

    async def receive(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        step = script.pop(0) if script else "ok"
        if step == "slow":
            await asyncio.sleep(0.5)
        return web.Response(status=500 if step == "error" else 200)

    app = web.Application()
    app.router.add_post("/events", receive)
    runner, url = app_loop.run(serve(app))
    slack.ack_timeout = 0.2
    slack.request_url = f"{url}/events"
    try:
        event = alice.say("anyone there?")
        assert event.wait().acked
        assert [(d.attempt, d.error) for d in event.attempts()] == [
            (0, "http_timeout"),
            (1, "http_error"),
            (2, None),
        ]
        assert "X-Slack-Retry-Num" not in seen[0]
        assert (seen[1]["X-Slack-Retry-Num"], seen[1]["X-Slack-Retry-Reason"]) == (
            "1",
            "http_timeout",
        )
        assert (seen[2]["X-Slack-Retry-Num"], seen[2]["X-Slack-Retry-Reason"]) == (
            "2",
            "http_error",
        )
        assert all(s["X-Slack-Signature"].startswith("v0=") for s in seen)
        assert [v.kind for v in slack.violations] == ["ack_timeout"]

        script.extend(["error"] * 4)
        given_up = alice.say("still there?")
        given_up.wait()
        assert given_up.status == "failed" and len(given_up.attempts()) == 4

        duplicate = slack.redeliver(event.event_id or "")
        assert duplicate.wait().acked and duplicate.payload["event_id"] == event.event_id
        assert "X-Slack-Retry-Num" not in seen[-1]
        slack.redeliver(event.event_id or "", retry_num=3).wait()
        assert seen[-1]["X-Slack-Retry-Num"] == "3"

        script.extend(["error"])
        clicked = slack.send_interactive({"type": "block_actions", "actions": []})
        clicked.wait()
        assert clicked.status == "failed" and len(clicked.attempts()) == 1, "no retries"
    finally:
        app_loop.run(runner.cleanup())


# --------------------------------------------------------------------------- Socket Mode


def test_bolt_socket_mode_connects_and_acks(
    slack: FakeSlack, alice: FakeUser, app_loop: AppLoop
) -> None:
    seen: list[dict[str, Any]] = []

    async def start() -> AsyncSocketModeHandler:
        app = make_app(slack)

        @app.event("message")
        async def on_message(event: dict[str, Any], say: Any) -> None:
            seen.append(event)
            await say(text=f"echo {event['text']}", blocks=QUESTION)

        @app.action("answer_no")
        async def on_no(ack: Any, respond: Any) -> None:
            await ack()
            await respond(replace_original=True, text="You said no")

        @app.command("/parley")
        async def on_command(ack: Any) -> None:
            await ack(text="socket status ok")

        handler = AsyncSocketModeHandler(app, slack.app_token)
        await handler.connect_async()
        return handler

    handler = app_loop.run(start())
    try:
        first = slack.wait_for_socket()
        assert alice.say("over the socket").wait().acked
        alice.wait_for(lambda m: m.text == "echo over the socket")
        assert alice.click("No").wait().acked
        alice.wait_for(lambda m: m.text == "You said no")
        assert alice.command("/parley").wait().response == {"text": "socket status ok"}
        assert [e.text for e in alice.ephemerals()] == ["socket status ok"]

        slack.disconnect_sockets()
        slack.wait_until(
            lambda: not slack.socket_connections[first.id - 1].open, 5, "the first to close"
        )
        slack.wait_until(lambda: slack.socket_connections[-1].open, 5, "a new socket")
        assert alice.say("after the refresh").wait().acked
        alice.wait_for(lambda m: m.text == "echo after the refresh")

        assert [d.transport for d in slack.deliveries] == ["socket"] * 4
        assert all(d.elapsed < 3.0 for d in slack.deliveries)
        assert [e["text"] for e in seen] == ["over the socket", "after the refresh"]
        assert len(slack.calls_for("apps.connections.open")) == 2
    finally:
        app_loop.run(handler.close_async())
