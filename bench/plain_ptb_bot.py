"""The baseline of the Telegram benchmark: a plain python-telegram-bot questionnaire bot.

    .venv/bin/python bench/plain_ptb_bot.py --api-root URL --token TOKEN \\
        --persistence FILE [--questionnaire bench/telegram-bench.yaml] [--rate-limiter]

What a careful developer writes from PTB's documentation, and nothing more: an
`Application` with one persistent, named `ConversationHandler` (one state per question,
inline keyboards for choices, text handlers for numbers and free text), answers kept in
`user_data`, `PicklePersistence(filepath=...)` with its default `update_interval` (60 s:
what was answered in the last minute reaches the disk only at the next flush or at
shutdown), long polling started programmatically (`initialize`, `start`,
`updater.start_polling`), updates processed one at a time (PTB's default; its docs advise
against concurrent updates with a `ConversationHandler`). With `--rate-limiter` it uses
PTB's `AIORateLimiter` (30/s overall, retries after a 429), the documented way to live
with Telegram's flood limits; without it, a 429 would end the handler with an error.

The questions come from the same YAML file as Parley's (read with PyYAML, not Parley's
loader), and the messages mirror what Parley sends at the time of writing: the same
texts and HTML, the same keyboards and button data, the answered question edited into a
transcript line, every button press answered. So both bots make the same API calls for
the same answers, and the benchmark compares the machinery, not the conversation.

Stops cleanly on SIGTERM or SIGINT (PTB then writes the persistence file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# bench/common.py: imported while this folder is still on sys.path.
import common  # noqa: E402

# bench/telegram.py sits next to this file: run as a script, this folder comes first on
# sys.path and that file would shadow python-telegram-bot's `telegram` package.
common.drop_from_sys_path(_HERE)

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning  # noqa: E402

log = logging.getLogger("plain_ptb_bot")

DEFAULT_QUESTIONNAIRE = Path(__file__).with_name("telegram-bench.yaml")
CONSENT = "consent"
LONG_LABEL = 24
SCALE_ROW = 6
Context = ContextTypes.DEFAULT_TYPE


# --- the questions -----------------------------------------------------------------------


Question = common.Question
Survey = common.Survey


def load_survey(path: Path) -> Survey:
    return common.load_survey(path, "bot")


# --- rendering (mirrors Parley's Telegram messages) ----------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def ask_text(survey: Survey, q: Question) -> str:
    progress = f"Question {q.number} of {len(survey.questions)} · Section 1: {survey.section}"
    lines = [f"<i>{_esc(progress)}</i>"]
    if q.type == "scale":
        hint = f"{q.low} = {q.low_label} … {q.high} = {q.high_label}"
        lines.append(f"<b>{_esc(q.label)}\n{_esc(hint)}</b>")
    else:
        lines.append(f"<b>{_esc(q.label)}</b>")
    if q.type == "number":
        lines.append(f"Reply with a whole number from {q.low:,} to {q.high:,}.")
    elif q.type == "text":
        lines.append("Reply in your own words.")
    return "\n".join(lines)


def ask_keyboard(q: Question) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    if q.type == "single_choice":
        buttons = [_button(label, f"p|{q.id}|{cid}") for cid, label in q.choices]
        if any(len(label) > LONG_LABEL for _, label in q.choices):
            rows = [[b] for b in buttons]
        else:
            rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    elif q.type == "scale":
        buttons = [_button(str(n), f"p|{q.id}|{n}") for n in range(q.low, q.high + 1)]
        rows = [buttons[i : i + SCALE_ROW] for i in range(0, len(buttons), SCALE_ROW)]
    elif q.type == "yes_no":
        rows = [[_button("Yes", f"p|{q.id}|yes"), _button("No", f"p|{q.id}|no")]]
    if q.number > 1:
        rows.append([_button("Back", f"c|{q.id}|back")])
    return InlineKeyboardMarkup(rows) if rows else None


def answered_text(question: str, display: str) -> str:
    return f"{_esc(question)}\n✓ <b>{_esc(display)}</b>"


# --- the conversation ---------------------------------------------------------------------


class Bot:
    def __init__(self, survey: Survey) -> None:
        self.survey = survey

    def handler(self) -> ConversationHandler[Any]:
        states: dict[object, list[Any]] = {
            CONSENT: [CallbackQueryHandler(self.on_consent, pattern=r"^p\|consent\|")]
        }
        for index, q in enumerate(self.survey.questions):
            back = CallbackQueryHandler(self._back(index), pattern=rf"^c\|{q.id}\|back$")
            if q.type in ("number", "text"):
                typed = MessageHandler(filters.TEXT & ~filters.COMMAND, self._typed(index))
                states[index] = [typed, back]
            else:
                pick = CallbackQueryHandler(self._picked(index), pattern=rf"^p\|{q.id}\|")
                states[index] = [pick, back]
        with warnings.catch_warnings():  # "CallbackQueryHandler will not be tracked for every
            warnings.simplefilter("ignore", PTBUserWarning)  # message": one keyboard at a time
            return ConversationHandler(
                entry_points=[CommandHandler("start", self.on_start)],
                states=states,
                fallbacks=[],
                name="questionnaire",
                persistent=True,
                allow_reentry=True,
            )

    async def on_start(self, update: Update, context: Context) -> object:
        chat = update.effective_chat
        assert chat is not None and context.user_data is not None
        context.user_data["answers"] = {}
        welcome = _esc(f"Welcome to “{self.survey.title}”.")
        await context.bot.send_message(chat.id, welcome, parse_mode=ParseMode.HTML)
        agree = [
            [_button("I agree", "p|consent|agree"), _button("I do not agree", "p|consent|decline")]
        ]
        await context.bot.send_message(
            chat.id,
            f"<b>{_esc(self.survey.consent)}</b>",
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(agree),
        )
        return CONSENT

    async def on_consent(self, update: Update, context: Context) -> object:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        agreed = query.data == "p|consent|agree"
        await query.answer()
        display = "I agree" if agreed else "I do not agree"
        await query.edit_message_text(
            answered_text(self.survey.consent, display), parse_mode=ParseMode.HTML
        )
        if not agreed:
            await context.bot.send_message(update.effective_chat.id, "Understood. Thank you.")
            return ConversationHandler.END
        await context.bot.send_message(
            update.effective_chat.id,
            _esc(f"Section 1: {self.survey.section}"),
            parse_mode=ParseMode.HTML,
        )
        return await self.ask(update.effective_chat.id, context, 0)

    async def ask(self, chat_id: int, context: Context, index: int) -> object:
        assert context.user_data is not None
        if index >= len(self.survey.questions):
            await context.bot.send_message(
                chat_id, _esc(self.survey.closing), parse_mode=ParseMode.HTML
            )
            return ConversationHandler.END
        q = self.survey.questions[index]
        sent = await context.bot.send_message(
            chat_id,
            ask_text(self.survey, q),
            parse_mode=ParseMode.HTML,
            reply_markup=ask_keyboard(q),
        )
        context.user_data["asked"] = sent.message_id
        return index

    def _picked(self, index: int) -> Any:
        q = self.survey.questions[index]
        labels = dict(q.choices)

        async def picked(update: Update, context: Context) -> object:
            query = update.callback_query
            assert query is not None and query.data is not None
            assert update.effective_chat is not None and context.user_data is not None
            raw = query.data.split("|", 2)[2]
            value: object
            if q.type == "scale":
                value, display = int(raw), raw
            elif q.type == "yes_no":
                value, display = raw == "yes", "Yes" if raw == "yes" else "No"
            else:
                value, display = raw, labels.get(raw, raw)
            await query.answer()
            context.user_data.setdefault("answers", {})[q.id] = value
            await query.edit_message_text(
                answered_text(q.label, display), parse_mode=ParseMode.HTML
            )
            return await self.ask(update.effective_chat.id, context, index + 1)

        return picked

    def _typed(self, index: int) -> Any:
        q = self.survey.questions[index]

        async def typed(update: Update, context: Context) -> object:
            message = update.effective_message
            assert message is not None and message.text is not None
            assert update.effective_chat is not None and context.user_data is not None
            chat_id = update.effective_chat.id
            text = message.text.strip()
            value: object = text
            if q.type == "number":
                try:
                    value = int(text.replace(",", ""))
                except ValueError:
                    value = None
                if not isinstance(value, int) or not q.low <= value <= q.high:
                    await context.bot.send_message(
                        chat_id, f"Please reply with a whole number from {q.low:,} to {q.high:,}."
                    )
                    return None  # stay on this question
            context.user_data.setdefault("answers", {})[q.id] = value
            asked = context.user_data.get("asked")
            if asked is not None:
                await context.bot.edit_message_text(
                    answered_text(q.label, text),
                    chat_id=chat_id,
                    message_id=asked,
                    parse_mode=ParseMode.HTML,
                )
            return await self.ask(chat_id, context, index + 1)

        return typed

    def _back(self, index: int) -> Any:
        async def back(update: Update, context: Context) -> object:
            query = update.callback_query
            assert query is not None and update.effective_chat is not None
            await query.answer()
            return await self.ask(update.effective_chat.id, context, max(index - 1, 0))

        return back


# --- running ------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> Application[Any, Any, Any, Any, Any, Any]:
    root = args.api_root.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .persistence(PicklePersistence(filepath=args.persistence))
    )
    if args.rate_limiter:
        from telegram.ext import AIORateLimiter  # needs the rate-limiter extra (aiolimiter)

        builder = builder.rate_limiter(AIORateLimiter(max_retries=args.max_retries))
    app = builder.build()
    app.add_handler(Bot(load_survey(args.questionnaire)).handler())
    return app


async def serve(args: argparse.Namespace) -> None:
    app = build(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0.0, timeout=10, allowed_updates=["message", "callback_query"]
    )
    print("plain bot polling", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await app.updater.stop()
        await app.stop()
        await app.shutdown()  # PTB writes the persistence file here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-root", required=True, help="Bot API server root, no /bot")
    parser.add_argument("--token", required=True)
    parser.add_argument("--persistence", type=Path, required=True, help="PicklePersistence file")
    parser.add_argument("--questionnaire", type=Path, default=DEFAULT_QUESTIONNAIRE)
    parser.add_argument("--rate-limiter", action="store_true", help="use PTB's AIORateLimiter")
    parser.add_argument("--max-retries", type=int, default=5, help="AIORateLimiter retries")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
