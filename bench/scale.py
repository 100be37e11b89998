"""Scale-out (#8): the same load with 1 and with 2 `web` processes on PostgreSQL.

    .venv/bin/python bench/scale.py [--stakeholders 400] [--paced 40] [--setups all1,web1,web2]

Each trial starts on a fresh PostgreSQL schema (`parley db upgrade` once) with a fresh
loopback Telegram fake (`tests/fakes/telegram_api.FakeTelegram`, in this process,
enforcing Telegram's limits: 30 messages/s per bot, 1/s per private chat with bursts of
3, 429 beyond them). The processes, each its own `parley run` with its own HTTP port:

- `web1`: 1 `--role web` + 1 `--role dispatcher` + 1 `--role scheduler`;
- `web2`: the same with 2 `--role web`;
- `all1` (reference): one `parley run --role all`, the single-process mode.

Telegram updates reach the web processes as webhook POSTs (`/telegram/webhook`, with the
secret header), round robin, from one asyncio client in this process (plain HTTP/1.1 on
kept-alive asyncio streams, see `Sender`): the load generator shares the machine's 2
cores with Parley and PostgreSQL, so it has to be cheap. The fake's own webhook delivery
is not used (it delivers one update at a time); the updates are built here. Stakeholders
answer
`bench/telegram-bench.yaml` (consent and ten questions) by typing (`/start`, "I agree",
the choice's label, numbers, Yes/No, a sentence): a button press would need the bot's
message first, and the saturation phase does not wait for it. Two phases per trial:

1. `paced` (reply latency): `--paced` stakeholders (40) each act, wait for the bot's next
   question to reach the fake, think `--think` seconds (2) and act again: about 18
   events/s, within Telegram's 30 messages/s, so the reply latency is Parley's (webhook
   → handling commit → NOTIFY → dispatcher → fake), not a queue behind the limit.
2. `saturation` (throughput): `--stakeholders` (400) each post their 12 updates back to
   back, each as soon as the previous one was acknowledged (a 200 from the web process
   means the handling transaction committed): a closed loop at saturation. Events/s is
   acknowledged updates from the first post to the last acknowledgement. The outbox this
   leaves behind is drained by the dispatcher at Telegram's pace: the drain rate is the
   fake's `sendMessage` records per second from the phase's start to `--drain` seconds
   (20) after its end (steady: the middle 80 %), against 30/s, with the 429s and limit
   violations the fake counted (target 0).

Updates go round robin (update by update: a stakeholder's consecutive answers land on
alternating processes, as behind a plain load balancer); `--by-chat` sends each chat to
one process instead (sticky), to show what process-local caches are worth.

CPU seconds of each Parley process (/proc/<pid>/stat), of all `postgres` processes
(other users' sessions on the shared server included) and of this process (load
generator and fake) are read before and after the saturation phase: with 2 cores the
sum cannot exceed 2 × the phase's seconds, and when it is close to that, a second web
process can only take CPU from the others. Afterwards every stakeholder must have
finished and the database must hold every answer exactly once and every update once
(`bench/telegram.py`'s check); otherwise the exit code is 1. `--py-spy DIR` records the
web processes during the saturation phase.

Every wait is bounded, everything listens on 127.0.0.1, the processes are always stopped
and the schema dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/common.py, imported while this folder is still first on sys.path (as a script).
import common  # noqa: E402

# bench/telegram.py would shadow python-telegram-bot's `telegram` package: use the root.
common.drop_from_sys_path(BENCH)
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from storage import make_engine  # noqa: E402
from storage.models import OutboxRow  # noqa: E402
from tests.e2e.telegram_support import free_port  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

tg: Any = common.load_module("bench_telegram", BENCH / "telegram.py")
engine_bench: Any = common.load_module("bench_engine", BENCH / "engine.py")
fanout: Any = common.load_module("bench_fanout", BENCH / "fanout.py")

PARLEY = Path(sys.executable).with_name("parley")
TELEGRAM_PER_SECOND = 30.0
SECRET = "scale-bench-secret"
WEBHOOK_URL = "https://parley.invalid/telegram/webhook"
"""What the web processes register with the fake (which wants HTTPS and only records it)."""
FIRST_PACED_ID = 810_001
FIRST_SATURATION_ID = 820_001
SETUPS = {"all1": ("all", 1), "web1": ("web", 1), "web2": ("web", 2)}
"""Setup name -> (role of the receiving processes, how many)."""


# --- the processes ---------------------------------------------------------------------------


@dataclass
class Node(common.BotProcessBase):
    role: str
    port: int


def parley_env(database_url: str, fake: FakeTelegram) -> dict[str, str]:
    env = common.clean_env()
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_QUESTIONNAIRE=str(tg.QUESTIONNAIRE),
        PARLEY_TELEGRAM_TOKEN=fake.token,
        PARLEY_TELEGRAM_API_URL=fake.api_root,
        PARLEY_TELEGRAM_WEBHOOK_URL=WEBHOOK_URL,
        PARLEY_TELEGRAM_WEBHOOK_SECRET=SECRET,
        PARLEY_OPEN_ENROLLMENT="true",
        PARLEY_HTTP_HOST="127.0.0.1",
        PARLEY_LOG_LEVEL="WARNING",
    )
    return env


def upgrade(env: dict[str, str], workdir: Path) -> None:
    """`parley db upgrade`, once, before any process starts (as operators do)."""
    done = subprocess.run(
        [str(PARLEY), "db", "upgrade"], env=env, cwd=workdir, capture_output=True, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"parley db upgrade failed: {done.stdout!r} {done.stderr!r}")


def start_node(env: dict[str, str], workdir: Path, role: str, number: int) -> Node:
    port = free_port()
    log_path = workdir / f"parley-{role}-{number}.log"
    command = [str(PARLEY), "run", "--role", role]
    proc = common.spawn(command, {**env, "PARLEY_HTTP_PORT": str(port)}, workdir, log_path)
    return Node(f"{role} #{number}", proc, log_path, role, port)


def start_setup(setup: str, env: dict[str, str], workdir: Path) -> list[Node]:
    """The receiving processes first (`webs(nodes)` keeps their order), then the others."""
    role, count = SETUPS[setup]
    nodes = [start_node(env, workdir, role, n + 1) for n in range(count)]
    if role == "web":
        nodes += [start_node(env, workdir, r, 1) for r in ("dispatcher", "scheduler")]
    return nodes


def webs(nodes: list[Node]) -> list[Node]:
    return [n for n in nodes if n.role in ("web", "all")]


async def wait_ready(nodes: list[Node], timeout: float = 90.0) -> None:
    """Until every process answers `GET /readyz` with 200, or fail with its log."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        for node in nodes:
            while True:
                if node.proc.poll() is not None:
                    raise RuntimeError(f"{node.name} exited:\n{node.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{node.name} not ready in {timeout:.0f}s:\n{node.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"http://127.0.0.1:{node.port}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.3)


def stop_all(nodes: list[Node]) -> None:
    for node in nodes:
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
    for node in nodes:
        node.stop()


def postgres_cpu_seconds() -> float:
    """User + system CPU of every `postgres` process on this machine (/proc)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, rest = stat.read_text().rsplit(")", 1)
            if head.endswith("(postgres"):
                fields = rest.split()
                total += int(fields[11]) + int(fields[12])
    return total / ticks


def cpu_snapshot(nodes: list[Node]) -> dict[str, float]:
    snapshot = {node.name: node.cpu_seconds() for node in nodes}
    snapshot["postgres (all)"] = postgres_cpu_seconds()
    snapshot["load generator + fake"] = time.process_time()
    return snapshot


# --- the load ----------------------------------------------------------------------------------


class Sender:
    """Posts Telegram updates to the web processes, round robin, over kept-alive connections.

    Plain HTTP/1.1 on asyncio streams, one connection per stakeholder and process (a
    stakeholder waits for each acknowledgement, so a connection never has two requests
    in flight), instead of aiohttp's client: the load generator shares the 2 cores with
    what it measures, and aiohttp's request machinery cost about 0.35 ms of CPU per
    update, more than a third of what PostgreSQL spends on it."""

    def __init__(self, ports: list[int], *, by_chat: bool = False, timeout: float = 60.0) -> None:
        self.ports = ports
        self.by_chat = by_chat
        """Each chat always to the same process (sticky), instead of round robin."""
        self.timeout = timeout
        self.head = (
            "POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
            "Content-Length: {length}\r\n\r\n"
        )
        self.update_ids = iter(range(1, 10**9))
        self.message_ids: Counter[int] = Counter()
        self.connections: dict[tuple[int, int], tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        self.connections = {}

    async def send(self, uid: int, text: str) -> None:
        """POST one message update from `uid`; returns once it was acknowledged (committed)."""
        update_id = next(self.update_ids)
        self.message_ids[uid] += 1
        body = json.dumps(message_update(update_id, uid, self.message_ids[uid], text)).encode()
        port = self.ports[(uid if self.by_chat else update_id) % len(self.ports)]
        request = self.head.format(port=port, length=len(body)).encode() + body
        status = await asyncio.wait_for(self._exchange(uid, port, request), self.timeout)
        if status != 200:
            raise RuntimeError(f"update {update_id} to port {port}: HTTP {status}")

    async def _exchange(self, uid: int, port: int, request: bytes) -> int:
        key = (uid, port)
        if key not in self.connections:
            self.connections[key] = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = self.connections[key]
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, closing = _response_head(head)
            await reader.readexactly(length)
        except BaseException:
            del self.connections[key]
            writer.close()
            raise
        if closing:
            del self.connections[key]
            writer.close()
        return status

    def close(self) -> None:
        for _, writer in self.connections.values():
            writer.close()
        self.connections.clear()


def _response_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes, from a response's head."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    fields = {name.strip().lower(): value.strip() for name, value in headers.items()}
    closing = fields.get("connection", "").lower() == "close"
    return status, int(fields.get("content-length", "0")), closing


def message_update(update_id: int, uid: int, message_id: int, text: str) -> dict[str, Any]:
    """A Bot API `Update` with a private text message from user `uid` (chat id == user id)."""
    person = {"id": uid, "is_bot": False, "first_name": f"Stakeholder {uid}", "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": person,
        "chat": {"id": uid, "type": "private", "first_name": person["first_name"]},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


@dataclass
class Walk:
    uid: int
    acks: list[float] = field(default_factory=list)
    """Post to acknowledgement (committed), seconds."""
    replies: list[float] = field(default_factory=list)
    """Post to the next question at the fake, seconds (paced phase only)."""
    first_action: float | None = None
    last_reply: float | None = None
    error: str | None = None


async def saturate(sender: Sender, walk: Walk, steps: list[Any], clock: Any) -> Walk:
    """Post every step as soon as the previous one was acknowledged."""
    for number, step in enumerate(steps):
        posted = clock()
        walk.first_action = walk.first_action or posted
        try:
            await sender.send(walk.uid, step.value)
        except (OSError, asyncio.IncompleteReadError, RuntimeError, TimeoutError) as exc:
            walk.error = f"step {number}: {exc!r}"
            return walk
        walk.last_reply = clock()
        walk.acks.append(walk.last_reply - posted)
    return walk


async def pace(
    sender: Sender, watcher: Any, walk: Walk, steps: list[Any], think: float, timeout: float
) -> Walk:
    """Act, wait for the bot's next question at the fake, think, act again."""
    clock = watcher.state_clock
    for number, step in enumerate(steps):
        future = watcher.expect(walk.uid, step.expect)
        posted = clock()
        walk.first_action = walk.first_action or posted
        try:
            await sender.send(walk.uid, step.value)
            walk.acks.append(clock() - posted)
            replied, _ = await asyncio.wait_for(future, timeout)
        except (OSError, asyncio.IncompleteReadError, RuntimeError, TimeoutError) as exc:
            walk.error = f"step {number} ({step.value!r}): {exc!r}"
            return walk
        walk.replies.append(replied - posted)
        walk.last_reply = replied
        await asyncio.sleep(think)
    return walk


class Watcher(tg.Watcher):  # type: ignore[misc]
    """`bench/telegram.py`'s watcher of the fake's `sendMessage` records, with its clock."""

    def __init__(self, fake: FakeTelegram, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(fake, loop)
        self.state_clock = fake.clock


async def run_walks(coroutines: list[Any], limit: float) -> None:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    _, pending = await asyncio.wait(tasks, timeout=limit)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


@contextlib.contextmanager
def watching(fake: FakeTelegram, loop: asyncio.AbstractEventLoop) -> Iterator[Watcher]:
    watcher = Watcher(fake, loop)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stop()


# --- one trial ---------------------------------------------------------------------------------


@dataclass
class Result:
    setup: str
    routing: str
    receivers: int
    paced_users: int
    paced_events_per_s: float
    reply_p50_ms: float
    reply_p95_ms: float
    users: int
    events: int
    seconds: float
    events_per_s: float
    ack_p50_ms: float
    ack_p95_ms: float
    cpu_s: dict[str, float]
    drain_per_s: float
    drain_steady_per_s: float
    outbox_left: int
    http_429: int
    duplicated: int
    """Messages a chat got twice (`duplicated_sends`): target 0."""
    violations: dict[str, int]
    """By scope and method ("chat sendMessage")."""
    requests: dict[str, int]
    """Requests to the fake by method."""
    stored: str
    errors: list[str]
    completed: int
    load: str


def plans(first: int, count: int, survey: Any) -> dict[int, tuple[list[Any], dict[str, Any]]]:
    return {uid: tg.script(uid, survey) for uid in range(first, first + count)}


async def drive(
    args: argparse.Namespace, fake: FakeTelegram, nodes: list[Node], database_url: str
) -> dict[str, Any]:
    survey = tg.plain.load_survey(tg.QUESTIONNAIRE)
    paced = plans(FIRST_PACED_ID, args.paced, survey)
    saturation = plans(FIRST_SATURATION_ID, args.stakeholders, survey)
    for uid in [*paced, *saturation]:
        fake.user(uid, first_name=f"Stakeholder {uid}")
    await wait_ready(nodes)
    sender = Sender([n.port for n in webs(nodes)], by_chat=args.by_chat, timeout=args.step_timeout)
    try:
        paced_walks = [Walk(uid) for uid in paced]
        with watching(fake, asyncio.get_running_loop()) as watcher:
            await run_walks(
                [
                    pace(sender, watcher, w, paced[w.uid][0], args.think, args.step_timeout)
                    for w in paced_walks
                ],
                args.trial_timeout,
            )
        spies = _start_spies(args, nodes)
        walks = [Walk(uid) for uid in saturation]
        before, started = cpu_snapshot(nodes), fake.clock()
        try:
            await run_walks(
                [saturate(sender, w, saturation[w.uid][0], fake.clock) for w in walks],
                args.trial_timeout,
            )
        finally:
            after, ended = cpu_snapshot(nodes), fake.clock()
            for spy in spies:
                common.stop_py_spy(spy)
        await asyncio.sleep(args.drain)
    finally:
        sender.close()
    sends = [r.t for r in fake.sent if r.method == "sendMessage" and r.t >= started]
    return {
        "paced": (paced, paced_walks),
        "saturation": (saturation, walks),
        "cpu": {k: after[k] - before[k] for k in before},
        "phase": ended - started,
        "sends": sends,
        "outbox_left": outbox_left(database_url),
    }


def _start_spies(args: argparse.Namespace, nodes: list[Node]) -> list[subprocess.Popen[bytes]]:
    if not args.py_spy:
        return []
    spies = []
    for node in webs(nodes):
        name = f"{node.name.replace(' #', '-')}"
        spy = common.start_py_spy(
            node.proc.pid, args.py_spy / f"{name}.txt", args.py_spy / f"py-spy-{name}.log"
        )
        if spy is not None:
            spies.append(spy)
    return spies


def duplicated_sends(fake: FakeTelegram, uids: list[int]) -> int:
    """Messages whose text a chat got more than once (each question is sent once)."""
    extra = 0
    for uid in uids:
        texts = Counter(m.text for m in fake.messages(uid))
        extra += sum(n - 1 for n in texts.values())
    return extra


def outbox_left(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            query = select(func.count()).where(OutboxRow.status != "sent")
            return int(c.execute(query).scalar_one())
    finally:
        engine.dispose()


def trial(args: argparse.Namespace, setup: str) -> Result:
    with (
        engine_bench.fresh_database("postgres", args.postgres_url) as db,
        common.workspace(args.keep, "parley-scale-") as workdir,
        FakeTelegram(enforce_rate_limits=True) as fake,
    ):
        tg.widen_backlog(fake)
        env = parley_env(db.url, fake)
        upgrade(env, workdir)
        nodes = start_setup(setup, env, workdir)
        try:
            found = asyncio.run(drive(args, fake, nodes, db.url))
        finally:
            stop_all(nodes)
        failed_exits = [
            f"{n.name} exit code {n.proc.returncode}: {n.log_tail(5)}"
            for n in nodes
            if n.proc.returncode not in (0, -signal.SIGTERM)
        ]
        return summarise(args, setup, nodes, fake, db.url, found, failed_exits)


def summarise(
    args: argparse.Namespace,
    setup: str,
    nodes: list[Node],
    fake: FakeTelegram,
    database_url: str,
    found: dict[str, Any],
    failed_exits: list[str],
) -> Result:
    paced, paced_walks = found["paced"]
    saturation, walks = found["saturation"]
    everyone = [*paced_walks, *walks]
    expected = {uid: plan[1] for uid, plan in {**paced, **saturation}.items()}
    actions = sum(len(w.acks) for w in everyone)
    stored = tg.check_parley(database_url, expected, actions)
    if failed_exits:
        stored += "; " + "; ".join(failed_exits)
    replies = [t for w in paced_walks for t in w.replies]
    acks = [t for w in walks for t in w.acks]
    events = len(acks)
    seconds = common.active_seconds(walks)
    paced_events = sum(len(w.acks) for w in paced_walks)
    sustained, steady, _ = fanout.rates(found["sends"])
    return Result(
        setup=setup,
        routing="by chat" if args.by_chat else "round robin",
        receivers=len(webs(nodes)),
        paced_users=len(paced_walks),
        paced_events_per_s=paced_events / common.active_seconds(paced_walks),
        reply_p50_ms=1000 * common.percentile(replies, 0.5),
        reply_p95_ms=1000 * common.percentile(replies, 0.95),
        users=len(walks),
        events=events,
        seconds=seconds,
        events_per_s=events / seconds if seconds else math.nan,
        ack_p50_ms=1000 * common.percentile(acks, 0.5),
        ack_p95_ms=1000 * common.percentile(acks, 0.95),
        cpu_s=found["cpu"] | {"phase wall": found["phase"]},
        drain_per_s=sustained,
        drain_steady_per_s=steady,
        outbox_left=found["outbox_left"],
        http_429=sum(1 for r in fake.requests if r.status == 429),
        duplicated=duplicated_sends(fake, list(expected)),
        violations=dict(Counter(f"{v.scope} {v.method}" for v in fake.violations)),
        requests=dict(Counter(r.method for r in fake.requests)),
        stored=stored,
        errors=[f"{w.uid}: {w.error}" for w in everyone if w.error][:5],
        completed=sum(1 for w in everyone if w.error is None),
        load=common.load_average(),
    )


# --- reporting ---------------------------------------------------------------------------------


def describe(setup: str) -> str:
    role, count = SETUPS[setup]
    if role == "all":
        return "1 × `all`"
    return f"{count} × web + dispatcher + scheduler"


def table(results: list[Result]) -> str:
    lines = [
        "| setup | events/s | (each round) | ack p50 / p95 ms "
        "| reply p50 / p95 ms (paced, events/s) | drain sends/s (of 30), steady "
        "| 429s | violations | duplicated | completed | stored |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setup in dict.fromkeys(r.setup for r in results):
        group = [r for r in results if r.setup == setup]
        med = statistics.median
        each = " / ".join(f"{r.events_per_s:.0f}" for r in group) if len(group) > 1 else ""
        lines.append(
            f"| {describe(setup)} | {med(r.events_per_s for r in group):.1f} | {each} "
            f"| {common.ms(med(r.ack_p50_ms for r in group))} / "
            f"{common.ms(med(r.ack_p95_ms for r in group))} "
            f"| {common.ms(med(r.reply_p50_ms for r in group))} / "
            f"{common.ms(med(r.reply_p95_ms for r in group))} "
            f"({med(r.paced_events_per_s for r in group):.1f}) "
            f"| {med(r.drain_per_s for r in group):.1f}, "
            f"{med(r.drain_steady_per_s for r in group):.1f} "
            f"| {max(r.http_429 for r in group)} "
            f"| {max(sum(r.violations.values()) for r in group)} "
            f"| {max(r.duplicated for r in group)} "
            f"| {min(r.completed for r in group)}/{group[0].users + group[0].paced_users} "
            f"| {'ok' if all(r.stored.startswith('ok') for r in group) else 'FAILED'} |"
        )
    return "\n".join(lines)


def cpu_table(results: list[Result]) -> str:
    """CPU seconds per process over the saturation phase, and their sum against 2 cores."""
    lines = ["| setup | phase s | CPU s per process | sum | of 2 cores |", "|---|---|---|---|---|"]
    cores = os.cpu_count() or 1
    for r in results:
        wall = r.cpu_s["phase wall"]
        parts = {k: v for k, v in r.cpu_s.items() if k != "phase wall"}
        total = sum(parts.values())
        each = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
        lines.append(
            f"| {r.setup} | {wall:.1f} | {each} | {total:.1f} "
            f"| {100 * total / (cores * wall):.0f}% |"
        )
    return "\n".join(lines)


def ratio(results: list[Result]) -> str:
    rates = {
        setup: statistics.median(r.events_per_s for r in results if r.setup == setup)
        for setup in {r.setup for r in results}
    }
    if "web1" not in rates or "web2" not in rates:
        return "ratio: needs both web1 and web2"
    value = rates["web2"] / rates["web1"]
    verdict = "met" if value >= 1.6 else "MISSED"
    return f"2 web / 1 web = {value:.2f}x (target >= 1.6x: {verdict})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stakeholders", type=int, default=400, help="saturation phase")
    parser.add_argument("--paced", type=int, default=40, help="stakeholders, paced phase")
    parser.add_argument("--think", type=float, default=2.0, help="paced: seconds between steps")
    parser.add_argument("--drain", type=float, default=20.0, help="seconds of drain measured")
    parser.add_argument("--setups", default="all1,web1,web2", help="comma-separated, in order")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (setups alternate order)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds per step")
    parser.add_argument("--trial-timeout", type=float, default=240.0, help="seconds per phase")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PARLEY_BENCH_POSTGRES_URL", engine_bench.DEFAULT_POSTGRES_URL),
    )
    parser.add_argument(
        "--by-chat",
        action="store_true",
        help="send each chat's updates to the same web process (default: round robin)",
    )
    parser.add_argument("--py-spy", type=Path, help="profile the web processes into this folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = [s for s in setups if s not in SETUPS]
    if unknown:
        raise SystemExit(f"unknown setups {unknown}; known: {', '.join(SETUPS)}")

    import telegram

    print(common.environment(f"python-telegram-bot {telegram.__version__}", tg._load()))
    started, results = time.monotonic(), []
    for number in range(args.rounds):
        for setup in setups if number % 2 == 0 else setups[::-1]:
            print(f"{setup} ({describe(setup)}), round {number + 1}", flush=True)
            result = trial(args, setup)
            results.append(result)
            print(
                f"  {result.events_per_s:.1f} events/s, ack p95 {common.ms(result.ack_p95_ms)} ms, "
                f"reply p95 {common.ms(result.reply_p95_ms)} ms, drain "
                f"{result.drain_per_s:.1f}/s, 429s {result.http_429}, stored: {result.stored}",
                flush=True,
            )
            for error in result.errors:
                print(f"  ! {error}", flush=True)
            if result.violations:
                print(f"  ! limit violations: {result.violations}", flush=True)
    print()
    print(table(results))
    print()
    print(cpu_table(results))
    print()
    print(ratio(results))
    print(f"\ntotal {time.monotonic() - started:.0f} s; load average {tg._load()}")
    if args.json:
        common.write_json(args.json, results)
    failed = any(
        r.completed != r.users + r.paced_users or not r.stored.startswith("ok") or r.duplicated
        for r in results
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
