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
        self._refill()
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.limit.per_second

    def take_if_free(self, keep: float = 0.0) -> float:
        """Take a token only if one is free now with `keep` more left over; otherwise book
        nothing and return how many seconds until that is so."""
        self._refill()
        if self.tokens - 1.0 >= keep:
            self.tokens -= 1.0
            return 0.0
        return max((1.0 + keep - self.tokens) / self.limit.per_second, 1e-3)

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
    """Account-wide limit on rewriting sent messages, where the platform has its own
    (Slack's `chat.update`: Tier 3, ~50/minute per workspace)."""
    live_edit_reserve: float = 5.0
    """Edit tokens a transcript rewrite leaves for live ones (a ticked checkbox redrawn)."""
    edits_count_as_messages: bool = True
    """Whether an edit also spends the account's message budget (`overall`). Telegram's
    30/s is about messages sent; edits have their own budget there."""


class Pacer:
    """Waits as long as the strictest applicable bucket requires."""

    def __init__(self, rules: PacingRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self._overall = TokenBucket(rules.overall, clock)
        self._edits = TokenBucket(rules.edits, clock) if rules.edits is not None else None
        self._chats: dict[str, TokenBucket] = {}

    async def wait(self, address: str, *, edit: bool = False, booked: bool = False) -> None:
        """The chat's turn first, then the account's: a slot is booked when it will be used.

        Editing a message already in the chat (a question turned into its answer) is not a
        new message in that chat: it counts against the account's limit and its edit limit
        (unless `booked` by `rewrite_delay`).
        """
        if not edit:
            buckets: tuple[TokenBucket, ...] = (self._chat(address), self._overall)
        else:
            own = () if self._edits is None or booked else (self._edits,)
            shared = (self._overall,) if self.rules.edits_count_as_messages else ()
            buckets = own + shared
        for bucket in buckets:
            delay = bucket.reserve()
            if delay > 0:
                await asyncio.sleep(delay)

    def rewrite_delay(self) -> float:
        """For a rewrite that can wait (a transcript line): 0 with an edit slot booked when
        one is free (keeping a reserve for live edits), else seconds to try again later.
        Waiting inline instead would hold that chat's next question behind it."""
        if self._edits is None:
            return 0.0
        return self._edits.take_if_free(keep=self.rules.live_edit_reserve)

    def _chat(self, address: str) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            limit = self.rules.group if self.rules.is_group(address) else self.rules.direct
            bucket = self._chats[address] = TokenBucket(limit, self.clock)
        return bucket
