"""Slack end to end, HTTP mode: Parley against a minimal slack-bolt app, through the fake.

    .venv/bin/python bench/slack.py [--users 100] [--modes both] [--limited-seconds 30]

Simulated stakeholders (100) answer the questionnaire `bench/slack-bench.yaml` (consent and
ten questions: buttons for choices, the scale and yes/no, a select menu for the
six-option question, typed numbers and a typed free text) at the same time. Each one says
hello in its DM, then answers every question as soon as it appears (no think time: a
closed loop), so reply latency is the bot's, queueing included. Two bots, each in its own
subprocess listening on 127.0.0.1, each against a fresh `tests.fakes.slack_api.FakeSlack`
in this process, which both use as their Web API:

- Parley: `parley run` in HTTP mode (`POST /slack/events`) with its own SQLite database
  (default durability), open enrollment. Every answer is committed before its reply.
- the baseline, `bench/plain_bolt_app.py`: a minimal bolt `AsyncApp` on bolt's aiohttp
  adapter, state in a dict, the same messages as Parley (same blocks, same transcript
  edits), so both make the same `chat.update` + `chat.postMessage` per answer. It
  replies in the DM the event came from; Parley also calls `users.info` and
  `conversations.open` once per person.

Inbound traffic: the fake's own sender delivers one request at a time, in order (its
docstring), which would serialise 100 stakeholders into one queue and make the fake, not
the bot, set the pace. So the fake builds each request exactly as Slack would (its
`user.say/click/select` make the `event_callback` JSON or the `payload=` form), and this
script signs it (`v0` HMAC, as the fake does) and POSTs it itself, one request per
stakeholder in flight, all concurrently. The fake's `deliveries` still record every
attempt with its status and ack latency.

Measures, all on one monotonic clock:

- ack latency: from the POST to the bot's HTTP 200 (Slack wants it within 3 s);
- reply latency: from the POST to the fake recording the `chat.postMessage` of the next
  question (the consent message after hello, the closing message after the last answer);
- events/s: stakeholder actions over the run (first action to last reply);
- bot CPU: the bot process's user+system time over the same window, per event.

"Committed before its reply" is checked while it happens: for Parley, the fake looks up
the answer in Parley's SQLite (a read-only connection) when the `chat.postMessage` of the
next question arrives, before storing it. At the end every stakeholder must have
finished, and Parley's database (or the baseline's dump, written at shutdown) must hold
each answer exactly once, with the value given.

Two modes, each run for both bots with the same fake settings:

- `unlimited`: the fake accepts every call (`enforce_rate_limits=False`). This compares
  the bots' own overheads, so neither paces its sends: Parley runs with its outbox pacer
  switched off by this script (`bot.pacing.Pacer.wait` replaced by a no-op in the
  subprocess; product code untouched). `--keep-parley-pacing` runs it as shipped. Three
  runs per bot (`--repeat`), alternating, the median shown.
- `limited`: the fake enforces its Slack-like defaults (`RateLimits()`: chat.postMessage
  1/s per channel with bursts of 5; chat.update and conversations.open 50/min, users.info
  100/min, workspace-wide) and answers 429 + Retry-After beyond them. Parley as shipped;
  the baseline, in both modes, with slack_sdk's `AsyncRateLimitErrorRetryHandler`
  (`--plain-retries`, 2; a no-op without 429s). At 50 edits a minute
  for the whole workspace, 100 stakeholders cannot finish in a few minutes, so this mode
  is time-boxed: stakeholders stop starting new steps after `--limited-seconds`, the
  steps in flight get `--drain-seconds` to complete, and the check covers the answers
  given so far.

Every wait is bounded, everything listens on 127.0.0.1 only, the subprocesses are always
stopped. About two minutes in all with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/common.py, imported while this folder is still first on sys.path (as a script).
import common  # noqa: E402

# This file is named slack.py: run as a script, its folder would come first on sys.path and
# shadow slack_sdk's legacy `slack` package. Use the repository root instead.
common.drop_from_sys_path(BENCH)
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.fakes.slack_api import (  # noqa: E402
    SLACK_USER_AGENT,
    ApiCall,
    Delivery,
    FakeSlack,
    Inbound,
)

QUESTIONNAIRE = BENCH / "slack-bench.yaml"
PLAIN_APP = BENCH / "plain_bolt_app.py"
PARLEY = Path(sys.executable).with_name("parley")

PARLEY_UNPACED = common.PARLEY_UNPACED  # the same script for both benchmarks


plain: Any = common.load_module("plain_bolt_app", PLAIN_APP)


# --- what each stakeholder does -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    action: str  # "say", "click" or "select"
    value: str  # the text typed, or the button / option label
    expect: str  # a piece of the `text` of the bot's next chat.postMessage
    item: str | None = None  # the question this step answers


def user_id(index: int) -> str:
    return f"UBENCH{index:05d}"


def script(index: int, survey: Any) -> tuple[list[Step], dict[str, Any]]:
    """The stakeholder's actions and the answers they give (item id -> stored value)."""
    questions = survey.questions
    nexts = [q.label for q in questions] + [survey.closing[:40]]
    steps = [
        Step("say", "hello", survey.consent[-26:]),
        Step("click", "I agree", nexts[0]),
    ]
    answers: dict[str, Any] = {}
    for number, q in enumerate(questions):
        pick = index + q.number
        expect = nexts[number + 1]
        if q.type == "single_choice":
            choice_id, label = q.choices[pick % len(q.choices)]
            action = "select" if len(q.choices) > plain.MAX_BUTTONS else "click"
            steps.append(Step(action, label, expect, q.id))
            answers[q.id] = choice_id
        elif q.type == "scale":
            value = q.low + pick % (q.high - q.low + 1)
            steps.append(Step("click", str(value), expect, q.id))
            answers[q.id] = value
        elif q.type == "yes_no":
            steps.append(Step("click", "Yes" if pick % 2 == 0 else "No", expect, q.id))
            answers[q.id] = pick % 2 == 0
        elif q.type == "number":
            value = min(q.high, q.low + pick % 250)
            steps.append(Step("say", str(value), expect, q.id))
            answers[q.id] = value
        else:
            text = f"Benchmark stakeholder {index}: local data, published sooner."
            steps.append(Step("say", text, expect, q.id))
            answers[q.id] = text
    return steps, answers


# --- the fake, with inbound traffic left to this script -------------------------------------


class BenchSlack(FakeSlack):
    """`FakeSlack` whose users' actions are built as usual (stored, recorded as `inbound`)
    but not queued for the fake's one-at-a-time sender: `post()` delivers them."""

    def _enqueue(
        self, kind: str, payload: dict[str, Any], inbound_id: str | None = None
    ) -> Inbound:
        with self._state.cond:
            inbound_id = inbound_id or f"in{next(self._state.counter)}"
            inbound = Inbound(self, kind, payload, inbound_id)
            self._state.inbound.append(inbound)
        return inbound

    async def post(self, session: aiohttp.ClientSession, url: str, inbound: Inbound) -> Delivery:
        """Sign and POST like Slack; record the attempt (status, ack latency) like the fake."""
        headers = {
            "Content-Type": inbound.content_type,
            "User-Agent": SLACK_USER_AGENT,
            **self.sign(inbound.body),
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            async with session.post(
                url,
                data=inbound.body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
                error = None if status == 200 else "http_error"
        except TimeoutError:
            error = "http_timeout"
        except aiohttp.ClientError:
            error = "connection_failed"
        elapsed = time.monotonic() - started
        delivery = Delivery(
            t=started,
            inbound_id=inbound.id,
            kind=inbound.kind,
            transport="http",
            attempt=0,
            status=status,
            elapsed=elapsed,
            error=error,
            response=None,
        )
        with self._state.cond:
            self._state.deliveries.append(delivery)
            inbound.status = "acked" if error is None else "failed"
            self._state.cond.notify_all()
        return delivery

    def user_of(self, channel: str) -> str | None:
        """The person a DM (or a user id used as a channel) belongs to. Under the lock."""
        state = self._state
        if channel in state.people:
            return channel
        found = state.channels.get(channel)
        return found.user if found is not None else None


class Watcher(common.RecordWatcher[str, tuple[float, str]]):
    """Follows the fake's Web API records: each person's next successful `chat.postMessage`
    with the expected text resolves to (recorded at, ts of the message posted)."""

    def __init__(self, fake: BenchSlack, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(fake._state, loop)
        self.fake = fake

    def forget(self, user: str) -> None:
        with self.lock:
            self.waiting.pop(user, None)

    def _records(self) -> list[Any]:
        calls: list[Any] = self.state.calls
        return calls

    def _see(self, record: Any) -> None:
        if record.method == "chat.postMessage" and record.ok:
            self._match(record)

    def _match(self, call: ApiCall) -> None:
        channel = str(call.params.get("channel", ""))
        user = self.fake.user_of(channel)
        text = str(call.params.get("text", ""))
        future = self._take(user or "", text)
        if future is not None:
            self._deliver(future, (call.t, self._ts(channel, text)))

    def _ts(self, channel: str, text: str) -> str:
        """The ts of the message that call posted: the newest bot message with its text."""
        state = self.state
        dm = state.channels.get(state.dms.get(channel, channel))
        if dm is None:
            return ""
        for message in reversed(dm.messages.values()):
            if message.user == self.fake.bot_user_id and message.text == text:
                ts: str = message.ts
                return ts
        return ""


class CommitCheck:
    """Before the fake stores a `chat.postMessage` that follows an answer, look the answer up
    in Parley's SQLite (read-only, its own connection): was it committed before the reply?

    Runs in the fake's server thread, under the fake's lock; `pending` says which answer
    each stakeholder's next question follows.
    """

    QUERY = (
        "SELECT 1 FROM answers a JOIN runs r ON r.id = a.run_id "
        "JOIN identities i ON i.stakeholder_id = r.stakeholder_id "
        "WHERE i.platform = 'slack' AND i.external_id = ? AND a.item_id = ? LIMIT 1"
    )

    def __init__(self, fake: BenchSlack, database: Path) -> None:
        self.fake = fake
        self.database = database
        self.pending: dict[str, tuple[str, str]] = {}  # user -> (item, piece of next text)
        self.checked = 0
        self.missing: list[str] = []
        self.seconds = 0.0
        self._db: sqlite3.Connection | None = None
        self._original: Callable[[Any, str], dict[str, Any]] | None = None

    def install(self) -> None:
        methods = self.fake._api.methods
        self._original = methods["chat.postMessage"]
        methods["chat.postMessage"] = self._post_message

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def _post_message(self, p: Any, method: str) -> dict[str, Any]:
        assert self._original is not None
        user = self.fake.user_of(str(p.text("channel") or ""))
        entry = self.pending.get(user or "")
        if user is not None and entry is not None and entry[1] in (p.text("text") or ""):
            del self.pending[user]
            self._check(user, entry[0])
        return self._original(p, method)

    def _check(self, user: str, item: str) -> None:
        started = time.perf_counter()
        if self._db is None:
            uri = f"file:{self.database}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5)
        found = self._db.execute(self.QUERY, (user, item)).fetchone()
        self.checked += 1
        if found is None:
            self.missing.append(f"{user}:{item}")
        self.seconds += time.perf_counter() - started


# --- one stakeholder ------------------------------------------------------------------------


@dataclass
class Walk:
    user: str
    acks: list[tuple[str, float]] = field(default_factory=list)
    """(kind, seconds) for every action POSTed: events_api or interactive."""
    latencies: list[float] = field(default_factory=list)
    answered: dict[str, Any] = field(default_factory=dict)
    """item -> value for the answers given and acknowledged."""
    first_action: float | None = None
    last_reply: float | None = None
    finished: bool = False
    unanswered: int = 0  # acknowledged actions whose reply never came (time-boxed mode)
    error: str | None = None


@dataclass
class Context:
    fake: BenchSlack
    watcher: Watcher
    session: aiohttp.ClientSession
    url: str
    step_timeout: float
    stop_at: float | None  # no new step after this (time-boxed mode)
    drain_until: float | None
    commit_check: CommitCheck | None


async def stakeholder(ctx: Context, index: int, steps: list[Step], answers: dict[str, Any]) -> Walk:
    uid = user_id(index)
    user = ctx.fake.user(uid, name=f"stakeholder{index}", real_name=f"Stakeholder {index}")
    walk = Walk(uid)
    ts: str | None = None
    for number, step in enumerate(steps):
        if ctx.stop_at is not None and time.monotonic() >= ctx.stop_at:
            return walk
        future = ctx.watcher.expect(uid, step.expect)
        if ctx.commit_check is not None and step.item is not None:
            ctx.commit_check.pending[uid] = (step.item, step.expect)
        try:
            if step.action == "say":
                inbound = user.say(step.value)
            elif step.action == "click":
                inbound = user.click(step.value, ts=ts)
            else:
                inbound = user.select(step.value, ts=ts)
        except LookupError as exc:
            walk.error = f"step {number} ({step.value!r}): {exc}"
            return walk
        delivery = await ctx.fake.post(ctx.session, ctx.url, inbound)
        acted = delivery.t
        walk.acks.append((inbound.kind, delivery.elapsed))
        if walk.first_action is None:
            walk.first_action = acted
        if not delivery.acked:
            ctx.watcher.forget(uid)
            walk.error = f"step {number} ({step.value!r}): {delivery.error} {delivery.status}"
            return walk
        if step.item is not None:
            walk.answered[step.item] = answers[step.item]
        timeout = ctx.step_timeout
        if ctx.drain_until is not None:  # time-boxed: wait for the reply until the end
            timeout = max(0.1, ctx.drain_until - time.monotonic())
        try:
            replied, ts = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            ctx.watcher.forget(uid)
            if ctx.drain_until is not None:
                walk.unanswered += 1  # still in flight when the trial ended
                return walk
            seen = [m.visible_text[:60] for m in user.messages()][-3:]
            walk.error = (
                f"step {number} ({step.value!r}): no {step.expect!r} within "
                f"{timeout:.0f}s; last messages: {seen!r}"
            )
            return walk
        walk.latencies.append(replied - acted)
        walk.last_reply = replied
    walk.finished = True
    return walk


async def drive(
    fake: BenchSlack,
    url: str,
    plans: list[tuple[list[Step], dict[str, Any]]],
    args: argparse.Namespace,
    limited: bool,
    commit_check: CommitCheck | None,
) -> list[Walk]:
    watcher = Watcher(fake, asyncio.get_running_loop())
    watcher.start()
    connector = aiohttp.TCPConnector(limit=len(plans) + 10)
    now = time.monotonic()
    stop_at = now + args.limited_seconds if limited else None
    drain_until = stop_at + args.drain_seconds if stop_at is not None else None
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            ctx = Context(
                fake, watcher, session, url, args.step_timeout, stop_at, drain_until, commit_check
            )
            tasks = [
                asyncio.ensure_future(stakeholder(ctx, index, steps, answers))
                for index, (steps, answers) in enumerate(plans)
            ]
            _, pending = await asyncio.wait(tasks, timeout=args.trial_timeout)
            for task in pending:
                task.cancel()
            walks = []
            for index, task in enumerate(tasks):
                if task in pending or task.cancelled():
                    walks.append(
                        Walk(user_id(index), error=f"not done after {args.trial_timeout:.0f}s")
                    )
                else:
                    walks.append(task.result())
            return walks
    finally:
        watcher.stop()


# --- the bots -----------------------------------------------------------------------------


@dataclass
class BotProcess(common.BotProcessBase):
    port: int
    database: Path | None = None
    dump_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_parley(fake: FakeSlack, workdir: Path, *, paced: bool) -> BotProcess:
    database = workdir / "bench.db"
    port = free_port()
    env = common.clean_env()
    env.update(
        PARLEY_DATABASE_URL=f"sqlite:///{database}",
        PARLEY_QUESTIONNAIRE=str(QUESTIONNAIRE),
        PARLEY_SLACK_BOT_TOKEN=fake.bot_token,
        PARLEY_SLACK_SIGNING_SECRET=fake.signing_secret,
        PARLEY_SLACK_API_URL=fake.api_url,
        PARLEY_OPEN_ENROLLMENT="true",
        PARLEY_HTTP_HOST="127.0.0.1",
        PARLEY_HTTP_PORT=str(port),
        PARLEY_LOG_LEVEL="WARNING",
    )
    command = [str(PARLEY), "run"] if paced else [sys.executable, "-c", PARLEY_UNPACED]
    log_path = workdir / "parley.log"
    proc = common.spawn(command, env, workdir, log_path)
    return BotProcess("Parley", proc, log_path, port, database=database)


def start_plain(fake: FakeSlack, workdir: Path, *, retries: int) -> BotProcess:
    dump_path = workdir / "plain.json"
    port = free_port()
    command = [
        *(sys.executable, str(PLAIN_APP), "--api-url", fake.api_url, "--token", fake.bot_token),
        *("--signing-secret", fake.signing_secret, "--port", str(port)),
        *("--questionnaire", str(QUESTIONNAIRE), "--dump", str(dump_path)),
        *("--retries", str(retries)),
    ]
    log_path = workdir / "plain.log"
    proc = common.spawn(command, common.clean_env(), workdir, log_path)
    return BotProcess("plain bolt", proc, log_path, port, dump_path=dump_path)


def wait_ready(fake: FakeSlack, bot: BotProcess, timeout: float = 60.0) -> None:
    """Until the bot answers GET /healthz (and Parley's channel has called auth.test)."""
    deadline = time.monotonic() + timeout
    healthy = False
    while time.monotonic() < deadline:
        if bot.proc.poll() is not None:
            raise RuntimeError(f"{bot.name} exited ({bot.proc.returncode}):\n{bot.log_tail()}")
        if not healthy:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{bot.port}/healthz", timeout=1
                ) as reply:
                    healthy = reply.status == 200
            except OSError:
                time.sleep(0.1)
                continue
        if bot.database is None or fake.calls_for("auth.test"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{bot.name} was not ready in {timeout:.0f}s:\n{bot.log_tail()}")


def wait_processed(database: Path, actions: int, timeout: float = 10.0) -> None:
    """Until Parley has recorded every acknowledged action (it acks before it commits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                (count,) = db.execute("SELECT count(*) FROM inbound_events").fetchone()
            if count >= actions:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.1)


# --- checking what was stored ---------------------------------------------------------------


def outbox_summary(database: Path) -> str:
    """Parley's outbox at shutdown: sent / still pending / given up on."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        counts = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("sent", "pending", "failed"))


def check_parley(database: Path, walks: list[Walk], actions: int) -> str:
    records = common.parley_records(f"sqlite:///{database}", "slack")
    runs = records.runs
    problems: list[str] = []
    for walk in walks:
        if not walk.acks:
            continue
        if walk.user not in runs:
            problems.append(f"{walk.user}: no run")
            continue
        run_id, status = runs[walk.user]
        got = records.stored.get(run_id, {})
        if walk.finished and status != "completed":
            problems.append(f"{walk.user}: run {status}")
        if got != walk.answered:
            problems.append(f"{walk.user}: answers {got} != {walk.answered}")
        problems += records.not_once(walk.user, run_id, walk.answered)
    if records.events != actions:
        problems.append(
            f"{records.events} inbound events recorded for {actions} acknowledged actions"
        )
    answered = sum(len(w.answered) for w in walks)
    return common.verdict(problems, f"{answered} answers, each stored once")


def check_plain(dump_path: Path, walks: list[Walk]) -> str:
    try:
        data = json.loads(dump_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"FAILED: no dump ({exc})"
    problems = []
    for walk in walks:
        if not walk.acks:
            continue
        got = data.get(walk.user, {})
        if got.get("answers") != walk.answered:
            problems.append(f"{walk.user}: answers {got.get('answers')} != {walk.answered}")
        if walk.finished and not got.get("finished"):
            problems.append(f"{walk.user}: not finished in the app's state")
    answered = sum(len(w.answered) for w in walks)
    return common.verdict(problems, f"{answered} answers in memory (dumped at exit)")


# --- one trial -------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    bot: str
    setup: str
    users: int
    finished: int
    events: int
    seconds: float
    events_per_s: float
    ack_ms: dict[str, float]
    """p50, p99, max over every action; ev_p50/ev_p99 (events), ia_p50/ia_p99 (interactive)."""
    reply_ms: dict[str, float]
    """p50, p95, max."""
    unanswered: int
    bot_cpu_ms_per_event: float
    harness_cpu_s: float
    http_429: int
    calls: dict[str, int]
    refused: dict[str, int]
    """Per method, the calls answered 429."""
    outbox: str
    """Parley's outbox rows at shutdown: sent, pending, failed (given up on)."""
    commit_check: str
    stored: str
    errors: list[str]
    events_per_s_all: list[float] = field(default_factory=list)
    """events/s of every repetition (the result shown is the median one)."""
    ack_p99_all_ms: list[float] = field(default_factory=list)


def median_run(runs: list[Result]) -> Result:
    """The repetition with the median events/s, carrying every repetition's figures; any
    failed check in any repetition is kept."""
    chosen = sorted(runs, key=lambda r: r.events_per_s)[(len(runs) - 1) // 2]
    bad = [r for r in runs if not r.stored.startswith("ok")]
    unsure = [r for r in runs if r.commit_check.startswith("FAILED")]
    return Result(
        **{
            **asdict(chosen),
            "finished": min(r.finished for r in runs),
            "stored": bad[0].stored if bad else chosen.stored,
            "commit_check": unsure[0].commit_check if unsure else chosen.commit_check,
            "errors": [e for r in runs for e in r.errors][:5],
            "events_per_s_all": [r.events_per_s for r in runs],
            "ack_p99_all_ms": [r.ack_ms["p99"] for r in runs],
        }
    )


def trial(args: argparse.Namespace, mode: str, bot_name: str) -> Result:
    limited = mode == "limited"
    survey = plain.load_survey(QUESTIONNAIRE)
    plans = [script(index, survey) for index in range(args.users)]
    fake = BenchSlack(enforce_rate_limits=limited)
    with common.workspace(args.keep, "parley-slack-bench-") as workdir, fake:
        commit_check: CommitCheck | None = None
        if bot_name == "parley":
            paced = limited or args.keep_parley_pacing
            bot = start_parley(fake, workdir, paced=paced)
            setup = "as shipped" if paced else "outbox pacer off"
            assert bot.database is not None
            commit_check = CommitCheck(fake, bot.database)
            commit_check.install()
        else:
            retries = args.plain_retries
            bot = start_plain(fake, workdir, retries=retries)
            setup = f"429 retry handler ({retries})" if retries else "no retry handler"
        spy: subprocess.Popen[bytes] | None = None
        try:
            wait_ready(fake, bot)
            if args.py_spy:
                spy = _start_py_spy(args.py_spy, bot, f"{bot_name}-{mode}")
            cpu_before, harness_before = bot.cpu_seconds(), time.process_time()
            walks = asyncio.run(drive(fake, bot.url, plans, args, limited, commit_check))
            cpu_after, harness_after = bot.cpu_seconds(), time.process_time()
            actions = sum(1 for w in walks for _ in w.acks)
            acked = sum(1 for d in fake.deliveries if d.acked)
            if bot.database is not None:
                wait_processed(bot.database, acked)
            calls = Counter(c.method for c in fake.calls)
            refused = Counter(c.method for c in fake.calls if c.status == 429)
            http_429 = sum(refused.values())
        finally:
            if spy is not None:
                common.stop_py_spy(spy)
            bot.stop()
            if commit_check is not None:
                commit_check.close()
        outbox = "n/a"
        if bot.database is not None:
            stored = check_parley(bot.database, walks, acked)
            outbox = outbox_summary(bot.database)
        else:
            assert bot.dump_path is not None
            stored = check_plain(bot.dump_path, walks)
        if bot.proc.returncode not in (0, -signal.SIGTERM):
            stored += f"; exit code {bot.proc.returncode}: {bot.log_tail(5)}"
    if commit_check is None:
        committed = "n/a (in memory)"
    elif commit_check.missing:
        committed = (
            f"FAILED: {len(commit_check.missing)} of {commit_check.checked} replies before "
            f"their answer was committed ({', '.join(commit_check.missing[:3])})"
        )
    else:
        per_check = 1000 * commit_check.seconds / max(commit_check.checked, 1)
        committed = f"ok ({commit_check.checked} replies checked, {per_check:.2f} ms each)"
    acks = [seconds for w in walks for _, seconds in w.acks]
    event_acks = [s for w in walks for kind, s in w.acks if kind == "events_api"]
    action_acks = [s for w in walks for kind, s in w.acks if kind == "interactive"]
    latencies = [t for w in walks for t in w.latencies]
    replies = len(latencies)
    seconds = common.active_seconds(walks)
    return Result(
        mode=mode,
        bot="Parley" if bot_name == "parley" else "plain bolt",
        setup=setup,
        users=args.users,
        finished=sum(1 for w in walks if w.finished),
        events=actions,
        seconds=seconds,
        events_per_s=replies / seconds if seconds else float("nan"),
        ack_ms={
            "p50": 1000 * common.percentile(acks, 0.50),
            "p99": 1000 * common.percentile(acks, 0.99),
            "max": 1000 * max(acks, default=float("nan")),
            "ev_p50": 1000 * common.percentile(event_acks, 0.50),
            "ev_p99": 1000 * common.percentile(event_acks, 0.99),
            "ia_p50": 1000 * common.percentile(action_acks, 0.50),
            "ia_p99": 1000 * common.percentile(action_acks, 0.99),
        },
        reply_ms={
            "p50": 1000 * common.percentile(latencies, 0.50),
            "p95": 1000 * common.percentile(latencies, 0.95),
            "max": 1000 * max(latencies, default=float("nan")),
        },
        unanswered=sum(w.unanswered for w in walks),
        bot_cpu_ms_per_event=1000 * (cpu_after - cpu_before) / max(actions, 1),
        harness_cpu_s=harness_after - harness_before,
        http_429=http_429,
        calls=dict(calls),
        refused=dict(refused),
        outbox=outbox,
        commit_check=committed,
        stored=stored,
        errors=[f"{w.user}: {w.error}" for w in walks if w.error][:5],
    )


# --- profiling (optional) --------------------------------------------------------------------


def _start_py_spy(directory: Path, bot: BotProcess, name: str) -> subprocess.Popen[bytes] | None:
    output, log = directory / f"slack-{name}.txt", directory / f"py-spy-slack-{name}.log"
    return common.start_py_spy(bot.proc.pid, output, log, threads=True)


# --- reporting -------------------------------------------------------------------------------


def _rate(r: Result) -> str:
    shown = f"{r.events_per_s:.1f}"
    if len(r.events_per_s_all) > 1:
        shown += f" ({min(r.events_per_s_all):.0f}–{max(r.events_per_s_all):.0f})"
    return shown


def table(results: list[Result]) -> str:
    lines = [
        "| mode | bot | setup | finished | events | events/s | ack p50 / p99 / max ms "
        "| reply p50 / p95 / max ms | bot CPU ms/event | 429s | stored |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        a, p = r.ack_ms, r.reply_ms
        lines.append(
            f"| {r.mode} | {r.bot} | {r.setup} | {r.finished}/{r.users} | {r.events} "
            f"| {_rate(r)} | {common.ms(a['p50'])} / {common.ms(a['p99'])} / {common.ms(a['max'])} "
            f"| {common.ms(p['p50'])} / {common.ms(p['p95'])} / {common.ms(p['max'])} "
            f"| {r.bot_cpu_ms_per_event:.2f} | {r.http_429} "
            f"| {'ok' if r.stored.startswith('ok') else 'FAILED'} |"
        )
    return "\n".join(lines)


def breakdown(results: list[Result]) -> str:
    lines = [
        "| mode | bot | ack p50 / p99 ms, message events | ack p50 / p99 ms, button and menu "
        "actions | Web API calls | Parley's outbox at the end | harness CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        a = r.ack_ms
        calls = ", ".join(
            f"{m} {n}" + (f" ({r.refused[m]} × 429)" if r.refused.get(m) else "")
            for m, n in sorted(r.calls.items())
        )
        lines.append(
            f"| {r.mode} | {r.bot} | {common.ms(a['ev_p50'])} / {common.ms(a['ev_p99'])} "
            f"| {common.ms(a['ia_p50'])} / {common.ms(a['ia_p99'])} | {calls} | {r.outbox} "
            f"| {r.harness_cpu_s:.1f} |"
        )
    return "\n".join(lines)


def verdicts(results: list[Result]) -> list[str]:
    lines = []
    for mode in dict.fromkeys(r.mode for r in results):
        by_bot = {r.bot: r for r in results if r.mode == mode}
        parley = by_bot.get("Parley")
        if parley is None:
            continue
        worst = max(parley.ack_p99_all_ms or [parley.ack_ms["p99"]])
        ack_ok = worst <= 300
        line = (
            f"{mode}: Parley ack p99 {common.ms(worst)} ms (worst of {len(parley.ack_p99_all_ms)} "
            f"runs; target <= 300 ms: {'met' if ack_ok else 'MISSED'})"
        )
        if "plain bolt" in by_bot:
            ratio = parley.events_per_s / by_bot["plain bolt"].events_per_s
            line += (
                f"; throughput Parley/plain = {ratio:.2f}x "
                f"(target >= 0.8x: {'met' if ratio >= 0.8 else 'MISSED'})"
            )
        line += f"; committed before reply: {parley.commit_check}"
        lines.append(line)
    return lines


def environment() -> str:
    import slack_bolt
    import slack_sdk

    libraries = (
        f"slack-bolt {slack_bolt.version.__version__}, slack-sdk {slack_sdk.version.__version__}"
    )
    return common.environment(libraries, load_average())


load_average = common.load_average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="stakeholders, at the same time")
    parser.add_argument(
        "--modes", choices=["both", "unlimited", "limited"], default="both", help="what to run"
    )
    parser.add_argument("--bots", choices=["both", "parley", "plain"], default="both")
    parser.add_argument(
        "--limited-seconds", type=float, default=30.0, help="limited mode: new steps for this long"
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=12.0, help="limited mode: then this for replies"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="unlimited mode: runs per bot (median shown)"
    )
    parser.add_argument("--step-timeout", type=float, default=30.0, help="seconds per reply")
    parser.add_argument("--trial-timeout", type=float, default=90.0, help="seconds per trial")
    parser.add_argument(
        "--plain-retries", type=int, default=2, help="baseline: AsyncRateLimitErrorRetryHandler"
    )
    parser.add_argument(
        "--keep-parley-pacing",
        action="store_true",
        help="unlimited mode: run Parley as shipped (its own pacing) instead of pacer off",
    )
    parser.add_argument("--py-spy", type=Path, help="profile the bots with py-spy into this folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()

    modes = ["unlimited", "limited"] if args.modes == "both" else [args.modes]
    bots = ["parley", "plain"] if args.bots == "both" else [args.bots]
    print(environment(), flush=True)
    started = time.monotonic()
    results: list[Result] = []
    for mode in modes:
        repeat = max(1, args.repeat) if mode == "unlimited" else 1
        runs: dict[str, list[Result]] = {bot_name: [] for bot_name in bots}
        for number in range(repeat):
            for bot_name in bots:  # alternate the bots, so drift hits both alike
                print(
                    f"{mode}: {bot_name}, {args.users} stakeholders "
                    f"(run {number + 1} of {repeat}) ...",
                    flush=True,
                )
                result = trial(args, mode, bot_name)
                runs[bot_name].append(result)
                print(
                    f"  {result.events_per_s:.1f} events/s, "
                    f"ack p99 {common.ms(result.ack_ms['p99'])} ms, "
                    f"reply p50 {common.ms(result.reply_ms['p50'])} / p95 "
                    f"{common.ms(result.reply_ms['p95'])} ms, {result.finished}/{args.users} "
                    f"finished, stored: {result.stored}",
                    flush=True,
                )
                for error in result.errors:
                    print(f"  ! {error}", flush=True)
        results.extend(median_run(runs[bot_name]) for bot_name in bots)
    print()
    print(table(results))
    print()
    print(breakdown(results))
    print()
    for line in verdicts(results):
        print(line)
    print(f"\ntotal {time.monotonic() - started:.0f} s; load average now {load_average()}")
    if args.json:
        common.write_json(args.json, results)
    failed = any(
        not r.stored.startswith("ok")
        or r.commit_check.startswith("FAILED")
        or any(r.errors)
        or (r.mode == "unlimited" and r.finished != r.users)
        for r in results
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
