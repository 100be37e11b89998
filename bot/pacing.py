"""Send pacing: token buckets per platform account and per chat.

Platforms limit bots per account (Telegram: ~30 messages/s), per private chat (~1/s,
short bursts tolerated) and per group (~20/min). Waiting here, before a request, keeps
a fan-out to thousands steady instead of tripping 429s and backing off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Pacer", "PacingRules", "RateLimit", "TokenBucket"]


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: float = 1.0

    @classmethod
    def per_minute(cls, count: float, burst: float = 1.0) -> RateLimit:
        return cls(count / 60.0, burst)


class TokenBucket:
    """A bucket that can be overdrawn: `reserve()` books the next free slot and says when."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self.tokens = limit.burst
        self.stamp = clock()

    def reserve(self) -> float:
        """Take one token; returns how many seconds to wait before using it."""
        now = self.clock()
        self.tokens = min(
            self.limit.burst, self.tokens + (now - self.stamp) * self.limit.per_second
        )
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.limit.per_second


@dataclass(frozen=True)
class PacingRules:
    overall: RateLimit
    direct: RateLimit
    group: RateLimit
    is_group: Callable[[str], bool] = field(default=lambda address: False)


class Pacer:
    """Waits as long as the strictest applicable bucket requires."""

    def __init__(self, rules: PacingRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self._overall = TokenBucket(rules.overall, clock)
        self._chats: dict[str, TokenBucket] = {}

    async def wait(self, address: str, *, edit: bool = False) -> None:
        """The chat's turn first, then the account's: a slot is booked when it will be used.

        Editing a message already in the chat (a question turned into its answer) is not a
        new message in that chat, so it only counts against the account's limit.
        """
        buckets = (self._overall,) if edit else (self._chat(address), self._overall)
        for bucket in buckets:
            delay = bucket.reserve()
            if delay > 0:
                await asyncio.sleep(delay)

    def _chat(self, address: str) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            limit = self.rules.group if self.rules.is_group(address) else self.rules.direct
            bucket = self._chats[address] = TokenBucket(limit, self.clock)
        return bucket
