"""Helpers for the Telegram end-to-end tests: a `parley run` subprocess against `FakeTelegram`.

Every wait is bounded; `ParleyBot.stop()` always ends the process (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import csv
import socket
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage import make_engine
from storage.models import Answer as AnswerRow
from tests.e2e.support import PARLEY, ROOT, parley_env, stop_process
from tests.fakes.telegram_api import BotMessage, FakeTelegram

__all__ = [
    "WAIT",
    "ParleyBot",
    "answer_counts",
    "answers",
    "free_port",
    "invite_links",
    "is_ask",
    "telegram_env",
]

WAIT = 20.0
"""The bound on every wait for the bot (a turn takes well under a second)."""


def telegram_env(database_url: str, tg: FakeTelegram, **extra: str) -> dict[str, str]:
    env = parley_env(database_url)
    env.update(
        PARLEY_TELEGRAM_TOKEN=tg.token,
        PARLEY_TELEGRAM_API_URL=tg.api_root,
        PARLEY_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parley(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(PARLEY), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 0, f"parley {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def invite_links(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Import the example roster and issue Telegram invitations: {name: t.me link}."""
    _parley(["roster", "import", str(ROOT / "examples" / "roster.csv")], env, cwd)
    output = cwd / "inv.csv"
    _parley(["invite", "--channel", "telegram", "--output", str(output)], env, cwd)
    with output.open(encoding="utf-8", newline="") as handle:
        return {row["name"]: row["link"] for row in csv.DictReader(handle)}


def start_token(link: str) -> str:
    assert "?start=" in link, link
    return link.split("?start=", 1)[1]


class ParleyBot:
    """`parley run` as a subprocess, stderr to a file (shown on failure)."""

    def __init__(self, env: dict[str, str], cwd: Path, number: int = 1) -> None:
        self.stderr_path = cwd / f"parley-stderr-{number}.txt"
        with self.stderr_path.open("w", encoding="utf-8") as stderr:
            self.proc = subprocess.Popen(
                [str(PARLEY), "run"],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
            )

    def __enter__(self) -> ParleyBot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_process(self.proc)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def is_ask(text: str) -> Any:
    """A predicate: a message showing `text` that still has its keyboard or is unanswered."""

    def check(message: BotMessage) -> bool:
        return message.text is not None and text in message.text and "✓" not in message.text

    return check


def answers(database_url: str) -> list[tuple[int, str, Any, str]]:
    """Every row of `answers`: (run_id, item_id, value, state), in insertion order."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    AnswerRow.run_id, AnswerRow.item_id, AnswerRow.value, AnswerRow.state
                ).order_by(AnswerRow.id)
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def answer_counts(database_url: str) -> Counter[tuple[int, str]]:
    return Counter((run, item) for run, item, _, _ in answers(database_url))
