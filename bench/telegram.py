"""Telegram end to end: Parley against a plain python-telegram-bot bot, through the fake Bot API.

    .venv/bin/python bench/telegram.py [--users 200] [--limited-users 40] [--rounds 2]

Simulated stakeholders answer `bench/telegram-bench.yaml` (consent and ten questions:
buttons for choices, the scale and yes/no; typed numbers and free text) through
`tests/fakes/telegram_api.FakeTelegram`, a loopback Bot API server in this process. Each
sends `/start`, then answers every question the moment it appears (no think time: a
closed loop), so reply latency is the bot's, queueing included. Two bots, each in its
own subprocess, each trial with a fresh fake server:

- Parley: `parley run` with its own SQLite database (default durability), open
  enrollment, long polling. Every answer is committed before its reply is sent.
- the baseline, `bench/plain_ptb_bot.py`: a plain PTB `Application` with a persistent
  `ConversationHandler` and `PicklePersistence` with default settings (written every
  60 s and at shutdown). It sends the same messages as Parley (texts, keyboards, edits,
  callback answers), so both make the same API calls per answer.

Two modes, both bots in each:

- `unlimited`: the fake accepts every request (`enforce_rate_limits=False`), `--users`
  stakeholders (200), `--rounds` rounds (2, the bots alternating who goes first; the
  table shows the median). This compares the bots' own overheads, so neither paces
  itself: the baseline has no rate limiter, and Parley's outbox pacer is switched off
  by this script (`bot.pacing.Pacer.wait` replaced by a no-op in the `parley run`
  subprocess; product code untouched). `--keep-parley-pacing` runs Parley as shipped
  instead; its pacing then sets the pace (30 messages/s at most).
- `limited`: the fake enforces Telegram's limits (30 messages/s per bot, 1/s per private
  chat with bursts of 3) and answers 429 beyond them. Parley as shipped; the baseline
  with PTB's `AIORateLimiter` (without one it stops at the first 429). Both are then held
  to 30 messages/s, and a stakeholder costs 14 messages (and 11 edits, which both bots
  count too), so 200 stakeholders would take over 90 s per bot: this mode uses
  `--limited-users` (40) to keep the whole benchmark under three minutes.

Latency is read from the fake's records: from the moment a stakeholder acts (the update
is queued) to the fake's `sent` record of the next question's `sendMessage`. For button
presses it is split at the bot's `answerCallbackQuery` (Parley answers it right after
the answer is committed; the baseline first thing in its handler). Updates/s counts
stakeholder actions from the first action to the last reply. Bot CPU is the bot
process's user+system time over the same window. Afterwards every stakeholder must have
finished, and Parley's database (or the baseline's pickle file, written at shutdown)
must hold every answer exactly once, with the value given; otherwise the exit code is 1.

The fake's listen backlog is raised from 5 to 1024 for the run (see `widen_backlog`):
with 5, a bot that sends concurrently loses connections to SYN drops and waits out the
kernel's 1-second retransmission, which measures the fake, not the bot. Every wait is
bounded, everything listens on 127.0.0.1 only, and the subprocesses are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import pickle
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/common.py, imported while this folder is still first on sys.path (as a script).
import common  # noqa: E402

# This file is named telegram.py: run as a script, its folder would come first on sys.path
# and shadow python-telegram-bot's `telegram` package. Use the repository root instead.
common.drop_from_sys_path(BENCH)
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

QUESTIONNAIRE = BENCH / "telegram-bench.yaml"
PLAIN_BOT = BENCH / "plain_ptb_bot.py"
PARLEY = Path(sys.executable).with_name("parley")
FIRST_USER_ID = 700_001

PARLEY_UNPACED = common.PARLEY_UNPACED  # the same script for both benchmarks


plain: Any = common.load_module("plain_ptb_bot", PLAIN_BOT)


# --- what each stakeholder does -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    action: str  # "start", "press" or "text"
    value: str  # the button label or the text typed
    expect: str  # a piece of the bot's next message (the next question)


def script(uid: int, survey: Any) -> tuple[list[Step], dict[str, Any]]:
    """The stakeholder's actions and the answers they give (item id -> stored value)."""
    questions = survey.questions
    nexts = [q.label for q in questions] + [survey.closing[:40]]
    steps = [
        Step("start", "/start", survey.consent[:40]),
        Step("press", "I agree", nexts[0]),
    ]
    answers: dict[str, Any] = {}
    for index, q in enumerate(questions):
        pick = uid + q.number
        expect = nexts[index + 1]
        if q.type == "single_choice":
            choice_id, label = q.choices[pick % len(q.choices)]
            steps.append(Step("press", label, expect))
            answers[q.id] = choice_id
        elif q.type == "scale":
            value = q.low + pick % (q.high - q.low + 1)
            steps.append(Step("press", str(value), expect))
            answers[q.id] = value
        elif q.type == "yes_no":
            steps.append(Step("press", "Yes" if pick % 2 == 0 else "No", expect))
            answers[q.id] = pick % 2 == 0
        elif q.type == "number":
            value = min(q.high, q.low + pick % 250)
            steps.append(Step("text", str(value), expect))
            answers[q.id] = value
        else:
            text = f"Benchmark stakeholder {uid}: local data, published sooner."
            steps.append(Step("text", text, expect))
            answers[q.id] = text
    return steps, answers


# --- watching the fake's records ----------------------------------------------------------


class Watcher(common.RecordWatcher[int, tuple[float, int]]):
    """Follows the fake's `sent` records: each chat's next `sendMessage` with the expected
    text resolves to (sent at, message id)."""

    def __init__(self, fake: FakeTelegram, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(fake._state, loop)

    def _records(self) -> list[Any]:
        sent: list[Any] = self.state.sent
        return sent

    def _see(self, record: Any) -> None:
        if record.method != "sendMessage":
            return
        chat = self.state.chats.get(record.chat_id)
        for message_id in record.message_ids:
            message = chat.bot_messages.get(message_id) if chat else None
            text = (message.text or "") if message else ""
            future = self._take(record.chat_id, text)
            if future is not None:
                self._deliver(future, (record.t, message_id))


@dataclass
class Walk:
    uid: int
    latencies: list[float] = field(default_factory=list)
    actions: int = 0
    presses: list[tuple[str, float, float]] = field(default_factory=list)
    """(callback query id, pressed at, next question sent at) for each button press."""
    first_action: float | None = None
    last_reply: float | None = None
    error: str | None = None


async def stakeholder(
    fake: FakeTelegram, watcher: Watcher, walk: Walk, steps: list[Step], step_timeout: float
) -> Walk:
    """Walk through `steps`, recording into `walk` as it goes (kept if cancelled)."""
    uid = walk.uid
    user = fake.user(uid, first_name=f"Stakeholder {uid}")
    message_id: int | None = None
    for number, step in enumerate(steps):
        future = watcher.expect(uid, step.expect)
        acted = fake.clock()
        query_id = None
        try:
            if step.action == "start":
                user.send_command(step.value)
            elif step.action == "press":
                query_id = user.press(step.value, message_id=message_id)
            else:
                user.send_text(step.value)
        except LookupError as exc:
            walk.error = f"step {number}: {exc}"
            return walk
        walk.actions += 1
        if walk.first_action is None:
            walk.first_action = acted
        try:
            replied, message_id = await asyncio.wait_for(future, step_timeout)
        except TimeoutError:
            seen = [m.text for m in user.messages()][-3:]
            walk.error = (
                f"step {number} ({step.value!r}): no {step.expect!r} "
                f"within {step_timeout:.0f}s; last messages: {seen!r}"
            )
            return walk
        walk.latencies.append(replied - acted)
        if query_id is not None:
            walk.presses.append((query_id, acted, replied))
        walk.last_reply = replied
    return walk


# --- the bots -----------------------------------------------------------------------------


@dataclass
class BotProcess(common.BotProcessBase):
    workdir: Path
    database_url: str | None = None
    pickle_path: Path | None = None


def start_parley(fake: FakeTelegram, workdir: Path, *, paced: bool) -> BotProcess:
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    env = common.clean_env()
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_QUESTIONNAIRE=str(QUESTIONNAIRE),
        PARLEY_TELEGRAM_TOKEN=fake.token,
        PARLEY_TELEGRAM_API_URL=fake.api_root,
        PARLEY_OPEN_ENROLLMENT="true",
        PARLEY_HTTP_HOST="127.0.0.1",
        PARLEY_LOG_LEVEL="WARNING",
    )
    command = [str(PARLEY), "run"] if paced else [sys.executable, "-c", PARLEY_UNPACED]
    log_path = workdir / "parley.log"
    proc = common.spawn(command, env, workdir, log_path)
    return BotProcess("Parley", proc, log_path, workdir, database_url=database_url)


def start_plain(fake: FakeTelegram, workdir: Path, *, rate_limiter: bool) -> BotProcess:
    pickle_path = workdir / "plain.pickle"
    command = [
        sys.executable,
        str(PLAIN_BOT),
        "--api-root",
        fake.api_root,
        "--token",
        fake.token,
        "--persistence",
        str(pickle_path),
        "--questionnaire",
        str(QUESTIONNAIRE),
    ]
    if rate_limiter:
        command.append("--rate-limiter")
    log_path = workdir / "plain.log"
    proc = common.spawn(command, common.clean_env(), workdir, log_path)
    return BotProcess("plain PTB", proc, log_path, workdir, pickle_path=pickle_path)


def widen_backlog(fake: FakeTelegram, backlog: int = 1024) -> None:
    """Let the fake's server queue more than 5 connections waiting to be accepted.

    `FakeTelegram` serves with `socketserver`'s default listen backlog of 5 and one
    connection per request (HTTP/1.0). A bot that sends concurrently (Parley sends to
    every chat in parallel) overflows it; the kernel drops the SYN and the client
    retries after its 1-second initial retransmission timeout, so replies take 1, 3 or
    7 s for reasons that have nothing to do with the bot. Telegram has no such limit.
    Calling listen() again on the listening socket raises the backlog (Linux).
    """
    server = getattr(fake, "_server", None)
    if server is not None:
        server.socket.listen(backlog)


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return 0


def wait_ready(fake: FakeTelegram, bot: BotProcess, timeout: float = 60.0) -> None:
    """Until the bot long-polls (`getUpdates`), or fail with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.proc.poll() is not None:
            raise RuntimeError(f"{bot.name} exited ({bot.proc.returncode}):\n{bot.log_tail()}")
        with contextlib.suppress(TimeoutError):
            fake.wait_for_request("getUpdates", timeout=0.5)
            return
    raise RuntimeError(f"{bot.name} did not start polling in {timeout:.0f}s:\n{bot.log_tail()}")


# --- checking what was stored ---------------------------------------------------------------


def check_parley(database_url: str, expected: dict[int, dict[str, Any]], actions: int) -> str:
    records = common.parley_records(database_url, "telegram")
    runs = {int(uid): run for uid, run in records.runs.items()}
    problems: list[str] = []
    for uid, want in expected.items():
        if uid not in runs:
            problems.append(f"{uid}: no run")
            continue
        run_id, status = runs[uid]
        got = {k: v for k, v in records.stored.get(run_id, {}).items() if k in want}
        if status != "completed":
            problems.append(f"{uid}: run {status}")
        if got != want:
            problems.append(f"{uid}: answers {got} != {want}")
        problems += records.not_once(str(uid), run_id, want)
    if len(runs) != len(expected):
        problems.append(f"{len(runs)} runs for {len(expected)} stakeholders")
    if records.events != actions:
        problems.append(f"{records.events} inbound events recorded for {actions} updates")
    return common.verdict(problems, f"{len(expected)} runs completed, every answer stored once")


def check_plain(pickle_path: Path, expected: dict[int, dict[str, Any]]) -> str:
    try:
        data = pickle.loads(pickle_path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        return f"FAILED: no persistence file ({exc})"
    problems = []
    users = data.get("user_data", {})
    ongoing = data.get("conversations", {}).get("questionnaire", {})
    for uid, want in expected.items():
        got = users.get(uid, {}).get("answers")
        if got != want:
            problems.append(f"{uid}: answers {got} != {want}")
        if (uid, uid) in ongoing:
            problems.append(f"{uid}: conversation still in state {ongoing[(uid, uid)]!r}")
    return common.verdict(problems, f"{len(expected)} conversations ended, answers in the pickle")


# --- one trial -------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    bot: str
    setup: str
    users: int
    completed: int
    updates: int
    seconds: float
    updates_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    press_to_ack_ms: tuple[float, float]
    """Button press to answerCallbackQuery, p50 and p95 (Parley: fetched and committed)."""
    ack_to_next_ms: tuple[float, float]
    """answerCallbackQuery to the next question's sendMessage, p50 and p95."""
    bot_cpu_ms_per_update: float
    harness_cpu_s: float
    http_429: int
    listen_overflows: int
    violations: dict[str, int]
    requests: dict[str, int]
    stored: str
    errors: list[str]
    rounds: list[float] = field(default_factory=list)
    """Updates/s of each round, when this is the median of several."""


def combine(results: list[Result]) -> list[Result]:
    """One result per (mode, bot): the median of its rounds (worst case for the checks)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.mode, r.bot), []).append(r)
    combined = []
    for group in groups.values():
        med = statistics.median
        first = group[0]
        combined.append(
            replace(
                first,
                completed=min(r.completed for r in group),
                seconds=med(r.seconds for r in group),
                updates_per_s=med(r.updates_per_s for r in group),
                p50_ms=med(r.p50_ms for r in group),
                p95_ms=med(r.p95_ms for r in group),
                max_ms=max(r.max_ms for r in group),
                press_to_ack_ms=(
                    med(r.press_to_ack_ms[0] for r in group),
                    med(r.press_to_ack_ms[1] for r in group),
                ),
                ack_to_next_ms=(
                    med(r.ack_to_next_ms[0] for r in group),
                    med(r.ack_to_next_ms[1] for r in group),
                ),
                bot_cpu_ms_per_update=med(r.bot_cpu_ms_per_update for r in group),
                http_429=max(r.http_429 for r in group),
                stored=next(
                    (r.stored for r in group if not r.stored.startswith("ok")), first.stored
                ),
                errors=[e for r in group for e in r.errors][:5],
                rounds=[r.updates_per_s for r in group],
            )
        )
    return combined


def trial(args: argparse.Namespace, mode: str, bot_name: str, users: int) -> Result:
    limited = mode == "limited"
    survey = plain.load_survey(QUESTIONNAIRE)
    plans = {uid: script(uid, survey) for uid in range(FIRST_USER_ID, FIRST_USER_ID + users)}
    expected = {uid: answers for uid, (_, answers) in plans.items()}
    with (
        common.workspace(args.keep, "parley-tg-bench-") as workdir,
        FakeTelegram(enforce_rate_limits=limited) as fake,
    ):
        widen_backlog(fake)
        overflows_before = listen_overflows()
        if bot_name == "parley":
            paced = limited or args.keep_parley_pacing
            bot = start_parley(fake, workdir, paced=paced)
            setup = "as shipped" if paced else "outbox pacer off"
        else:
            bot = start_plain(fake, workdir, rate_limiter=limited)
            setup = "AIORateLimiter" if limited else "no rate limiter"
        spy: subprocess.Popen[bytes] | None = None
        try:
            wait_ready(fake, bot)
            if args.py_spy and bot_name == "parley":
                spy = _start_py_spy(args.py_spy, bot, mode)
            cpu_before, harness_before = bot.cpu_seconds(), time.process_time()
            walks = asyncio.run(drive(fake, plans, args.step_timeout, args.trial_timeout))
            cpu_after, harness_after = bot.cpu_seconds(), time.process_time()
            requests = Counter(r.method for r in fake.requests)
            http_429 = sum(1 for r in fake.requests if r.status == 429)
            violations = Counter(v.scope for v in fake.violations)
            overflows = listen_overflows() - overflows_before
            answered = {c.id: c.answered_at for c in fake.callbacks}
        finally:
            if spy is not None:
                common.stop_py_spy(spy)
            bot.stop()
        if bot.database_url is not None:
            actions = sum(w.actions for w in walks)
            stored = check_parley(bot.database_url, expected, actions)
        else:
            assert bot.pickle_path is not None
            stored = check_plain(bot.pickle_path, expected)
        if bot.proc.returncode not in (0, -signal.SIGTERM):
            stored += f"; exit code {bot.proc.returncode}: {bot.log_tail(5)}"
    done = [w for w in walks if w.error is None]
    latencies = [t for w in walks for t in w.latencies]
    presses = [
        (pressed, answered[query], replied)
        for w in walks
        for query, pressed, replied in w.presses
        if answered.get(query) is not None
    ]
    intake = [a - p for p, a, _ in presses]
    outbound = [r - a for _, a, r in presses]
    updates = sum(len(w.latencies) for w in walks)
    seconds = common.active_seconds(walks)
    return Result(
        mode=mode,
        bot="Parley" if bot_name == "parley" else "plain PTB",
        setup=setup,
        users=users,
        completed=len(done),
        updates=updates,
        seconds=seconds,
        updates_per_s=updates / seconds if seconds else float("nan"),
        p50_ms=1000 * common.percentile(latencies, 0.50),
        p95_ms=1000 * common.percentile(latencies, 0.95),
        max_ms=1000 * max(latencies, default=float("nan")),
        press_to_ack_ms=(
            1000 * common.percentile(intake, 0.5),
            1000 * common.percentile(intake, 0.95),
        ),
        ack_to_next_ms=(
            1000 * common.percentile(outbound, 0.5),
            1000 * common.percentile(outbound, 0.95),
        ),
        bot_cpu_ms_per_update=1000 * (cpu_after - cpu_before) / max(updates, 1),
        harness_cpu_s=harness_after - harness_before,
        http_429=http_429,
        listen_overflows=overflows,
        violations=dict(violations),
        requests=dict(requests),
        stored=stored,
        errors=[f"{w.uid}: {w.error}" for w in walks if w.error][:5],
    )


async def drive(
    fake: FakeTelegram,
    plans: dict[int, tuple[list[Step], dict[str, Any]]],
    step_timeout: float,
    trial_timeout: float,
) -> list[Walk]:
    watcher = Watcher(fake, asyncio.get_running_loop())
    watcher.start()
    try:
        walks = [Walk(uid) for uid in plans]
        tasks = [
            asyncio.ensure_future(stakeholder(fake, watcher, w, plans[w.uid][0], step_timeout))
            for w in walks
        ]
        _, pending = await asyncio.wait(tasks, timeout=trial_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for walk, task in zip(walks, tasks, strict=True):
            if task in pending:
                walk.error = f"not finished after {trial_timeout:.0f}s"
        return walks
    finally:
        watcher.stop()


# --- profiling (optional) --------------------------------------------------------------------


def _start_py_spy(directory: Path, bot: BotProcess, mode: str) -> subprocess.Popen[bytes] | None:
    output = directory / f"parley-{mode}.txt"
    return common.start_py_spy(bot.proc.pid, output, directory / f"py-spy-{mode}.log")


# --- reporting -------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        "| mode | bot | setup | stakeholders | updates/s | (each round) | p50 ms | p95 ms "
        "| max ms | bot CPU ms/update | 429s | completed | stored |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        each = " / ".join(f"{x:.0f}" for x in r.rounds) if len(r.rounds) > 1 else ""
        lines.append(
            f"| {r.mode} | {r.bot} | {r.setup} | {r.users} | {r.updates_per_s:.1f} | {each} "
            f"| {common.ms(r.p50_ms)} | {common.ms(r.p95_ms)} | {common.ms(r.max_ms)} "
            f"| {r.bot_cpu_ms_per_update:.2f} | {r.http_429} | {r.completed}/{r.users} "
            f"| {'ok' if r.stored.startswith('ok') else 'FAILED'} |"
        )
    return "\n".join(lines)


def breakdown(results: list[Result]) -> str:
    lines = [
        "| mode | bot | press → callback answered, p50 / p95 ms "
        "| callback answered → next question, p50 / p95 ms |",
        "|---|---|---|---|",
    ]
    for r in results:
        intake, outbound = r.press_to_ack_ms, r.ack_to_next_ms
        lines.append(
            f"| {r.mode} | {r.bot} | {common.ms(intake[0])} / {common.ms(intake[1])} "
            f"| {common.ms(outbound[0])} / {common.ms(outbound[1])} |"
        )
    return "\n".join(lines)


def ratios(results: list[Result]) -> list[str]:
    lines = []
    for mode in dict.fromkeys(r.mode for r in results):
        by_bot = {r.bot: r for r in results if r.mode == mode}
        if {"Parley", "plain PTB"} <= set(by_bot):
            p, b = by_bot["Parley"], by_bot["plain PTB"]
            throughput = p.updates_per_s / b.updates_per_s
            p95 = p.p95_ms / b.p95_ms
            lines.append(
                f"{mode}: throughput Parley/plain = {throughput:.2f}x "
                f"(target >= 1.0x: {'met' if throughput >= 1.0 else 'MISSED'}); "
                f"p95 Parley/plain = {p95:.2f}x "
                f"(target <= 1.2x: {'met' if p95 <= 1.2 else 'MISSED'})"
            )
    return lines


def environment() -> str:
    import telegram

    return common.environment(f"python-telegram-bot {telegram.__version__}", _load())


def _load() -> str:
    return common.load_average(all_three=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="stakeholders, unlimited mode")
    parser.add_argument("--limited-users", type=int, default=40, help="stakeholders, limited mode")
    parser.add_argument(
        "--rounds", type=int, default=2, help="unlimited mode: rounds (bots alternate; median)"
    )
    parser.add_argument("--limited-rounds", type=int, default=1, help="limited mode: rounds")
    parser.add_argument(
        "--modes", choices=["both", "unlimited", "limited"], default="both", help="what to run"
    )
    parser.add_argument("--bots", choices=["both", "parley", "plain"], default="both")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds per reply")
    parser.add_argument("--trial-timeout", type=float, default=150.0, help="seconds per trial")
    parser.add_argument(
        "--keep-parley-pacing",
        action="store_true",
        help="unlimited mode: run Parley as shipped (its own pacing) instead of pacer off",
    )
    parser.add_argument("--py-spy", type=Path, help="profile Parley with py-spy into this folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()

    modes = ["unlimited", "limited"] if args.modes == "both" else [args.modes]
    bots = ["parley", "plain"] if args.bots == "both" else [args.bots]
    print(environment(), flush=True)
    started = time.monotonic()
    results = []
    for mode in modes:
        users = args.users if mode == "unlimited" else args.limited_users
        rounds = args.rounds if mode == "unlimited" else args.limited_rounds
        for number in range(rounds):
            for bot_name in bots if number % 2 == 0 else bots[::-1]:
                print(f"{mode}: {bot_name}, {users} stakeholders, round {number + 1}", flush=True)
                result = trial(args, mode, bot_name, users)
                results.append(result)
                print(
                    f"  {result.updates_per_s:.1f} updates/s, p50 {common.ms(result.p50_ms)} ms, "
                    f"p95 {common.ms(result.p95_ms)} ms, {result.completed}/{users} completed, "
                    f"stored: {result.stored}",
                    flush=True,
                )
                for error in result.errors:
                    print(f"  ! {error}", flush=True)
    summary = combine(results)
    print()
    print(table(summary))
    print()
    print(breakdown(summary))
    print()
    for line in ratios(summary):
        print(line)
    print(f"\ntotal {time.monotonic() - started:.0f} s; load average {_load()}")
    if args.json:
        common.write_json(args.json, results)
    failed = any(r.completed != r.users or not r.stored.startswith("ok") for r in results)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
