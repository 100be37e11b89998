"""The loopback Telegram fake, driven by the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FakeTelegram, RateLimits, parse_html

ALICE = 1001
PNG_640x480 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4) + (480).to_bytes(4) + b"x"


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as timedelta, no warning


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def with_bot(fake: FakeTelegram, body: Callable[[Bot], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with make_bot(fake) as bot:
            return await body(bot)

    return asyncio.run(main())


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(x, callback_data=x.lower()) for x in labels]]
    )


def raises(exc_type: type[Exception], coro: Awaitable[Any]) -> Awaitable[Exception]:
    async def run() -> Exception:
        with pytest.raises(exc_type) as info:
            await coro
        return info.value

    return run()


# --------------------------------------------------------------------------- sending


def test_get_me_identifies_the_bot(tg: FakeTelegram) -> None:
    me = with_bot(tg, lambda bot: bot.get_me())
    assert (me.id, me.username, me.is_bot) == (tg.bot_id, "parley_test_bot", True)


def test_send_message_renders_html_and_echoes_the_keyboard(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE, first_name="Alice")

    async def body(bot: Bot) -> Any:
        return await bot.send_message(
            ALICE, "<b>Q1</b> of 48: ready?", parse_mode="HTML", reply_markup=keyboard("Yes", "No")
        )

    sent = with_bot(tg, body)
    assert sent.text == "Q1 of 48: ready?"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]
    assert sent.reply_markup == keyboard("Yes", "No")
    assert sent.chat.id == ALICE and sent.from_user.id == tg.bot_id
    shown = alice.last_message()
    assert shown is not None
    assert (shown.text, shown.raw_text, shown.parse_mode) == (
        "Q1 of 48: ready?",
        "<b>Q1</b> of 48: ready?",
        "HTML",
    )
    assert shown.buttons == [["Yes", "No"]]
    assert tg.requests_for("sendMessage")[0].json("reply_markup")["inline_keyboard"][0][0] == {
        "text": "Yes",
        "callback_data": "yes",
    }


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("é <b", "Unclosed start tag at byte offset 3"),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Q&A", 'Unescaped "&" at byte offset 1'),
    ],
)
def test_bad_html_is_a_bad_request_with_telegrams_words(
    tg: FakeTelegram, html: str, detail: str
) -> None:
    tg.user(ALICE)
    error = with_bot(tg, lambda bot: raises(BadRequest, bot.send_message(ALICE, html, "HTML")))
    # PTB strips "Bad Request: " and capitalizes the rest (lowercasing it).
    assert error.message == f"Can't parse entities: {detail}".capitalize()


def test_parse_html_gives_plain_text_and_utf16_entities() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> &lt;tag&gt; &#38; <a href="https://x.org/?a=1&amp;b=2">link</a>'
        ' <pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler>'
    )
    assert text == "😀 bold both <tag> & link x = 1 s"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "url": "https://x.org/?a=1&b=2", "offset": 21, "length": 4},
        {"type": "pre", "language": "python", "offset": 26, "length": 5},
        {"type": "spoiler", "offset": 32, "length": 1},
    ]
    assert parse_html("Q&A &nbsp;", strict_ampersand=False) == ("Q&A &nbsp;", [])


def test_text_length_counts_rendered_text(tg: FakeTelegram) -> None:
    tg.user(ALICE)

    async def body(bot: Bot) -> list[Exception]:
        await bot.send_message(ALICE, "x" * 4096)
        await bot.send_message(ALICE, f"<b>{'x' * 4096}</b>", parse_mode="HTML")
        return [
            await raises(BadRequest, bot.send_message(ALICE, "x" * 4097)),
            await raises(BadRequest, bot.send_message(ALICE, "   ")),
            await raises(BadRequest, bot.send_message(ALICE, "<b></b>", parse_mode="HTML")),
            await raises(BadRequest, bot.send_message(ALICE, "x", parse_mode="Fancy")),
        ]

    errors = with_bot(tg, body)
    assert [e.message for e in errors] == [
        "Message is too long",
        "Message text is empty",
        "Text must be non-empty",
        "Unsupported parse_mode",
    ]


def test_callback_data_is_limited_to_64_bytes(tg: FakeTelegram) -> None:
    tg.user(ALICE)

    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data=data)]])

    async def body(bot: Bot) -> Exception:
        await bot.send_message(ALICE, "ok", reply_markup=markup("é" * 32))  # 64 bytes
        return await raises(
            BadRequest, bot.send_message(ALICE, "no", reply_markup=markup("é" * 33))
        )

    assert with_bot(tg, body).message == "Button_data_invalid"
    assert len(tg.sent) == 1


def test_edits_replace_content_and_refuse_no_ops(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> list[str]:
        sent = await bot.send_message(ALICE, "Q1", reply_markup=keyboard("Yes"))
        mid = sent.message_id
        edited = await bot.edit_message_text("<i>Q1</i> answered", ALICE, mid, parse_mode="HTML")
        assert edited.text == "Q1 answered" and edited.edit_date is not None
        assert alice.last_message().reply_markup is None  # omitted reply_markup removes it
        await bot.edit_message_reply_markup(ALICE, mid, reply_markup=keyboard("Undo"))
        assert alice.last_message().buttons == [["Undo"]]
        undo = keyboard("Undo")
        same_markup = bot.edit_message_reply_markup(ALICE, mid, reply_markup=undo)
        same_text = bot.edit_message_text(
            "<i>Q1</i> answered", ALICE, mid, parse_mode="HTML", reply_markup=undo
        )
        missing = bot.edit_message_text("x", ALICE, 999)
        return [
            (await raises(BadRequest, call)).message for call in (same_markup, same_text, missing)
        ]

    not_modified, not_modified_text, missing = with_bot(tg, body)
    assert not_modified.startswith("Message is not modified: specified new message content")
    assert not_modified_text == not_modified
    assert missing == "Message to edit not found"
    assert alice.last_message().edits == 2


def test_callback_queries_are_answered_once(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> Exception:
        await bot.send_message(ALICE, "Q1", reply_markup=keyboard("Yes", "No"))
        query_id = alice.press("No")
        assert [c.data for c in alice.unanswered_callbacks()] == ["no"]
        assert await bot.answer_callback_query(query_id, text="Noted") is True
        return await raises(BadRequest, bot.answer_callback_query(query_id))

    error = with_bot(tg, body)
    assert error.message.lower() == (
        "query is too old and response timeout expired or query id is invalid"
    )
    assert alice.unanswered_callbacks() == []
    assert alice.callbacks()[0].answer_text == "Noted"


def test_concurrent_sends_to_several_chats(tg: FakeTelegram) -> None:
    users = [tg.user(user_id) for user_id in (11, 12, 13)]

    async def body(bot: Bot) -> None:
        sends = [bot.send_message(u.id, f"{u.id}:{n}") for n in range(3) for u in users]
        await asyncio.gather(*sends)

    with_bot(tg, body)
    for user in users:
        assert sorted(m.text for m in user.messages()) == [f"{user.id}:{n}" for n in range(3)]
        assert [m.message_id for m in user.messages()] == [1, 2, 3]
    assert tg.violations == []


# --------------------------------------------------------------------------- updates


def test_get_updates_honours_offset_and_long_poll(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE, first_name="Alice", language_code="fr")

    async def body(bot: Bot) -> None:
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 <= time.monotonic() - started < 3

        asyncio.get_running_loop().call_later(0.2, alice.send_text, "bonjour")
        started = time.monotonic()
        (first,) = await bot.get_updates(timeout=5)
        assert time.monotonic() - started < 2
        assert first.message.text == "bonjour"
        assert first.message.from_user.language_code == "fr"

        await bot.send_message(ALICE, "Q1", reply_markup=keyboard("Yes"))
        query_id = alice.press("Yes")
        updates = await bot.get_updates(offset=first.update_id + 1)
        assert [u.update_id for u in updates] == [first.update_id + 1]
        query = updates[0].callback_query
        assert (query.id, query.data, query.message.text) == (query_id, "yes", "Q1")

        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
        assert tg.pending_updates == []

    with_bot(tg, body)


def test_allowed_updates_filters_later_updates(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> tuple[Update, ...]:
        await bot.get_updates(allowed_updates=["callback_query"])
        alice.send_text("ignored")
        await bot.send_message(ALICE, "Q", reply_markup=keyboard("Go"))
        alice.press("Go")
        return await bot.get_updates()

    updates = with_bot(tg, body)
    assert [u.callback_query is not None for u in updates] == [True]


def test_users_send_commands_stickers_photos_edits_and_group_messages(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)
    group = tg.group(-100123, title="Panel")
    first = alice.send_command("/start", payload="survey-7")
    alice.send_sticker()
    alice.send_photo(caption="my desk")
    alice.edit_text(first, "/start survey-8")
    alice.send_text_in(group, "/start@parley_test_bot")

    async def body(bot: Bot) -> tuple[Update, ...]:
        await bot.send_message(group.chat_id, "Vote", reply_markup=keyboard("A", "B"))
        alice.press("B", chat=group)
        return await bot.get_updates()

    start, sticker, photo, edit, in_group, press = with_bot(tg, body)
    assert start.message.text == "/start survey-7"
    assert start.message.entities[0].type == "bot_command" and start.message.entities[0].length == 6
    assert sticker.message.sticker.emoji == "👍"
    assert photo.message.photo and photo.message.caption == "my desk"
    assert (edit.edited_message.message_id, edit.edited_message.text) == (first, "/start survey-8")
    assert in_group.message.chat.type == "supergroup" and in_group.message.chat.title == "Panel"
    assert in_group.message.entities[0].length == len("/start@parley_test_bot")
    assert press.callback_query.message.chat.id == group.chat_id
    assert group.last_message().text == "Vote"
    with pytest.raises(LookupError, match="buttons"):
        alice.press("C", chat=group)
    with pytest.raises(LookupError, match="inline keyboard"):
        alice.press("A")
    with pytest.raises(TimeoutError, match="Vote"):
        group.wait_for(lambda m: m.text == "never", timeout=0.1)


# --------------------------------------------------------------------------- flood control


def frozen_clock() -> tuple[list[float], Callable[[], float]]:
    now = [1000.0]
    return now, lambda: now[0]


def test_flood_limits_answer_429_with_retry_after() -> None:
    now, clock = frozen_clock()
    with FakeTelegram(clock=clock) as tg:
        tg.user(ALICE)
        group = tg.group(-100555)
        for user_id in range(2000, 2027):
            tg.user(user_id)

        async def body(bot: Bot) -> list[RetryAfter]:
            errors = []
            for _ in range(3):  # a private chat allows a burst of 3, then 1/s
                await bot.send_message(ALICE, "hi")
            errors.append(await raises(RetryAfter, bot.send_message(ALICE, "hi")))
            now[0] += 1.0
            await bot.send_message(ALICE, "a second later")
            for _ in range(20):  # a group allows 20 a minute
                await bot.send_message(group.chat_id, "hi")
            errors.append(await raises(RetryAfter, bot.send_message(group.chat_id, "hi")))
            for user_id in range(2000, 2027):  # 30 a second overall: 9 tokens are left
                try:
                    await bot.send_message(user_id, "broadcast")
                except RetryAfter as exc:
                    errors.append(exc)
                    break
            return errors

        errors = with_bot(tg, body)
        assert [e.retry_after for e in errors] == [dtm.timedelta(seconds=s) for s in (1, 3, 1)]
        assert [(v.scope, v.retry_after, v.enforced) for v in tg.violations] == [
            ("chat", 1, True),
            ("group", 3, True),
            ("overall", 1, True),
        ]
        assert len(tg.sent) == 3 + 1 + 20 + 9


def test_unenforced_flood_limits_are_still_recorded() -> None:
    _, clock = frozen_clock()
    with FakeTelegram(clock=clock, enforce_rate_limits=False) as tg:
        tg.user(ALICE)

        async def body(bot: Bot) -> None:
            for _ in range(5):
                await bot.send_message(ALICE, "hi")

        with_bot(tg, body)
        assert len(tg.sent) == 5
        assert [(v.scope, v.enforced) for v in tg.violations] == [("chat", False)] * 2


# --------------------------------------------------------------------------- faults


def test_injected_errors_reach_ptb_as_its_exceptions(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)
    tg.fail_next(1, status=429, retry_after=2)
    tg.fail_next(1, status=500)  # both target send methods: Bot.initialize's getMe passes

    async def body(bot: Bot) -> list[Exception]:
        flood = await raises(RetryAfter, bot.send_message(ALICE, "one"))
        server_error = await raises(NetworkError, bot.send_message(ALICE, "two"))
        tg.fail_next(1, status=502, method="getMe")
        gateway = await raises(NetworkError, bot.get_me())
        await bot.send_message(ALICE, "three")
        return [flood, server_error, gateway]

    flood, server_error, gateway = with_bot(tg, body)
    assert flood.retry_after == dtm.timedelta(seconds=2)
    assert "Internal Server Error" in server_error.message
    assert "Bad Gateway" in gateway.message
    assert [m.text for m in alice.messages()] == ["three"]
    assert tg.violations == []


def test_dropped_connections_before_and_after_processing(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> None:
        tg.drop_next(1)
        await raises(NetworkError, bot.send_message(ALICE, "lost on the way in"))
        assert alice.messages() == []
        tg.drop_after_processing(1)
        await raises(NetworkError, bot.send_message(ALICE, "delivered, reply lost"))
        assert [m.text for m in alice.messages()] == ["delivered, reply lost"]

    with_bot(tg, body)
    assert [(d.method, d.after_processing) for d in tg.dropped] == [
        ("sendMessage", False),
        ("sendMessage", True),
    ]
    assert [r.status for r in tg.requests_for("sendMessage")] == [None, None]


def test_wrong_token_missing_chat_and_blocked_user(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> list[Exception]:
        chat_missing = await raises(BadRequest, bot.send_message(4242, "hi"))
        alice.block()
        blocked = await raises(Forbidden, bot.send_message(ALICE, "hi"))
        return [chat_missing, blocked]

    chat_missing, blocked = with_bot(tg, body)
    assert chat_missing.message == "Chat not found"
    assert blocked.message == "Forbidden: bot was blocked by the user"

    async def wrong_token() -> None:
        async with make_bot(tg, token="42:nope"):
            pass

    with pytest.raises(InvalidToken, match="rejected"):
        asyncio.run(wrong_token())


def test_json_bodies_and_case_insensitive_method_names(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    payload = json.dumps({"chat_id": ALICE, "text": "json", "reply_markup": markup}).encode()
    request = urllib.request.Request(
        f"{tg.base_url}{tg.token}/SENDMESSAGE",
        data=payload,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        reply = json.load(response)
    assert reply["ok"] is True and reply["result"]["reply_markup"] == markup
    assert alice.last_message().buttons == [["A"]]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{tg.base_url}{tg.token}/noSuchMethod", timeout=5)
    assert info.value.code == 404
    info.value.close()


# --------------------------------------------------------------------------- files


def test_uploads_are_stored_and_downloadable() -> None:
    tg = FakeTelegram(rate_limits=RateLimits(private_chat_burst=5)).start()
    alice = tg.user(ALICE)
    csv = b"id,answer\r\n1,yes\n\x00"

    async def body(bot: Bot) -> tuple[Any, ...]:
        document = await bot.send_document(
            ALICE, csv, filename="answers.csv", caption="<b>CSV</b>", parse_mode="HTML"
        )
        photo = await bot.send_photo(ALICE, PNG_640x480, caption="chart")
        album = await bot.send_media_group(
            ALICE, [InputMediaPhoto(PNG_640x480), InputMediaPhoto(b"\xff\xd8jpeg")]
        )
        downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
        return document, photo, album, bytes(downloaded)  # fmt: skip

    try:
        document, photo, album, downloaded = with_bot(tg, body)
    finally:
        tg.stop()
    assert document.document.file_name == "answers.csv" and document.caption == "CSV"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (640, 480)
    assert len({m.media_group_id for m in album}) == 1
    assert downloaded == csv
    kinds = [(m.kind, m.file.data if m.file else None) for m in alice.messages()]
    assert kinds[:2] == [("document", csv), ("photo", PNG_640x480)]
    assert [s.message_ids for s in tg.sent][-1] == (album[0].message_id, album[1].message_id)


# --------------------------------------------------------------------------- webhooks


class Receiver:
    """A tiny webhook endpoint: answers with the next status in `statuses`, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.cond:
                    receiver.posts.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait_for_posts(self, n: int, timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.posts) >= n, timeout), self.posts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver([500])
    yield hook
    hook.close()


def test_webhook_delivery_with_secret_retries_and_conflicts(
    tg: FakeTelegram, receiver: Receiver
) -> None:
    alice = tg.user(ALICE)

    async def body(bot: Bot) -> None:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret_token-1")
        alice.send_text("hello hook")
        await asyncio.to_thread(receiver.wait_for_posts, 2)
        await asyncio.to_thread(tg.wait_until, lambda: not tg.pending_updates)
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (receiver.url, 0)
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        conflict = await raises(Conflict, bot.get_updates())
        assert "can't use getUpdates method while webhook is active" in conflict.message
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()

    with_bot(tg, body)
    (headers, update), (_, retried) = receiver.posts
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_token-1"
    assert update == retried and update["message"]["text"] == "hello hook"
    assert [d.status for d in tg.webhook_deliveries] == [500, 200]


def test_webhook_gives_up_after_bounded_attempts() -> None:
    hook = Receiver([500] * 10)
    try:
        with FakeTelegram(webhook_max_attempts=3, webhook_retry_delay=0.01) as tg:
            alice = tg.user(ALICE)

            async def body(bot: Bot) -> None:
                await bot.set_webhook(hook.url)

            with_bot(tg, body)
            alice.send_text("doomed")
            tg.wait_until(lambda: not tg.pending_updates, timeout=3)
            assert [d.status for d in tg.webhook_deliveries] == [500, 500, 500]
    finally:
        hook.close()


def test_a_second_long_poll_terminates_the_first(tg: FakeTelegram) -> None:
    async def body() -> None:
        async with make_bot(tg) as first, make_bot(tg) as second:
            polling = asyncio.create_task(first.get_updates(timeout=5))
            await asyncio.to_thread(tg.wait_for_request, "getUpdates")
            assert await second.get_updates(timeout=0) == ()
            conflict = await raises(Conflict, polling)
            assert "terminated by other getUpdates request" in conflict.message

    asyncio.run(body())


def test_set_my_commands_per_language(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> list[Any]:
        await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("stop", "Pause")])
        await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
        french = await bot.get_my_commands(language_code="fr")
        invalid = await raises(BadRequest, bot.set_my_commands([BotCommand("Start", "x")]))
        return [french, invalid]

    french, invalid = with_bot(tg, body)
    assert [(c.command, c.description) for c in french] == [("start", "Commencer")]
    assert tg.commands_for() == [("start", "Begin"), ("stop", "Pause")]
    assert tg.commands_for("fr") == [("start", "Commencer")]
    assert invalid.message == "Bot_command_invalid"


# --------------------------------------------------------------------------- a real Application


def test_a_polling_application_answers_a_user(tg: FakeTelegram) -> None:
    alice = tg.user(ALICE, first_name="Alice")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(
            "Hello <b>Alice</b>", parse_mode="HTML", reply_markup=keyboard("Go")
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Started")

    async def main() -> None:
        app = (
            ApplicationBuilder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(pressed))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            alice.send_command("/start")
            await asyncio.to_thread(alice.wait_for, lambda m: m.text == "Hello Alice", 5)
            alice.press("Go")
            await asyncio.to_thread(alice.wait_for, lambda m: m.text == "Started", 5)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert alice.unanswered_callbacks() == []
    assert [m.text for m in alice.messages()] == ["Started"]
    assert tg.requests_for("deleteWebhook")  # run-polling bootstrap
