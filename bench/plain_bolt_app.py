"""The baseline of the Slack benchmark: a minimal slack-bolt questionnaire app, state in memory.

    .venv/bin/python bench/plain_bolt_app.py --api-url URL --token XOXB --signing-secret S \\
        --port PORT [--questionnaire bench/slack-bench.yaml] [--dump FILE] [--retries N]

What a careful developer writes from bolt's documentation, and nothing more: an `AsyncApp`
served by bolt's own aiohttp adapter (`app.web_app()`) on 127.0.0.1, one listener for
DM messages and one for the question buttons and menus. Each listener acknowledges first
(bolt does it for events; `await ack()` for actions), keeps the person's place and
answers in a dict, then replies through the Web API: `chat.update` turns the answered
question into a transcript line and `chat.postMessage` asks the next one. Nothing is
written anywhere: a crash loses every answer.

The questions come from the same YAML file as Parley's (read with PyYAML, not Parley's
loader), and the messages mirror what Parley sends on Slack at the time of writing (same
texts, mrkdwn, blocks, buttons, select menu, action ids, the answered question edited),
so both bots make the same Web API calls for the same answers and the benchmark compares
the machinery, not the conversation. It replies in the DM the event came from (a bolt
app has the channel id in hand: no `conversations.open`, no `users.info`).

With `--retries N` the Web client gets slack_sdk's `AsyncRateLimitErrorRetryHandler`
(waits `Retry-After`, then tries again, N times), the documented way to live with 429s;
a transcript edit that still fails is logged and skipped so the next question goes out.

On SIGTERM or SIGINT it stops and, with `--dump`, writes everyone's answers as JSON (the
benchmark's correctness check reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# bench/common.py: imported while this folder is still on sys.path.
import common  # noqa: E402

# bench/slack.py sits next to this file: run as a script, this folder comes first on
# sys.path and that file would shadow slack_sdk's legacy `slack` package.
common.drop_from_sys_path(_HERE)

from aiohttp import web  # noqa: E402
from slack_bolt.app.async_app import AsyncApp  # noqa: E402
from slack_sdk.errors import SlackApiError  # noqa: E402
from slack_sdk.http_retry.builtin_async_handlers import (  # noqa: E402
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

log = logging.getLogger("plain_bolt_app")

DEFAULT_QUESTIONNAIRE = Path(__file__).with_name("slack-bench.yaml")
MAX_BUTTONS = 5  # more choices than this: a select menu (as Parley does)


# --- the questions -----------------------------------------------------------------------


Question = common.Question
Survey = common.Survey


def load_survey(path: Path) -> Survey:
    return common.load_survey(path, "app")


# --- Block Kit (mirrors Parley's Slack messages) -------------------------------------------


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, data: str) -> dict[str, Any]:
    return {"type": "button", "text": _plain(label), "action_id": data, "value": data}


def _actions(item_id: str, purpose: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": f"{purpose}|{item_id}", "elements": elements}


def say(text: str) -> tuple[str, list[dict[str, Any]]]:
    escaped = escape(text)
    return escaped, [_section(escaped)]


def consent_message(survey: Survey) -> tuple[str, list[dict[str, Any]]]:
    buttons = [
        _button("I agree", "p|consent|agree"),
        _button("I do not agree", "p|consent|decline"),
    ]
    blocks = [_section(f"*{escape(survey.consent)}*"), _actions("consent", "choose", buttons)]
    return survey.consent, blocks


def options(q: Question) -> list[tuple[str, str]]:
    """(value, label) of the question's choices, in order."""
    if q.type == "scale":
        return [(str(n), str(n)) for n in range(q.low, q.high + 1)]
    if q.type == "yes_no":
        return [("yes", "Yes"), ("no", "No")]
    return list(q.choices)


def hint(q: Question) -> str:
    if q.type == "number":
        return f"Reply with a whole number from {q.low:,} to {q.high:,}."
    if q.type == "text":
        return "Reply in your own words."
    return f"Reply with a number from 1 to {len(options(q))} or the name of an option."


def question_message(survey: Survey, q: Question) -> tuple[str, list[dict[str, Any]]]:
    progress = f"Question {q.number} of {len(survey.questions)} · Section 1: {survey.section}"
    asked = q.label
    if q.type == "scale":
        asked += f"\n{q.low} = {q.low_label} … {q.high} = {q.high_label}"
    blocks = [_section(f"_{escape(progress)}_\n*{escape(asked)}*")]
    choices = options(q)
    free = q.type in ("number", "text")
    as_menu = len(choices) > MAX_BUTTONS and q.type != "scale"
    if free or as_menu:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint(q)}]})
    if as_menu:
        menu = {
            "type": "static_select",
            "action_id": f"select|{q.id}",
            "placeholder": _plain(hint(q)[:150]),
            "options": [
                {"text": _plain(label), "value": f"p|{q.id}|{value}"} for value, label in choices
            ],
        }
        blocks.append(_actions(q.id, "choose", [menu]))
    elif choices:
        buttons = [_button(label, f"p|{q.id}|{value}") for value, label in choices]
        blocks.append(_actions(q.id, "choose", buttons))
    if q.number > 1:
        blocks.append(_actions(q.id, "controls", [_button("Back", f"c|{q.id}|back")]))
    return f"{progress} {asked}", blocks


def answered_message(question: str, display: str) -> tuple[str, list[dict[str, Any]]]:
    text = f"{escape(question)}\n✓ *{escape(display)}*"
    return text, [_section(text)]


# --- the conversation ---------------------------------------------------------------------

CONSENT = -1


@dataclass
class Person:
    channel: str
    position: int = CONSENT  # CONSENT, then the index of the question asked
    asked_ts: str | None = None  # the message asking the current question
    answers: dict[str, Any] = field(default_factory=dict)
    finished: bool = False
    declined: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One turn at a time per person: a reply can arrive before `chat.postMessage` has
    returned the `ts` of the question it answers (the message is already on screen)."""


class Questionnaire:
    def __init__(self, survey: Survey, client: AsyncWebClient) -> None:
        self.survey = survey
        self.client = client
        self.people: dict[str, Person] = {}

    async def post(self, channel: str, message: tuple[str, list[dict[str, Any]]]) -> str:
        text, blocks = message
        reply = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return str(reply["ts"])

    async def edit(self, person: Person, message: tuple[str, list[dict[str, Any]]]) -> None:
        """The answered question becomes a transcript line; cosmetic, so never fatal."""
        if person.asked_ts is None:
            return
        text, blocks = message
        try:
            await self.client.chat_update(
                channel=person.channel, ts=person.asked_ts, text=text, blocks=blocks
            )
        except SlackApiError as exc:
            log.warning("chat.update failed: %s", exc.response.get("error"))

    async def ask(self, person: Person, index: int) -> None:
        person.position = index
        if index >= len(self.survey.questions):
            person.finished, person.asked_ts = True, None
            await self.post(person.channel, say(self.survey.closing))
            return
        person.asked_ts = None
        ts = await self.post(
            person.channel, question_message(self.survey, self.survey.questions[index])
        )
        if person.position == index:
            person.asked_ts = ts

    async def start(self, person: Person) -> None:
        channel = person.channel
        await self.post(channel, say(f"Welcome to “{self.survey.title}”."))
        person.asked_ts = await self.post(channel, consent_message(self.survey))

    async def consent(self, person: Person, agreed: bool) -> None:
        display = "I agree" if agreed else "I do not agree"
        person.position = 0 if agreed else CONSENT
        await self.edit(person, answered_message(self.survey.consent, display))
        if not agreed:
            person.declined, person.asked_ts = True, None
            await self.post(person.channel, say("Understood. Thank you for your time."))
            return
        await self.post(person.channel, say(f"Section 1: {self.survey.section}"))
        await self.ask(person, 0)

    async def answer(self, person: Person, q: Question, value: Any, display: str) -> None:
        person.answers[q.id] = value
        person.position = q.number  # the next index: a repeated click is now stale
        await self.edit(person, answered_message(q.label, display))
        await self.ask(person, q.number)

    async def on_pick(self, user: str, data: str) -> None:
        person = self.people.get(user)
        parts = data.split("|", 2)
        if person is None or len(parts) != 3:
            return
        async with person.lock:
            await self.pick(person, parts[1], parts[2])

    async def pick(self, person: Person, item: str, value: str) -> None:
        if item == "consent":
            if person.position == CONSENT and not person.declined:
                await self.consent(person, value == "agree")
            return
        q = self.current(person)
        if q is None or q.id != item:
            return  # a stale button: that question is no longer the current one
        labels = dict(options(q))
        if value not in labels:
            return
        await self.answer(person, q, self.value_of(q, value), labels[value])

    async def on_back(self, user: str, item: str) -> None:
        person = self.people.get(user)
        if person is None:
            return
        async with person.lock:
            q = self.current(person)
            if q is not None and q.id == item:
                await self.ask(person, max(q.number - 2, 0))

    async def on_text(self, user: str, channel: str, text: str) -> None:
        person = self.people.get(user)
        if person is None:
            person = self.people[user] = Person(channel)
            async with person.lock:
                await self.start(person)
            return
        async with person.lock:
            await self.typed(person, channel, text)

    async def typed(self, person: Person, channel: str, text: str) -> None:
        q = self.current(person)
        if q is None:
            if person.position == CONSENT and not person.declined:
                await self.post(channel, consent_message(self.survey))
            return
        text = text.strip()
        if q.type == "text":
            await self.answer(person, q, text, text)
            return
        if q.type == "number":
            try:
                number = int(text.replace(",", ""))
            except ValueError:
                number = None
            if number is None or not q.low <= number <= q.high:
                await self.post(channel, say(hint(q)))
                return
            await self.answer(person, q, number, text)
            return
        choices = options(q)  # a typed choice: its number or its label
        picked = next((v for v, label in choices if label.casefold() == text.casefold()), None)
        if picked is None and text.isdigit() and 1 <= int(text) <= len(choices):
            picked = choices[int(text) - 1][0]
        if picked is None:
            await self.post(channel, say(hint(q)))
            return
        await self.answer(person, q, self.value_of(q, picked), dict(choices)[picked])

    def current(self, person: Person) -> Question | None:
        if person.finished or person.declined or person.position == CONSENT:
            return None
        if person.position >= len(self.survey.questions):
            return None
        return self.survey.questions[person.position]

    @staticmethod
    def value_of(q: Question, value: str) -> Any:
        if q.type == "scale":
            return int(value)
        if q.type == "yes_no":
            return value == "yes"
        return value

    def dump(self) -> dict[str, Any]:
        return {
            user: {"answers": p.answers, "finished": p.finished, "declined": p.declined}
            for user, p in self.people.items()
        }


def build(args: argparse.Namespace) -> tuple[AsyncApp, Questionnaire]:
    client = AsyncWebClient(token=args.token, base_url=args.api_url)
    if args.retries > 0:
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=args.retries))
    app = AsyncApp(client=client, signing_secret=args.signing_secret)
    flow = Questionnaire(load_survey(args.questionnaire), client)

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        await flow.on_text(str(event["user"]), str(event["channel"]), str(event.get("text", "")))

    @app.action(re.compile(r"^(p|select)\|"))
    async def on_pick(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        data = action.get("value") or (action.get("selected_option") or {}).get("value", "")
        await flow.on_pick(str(body["user"]["id"]), str(data))

    @app.action(re.compile(r"^c\|"))
    async def on_control(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        parts = str(action.get("value", "")).split("|")
        if len(parts) == 3 and parts[2] == "back":
            await flow.on_back(str(body["user"]["id"]), parts[1])

    return app, flow


async def serve(args: argparse.Namespace) -> None:
    app, flow = build(args)
    web_app = app.web_app(path="/slack/events", port=args.port)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"plain bolt app on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if args.dump is not None:
            args.dump.write_text(json.dumps(flow.dump(), ensure_ascii=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True, help="Web API base URL, ending with /")
    parser.add_argument("--token", required=True, help="bot token (xoxb-...)")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--questionnaire", type=Path, default=DEFAULT_QUESTIONNAIRE)
    parser.add_argument("--retries", type=int, default=0, help="retries after a 429 (0: none)")
    parser.add_argument("--dump", type=Path, help="write the answers here as JSON on exit")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
