"""`parley run --role` (#8): web processes handle, the elected dispatcher sends, a standby
takes over. Real `parley run` processes on one PostgreSQL schema, the loopback Telegram.

The fault-injection suite (`tests/faults/`) runs the full topology under faults; these
are the roles' own promises, one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import ConfigurationError, build
from bot.settings import Settings
from storage import make_engine
from storage.models import RoleHolder
from tests.e2e.telegram_support import WAIT, ParleyBot, free_port, telegram_env
from tests.fakes.telegram_api import FakeTelegram

CONSENT_EN = "Do you agree to take part?"
TAKEOVER_BOUND = 30.0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"role": "web"}, "--role web needs PostgreSQL"),
        ({"role": "leader"}, "PARLEY_ROLE 'leader': use one of all, web, dispatcher, scheduler"),
    ],
)
def test_a_role_that_cannot_work_is_refused_in_one_line(
    sqlite_url: str, settings: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        build(Settings(database_url=sqlite_url, **settings))  # type: ignore[arg-type]
    assert str(refused.value).startswith(expected)
    assert "\n" not in str(refused.value)


def test_a_web_process_with_telegram_needs_the_webhook(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, role="web", telegram_token="1:x")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="needs PARLEY_TELEGRAM_WEBHOOK_URL"):
        build(settings)


def holder_of(database_url: str, role: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(RoleHolder.holder).where(RoleHolder.role == role)
            return connection.execute(query).scalar_one_or_none()
    finally:
        engine.dispose()


def wait_until(check: Callable[[], object], limit: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit:
            raise AssertionError(f"not within {limit:.0f}s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def test_web_handles_the_elected_dispatcher_sends_and_a_standby_takes_over(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with FakeTelegram() as tg:
        common = {
            "PARLEY_OPEN_ENROLLMENT": "true",
            "PARLEY_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
            "PARLEY_SCHEDULER": "false",
        }
        web_env = telegram_env(postgres_url, tg, PARLEY_ROLE="web", PARLEY_HTTP_PORT=str(port))
        web_env.update(common)
        web = ParleyBot(web_env, tmp_path, 1)
        senders: list[ParleyBot] = []
        try:
            tg.wait_until(lambda: tg.webhook_url, WAIT, "the webhook set")
            wanda = tg.user(7101, first_name="Wanda", language_code="en")
            wanda.send_command("/start")
            time.sleep(1.5)
            assert wanda.messages() == [], "a web process sent a message"

            for number in (2, 3):
                env = telegram_env(
                    postgres_url, tg, PARLEY_ROLE="dispatcher", PARLEY_HTTP_PORT=str(free_port())
                )
                env.update(common)
                senders.append(ParleyBot(env, tmp_path, number))
                if number == 2:  # the first one leads: it starts alone
                    consent = wanda.wait_for(lambda m: CONSENT_EN in (m.text or ""), WAIT)
            first, second = senders
            assert (
                holder_of(
                    postgres_url,
                    "dispatcher:telegram",
                )
                is not None
            )
            assert str(first.proc.pid) in str(holder_of(postgres_url, "dispatcher:telegram"))

            first.kill9()
            killed = time.monotonic()
            wanda.press("I agree", message_id=consent.message_id)
            wanda.wait_for(
                lambda m: "What type of organisation" in (m.text or ""), TAKEOVER_BOUND + 5
            )
            took = time.monotonic() - killed
            assert took <= TAKEOVER_BOUND, f"the standby sent after {took:.1f}s"
            wait_until(
                lambda: str(second.proc.pid) in str(holder_of(postgres_url, "dispatcher:telegram")),
                WAIT,
                "the standby reported as holder",
            )
            texts = [m.text for m in wanda.messages()]
            assert len(texts) == len(set(texts)), f"a message went out twice: {texts}"
        finally:
            for bot in (web, *senders):
                bot.stop()
