"""Throughput and latency of the handling transaction, on SQLite and PostgreSQL.

    .venv/bin/python bench/engine.py [--stakeholders N] [--backend sqlite|postgres|both]

N stakeholders (default 500) each answer the whole example questionnaire
(examples/settlement-data-needs.yaml), interleaved round-robin, through the real wiring:
`bot.handling.Handler` over `storage.make_engine` + `ensure_schema`, with the default
durability settings (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL:
whatever the server runs, printed; normally synchronous_commit=on, fsync=on).

Modes, each on a fresh database:

- `handle`: `Handler.handle(event)` for every event, one transaction and one commit per
  event. Latency is the duration of the call (it returns after the commit).
- `processor`: the production path, `bot.processing.EventProcessor`, with all N
  stakeholders as concurrent coroutines, each awaiting its reply before sending the next
  (no think time: a closed loop at saturation). Events queued while a transaction runs
  share the next commit. Latency is submit → commit returned, queueing included, so by
  Little's law it is about N / throughput.
- `paced`: the same processor and coroutines, but the events arrive at a fixed rate
  (each stakeholder still waits for its reply before the next one). This is what a
  person would see at that load: latency with the queue not saturated.
- `naive`: the baseline. A plain SQLAlchemy ORM transaction per event doing the same
  four writes with ORM objects (add an inbound-event row, load and modify the run row,
  add an answer row, add an outbox row, commit), on an engine with the same durability
  settings. It does no engine work, keeps no answer history, and writes one outbox row
  where Parley writes a step's two or three.

At the end of each Parley mode the database is checked: every run completed, the
expected number of answers and history rows, every event recorded once, no duplicate
answer. The table gives events/s, p50 and p99 per event, and the ratio to the naive
baseline measured in the same run, on the same backend.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundEvent
from bot.handling import Handler
from bot.processing import EventProcessor
from bot.questionnaires import QuestionnaireBook
from conversations import engine as conversation
from conversations.inputs import Reply
from conversations.messages import Ask, message_to_dict
from conversations.questionnaire import Item, ItemType, NumberKind, Questionnaire
from conversations.run import RunStatus
from storage import ensure_schema, make_engine, make_session_factory
from storage.models import (
    Answer,
    AnswerChange,
    OutboxRow,
    ReceivedEvent,
    Run,
    Stakeholder,
)

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = ROOT / "examples" / "settlement-data-needs.yaml"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLATFORM = "bench"

TARGETS = {
    "sqlite": {"rate": 2000.0, "ratio": 3.0, "p99_ms": 5.0},
    "postgres": {"rate": 800.0},
}


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the script: what every stakeholder says ------------------------------------------


def reply_for(item: Item) -> str:
    """A valid reply to `item`, derived from its definition."""
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE):
        plain = [c for c in item.choices if not c.other and not c.exclusive]
        return (plain or list(item.choices))[0].id
    if item.type is ItemType.SCALE:
        return str(item.scale_max)
    if item.type is ItemType.YES_NO:
        return "yes"
    if item.type is ItemType.NUMBER:
        low = 1.0 if item.minimum is None else max(item.minimum, 1.0)
        high = low if item.maximum is None else item.maximum
        value = min(low, high)
        return str(int(value)) if item.number_kind is NumberKind.INTEGER else f"{value:.1f}"
    if item.type is ItemType.DATE:
        return date(2026, 3, 15).isoformat()
    return f"Some thoughts about {item.id.replace('_', ' ')}."


@dataclass(frozen=True)
class Turn:
    text: str
    item_id: str | None  # the item this reply answers, if any
    state: dict[str, Any]  # the run state after the turn (what the naive baseline writes)
    outbox: dict[str, Any]  # the first message of the reply (the naive baseline's outbox row)


@dataclass(frozen=True)
class Script:
    turns: tuple[Turn, ...]
    answers: int  # current answers at the end of a run
    history: int  # answer history rows at the end of a run
    final_answers: dict[str, Any]


def make_script(q: Questionnaire) -> Script:
    """Walk the pure engine once to find what to say at each turn; check every reply lands."""
    now = utc_now()
    started = conversation.start(q, "en", now)
    run = started.run
    turns = [Turn("hello", None, run.to_dict(), message_to_dict(started.messages[0]))]
    turns.append(_turn(q, run, "I agree", None, now))
    run = conversation.step(q, run, Reply("I agree"), now).run
    history = 0
    while run.status is RunStatus.IN_PROGRESS:
        item = q.item(run.cursor or "")
        reply = reply_for(item)
        result = conversation.step(q, run, Reply(reply), now)
        if not result.recorded:
            raise SystemExit(f"bench script: {reply!r} was not accepted for {item.id}")
        history += len(result.recorded)
        turns.append(_turn(q, run, reply, item.id, now))
        run = result.run
    if run.status is not RunStatus.COMPLETED:
        raise SystemExit(f"bench script ended with the run {run.status}")
    final = {item_id: answer.value for item_id, answer in run.answers.items()}
    return Script(tuple(turns), len(run.answers), history, final)


def _turn(q: Questionnaire, run: Any, reply: str, item_id: str | None, now: datetime) -> Turn:
    result = conversation.step(q, run, Reply(reply), now)
    first = next((m for m in result.messages if isinstance(m, Ask)), result.messages[0])
    return Turn(reply, item_id, result.run.to_dict(), message_to_dict(first))


def events_for(stakeholder: int, script: Script, run_tag: str) -> list[InboundEvent]:
    return [
        InboundEvent(
            platform=PLATFORM,
            event_id=f"{run_tag}-{stakeholder}-{number}",
            sender=f"user-{stakeholder}",
            address=f"chat-{stakeholder}",
            input=Reply(turn.text),
            display_name=f"Stakeholder {stakeholder}",
            language="en",
        )
        for number, turn in enumerate(script.turns)
    ]


def round_robin(per_stakeholder: Sequence[Sequence[InboundEvent]]) -> list[InboundEvent]:
    longest = max(len(events) for events in per_stakeholder)
    return [
        events[turn] for turn in range(longest) for events in per_stakeholder if turn < len(events)
    ]


# --- databases ------------------------------------------------------------------------


@dataclass
class Database:
    backend: str
    url: str
    cleanup: Callable[[], None] = field(default=lambda: None)


@contextmanager
def fresh_database(backend: str, postgres_url: str) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="parley-bench-") as directory:
            yield Database(backend, f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        return
    admin = create_engine(postgres_url, connect_args={"connect_timeout": 3}, pool_size=1)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield Database(backend, url.render_as_string(hide_password=False))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def durability(engine: Engine) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
            names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            version = connection.exec_driver_sql("select sqlite_version()").scalar()
            return (
                f"SQLite {version}: journal_mode={journal}, "
                f"synchronous={names.get(int(synchronous or 0), synchronous)}, BEGIN IMMEDIATE"
            )
        settings = {
            name: connection.exec_driver_sql(f"SHOW {name}").scalar()
            for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
        }
        return (
            f"PostgreSQL {settings['server_version']}: "
            f"synchronous_commit={settings['synchronous_commit']}, fsync={settings['fsync']}, "
            f"wal_sync_method={settings['wal_sync_method']}"
        )


# --- measurements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    backend: str
    mode: str
    events: int
    seconds: float
    latencies_ns: list[int]
    batches: int = 0
    cpu_seconds: float = 0.0
    """CPU time of the whole process (every thread) while the mode ran."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies_ns)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] / 1e6


@dataclass
class Wiring:
    engine: Engine
    session_factory: sessionmaker[Session]
    handler: Handler


@contextmanager
def wiring(url: str, book: QuestionnaireBook) -> Iterator[Wiring]:
    """What `bot.app.build` wires for handling: engine, schema, stored definition, handler."""
    engine = make_engine(url)
    ensure_schema(engine)
    session_factory = make_session_factory(engine)
    with session_factory.begin() as session:
        book.store_current(session)
    handler = Handler(session_factory, book, utc_now, open_enrollment=True)
    try:
        yield Wiring(engine, session_factory, handler)
    finally:
        engine.dispose()


def bench_handle(backend: str, wired: Wiring, events: Sequence[InboundEvent]) -> Result:
    handle = wired.handler.handle
    latencies = []
    clock = time.perf_counter_ns
    with measuring() as measured:
        started = clock()
        for event in events:
            before = clock()
            handle(event)
            latencies.append(clock() - before)
        elapsed = (clock() - started) / 1e9
    return Result(
        backend, "handle", len(events), elapsed, latencies, len(events), measured.cpu_seconds
    )


class CountingHandler:
    """Counts the batches the processor forms (a thin wrapper, same calls)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.batches = 0

    def handle_batch(self, events: Sequence[InboundEvent]) -> Any:
        self.batches += 1
        return self.handler.handle_batch(events)


def bench_processor(
    backend: str,
    wired: Wiring,
    per_stakeholder: Sequence[Sequence[InboundEvent]],
    *,
    rate: float | None = None,
) -> Result:
    counting = CountingHandler(wired.handler)
    processor = EventProcessor(counting, on_committed=lambda _results: None)  # type: ignore[arg-type]
    latencies: list[int] = []
    clock = time.perf_counter_ns
    total = sum(len(events) for events in per_stakeholder)
    count = len(per_stakeholder)

    async def stakeholder(index: int, events: Sequence[InboundEvent], start: int) -> None:
        for number, event in enumerate(events):
            if rate is not None:
                # Round-robin arrivals at `rate` events/s overall: this stakeholder's
                # next message is due at its slot, or as soon as its reply came.
                due = start + int((number * count + index) / rate * 1e9)
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait / 1e9)
            before = clock()
            await processor.submit(event)
            latencies.append(clock() - before)

    async def main() -> float:
        worker = asyncio.create_task(processor.run())
        await asyncio.sleep(0)
        started = clock()
        await asyncio.gather(
            *(stakeholder(i, events, started) for i, events in enumerate(per_stakeholder))
        )
        elapsed = (clock() - started) / 1e9
        worker.cancel()
        with suppress(asyncio.CancelledError):
            await worker
        return elapsed

    with measuring() as measured:
        elapsed = asyncio.run(main())
    processor.close()
    mode = "processor" if rate is None else f"paced {rate:,.0f}/s"
    return Result(backend, mode, total, elapsed, latencies, counting.batches, measured.cpu_seconds)


def bench_naive(backend: str, url: str, script: Script, stakeholders: int, run_tag: str) -> Result:
    """The baseline: one plain ORM transaction per event, the same four writes."""
    engine = make_engine(url)  # same durability settings (pragmas, BEGIN IMMEDIATE)
    ensure_schema(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    now = utc_now()
    with factory.begin() as session:
        people = [
            Stakeholder(name=f"Stakeholder {n}", language="en", time_zone="UTC", created_at=now)
            for n in range(stakeholders)
        ]
        session.add_all(people)
        session.flush()
        for person in people:
            session.add(
                Run(
                    stakeholder_id=person.id,
                    questionnaire_key="settlement-data-needs",
                    questionnaire_version="1",
                    status="consenting",
                    state=script.turns[0].state,
                    created_at=now,
                    updated_at=now,
                )
            )
        ids = [person.id for person in people]
    work = [
        (number, position, stakeholder_id)
        for number in range(len(script.turns))
        for position, stakeholder_id in enumerate(ids)
    ]
    latencies = []
    clock = time.perf_counter_ns
    with measuring() as measured:
        started = clock()
        for number, position, stakeholder_id in work:
            before = clock()
            turn = script.turns[number]
            moment = utc_now()
            with factory() as session:
                session.add(
                    ReceivedEvent(
                        platform=PLATFORM,
                        event_id=f"{run_tag}-{position}-{number}",
                        received_at=moment,
                    )
                )
                run = session.scalars(select(Run).where(Run.stakeholder_id == stakeholder_id)).one()
                run.state = turn.state
                run.status = turn.state["status"]
                run.updated_at = moment
                session.add(
                    Answer(
                        run_id=run.id,
                        item_id=turn.item_id or f"turn-{number}",
                        raw=turn.text,
                        value=turn.text,
                        display=turn.text,
                        state="answered",
                        language="en",
                        questionnaire_version="1",
                        answered_at=moment,
                        updated_at=moment,
                    )
                )
                session.add(
                    OutboxRow(
                        channel=PLATFORM,
                        address=f"chat-{position}",
                        payload=turn.outbox,
                        status="pending",
                        attempts=0,
                        not_before=moment,
                        created_at=moment,
                        run_id=run.id,
                    )
                )
                session.commit()
            latencies.append(clock() - before)
        elapsed = (clock() - started) / 1e9
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Answer)).scalar_one()
    engine.dispose()
    if stored != len(work):
        raise SystemExit(f"naive baseline stored {stored} answers, expected {len(work)}")
    return Result(
        backend, "naive ORM", len(work), elapsed, latencies, len(work), measured.cpu_seconds
    )


class Measured:
    cpu_seconds = 0.0


@contextmanager
def measuring() -> Iterator[Measured]:
    """Collect and freeze first: the benchmark's own objects (tens of thousands of prepared
    events) would otherwise be scanned by every full collection, a cost production does
    not have. Records the process's CPU time over the block."""
    gc.collect()
    gc.freeze()
    measured = Measured()
    cpu = time.process_time()
    try:
        yield measured
    finally:
        measured.cpu_seconds = time.process_time() - cpu
        gc.unfreeze()


# --- correctness ----------------------------------------------------------------------


def check(wired: Wiring, script: Script, stakeholders: int, mode: str) -> None:
    problems = []
    with wired.session_factory() as session:

        def count(statement: Any) -> int:
            return int(session.execute(statement).scalar_one())

        runs = count(select(func.count()).select_from(Run))
        completed = count(
            select(func.count()).select_from(Run).where(Run.status == RunStatus.COMPLETED.value)
        )
        answers = count(select(func.count()).select_from(Answer))
        history = count(select(func.count()).select_from(AnswerChange))
        inbound = count(select(func.count()).select_from(ReceivedEvent))
        distinct_inbound = count(
            select(func.count()).select_from(
                select(ReceivedEvent.platform, ReceivedEvent.event_id).distinct().subquery()
            )
        )
        duplicate_answers = count(
            select(func.count()).select_from(
                select(Answer.run_id, Answer.item_id)
                .group_by(Answer.run_id, Answer.item_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        outbox = count(select(func.count()).select_from(OutboxRow))
        sample = session.scalars(select(Answer).where(Answer.run_id == 1)).all()
    expected_events = stakeholders * len(script.turns)
    for name, got, wanted in (
        ("runs", runs, stakeholders),
        ("completed runs", completed, stakeholders),
        ("answers", answers, stakeholders * script.answers),
        ("answer history rows", history, stakeholders * script.history),
        ("inbound events", inbound, expected_events),
        ("distinct inbound events", distinct_inbound, expected_events),
        ("duplicate answers", duplicate_answers, 0),
    ):
        if got != wanted:
            problems.append(f"{name}: {got}, expected {wanted}")
    if outbox < expected_events:
        problems.append(f"outbox rows: {outbox}, expected at least {expected_events}")
    if {a.item_id: a.value for a in sample} != script.final_answers:
        problems.append("run 1's answers differ from the script's")
    if problems:
        raise SystemExit(f"correctness check failed after {mode}: " + "; ".join(problems))


# --- the run --------------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace, book: QuestionnaireBook) -> list[Result]:
    """Every mode, `--repeat` times, the modes taking turns (so that a noisy minute on a
    shared machine does not land on one mode only); per mode, the median run."""
    script = make_script(book.current)
    n = args.stakeholders
    target = TARGETS[backend]["rate"]
    rates = args.paced_rate or [target / 2, target]
    runs: dict[str, list[Result]] = {}
    print(f"\n== {backend}: {n} stakeholders x {len(script.turns)} events", flush=True)
    for repeat in range(args.repeat):
        tag = f"{uuid.uuid4().hex[:8]}-{repeat}"

        def per_stakeholder(mode: str, tag: str = tag) -> list[list[InboundEvent]]:
            return [events_for(s, script, f"{tag}-{mode}") for s in range(n)]

        with fresh_database(backend, args.postgres_url) as db:
            result = bench_naive(backend, db.url, script, n, tag)
        runs.setdefault(result.mode, []).append(result)
        report_line(result)
        modes: list[tuple[str, Callable[[Wiring], Result]]] = [
            ("handle", lambda w: bench_handle(backend, w, round_robin(per_stakeholder("handle")))),
            ("processor", lambda w: bench_processor(backend, w, per_stakeholder("processor"))),
        ]
        modes.extend((f"paced {rate:g}", paced(backend, rate, per_stakeholder)) for rate in rates)
        for name, measure in modes:
            with fresh_database(backend, args.postgres_url) as db, wiring(db.url, book) as wired:
                if repeat == 0 and name == "handle":
                    print(f"   durability: {durability(wired.engine)}", flush=True)
                result = measure(wired)
                check(wired, script, n, name)
            runs.setdefault(result.mode, []).append(result)
            report_line(result)
    return [median_run(results) for results in runs.values()]


def paced(
    backend: str, rate: float, per_stakeholder: Callable[[str], list[list[InboundEvent]]]
) -> Callable[[Wiring], Result]:
    """The paced mode at `rate`, as a measurement to run on a fresh wiring."""

    def measure(wired: Wiring) -> Result:
        events = per_stakeholder(f"paced{rate:g}")
        return bench_processor(backend, wired, events, rate=rate)

    return measure


def median_run(results: Sequence[Result]) -> Result:
    """The median run: by rate, or by p99 latency for a paced mode (whose rate is set).
    With an even number of runs, the less flattering of the two middle ones."""
    if results[0].mode.startswith("paced"):
        return sorted(results, key=lambda r: r.percentile_ms(99))[len(results) // 2]
    return sorted(results, key=lambda r: r.rate)[(len(results) - 1) // 2]


def report_line(result: Result) -> None:
    print(
        f"   {result.mode:<14} {result.events:>7} events {result.seconds:7.2f} s "
        f"{result.rate:7,.0f} ev/s  p50 {result.percentile_ms(50):7.2f} ms  "
        f"p99 {result.percentile_ms(99):7.2f} ms  cpu {result.cpu_us_per_event:5.0f} us/ev  "
        f"{result.events / max(result.batches, 1):5.1f} ev/commit",
        flush=True,
    )


def table(results: Sequence[Result]) -> str:
    naive = {r.backend: r for r in results if r.mode == "naive ORM"}
    lines = [
        "| backend | mode | events | events/s | p50 ms | p99 ms | CPU µs/event | events/commit "
        "| × naive |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.rate / naive[r.backend].rate if r.backend in naive else float("nan")
        lines.append(
            f"| {r.backend} | {r.mode} | {r.events:,} | {r.rate:,.0f} | "
            f"{r.percentile_ms(50):.2f} | {r.percentile_ms(99):.2f} | "
            f"{r.cpu_us_per_event:.0f} | {r.events / max(r.batches, 1):.1f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stakeholders", type=int, default=500)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PARLEY_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every mode this many times, taking turns; report the median run",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        action="append",
        help="events/s offered in a paced mode; repeatable "
        "(default: half the backend's target, and the target)",
    )
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    book = QuestionnaireBook.from_file(QUESTIONNAIRE)
    shown = make_url(args.postgres_url).render_as_string(hide_password=True)
    print(
        f"Parley handling benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.machine()}; PostgreSQL at {shown}",
        flush=True,
    )
    results: list[Result] = []
    for backend in backends:
        results.extend(run_backend(backend, args, book))
    print()
    print(table(results))
    print()
    for backend in backends:
        verdicts(results, backend)
    return 0


def verdicts(results: Sequence[Result], backend: str) -> None:
    by_mode = {r.mode: r for r in results if r.backend == backend}
    naive = by_mode["naive ORM"]
    best = max((r for r in by_mode.values() if r.mode != "naive ORM"), key=lambda r: r.rate)
    target = TARGETS[backend]
    parts = [
        f"{backend}: best {best.rate:,.0f} ev/s ({best.mode}) vs target {target['rate']:,.0f}"
        f" -> {'met' if best.rate >= target['rate'] else 'NOT met'}"
    ]
    if "ratio" in target:
        ratio = best.rate / naive.rate
        parts.append(
            f"{ratio:.2f}x naive vs {target['ratio']:.0f}x -> "
            f"{'met' if ratio >= target['ratio'] else 'NOT met'}"
        )
    if "p99_ms" in target:
        for r in by_mode.values():
            if r.mode == "naive ORM":
                continue
            p99 = r.percentile_ms(99)
            parts.append(
                f"p99 {p99:.2f} ms ({r.mode}) -> {'met' if p99 < target['p99_ms'] else 'NOT met'}"
            )
    print("; ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
