"""Helpers shared by the end-to-end benchmarks (`telegram.py`, `slack.py`) and their baselines.

Each benchmark runs two bots as subprocesses against an in-process fake, times them the
same way and reports in the same shape; this module holds the pieces that are the same
in both, so a fix to (say) the percentile or the subprocess shutdown reaches both.

Import it while `bench/` is still on `sys.path` (first, when a file here runs as a
script), before `drop_from_sys_path` removes the folder: `telegram.py` and `slack.py`
would otherwise shadow the `telegram` and `slack` packages.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[1]

K = TypeVar("K")
V = TypeVar("V")


# --- imports ---------------------------------------------------------------------------------


# `parley run` with the outbox pacer switched off (the benchmarks' `unlimited` mode only):
# the bots are compared without the platforms' limits, so pacing would only slow Parley.
PARLEY_UNPACED = """\
import sys
import bot.pacing

for name in ("wait", "rewrite_delay"):
    if not hasattr(bot.pacing.Pacer, name):
        raise SystemExit(f"bench: bot.pacing.Pacer.{name} is gone; update PARLEY_UNPACED")


async def _no_wait(self, *args, **kwargs):
    return None


bot.pacing.Pacer.wait = _no_wait
bot.pacing.Pacer.rewrite_delay = lambda self, key: 0.0  # type: ignore
from bot.cli import main

sys.argv = ["parley", "run"]
main()
"""


def drop_from_sys_path(folder: Path) -> None:
    """Remove `folder` from `sys.path`: this folder's `telegram.py` and `slack.py` would
    shadow python-telegram-bot's `telegram` and slack_sdk's legacy `slack` packages."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != folder]


def load_module(name: str, path: Path) -> ModuleType:
    """Import the file `path` as module `name`: the baselines are scripts, not on sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- the questions (the baselines' own reading of the questionnaire) -------------------------


@dataclass(frozen=True)
class Question:
    number: int  # 1-based
    id: str
    type: str  # single_choice, scale, yes_no, number, text
    label: str
    choices: tuple[tuple[str, str], ...] = ()  # (id, label)
    low: int = 0
    high: int = 0
    low_label: str = ""
    high_label: str = ""


@dataclass(frozen=True)
class Survey:
    title: str
    consent: str
    closing: str
    section: str
    questions: tuple[Question, ...]


def _en(value: Any) -> str:
    return str(value["en"] if isinstance(value, dict) else value).strip()


def load_survey(path: Path, baseline: str) -> Survey:
    """Read a questionnaire with PyYAML, not Parley's loader, so the baselines share no
    product code; `baseline` ("bot", "app") names the reader in its error messages."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sections = data["sections"]
    if len(sections) != 1:
        raise SystemExit(
            f"{path}: the baseline {baseline} knows one section, found {len(sections)}"
        )
    questions = []
    for number, item in enumerate(sections[0]["items"], start=1):
        kind = item["type"]
        if kind not in ("single_choice", "scale", "yes_no", "number", "text"):
            raise SystemExit(f"{path}: the baseline {baseline} does not ask {kind} items")
        questions.append(
            Question(
                number=number,
                id=item["id"],
                type=kind,
                label=_en(item["label"]),
                choices=tuple((str(c["id"]), _en(c["label"])) for c in item.get("choices", [])),
                low=int(item.get("min", 1 if kind == "scale" else 0)),
                high=int(item.get("max", 5 if kind == "scale" else 0)),
                low_label=_en(item.get("min_label", "")),
                high_label=_en(item.get("max_label", "")),
            )
        )
    return Survey(
        title=_en(data["title"]),
        consent=_en(data["consent"]["text"]),
        closing=_en(data["closing"]),
        section=_en(sections[0]["title"]),
        questions=tuple(questions),
    )


# --- watching the fake's records --------------------------------------------------------------


def _resolve(future: asyncio.Future[V], value: V) -> None:
    if not future.done():
        future.set_result(value)


class RecordWatcher(Generic[K, V]):
    """One thread that follows a fake's records and wakes the waiting stakeholder.

    (Each stakeholder calling the fake's `wait_for` itself would wake every thread on
    every record; this reads the fake's state under its lock instead.) A subclass says
    which records to follow (`_records`) and what each one answers (`_see`, calling
    `_take` and `_deliver`); `state` is the fake's `_state`, with its `cond`.
    """

    def __init__(self, state: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.state = state
        self.loop = loop
        self.lock = threading.Lock()
        self.waiting: dict[K, tuple[str, asyncio.Future[V]]] = {}
        self.seen = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.state.cond:
            self.stopping = True
            self.state.cond.notify_all()
        self.thread.join(timeout=5)

    def expect(self, key: K, piece: str) -> asyncio.Future[V]:
        """A future for the next record for `key` whose text contains `piece`."""
        future: asyncio.Future[V] = self.loop.create_future()
        with self.lock:
            self.waiting[key] = (piece, future)
        return future

    def _records(self) -> list[Any]:
        """The fake's list of records to follow (read under its lock)."""
        raise NotImplementedError

    def _see(self, record: Any) -> None:
        """Match one new record against the waiting stakeholders."""
        raise NotImplementedError

    def _run(self) -> None:
        state = self.state
        with state.cond:
            while not self.stopping:
                records = self._records()[self.seen :]
                self.seen += len(records)
                for record in records:
                    self._see(record)
                if not records:
                    state.cond.wait(0.5)

    def _take(self, key: K, text: str) -> asyncio.Future[V] | None:
        """The future waiting for `key`, if `text` is what it waits for (then no longer)."""
        with self.lock:
            entry = self.waiting.get(key)
            if entry is None or entry[0] not in text:
                return None
            del self.waiting[key]
        return entry[1]

    def _deliver(self, future: asyncio.Future[V], value: V) -> None:
        self.loop.call_soon_threadsafe(_resolve, future, value)


# --- the bots ----------------------------------------------------------------------------------


@dataclass
class BotProcessBase:
    """A bot running as a subprocess, its output in `log_path`."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the bot process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, so the bot shuts down cleanly (the baselines write their state then)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def clean_env() -> dict[str, str]:
    """This environment without `PARLEY_*`: each bot gets only the settings the bench gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def spawn(
    command: list[str], env: dict[str, str], workdir: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `command` in `workdir`, stdout and stderr into `log_path`, no stdin."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )


@contextlib.contextmanager
def workspace(keep: bool, prefix: str) -> Iterator[Path]:
    """A temporary folder for one trial, removed afterwards unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"  (kept {path})", flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- profiling (optional) --------------------------------------------------------------------


def start_py_spy(
    pid: int, output: Path, log: Path, *, threads: bool = False
) -> subprocess.Popen[bytes] | None:
    """Record `pid` with py-spy (raw format, 200 Hz) into `output`; None without py-spy."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        print("  (py-spy not found next to the interpreter: not profiling)")
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(str(py_spy), "record", "--pid", str(pid), "--rate", "200"),
            *("--format", "raw", "--output", str(output), "--nonblocking"),
            *(["--threads"] if threads else []),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def stop_py_spy(spy: subprocess.Popen[bytes]) -> None:
    """SIGINT, which makes py-spy write its output, then wait (bounded)."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=20)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(timeout=5)


# --- checking what Parley stored --------------------------------------------------------------


@dataclass
class ParleyRecords:
    """What Parley's database holds at the end of a trial, for the correctness checks."""

    runs: dict[str, tuple[int, str]]  # external user id -> (run id, run status)
    stored: dict[int, dict[str, Any]]  # run id -> item -> value
    counts: Counter[tuple[int, str]]  # (run id, item) -> answer rows
    history: Counter[tuple[int, str]]  # (run id, item) -> answer-change rows
    events: int  # inbound events recorded from the platform

    def not_once(self, who: str, run_id: int, items: Iterable[str]) -> list[str]:
        """Problems for the `items` not stored (and changed) exactly once."""
        problems = []
        for item in items:
            if self.counts[(run_id, item)] != 1 or self.history[(run_id, item)] != 1:
                problems.append(
                    f"{who}: {item} stored {self.counts[(run_id, item)]}x, "
                    f"history {self.history[(run_id, item)]}x"
                )
        return problems


def parley_records(database_url: str, platform_name: str) -> ParleyRecords:
    """Read runs, answers, answer history and inbound events from Parley's database."""
    from sqlalchemy import func, select

    from storage import make_engine
    from storage.models import Answer, AnswerChange, Identity, ReceivedEvent, Run

    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            runs = {
                uid: (run_id, status)
                for uid, run_id, status in c.execute(
                    select(Identity.external_id, Run.id, Run.status)
                    .join(Run, Run.stakeholder_id == Identity.stakeholder_id)
                    .where(Identity.platform == platform_name)
                )
            }
            answers = c.execute(select(Answer.run_id, Answer.item_id, Answer.value)).all()
            history = Counter(
                (run_id, item)
                for run_id, item in c.execute(select(AnswerChange.run_id, AnswerChange.item_id))
            )
            events = c.execute(
                select(func.count())
                .select_from(ReceivedEvent)
                .where(ReceivedEvent.platform == platform_name)
            ).scalar_one()
    finally:
        engine.dispose()
    stored: dict[int, dict[str, Any]] = {}
    counts = Counter((run_id, item) for run_id, item, _ in answers)
    for run_id, item, value in answers:
        stored.setdefault(run_id, {})[item] = value
    return ParleyRecords(runs, stored, counts, history, events)


def verdict(problems: list[str], ok: str) -> str:
    """`ok (...)`, or `FAILED: ` and the first three problems: results test `startswith("ok")`."""
    if not problems:
        return f"ok ({ok})"
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "FAILED: " + "; ".join(problems[:3]) + more


# --- figures -----------------------------------------------------------------------------------


class _Timed(Protocol):
    first_action: float | None
    last_reply: float | None


def active_seconds(walks: Iterable[_Timed]) -> float:
    """From the first stakeholder action to the last reply (NaN if there was none)."""
    walks = list(walks)
    starts = [w.first_action for w in walks if w.first_action is not None]
    ends = [w.last_reply for w in walks if w.last_reply is not None]
    return max(ends) - min(starts) if starts and ends else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1) of `values`; NaN if there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- reporting -------------------------------------------------------------------------------


def ms(value: float) -> str:
    """Milliseconds for the tables: whole numbers from 100 on, one decimal below."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def load_average(*, all_three: bool = False) -> str:
    """The 1-minute load average (or all three): other work on the machine skews every figure."""
    try:
        loads = os.getloadavg()
    except OSError:
        return "?"
    return " ".join(f"{x:.2f}" for x in (loads if all_three else loads[:1]))


def environment(libraries: str, load: str) -> str:
    """One line to go with the results: the commit (and whether product code was modified),
    Python and `libraries` versions, the machine and `load`."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "bot", "storage", "conversations"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (
        f"commit {commit or '?'}{' (product code modified)' if dirty else ''}; "
        f"Python {platform.python_version()}, {libraries}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"load average {load}"
    )


def write_json(path: Path, results: Iterable[Any]) -> None:
    """Every result (dataclasses) as a JSON list."""
    path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
