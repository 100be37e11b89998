"""The channel contract: platforms in, neutral events out; neutral messages in, platform out.

A channel translates and nothing else. It never decides what to say: it turns an update
into an `InboundEvent`, hands it to the sink, and later sends what the dispatcher gives it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from conversations.inputs import Input
from conversations.messages import Message

__all__ = ["Channel", "DeliveryError", "EventSink", "InboundEvent", "Receipt"]


@dataclass(frozen=True)
class InboundEvent:
    """One thing a person did, on one platform.

    `event_id` is unique per platform (Telegram `update_id`, Slack `event_id`, a console
    line number): the handling transaction records it, so a redelivery does nothing twice.
    `sender` is the person's id on the platform; `address` is where replies go.
    """

    platform: str
    event_id: str
    sender: str
    address: str
    input: Input
    display_name: str | None = None
    language: str | None = None
    invite_token: str | None = None
    """From an invitation link (Telegram `/start <token>`): binds the sender to a roster entry."""
    time_zone: str | None = None
    """From the platform profile (Slack's `tz`), for someone who enrols themselves."""
    group: bool = False
    """Said in a group chat or channel rather than a direct conversation with the bot."""
    command: bool = False
    """An explicit researcher command (Slack's `/parley …`), valid from any channel."""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Receipt(Protocol):
    """What handling an event produced, as far as the channel that received it cares."""

    @property
    def duplicate(self) -> bool: ...

    @property
    def notices(self) -> tuple[str, ...]:
        """Short asides (a stale button) a channel may show as a toast instead of a message."""


EventSink = Callable[[InboundEvent], Awaitable[Receipt]]


class DeliveryError(Exception):
    """A send failed. `retry_after` (seconds) is set when the platform said when to retry;
    `permanent` when retrying cannot help (blocked bot, unknown chat)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


class Channel(Protocol):
    name: str

    async def start(self, sink: EventSink) -> None:
        """Begin receiving; returns when the channel has stopped receiving for good."""

    async def send(self, address: str, message: Message, target: str | None = None) -> str | None:
        """Deliver one message; raise DeliveryError when it did not arrive.

        `target` is the platform id of an earlier message to rewrite (a question that got
        its answer); the return value is the platform id of what was sent, if any.
        """

    async def stop(self) -> None: ...
