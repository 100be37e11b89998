"""The channel's own chat.postMessage / chat.update calls (`bot.channels.slack_chat`),
against the loopback fake: what is posted, and Slack's errors as delivery errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from bot.channels.base import DeliveryError, InboundEvent
from bot.channels.slack import SlackChannel
from conversations.messages import Answered, Say
from tests.fakes.slack_api import FakeSlack

T = TypeVar("T")


async def _ignore(event: InboundEvent) -> None:
    return None


def with_channel(slack: FakeSlack, act: Callable[[SlackChannel], Awaitable[T]]) -> T:
    """Run `act` on a started channel (its shared HTTP session open), then stop it."""

    async def run() -> T:
        channel = SlackChannel(
            bot_token=slack.bot_token, signing_secret=None, api_url=slack.api_url
        )
        started = asyncio.create_task(channel.start(_ignore))
        try:
            for _ in range(200):  # start() opens the session, then calls auth.test
                if channel.client.session is not None and slack.calls_for("auth.test"):
                    break
                await asyncio.sleep(0.01)
            return await asyncio.wait_for(act(channel), 10)
        finally:
            await channel.stop()
            await asyncio.wait_for(started, 5)
            await channel.close()

    return asyncio.run(run())


def test_a_post_lands_in_the_dm_and_an_edit_rewrites_it() -> None:
    with FakeSlack(enforce_rate_limits=False) as slack:
        slack.user("U1", name="alice")

        async def act(channel: SlackChannel) -> tuple[str | None, str | None]:
            posted = await channel.send("U1", Say("Hello & welcome"))
            edited = await channel.send("U1", Answered("q1", "How old?", "42"), posted)
            return posted, edited

        posted, edited = with_channel(slack, act)
        assert posted is not None and edited == posted
        post, update = slack.calls_for("chat.postMessage")[0], slack.calls_for("chat.update")[0]
        assert post.ok and post.params["text"] == "Hello &amp; welcome"
        assert update.ok and update.params["ts"] == posted.split("|")[1]
        assert "42" in str(update.json("blocks"))


@pytest.mark.parametrize(
    ("status", "error", "permanent", "retry_after"),
    [
        (429, None, False, 3.0),
        (503, None, False, None),
        (200, "channel_not_found", True, None),
    ],
)
def test_slack_errors_become_delivery_errors(
    status: int, error: str | None, permanent: bool, retry_after: float | None
) -> None:
    with FakeSlack(enforce_rate_limits=False) as slack:
        slack.user("U1", name="alice")
        slack.fail_next(1, status=status, retry_after=3, method="chat.postMessage", error=error)

        async def act(channel: SlackChannel) -> DeliveryError:
            with pytest.raises(DeliveryError) as raised:
                await channel.send("U1", Say("hi"))
            return raised.value

        failure = with_channel(slack, act)
        assert failure.permanent is permanent
        assert failure.retry_after == retry_after
        if error is not None:
            assert error in str(failure)
