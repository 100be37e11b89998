"""Simulated stakeholders who answer `short.yaml` on Telegram or Slack, one turn at a time.

Each stakeholder has a seeded script: what it types at each turn, which item that reply
answers and the value it must be stored as, and a piece of the bot's next message (the
next question, or the closing). It types, waits (bounded) for that piece to appear in
its chat, thinks a little, and goes on. So at any moment it knows which item the bot
should be asking: a reply that never comes, or one that skips ahead, is a finding.

The fakes are reached through `Chat`, one small adapter per platform.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

__all__ = [
    "CLOSING",
    "Chat",
    "Outcome",
    "SlackChat",
    "TelegramChat",
    "Turn",
    "script_for",
    "walk",
]

CONSENT = "Do you agree to take part?"
CLOSING = "Your answers have been recorded."
LABELS = {
    "org_type": "What type of organisation do you work for?",
    "total_staff": "How many staff does your organisation have?",
    "uses_portal": "Do you use the open data portal?",
    "comment": "Anything else you would like to tell us?",
}
ORG_TYPES = ("non_profit", "municipality", "university")


class Chat(Protocol):
    """One stakeholder's conversation with the bot on some platform."""

    platform: str
    address: str
    """The outbox address of the chat (Telegram chat id, Slack DM channel or user id)."""

    def send(self, text: str) -> None: ...

    def click(self, label: str) -> None: ...

    def texts(self) -> list[str]:
        """What the bot's messages in this chat show now, oldest first."""
        ...


@dataclass
class TelegramChat:
    fake: FakeTelegram
    user_id: int
    platform: str = "telegram"

    def __post_init__(self) -> None:
        self.user = self.fake.user(self.user_id, f"Tester{self.user_id}")
        self.address = str(self.user_id)

    def send(self, text: str) -> None:
        if text.startswith("/"):
            self.user.send_command(text)
        else:
            self.user.send_text(text)

    def click(self, label: str) -> None:
        self.user.press(label)

    def texts(self) -> list[str]:
        return [m.text or m.caption or "" for m in self.fake.messages(self.user_id)]


@dataclass
class SlackChat:
    fake: FakeSlack
    user_id: str
    platform: str = "slack"

    def __post_init__(self) -> None:
        self.user = self.fake.user(self.user_id, name=self.user_id.lower())
        self.address = self.user.dm()

    def send(self, text: str) -> None:
        self.user.say(text)

    def click(self, label: str) -> None:
        self.user.click(label)

    def texts(self) -> list[str]:
        return [m.visible_text for m in self.fake.messages(self.address)]


@dataclass(frozen=True)
class Turn:
    reply: str
    expect: str
    """A piece of the bot message this reply should bring (the next question)."""
    item: str | None = None
    value: Any = None


def script_for(rng: random.Random, greeting: str, number: int) -> tuple[Turn, ...]:
    """Consent, then the four items with this stakeholder's own answers."""
    org = rng.randrange(len(ORG_TYPES))
    staff = rng.randint(1, 900)
    portal = rng.random() < 0.5
    comment = f"Comment {number}: more local data, {rng.randint(1, 10**6)}."
    return (
        Turn(greeting, CONSENT),
        Turn("yes", LABELS["org_type"]),
        Turn(str(org + 1), LABELS["total_staff"], "org_type", ORG_TYPES[org]),
        Turn(str(staff), LABELS["uses_portal"], "total_staff", staff),
        Turn("yes" if portal else "no", LABELS["comment"], "uses_portal", portal),
        Turn(comment, CLOSING, "comment", comment),
    )


@dataclass
class Outcome:
    """How far one stakeholder got: the turns whose reply came, and what went wrong."""

    chat: Chat
    script: tuple[Turn, ...]
    replied: int = 0
    """Turns whose expected reply arrived (a prefix of the script)."""
    waits: list[float] = field(default_factory=list)
    problem: str | None = None

    @property
    def finished(self) -> bool:
        return self.replied == len(self.script)

    @property
    def answered(self) -> dict[str, Any]:
        """item → value for every answer the stakeholder got a reply for."""
        done = self.script[: self.replied]
        return {t.item: t.value for t in done if t.item is not None}

    @property
    def expected_item(self) -> str | None:
        """The item the bot should be asking now (None once finished)."""
        pending = self.script[self.replied :]
        return next((t.item for t in pending if t.item is not None), None)


async def wait_for_text(
    chat: Chat, piece: str, seen_before: int, timeout: float, poll: float = 0.2
) -> bool:
    """Whether a message containing `piece` appears (or is edited in) within `timeout`;
    messages older than `seen_before` count too, when edited to show it."""
    deadline = time.monotonic() + timeout
    while True:
        if any(piece in text for text in chat.texts()[max(seen_before - 1, 0) :]):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


async def walk(
    chat: Chat,
    script: tuple[Turn, ...],
    *,
    think: Callable[[], float],
    timeout: float,
) -> Outcome:
    """Play the script; stop at the first reply that does not come within `timeout`."""
    outcome = Outcome(chat, script)
    for turn in script:
        await asyncio.sleep(think())
        seen = len(chat.texts())
        sent = time.monotonic()
        await asyncio.to_thread(chat.send, turn.reply)
        if not await wait_for_text(chat, turn.expect, seen, timeout):
            outcome.problem = f"no {turn.expect!r} within {timeout:.0f}s after {turn.reply!r}"
            return outcome
        outcome.waits.append(time.monotonic() - sent)
        outcome.replied += 1
    return outcome


INVITED = "You are invited to a discussion group"
REMINDED = "starts in one hour"


async def attend(chat: Chat, *, timeout: float, reminder_by: float) -> Outcome:
    """An invitee of the discussion group: waits for the invitation, answers Yes, waits
    until `reminder_by` (time.monotonic) for the T-1h reminder. `replied` counts the
    steps that came."""
    outcome = Outcome(chat, (Turn("", INVITED), Turn("Yes", REMINDED)))
    if not await wait_for_text(chat, INVITED, 0, timeout):
        outcome.problem = f"no invitation within {timeout:.0f}s"
        return outcome
    outcome.replied = 1
    await asyncio.to_thread(chat.click, "Yes")
    if not await wait_for_text(chat, REMINDED, 0, max(reminder_by - time.monotonic(), 0.0)):
        outcome.problem = "no T-1h reminder in time"
        return outcome
    outcome.replied = 2
    return outcome
