"""The operators' surface of real `parley run` processes (#8): a web process and an elected
dispatcher on one PostgreSQL schema, the loopback Telegram; `/readyz`, `/healthz`,
`parley status` and JSON logs as an operator meets them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.cli import app
from tests.e2e.telegram_support import WAIT, ParleyBot, free_port, telegram_env
from tests.fakes.telegram_api import FakeTelegram


def fetch(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def ready(bot: ParleyBot, port: int) -> dict[str, Any]:
    """The `/readyz` body once it answers 200 (bounded by WAIT)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert bot.alive(), bot.log()
        try:
            status, body = fetch(port, "/readyz")
        except OSError:  # not listening yet
            status, body = 0, {}
        if status == 200:
            return body
        time.sleep(0.2)
    raise AssertionError(f"/readyz not 200 within {WAIT:.0f}s:\n{bot.log()}")


def test_ready_processes_report_their_roles_and_log_json(
    postgres_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    web_port, dispatcher_port = free_port(), free_port()
    with FakeTelegram() as tg:
        common = {
            "PARLEY_OPEN_ENROLLMENT": "true",
            "PARLEY_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{web_port}/telegram/webhook",
            "PARLEY_SCHEDULER": "false",
            "PARLEY_LOG_FORMAT": "json",
        }
        web_env = telegram_env(
            postgres_url, tg, PARLEY_ROLE="web", PARLEY_HTTP_PORT=str(web_port), **common
        )
        sender_env = telegram_env(
            postgres_url,
            tg,
            PARLEY_ROLE="dispatcher",
            PARLEY_HTTP_PORT=str(dispatcher_port),
            **common,
        )
        with ParleyBot(web_env, tmp_path, 1) as web, ParleyBot(sender_env, tmp_path, 2) as sender:
            ready(web, web_port)
            body = ready(sender, dispatcher_port)
            wanda = tg.user(7201, first_name="Wanda", language_code="en")
            wanda.send_command("/start")
            wanda.wait_for(lambda m: "agree" in (m.text or ""), WAIT)

            holders = {r["role"]: r for r in ready(web, web_port)["roles"]}
            assert holders["dispatcher:telegram"]["alive"] is True
            assert holders["dispatcher:telegram"]["holder"].endswith(f":{sender.proc.pid}")
            assert body["outbox"]["failed"] == 0
            assert fetch(web_port, "/healthz") == (
                200,
                {"ok": True, "pid": web.proc.pid, "role": "web", "leads": []},
            )
            status, health = fetch(dispatcher_port, "/healthz")
            assert (status, health["role"], health["leads"]) == (
                200,
                "dispatcher",
                ["dispatcher:telegram"],
            )

            monkeypatch.setenv("PARLEY_DATABASE_URL", postgres_url)
            shown = CliRunner().invoke(app, ["status"])
            assert shown.exit_code == 0, shown.output
            assert f":{sender.proc.pid}" in shown.stdout
            assert "dispatcher:telegram" in shown.stdout
        logged = [json.loads(line) for line in web.log().splitlines() if line.strip()]
    assert logged, "the web process logged nothing"
    assert {line["role"] for line in logged} == {"web"}
    assert {line["pid"] for line in logged} == {web.proc.pid}
    assert any(line["message"].startswith("HTTP server listening") for line in logged)
