"""Token buckets and the pacer, on a clock the test moves (nothing sleeps for real)."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import Pacer, PacingRules, RateLimit, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("burst", "elapsed", "expected"),
    [
        (2.0, 0.0, [0.0, 0.0, 1.0, 2.0]),  # the burst, then one a second, booked ahead
        (1.0, 0.0, [0.0, 1.0, 2.0, 3.0]),
        (2.0, 10.0, [0.0, 0.0, 1.0, 2.0]),  # idle time refills only up to the burst
    ],
)
def test_reserve_books_the_next_free_slot(
    burst: float, elapsed: float, expected: list[float]
) -> None:
    clock = Clock()
    bucket = TokenBucket(RateLimit(1.0, burst), clock)
    clock.now += elapsed
    assert [bucket.reserve() for _ in expected] == pytest.approx(expected)


def test_take_if_free_keeps_the_reserve_and_books_nothing_when_refused() -> None:
    clock = Clock()
    bucket = TokenBucket(RateLimit(2.0, burst=3.0), clock)
    assert bucket.take_if_free(keep=1.0) == 0.0
    assert bucket.take_if_free(keep=1.0) == 0.0
    assert bucket.take_if_free(keep=1.0) == pytest.approx(0.5)  # 1 token left, 2 wanted
    assert bucket.take_if_free(keep=1.0) == pytest.approx(0.5)  # refusing booked nothing
    assert bucket.reserve() == 0.0  # the reserve is there for whoever waits for it
    clock.now += 0.5
    assert bucket.take_if_free() == 0.0


def test_rewrites_are_put_off_once_the_edit_budget_is_spent_and_live_edits_still_go() -> None:
    clock = Clock()
    rules = PacingRules(
        overall=RateLimit(100.0, burst=100.0),
        direct=RateLimit(1.0, burst=1.0),
        group=RateLimit(1.0, burst=1.0),
        edits=RateLimit.per_minute(60, burst=3.0),
        live_edit_reserve=1.0,
    )
    pacer = Pacer(rules, clock)
    assert [pacer.rewrite_delay() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])
    asyncio.run(asyncio.wait_for(pacer.wait("chat", edit=True), 1))  # the reserved token
    assert pacer.rewrite_delay() == pytest.approx(2.0)


def test_without_an_edit_limit_rewrites_are_never_put_off() -> None:
    rules = PacingRules(RateLimit(30.0, 30.0), RateLimit(1.0, 2.0), RateLimit(0.3, 1.0))
    pacer = Pacer(rules, Clock())
    assert {pacer.rewrite_delay() for _ in range(100)} == {0.0}


def test_edits_with_their_own_budget_leave_the_message_budget_to_new_messages() -> None:
    clock = Clock()
    rules = PacingRules(
        overall=RateLimit(1.0, burst=1.0),
        direct=RateLimit(100.0, burst=100.0),
        group=RateLimit(100.0, burst=100.0),
        edits=RateLimit(100.0, burst=100.0),
        edits_count_as_messages=False,
    )
    pacer = Pacer(rules, clock)

    async def ten_edits_then_a_message() -> None:
        for _ in range(10):
            await pacer.wait("chat", edit=True)
        await pacer.wait("chat")

    asyncio.run(asyncio.wait_for(ten_edits_then_a_message(), 0.5))  # nothing waited
    assert pacer._overall.reserve() == pytest.approx(1.0)  # only the message took a turn
