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

    def reserve(self, count: float = 1.0) -> float:
        """Take `count` tokens; returns how many seconds to wait before using them."""
        self._refill()
        self.tokens -= count
        return 0.0 if self.tokens >= 0 else -self.tokens / self.limit.per_second

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(
            self.limit.burst, self.tokens + (now - self.stamp) * self.limit.per_second
        )
        self.stamp = now


@dataclass(frozen=True)
class PacingRules:
    overall: RateLimit
    direct: RateLimit
    group: RateLimit
    is_group: Callable[[str], bool] = field(default=lambda address: False)
    edits: RateLimit | None = None
    """Account-wide budget for transcript rewrites (a question turned into its answer),
    where the platform limits edits on their own (Slack's `chat.update`: Tier 3, ~50 a
    minute per workspace). Set below the platform's figure: live edits (a ticked box
    redrawn) are few and do not queue behind rewrites."""
    edits_count_as_messages: bool = True
    """Whether an edit also spends the account's message budget (`overall`). Telegram's
    30/s is about messages sent; edits have their own budget there."""


_MAX_BOOKINGS = 100_000
"""Rewrites put off with a booked slot, remembered by key; older bookings are forgotten."""


class Pacer:
    """Waits as long as the strictest applicable bucket requires."""

    def __init__(self, rules: PacingRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self._overall = TokenBucket(rules.overall, clock)
        self._edits = TokenBucket(rules.edits, clock) if rules.edits is not None else None
        self._chats: dict[str, TokenBucket] = {}
        self._booked: dict[int, float] = {}

    async def wait(self, address: str, *, edit: bool = False, messages: int = 1) -> None:
        """The chat's turn first, then the account's: a slot is booked when it will be used.

        Editing a message already in the chat is not a new message in that chat: it only
        counts against the account's limit, where edits count as messages. `messages`: how
        many the platform counts this send as (a Telegram media group: one per photo).
        """
        if not edit:
            buckets: tuple[TokenBucket, ...] = (self._chat(address), self._overall)
        else:
            buckets = (self._overall,) if self.rules.edits_count_as_messages else ()
        for bucket in buckets:
            delay = bucket.reserve(messages)
            if delay > 0:
                await asyncio.sleep(delay)

    def rewrite_delay(self, key: int) -> float:
        """When the transcript rewrite `key` may go: 0 now, else in that many seconds.

        Rewrites queue in the edit budget: each books the next free slot, once. A caller
        that puts the rewrite off (rather than hold the chat's next question behind it)
        gets 0 when it comes back with the same key, its slot having come, so rewrites put
        off together come back spread out, not all at once to be put off again.
        """
        if self._edits is None or self._booked.pop(key, None) is not None:
            return 0.0
        delay = self._edits.reserve()
        if delay > 0:
            if len(self._booked) >= _MAX_BOOKINGS:
                self._booked.pop(next(iter(self._booked)))
            self._booked[key] = delay
        return delay

    def _chat(self, address: str) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            limit = self.rules.group if self.rules.is_group(address) else self.rules.direct
            bucket = self._chats[address] = TokenBucket(limit, self.clock)
        return bucket
