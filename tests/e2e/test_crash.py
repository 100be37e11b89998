"""`kill -9` at several points of a console session: nothing acknowledged is lost or repeated.

A `parley run` subprocess is fed the persona's replies one at a time. A reply counts as
acknowledged when the next question (or the closing text) has been printed: the
handler commits before anything is said back, so from that moment the answer must
survive anything. The process is SIGKILLed after some acknowledged answers; once right
after a reply was written, before its acknowledgement could be read (stored or not, the
race decides); and once in the middle of delivering a reply (the answer's `✓` echo is
out, the next question not yet). Each time a new process is started on the same
database and must ask the next unanswered item first. At the end the database holds
each answer exactly once.

Output is read by a thread into a queue, and every wait has a deadline.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.support import (
    CLOSING_EN,
    EXAMPLE,
    PARLEY,
    PERSONA,
    WELCOME_BACK,
    expected_answers,
    label,
    parley_env,
    read_database,
)

WAIT = 15.0
"""Seconds allowed for one acknowledgement (a turn takes milliseconds)."""

KILL_AFTER_ACKNOWLEDGED = frozenset({3, 10, 25})
KILL_RIGHT_AFTER_WRITING = 18
"""Index of the reply written and then killed at once, before its acknowledgement."""
KILL_MID_REPLY = 30
"""Index of the reply killed once its `✓` echo is printed, before the next question is."""

ITEM_BY_LABEL = {label(turn.item): turn.item for turn in PERSONA}


class ParleyProcess:
    """One `parley run` with piped stdin and stdout, read line by line with deadlines."""

    def __init__(self, database_url: str, cwd: Path, number: int) -> None:
        self.stderr_path = cwd / f"stderr-{number}.txt"
        with self.stderr_path.open("w", encoding="utf-8") as stderr:
            self.proc = subprocess.Popen(
                [str(PARLEY), "run", "--as", "carol", "--questionnaire", str(EXAMPLE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                encoding="utf-8",
                env=parley_env(database_url),
                cwd=cwd,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._pump, name="parley-stdout", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def send(self, reply: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(reply + "\n")
        self.proc.stdin.flush()

    def next_line(self) -> str:
        try:
            line = self._lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no output for {WAIT}s after {self.transcript[-5:]}") from None
        if line is None:
            errors = self.stderr_path.read_text(encoding="utf-8")
            raise AssertionError(f"output ended after {self.transcript[-5:]}; stderr: {errors}")
        self.transcript.append(line)
        return line

    def read_until(self, accept: Callable[[str], bool]) -> list[str]:
        """The lines read up to and including the first one `accept`ed."""
        lines = [self.next_line()]
        while not accept(lines[-1]):
            lines.append(self.next_line())
        return lines

    def next_question(self) -> str:
        """The item id of the next question printed (its progress line, then its text)."""
        self.read_until(lambda line: line.startswith("[Question "))
        text = self.next_line()
        assert text in ITEM_BY_LABEL, f"not a question of the persona: {text!r}"
        return ITEM_BY_LABEL[text]

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=WAIT)
        assert self.proc.returncode == -signal.SIGKILL

    def finish(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=WAIT)


def acknowledgement(index: int) -> Callable[[str], bool]:
    """The line that shows PERSONA[index] was stored: the next question, or the closing."""
    if index + 1 < len(PERSONA):
        wanted = label(PERSONA[index + 1].item)
        return lambda line: line == wanted
    return lambda line: line.startswith(CLOSING_EN)


class Restarts:
    """The current `parley` process on one database, and how often it was started."""

    def __init__(self, database_url: str, cwd: Path) -> None:
        self.database_url = database_url
        self.cwd = cwd
        self.starts = 1
        self.current = ParleyProcess(database_url, cwd, self.starts)

    def kill_and_restart(self) -> str:
        """Kill -9 and start again; returns the item the new process asks.

        Before its welcome back, the new process may deliver what the killed one committed
        but had not marked sent (the outbox delivers at least once); any question among
        those lines must be the same one it then asks.
        """
        self.current.kill()
        self.starts += 1
        self.current = ParleyProcess(self.database_url, self.cwd, self.starts)
        replayed = self.current.read_until(lambda line: line == WELCOME_BACK)[:-1]
        asked = self.current.next_question()
        assert {ITEM_BY_LABEL[line] for line in replayed if line in ITEM_BY_LABEL} <= {asked}
        return asked

    def close(self) -> None:
        """Whatever happened in the test, leave no process behind."""
        if self.current.proc.poll() is None:
            self.current.proc.kill()
            self.current.proc.wait(timeout=WAIT)


@pytest.fixture
def parley(database_url: str, tmp_path: Path) -> Iterator[Restarts]:
    restarts = Restarts(database_url, tmp_path)
    try:
        yield restarts
    finally:
        restarts.close()


def test_kill_9_loses_and_repeats_nothing(parley: Restarts, database_url: str) -> None:
    def check_stored(acknowledged: int) -> None:
        stored = read_database(database_url)
        assert stored.answers == expected_answers(PERSONA[:acknowledged])
        assert stored.cursor == PERSONA[acknowledged].item

    parley.current.send("I agree")
    assert parley.current.next_question() == PERSONA[0].item
    done = 0
    blind_outcome = ""
    while done < len(PERSONA):
        turn = PERSONA[done]
        parley.current.send(turn.reply)
        if done == KILL_RIGHT_AFTER_WRITING and not blind_outcome:
            asked = parley.kill_and_restart()  # whether the reply was stored is up to the race
            assert asked in (turn.item, PERSONA[done + 1].item)
            blind_outcome = "lost before commit" if asked == turn.item else "committed"
            done += asked != turn.item
            check_stored(done)
            continue
        if done == KILL_MID_REPLY:
            parley.current.read_until(lambda line: line.startswith("  ✓ "))
            assert parley.kill_and_restart() == PERSONA[done + 1].item, "the answer was committed"
            done += 1
            check_stored(done)
            continue
        parley.current.read_until(acknowledgement(done))
        done += 1
        if done in KILL_AFTER_ACKNOWLEDGED:
            check_stored(done)
            assert parley.kill_and_restart() == PERSONA[done].item, "resumed at the next item"
            check_stored(done)

    assert parley.current.finish() == 0
    assert parley.starts == 1 + len(KILL_AFTER_ACKNOWLEDGED) + 2
    assert blind_outcome

    stored = read_database(database_url)
    assert stored.status == "completed"
    assert stored.answers == expected_answers()
    assert stored.answer_rows == len(PERSONA)
    per_item = Counter(item for item, *_ in stored.history)
    assert per_item == Counter(turn.item for turn in PERSONA), "each answer recorded once"
    per_event = Counter((event, item) for item, _, _, event, _ in stored.history)
    assert all(event for event, _ in per_event)
    assert max(per_event.values()) == 1, "no inbound event recorded the same item twice"
