"""Fan-out: a follow-up to 3,000 stakeholders due at the same minute, through Telegram's limits.

    .venv/bin/python bench/fanout.py [--stakeholders 3000] [--modes both|straight|killed]

What it does, per trial, in a fresh temporary folder:

1. writes 3,000 stakeholders into a new SQLite database with storage functions (the
   roster has no Telegram column, and invitation links would need 3,000 conversations
   first): each in America/Toronto with a Telegram identity; the loopback fake
   (`tests/fakes/telegram_api.FakeTelegram`, enforcing 30 messages/s per bot and 1/s
   per private chat with bursts of 3, answering 429 beyond them) gets a chat per person;
2. schedules the check-in with the real command,
   `parley followup add --questionnaire examples/check-in.yaml --to all --at '<minute>'`,
   at the first whole minute at least `--lead` seconds away, so every send is due at
   the same instant;
3. starts `parley run` (Telegram long polling, SQLite with default durability, quiet hours
   off: `PARLEY_QUIET_HOURS=00:00-00:00`, `PARLEY_QUIET_WEEKENDS=false`, so the minute may
   fall at any hour) and waits until every message was delivered, or nothing arrived
   for `--stall` seconds.

Each stakeholder's follow-up starts with two messages (the welcome line and the consent
question), so 3,000 stakeholders expect 6,000 `sendMessage` calls, the first messages of
3,000 conversations. Two modes:

- `straight`: one process, uninterrupted.
- `killed`: the process is killed with SIGKILL once half of the expected messages were
  delivered, then started again on the same database.

Reported, from the fake's records (its clock is the wall clock, so they line up with
the database's timestamps):

- sends/s, sustained from the first delivery to the last, and steady (the middle 80% of
  the deliveries, without the ramp at either end), each as a share of Telegram's 30/s
  (target: at least 95%); Parley paces itself at 29/s (`bot.channels.telegram`), so
  96.7% is its ceiling; also the slowest 5-second window;
- limit violations and 429s counted by the fake (target 0);
- lost and duplicated messages (target 0): each chat must hold exactly the two
  expected texts, once each, in order; and the database must agree (3,000 sends done,
  3,000 runs, 6,000 outbox rows sent);
- where the time went: due to the first delivery, the scheduler's processing window
  (first to last `scheduled_sends.done_at`), and in the killed mode what was delivered
  before the kill and the gap until the restarted process delivered again.

Every wait is bounded, the fake listens on 127.0.0.1 only, and the subprocess is always
stopped. The exit code is 1 if a message was lost or duplicated or a limit was violated.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# bench/common.py, imported while this folder is still first on sys.path (as a script).
import common  # noqa: E402

# bench/telegram.py would shadow python-telegram-bot's `telegram` package: use the root.
common.drop_from_sys_path(BENCH)
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from storage import UnitOfWork, make_engine, make_session_factory, repository  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import OutboxRow, Run, ScheduledSend  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

PARLEY = Path(sys.executable).with_name("parley")
CHECK_IN = ROOT / "examples" / "check-in.yaml"
ZONE = ZoneInfo("America/Toronto")
FIRST_USER_ID = 900_001
TELEGRAM_PER_SECOND = 30.0
PARLEY_PER_SECOND = 29.0
"""Parley's own pace for Telegram (`bot.channels.telegram.telegram_pacing`)."""
MESSAGES_PER_STAKEHOLDER = 2
"""The check-in's start: a welcome line and the consent question."""
FOLLOWUP = ScheduledSend.kind == "followup"
"""The fan-out's sends; a restart's sweep adds nudge rows for the new runs (due in days)."""


# --- setting up ----------------------------------------------------------------------------


def seed(database_url: str, count: int) -> None:
    """`count` stakeholders with a Telegram identity each, in one transaction."""
    engine = make_engine(database_url)
    try:
        ensure_schema(engine)
        now = datetime.now(UTC)
        with UnitOfWork(make_session_factory(engine)) as uow:
            for n in range(count):
                uid = FIRST_USER_ID + n
                person = repository.create_stakeholder(
                    uow.session,
                    name=f"Stakeholder {uid}",
                    language="en",
                    time_zone=ZONE.key,
                    organisation=f"Organisation {n % 150}",
                    now=now,
                )
                repository.link_identity(uow.session, person.id, "telegram", str(uid), now=now)
            uow.commit()
    finally:
        engine.dispose()


def due_minute(lead: float) -> datetime:
    """The first whole minute at least `lead` seconds from now (UTC)."""
    earliest = datetime.now(UTC) + timedelta(seconds=lead)
    return earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)


def schedule(env: dict[str, str], workdir: Path, due: datetime) -> str:
    """`parley followup add` for everyone at `due`; its summary."""
    at = f"{due.astimezone(ZONE):%Y-%m-%d %H:%M}"
    command = [str(PARLEY), "followup", "add", "--questionnaire", str(CHECK_IN)]
    command += ["--to", "all", "--at", at, "--zone", ZONE.key]
    done = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"parley followup add failed: {done.stdout}{done.stderr}")
    return " / ".join(done.stdout.strip().splitlines())


def parley_env(database_url: str, fake: FakeTelegram) -> dict[str, str]:
    env = common.clean_env()
    env.update(
        PARLEY_DATABASE_URL=database_url,
        PARLEY_TELEGRAM_TOKEN=fake.token,
        PARLEY_TELEGRAM_API_URL=fake.api_root,
        PARLEY_QUIET_HOURS="00:00-00:00",
        PARLEY_QUIET_WEEKENDS="false",
        PARLEY_LOG_LEVEL="WARNING",
    )
    return env


def widen_backlog(fake: FakeTelegram, backlog: int = 1024) -> None:
    """As in `bench/telegram.py`: a listen backlog of 5 would measure SYN drops, not Parley."""
    server = getattr(fake, "_server", None)
    if server is not None:
        server.socket.listen(backlog)


def start_parley(env: dict[str, str], workdir: Path, number: int) -> common.BotProcessBase:
    log_path = workdir / f"parley-{number}.log"
    proc = common.spawn([str(PARLEY), "run"], env, workdir, log_path)
    return common.BotProcessBase(f"parley #{number}", proc, log_path)


def wait_polling(fake: FakeTelegram, bot: common.BotProcessBase, timeout: float = 120.0) -> float:
    """Until the bot long-polls (its scheduler has reconciled by then); the wall time."""
    deadline = time.monotonic() + timeout
    seen = len(fake.requests_for("getUpdates"))
    while time.monotonic() < deadline:
        if bot.proc.poll() is not None:
            raise RuntimeError(f"{bot.name} exited ({bot.proc.returncode}):\n{bot.log_tail()}")
        if len(fake.requests_for("getUpdates")) > seen:
            return time.time()
        time.sleep(0.2)
    raise RuntimeError(f"{bot.name} did not poll within {timeout:.0f}s:\n{bot.log_tail()}")


def sent_messages(fake: FakeTelegram) -> int:
    return sum(1 for record in fake.sent if record.method == "sendMessage")


def unsent(database_url: str) -> int:
    """Follow-up sends not processed plus outbox rows not sent: 0 once Parley is done."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            sends = select(func.count()).where(FOLLOWUP, ScheduledSend.status == "pending")
            rows = select(func.count()).where(OutboxRow.status != "sent")
            return int(c.execute(sends).scalar_one()) + int(c.execute(rows).scalar_one())
    finally:
        engine.dispose()


def wait_delivered(
    fake: FakeTelegram,
    bot: common.BotProcessBase,
    done: Callable[[int], bool],
    due: datetime,
    stall: float,
    limit: float,
) -> int:
    """Until `done(messages delivered)`, nothing came for `stall` s (counted from the due
    minute at the earliest), or `limit` s."""
    started = time.monotonic()
    last_change = started + max(0.0, due.timestamp() - time.time())
    count = sent_messages(fake)
    while not done(count):
        if bot.proc.poll() is not None:
            raise RuntimeError(f"{bot.name} exited ({bot.proc.returncode}):\n{bot.log_tail()}")
        now = time.monotonic()
        if now - last_change > stall or now - started > limit:
            break
        time.sleep(0.25)
        fresh = sent_messages(fake)
        if fresh != count:
            count, last_change = fresh, time.monotonic()
    return count


# --- checking and measuring ----------------------------------------------------------------


@dataclass
class Stored:
    sends: Counter[str]
    runs: int
    outbox: Counter[str]
    done_first: datetime | None
    done_last: datetime | None


def stored(database_url: str) -> Stored:
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            sends = Counter(c.execute(select(ScheduledSend.status).where(FOLLOWUP)).scalars())
            runs = c.execute(
                select(func.count()).select_from(Run).where(Run.wave != "main")
            ).scalar_one()
            outbox = Counter(c.execute(select(OutboxRow.status)).scalars())
            first, last = c.execute(
                select(func.min(ScheduledSend.done_at), func.max(ScheduledSend.done_at)).where(
                    FOLLOWUP
                )
            ).one()
    finally:
        engine.dispose()
    return Stored(sends, runs, outbox, _aware(first), _aware(last))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def delivery_problems(fake: FakeTelegram, uids: list[int]) -> tuple[int, int, int, list[str]]:
    """(lost, duplicated, out of order, examples) against the two expected texts per chat."""
    from conversations.loading import load_questionnaire

    q = load_questionnaire(CHECK_IN)
    consent = q.consent.get("en").split(".")[0]
    lost = duplicated = disordered = 0
    examples: list[str] = []
    for uid in uids:
        texts = [m.text or "" for m in fake.messages(uid)]
        welcome = [i for i, t in enumerate(texts) if t.startswith("Welcome to")]
        asks = [i for i, t in enumerate(texts) if t.startswith(consent)]
        missing = (not welcome) + (not asks)
        extra = max(0, len(welcome) - 1) + max(0, len(asks) - 1)
        other = len(texts) - len(welcome) - len(asks)
        lost += missing
        duplicated += extra + other
        if welcome and asks and welcome[0] > asks[0]:
            disordered += 1
        if (missing or extra or other) and len(examples) < 3:
            examples.append(f"chat {uid}: {len(texts)} messages {[t[:30] for t in texts]}")
    return lost, duplicated, disordered, examples


def rates(times: list[float]) -> tuple[float, float, float]:
    """(sustained, steady, slowest 5-second window) in messages/s."""
    if len(times) < 10:
        return math.nan, math.nan, math.nan
    times = sorted(times)
    sustained = (len(times) - 1) / (times[-1] - times[0])
    low, high = int(len(times) * 0.1), int(len(times) * 0.9)
    steady = (high - low) / (times[high] - times[low])
    start, end = times[low], times[high]
    windows = []
    t = start
    while t + 5 <= end:
        windows.append(sum(1 for x in times if t <= x < t + 5) / 5)
        t += 5
    return sustained, steady, min(windows, default=math.nan)


@dataclass
class Result:
    mode: str
    stakeholders: int
    expected: int
    delivered: int
    lost: int
    duplicated: int
    out_of_order: int
    http_429: int
    violations: dict[str, int]
    sustained_per_s: float
    steady_per_s: float
    slowest_5s_per_s: float
    due_to_first_s: float
    due_to_last_s: float
    scheduler_window_s: float
    ready_before_due_s: float
    delivered_before_kill: int | None
    restart_gap_s: float | None
    database: str
    schedule: str
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.http_429 or self.violations) and (
            self.database.startswith("ok")
        )


def database_verdict(found: Stored, count: int) -> str:
    problems = []
    if found.sends != Counter(done=count):
        problems.append(f"scheduled sends {dict(found.sends)}")
    if found.runs != count:
        problems.append(f"{found.runs} follow-up runs")
    if found.outbox != Counter(sent=count * MESSAGES_PER_STAKEHOLDER):
        problems.append(f"outbox {dict(found.outbox)}")
    return common.verdict(problems, f"{count} sends done, {count} runs, outbox all sent")


# --- one trial -----------------------------------------------------------------------------


def trial(args: argparse.Namespace, mode: str) -> Result:
    count = args.stakeholders
    expected = count * MESSAGES_PER_STAKEHOLDER
    uids = [FIRST_USER_ID + n for n in range(count)]
    with (
        common.workspace(args.keep, "parley-fanout-") as workdir,
        FakeTelegram(enforce_rate_limits=True, clock=time.time) as fake,
    ):
        widen_backlog(fake)
        for uid in uids:
            fake.user(uid, first_name=f"Stakeholder {uid}")
        database_url = f"sqlite:///{workdir / 'fanout.db'}"
        env = parley_env(database_url, fake)
        seed(database_url, count)
        due = due_minute(args.lead)
        summary = schedule(env, workdir, due)
        print(f"  {summary}", flush=True)
        bot = start_parley(env, workdir, 1)
        killed_count: int | None = None
        killed_at = gap = math.nan
        try:
            ready = wait_polling(fake, bot)
            print(f"  ready {due.timestamp() - ready:.0f} s before the due minute", flush=True)
            if mode == "killed":
                half = expected // 2
                wait_delivered(fake, bot, lambda n: n >= half, due, args.stall, args.limit)
                bot.proc.kill()
                bot.proc.wait(timeout=10)
                killed_at = time.time()
                killed_count = sent_messages(fake)
                print(f"  SIGKILL after {killed_count} messages; restarting", flush=True)
                bot = start_parley(env, workdir, 2)
                wait_polling(fake, bot)
            wait_delivered(
                fake,
                bot,
                lambda n: n >= expected and unsent(database_url) == 0,
                due,
                args.stall,
                args.limit,
            )
            time.sleep(2.0)  # a late duplicate would be on its way by now
        finally:
            bot.stop()
        records = [r for r in fake.sent if r.method == "sendMessage"]
        times = [r.t for r in records]
        if mode == "killed":
            after = [t for t in times if t > killed_at]
            gap = (min(after) - killed_at) if after else math.nan
        sustained, steady, slowest = rates(times)
        lost, duplicated, disordered, examples = delivery_problems(fake, uids)
        found = stored(database_url)
        scheduler_window = (
            (found.done_last - found.done_first).total_seconds()
            if found.done_first and found.done_last
            else math.nan
        )
        return Result(
            mode=mode,
            stakeholders=count,
            expected=expected,
            delivered=len(records),
            lost=lost,
            duplicated=duplicated,
            out_of_order=disordered,
            http_429=sum(1 for r in fake.requests if r.status == 429),
            violations=dict(Counter(v.scope for v in fake.violations)),
            sustained_per_s=sustained,
            steady_per_s=steady,
            slowest_5s_per_s=slowest,
            due_to_first_s=min(times, default=math.nan) - due.timestamp(),
            due_to_last_s=max(times, default=math.nan) - due.timestamp(),
            scheduler_window_s=scheduler_window,
            ready_before_due_s=due.timestamp() - ready,
            delivered_before_kill=killed_count,
            restart_gap_s=None if mode != "killed" else gap,
            database=database_verdict(found, count),
            schedule=summary,
            examples=examples,
        )


# --- reporting -----------------------------------------------------------------------------


def share(rate: float) -> str:
    return f"{rate:.1f} ({100 * rate / TELEGRAM_PER_SECOND:.1f}%)"


def table(results: list[Result]) -> str:
    lines = [
        "| mode | delivered / expected | sustained sends/s (of 30) | steady sends/s (of 30) "
        "| slowest 5 s | 429s | violations | lost | duplicated | out of order | database |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.delivered:,} / {r.expected:,} | {share(r.sustained_per_s)} "
            f"| {share(r.steady_per_s)} | {r.slowest_5s_per_s:.1f} | {r.http_429} "
            f"| {sum(r.violations.values())} | {r.lost} | {r.duplicated} | {r.out_of_order} "
            f"| {'ok' if r.database.startswith('ok') else 'FAILED'} |"
        )
    return "\n".join(lines)


def timings(results: list[Result]) -> str:
    lines = [
        "| mode | ready before due, s | due → first delivery, s | due → last delivery, s "
        "| scheduler window, s | delivered before kill | kill → next delivery, s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        before = "" if r.delivered_before_kill is None else f"{r.delivered_before_kill:,}"
        gap = "" if r.restart_gap_s is None else f"{r.restart_gap_s:.1f}"
        lines.append(
            f"| {r.mode} | {r.ready_before_due_s:.0f} | {r.due_to_first_s:.1f} "
            f"| {r.due_to_last_s:.1f} | {r.scheduler_window_s:.1f} | {before} | {gap} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stakeholders", type=int, default=3000)
    parser.add_argument("--modes", choices=["both", "straight", "killed"], default="both")
    parser.add_argument(
        "--lead", type=float, default=25.0, help="seconds at least between setup and due"
    )
    parser.add_argument("--stall", type=float, default=60.0, help="give up after s of silence")
    parser.add_argument("--limit", type=float, default=330.0, help="seconds at most per wait")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()

    import telegram

    print(
        common.environment(f"python-telegram-bot {telegram.__version__}", common.load_average()),
        flush=True,
    )
    modes = ["straight", "killed"] if args.modes == "both" else [args.modes]
    started = time.monotonic()
    results = []
    for mode in modes:
        print(f"{mode}: {args.stakeholders} stakeholders", flush=True)
        result = trial(args, mode)
        results.append(result)
        print(
            f"  {result.delivered}/{result.expected} delivered, sustained "
            f"{share(result.sustained_per_s)}, steady {share(result.steady_per_s)}, "
            f"429s {result.http_429}, lost {result.lost}, duplicated {result.duplicated}; "
            f"database: {result.database}",
            flush=True,
        )
        for example in result.examples:
            print(f"  ! {example}", flush=True)
    print()
    print(table(results))
    print()
    print(timings(results))
    print(
        f"\nParley paces Telegram at {PARLEY_PER_SECOND:.0f}/s: at most "
        f"{100 * PARLEY_PER_SECOND / TELEGRAM_PER_SECOND:.1f}% of 30/s."
    )
    print(f"total {time.monotonic() - started:.0f} s; load average {common.load_average()}")
    if args.json:
        common.write_json(args.json, results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
