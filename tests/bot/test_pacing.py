"""Token buckets and the pacer, on a clock the test moves (nothing sleeps for real)."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram import TelegramChannel, telegram_pacing
from bot.pacing import Pacer, PacingRules, RateLimit, TokenBucket
from conversations.messages import Gallery, Image, Say


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


def test_rewrites_book_spread_out_slots_and_are_let_through_when_they_come_back() -> None:
    clock = Clock()
    rules = PacingRules(
        overall=RateLimit(100.0, burst=100.0),
        direct=RateLimit(1.0, burst=1.0),
        group=RateLimit(1.0, burst=1.0),
        edits=RateLimit.per_minute(60, burst=2.0),
    )
    pacer = Pacer(rules, clock)
    assert [pacer.rewrite_delay(key) for key in (1, 2, 3, 4)] == pytest.approx(
        [0.0, 0.0, 1.0, 2.0]  # put off together, they come back a second apart
    )
    clock.now += 1.0
    assert pacer.rewrite_delay(3) == 0.0  # its booked slot: no second booking
    assert pacer.rewrite_delay(5) == pytest.approx(2.0)  # a newcomer queues behind 4
    clock.now += 1.0
    assert pacer.rewrite_delay(4) == 0.0
    assert pacer.rewrite_delay(3) == pytest.approx(2.0)  # a booking is used once


def test_live_edits_do_not_queue_behind_booked_rewrites() -> None:
    clock = Clock()
    rules = PacingRules(
        overall=RateLimit(100.0, burst=100.0),
        direct=RateLimit(1.0, burst=1.0),
        group=RateLimit(1.0, burst=1.0),
        edits=RateLimit.per_minute(1, burst=1.0),
    )
    pacer = Pacer(rules, clock)
    assert [pacer.rewrite_delay(key) for key in (1, 2)] == pytest.approx([0.0, 60.0])
    asyncio.run(asyncio.wait_for(pacer.wait("chat", edit=True), 0.5))  # no minute's wait


def test_without_an_edit_limit_rewrites_are_never_put_off() -> None:
    rules = PacingRules(RateLimit(30.0, 30.0), RateLimit(1.0, 2.0), RateLimit(0.3, 1.0))
    pacer = Pacer(rules, Clock())
    assert {pacer.rewrite_delay(key) for key in range(100)} == {0.0}


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


def test_a_media_group_counts_one_message_per_photo_in_a_group_chat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Telegram counts each photo of a media group against the group's 20 a minute."""
    clock = Clock()
    rules = telegram_pacing()
    pacer = Pacer(rules, clock)
    image = Image("c.png", "", "chart", "alt")
    gallery = Gallery((image, image, image))
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)

    async def scenario() -> None:
        for message in (gallery, Say("after the charts")):
            count = TelegramChannel.counted_messages(message)
            await pacer.wait("-1001", messages=count)

    monkeypatch.setattr("bot.pacing.asyncio.sleep", fake_sleep)
    asyncio.run(scenario())
    per_message = 60.0 / 19.0
    # a burst of 2, the gallery takes 3: the text waits for two more slots, not zero
    assert waits[-1] == pytest.approx(2 * per_message)
    assert TelegramChannel.counted_messages(Say("x")) == 1
