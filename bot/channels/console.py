"""The console channel: the person at the terminal is a stakeholder.

Works interactively (numbered choices, a prompt) and with piped stdin, so tests and
scripts can drive a whole questionnaire. Each line is one event; the next line is read
only after the replies to the previous one were printed, so transcripts read in order.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import TextIO

from bot.channels.base import EventSink, InboundEvent
from conversations.inputs import Begin, Input, Reply
from conversations.messages import (
    Answered,
    Ask,
    AskStyle,
    Attachment,
    Gallery,
    Message,
    Notice,
    Rich,
    Say,
)

__all__ = ["ConsoleChannel", "ResearchConsole", "render"]

PLATFORM = "console"


class ConsoleChannel:
    name = PLATFORM

    def __init__(
        self,
        user: str,
        stdin: TextIO,
        stdout: TextIO,
        *,
        language: str | None = None,
        interactive: bool = False,
    ) -> None:
        self.user = user
        self.stdin = stdin
        self.stdout = stdout
        self.language = language
        self.interactive = interactive
        self._session = uuid.uuid4().hex[:12]
        self._count = 0

    async def start(self, sink: EventSink) -> None:
        await sink(self._event(Begin()))
        lines = _LineReader(self.stdin)
        while True:
            if self.interactive:
                self._write("> ", end="")
            line = await lines.next()
            if line is None:
                break
            if line.strip():
                await sink(self._event(Reply(line.rstrip("\r\n"))))

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        text = render(message)
        if text:
            self._write(text)
        return None

    async def stop(self) -> None:
        return None

    def _event(self, event_input: Input) -> InboundEvent:
        self._count += 1
        return InboundEvent(
            platform=PLATFORM,
            event_id=f"{self._session}:{self._count}",
            sender=self.user,
            address=self.user,
            input=event_input,
            display_name=self.user,
            language=self.language,
        )

    def _write(self, text: str, end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()


class ResearchConsole:
    """Prints what is addressed to the console (digests, when no research channel is set)
    in a process whose people are on Telegram or Slack: it receives nothing."""

    name = PLATFORM

    def __init__(self, stdout: TextIO) -> None:
        self.stdout = stdout
        self._stopped = asyncio.Event()

    async def start(self, sink: EventSink) -> None:
        await self._stopped.wait()

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        text = render(message)
        if text:
            self.stdout.write(text + "\n")
            self.stdout.flush()
        return None

    async def stop(self) -> None:
        self._stopped.set()


class _LineReader:
    """Reads lines on a daemon thread: a blocked `readline` must never hold up exit."""

    def __init__(self, stream: TextIO) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._stream = stream
        threading.Thread(target=self._read, name="parley-console", daemon=True).start()

    def _read(self) -> None:
        for line in iter(self._stream.readline, ""):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def next(self) -> str | None:
        return await self._queue.get()


def render(message: Message) -> str:
    """A message as console text. Pure, so transcripts can be tested exactly."""
    if isinstance(message, Ask):
        return _render_ask(message)
    if isinstance(message, Answered):
        return f"  ✓ {message.display}"
    if isinstance(message, Notice):
        return f"({message.text})"
    if isinstance(message, Attachment):
        return f"[{message.filename}] {message.caption}\n{message.content.rstrip()}".lstrip()
    if isinstance(message, Rich):
        return message.text
    if isinstance(message, Gallery):
        return "\n".join(f"[{image.filename}] {image.alt}" for image in message.images)
    if isinstance(message, Say):
        return message.text
    raise TypeError(f"not a message: {message!r}")


def _control(command: str, label: str) -> str:
    """`back`, or `skip (Prefer not to say)` when the label says more than the command."""
    return command if label.casefold() == command else f"{command} ({label})"


def _render_ask(ask: Ask) -> str:
    lines = [f"[{ask.progress}]"] if ask.progress else []
    lines.append(ask.text)
    multi = ask.style is AskStyle.MULTI
    if ask.style is AskStyle.SCALE:
        lines.append("  " + "  ".join(o.label for o in ask.options))
    else:
        for number, option in enumerate(ask.options, start=1):
            tick = ("[x] " if option.value in ask.selected else "[ ] ") if multi else ""
            lines.append(f"  {number}. {tick}{option.label}")
    lines.append(f"({ask.hint})")
    if ask.controls:
        lines.append("→ " + " · ".join(_control(c.value, c.label) for c in ask.controls))
    return "\n".join(lines)
