"""Issue #8's fault-injection suite: 2 web processes, a dispatcher and a scheduler (each with
a standby) on a private PostgreSQL, 100 stakeholders answering on Telegram and Slack while
processes are killed (-9) and restarted, every inbound update is delivered twice (some out
of order), the platforms answer 429/5xx and cut connections, and PostgreSQL restarts once.

The seed is printed; `PARLEY_FAULTS_SEED=<n>` replays a run's choices (timings still
vary). `pytest -s tests/faults` shows the counts as the run ends.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.faults import checks
from tests.faults.chaos import Chaos, ChaosLog, RoleWatch
from tests.faults.cluster import find_server_bin
from tests.faults.harness import Deployment, deployment
from tests.faults.stakeholders import (
    Chat,
    Outcome,
    SlackChat,
    TelegramChat,
    attend,
    script_for,
    walk,
)

RESPONDENTS = 100
INVITEES = 10
TURN_TIMEOUT = 120.0
"""A reply may wait for takeovers (~10 s each, and 8 s more for a dead holder's claimed
rows), a PostgreSQL restart, and the dispatcher's back-off after several platform
errors in a row (1, 2, 4, ... 32 s)."""
REMINDER_LEAD = timedelta(minutes=62)
"""The group starts this long after it is created: its T-1h reminder is due mid-run, two
minutes on, when the invitees have long said Yes (the invitations themselves go out
through the faults: kills, takeovers, the PostgreSQL restart)."""

pytestmark = pytest.mark.skipif(
    find_server_bin() is None and not os.environ.get("CI"),
    reason="no PostgreSQL server binaries (initdb); CI has them",
)


def _seed() -> int:
    given = os.environ.get("PARLEY_FAULTS_SEED")
    return int(given) if given else random.SystemRandom().randrange(10**6)


def _enrol_invitees(d: Deployment, invitees: list[SlackChat]) -> None:
    """Invitees from a roster (Slack ids, region zz), before anything runs."""
    roster = d.workdir / "invitees.csv"
    lines = ["name,organisation,organisation_type,region,language,time_zone,email,slack_id"]
    lines += [
        f"Invitee {n},Org {n},non_profit,zz,en,America/Toronto,i{n}@example.org,{c.user_id}"
        for n, c in enumerate(invitees)
    ]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    d.parley("roster", "import", str(roster))


def _invite_group(d: Deployment) -> float:
    """A group starting in 62 minutes: its T-1h reminder is due two minutes from now.
    Created while the fleet runs, as a researcher would: the elected scheduler hears of
    the new sends (a `parley_schedules` notice) or finds them when it next takes over.
    Returns when (time.monotonic) the reminder is due."""
    created = time.monotonic()
    where = "https://meet.example.org/faults"
    options = ["--duration", "60", "--where", where, "--to", "region:zz", "--zone", "UTC"]
    start = f"in {REMINDER_LEAD.total_seconds() / 60:.0f} minutes"
    d.parley("group", "create", "--title", "Fault round", "--start", start, *options)
    return created + REMINDER_LEAD.total_seconds() - 3600


async def _play(
    rng: random.Random,
    respondents: list[Chat],
    invitees: list[SlackChat],
    reminder_due: float,
    chaos: Chaos,
) -> tuple[list[Outcome], list[Outcome]]:
    stop = asyncio.Event()
    faults = asyncio.create_task(chaos.run(stop))

    async def respondent(n: int, chat: Chat) -> Outcome:
        await asyncio.sleep(rng.uniform(0.0, 15.0))
        greeting = "/start" if chat.platform == "telegram" else "hi"
        script = script_for(rng, greeting, n)
        return await walk(chat, script, think=lambda: rng.uniform(0.3, 2.0), timeout=TURN_TIMEOUT)

    walks = [respondent(n, c) for n, c in enumerate(respondents)]
    reminder_by = reminder_due + TURN_TIMEOUT
    visits = [attend(c, timeout=TURN_TIMEOUT, reminder_by=reminder_by) for c in invitees]
    try:
        outcomes = await asyncio.gather(*walks)
        visited = await asyncio.gather(*visits)
    finally:
        stop.set()
        await faults
    return list(outcomes), list(visited)


def _settle(d: Deployment, timeout: float = 60.0) -> None:
    """Every process up, every inbound delivered, the outbox drained (bounded waits) but
    for transcript edits, which Slack's pacing may still hold back."""
    for process in d.fleet:
        process.start()
    for process in d.fleet:
        process.wait_healthy(60)
    assert d.router.wait_idle(timeout), f"{d.router.pending} deliveries still pending"
    engine = sa.create_engine(d.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                pending = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM outbox WHERE status = 'pending'"
                        " AND payload->>'kind' <> ALL(:edits)"
                    ),
                    {"edits": sorted(checks.EDITS)},
                ).scalar_one()
            if pending == 0:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()


def _cutoffs(d: Deployment, chats: dict[str, Chat]) -> dict[str, list[float]]:
    """Per fake chat, when (time.monotonic) sends were cut off after the platform took them."""
    times: dict[str, list[float]] = {}
    for dropped in d.telegram.dropped:
        if dropped.after_processing and dropped.method in checks.TELEGRAM_NEW:
            times.setdefault(str(dropped.chat_id), []).append(dropped.t)
    for cut in d.slack.dropped:
        if cut.after_processing and cut.method in checks.SLACK_NEW and cut.channel:
            chat = chats.get(cut.channel)
            times.setdefault(chat.address if chat is not None else cut.channel, []).append(cut.t)
    return times


def _dispatcher_kills(log: ChaosLog) -> dict[str, list[float]]:
    kills: dict[str, list[float]] = {"telegram": [], "slack": []}
    for kill in log.kills:
        for role in kill.held:
            if role.startswith("dispatcher:"):
                kills[role.split(":", 1)[1]].append(kill.t)
    return kills


def _report(seed: int, log: ChaosLog, d: Deployment, verdict: checks.Verdict) -> str:
    lines = [f"fault suite seed {seed} (replay: PARLEY_FAULTS_SEED={seed})"]
    lines += [f"  {name}: {count}" for name, count in sorted(verdict.counts.items())]
    lines.append(f"  kills: {len(log.kills)}; PostgreSQL restarts: {len(log.db_restarts)}")
    lines.append(f"  platform bursts: {dict(sorted(log.bursts.items()))}")
    lines.append(f"  router: {d.router.stats}")
    lines += [f"  {event}" for event in log.events]
    lines += [f"  allowed: {note}" for note in verdict.notes[:30]]
    lines += [f"  PROBLEM {problem}" for problem in verdict.problems[:40]]
    return "\n".join(lines)


@dataclass(frozen=True)
class Cast:
    """Who takes part: respondents on each platform and the group's invitees (Slack)."""

    telegram: list[TelegramChat]
    slack: list[SlackChat]
    invitees: list[SlackChat]

    def by_address(self) -> dict[str, Chat]:
        """Outbox addresses and fake chat ids → chat."""
        chats: dict[str, Chat] = {str(c.user_id): c for c in self.telegram}
        chats.update({c.user_id: c for c in [*self.slack, *self.invitees]})
        chats.update({c.address: c for c in [*self.slack, *self.invitees]})
        return chats


def _run(
    d: Deployment, rng: random.Random, log: ChaosLog, cast: Cast
) -> tuple[list[Outcome], list[Outcome]]:
    """Start the fleet, play the stakeholders against the faults, let everything settle."""
    _enrol_invitees(d, cast.invitees)
    began = time.monotonic()
    d.fleet.start()
    log.note(f"fleet up in {time.monotonic() - began:.1f}s")
    reminder_due = _invite_group(d)
    watch = RoleWatch(d.database_url).start()
    try:
        respondents: list[Chat] = [*cast.telegram, *cast.slack]
        rng.shuffle(respondents)
        chaos = Chaos(d, rng, watch, log)
        played = _play(rng, respondents, cast.invitees, reminder_due, chaos)
        outcomes, visited = asyncio.run(played)
        log.note("stakeholders done; settling")
        _settle(d)
        log.note(f"settled; role holders {watch.current}")
    finally:
        watch.stop()
    return outcomes, visited


def _verdict(
    d: Deployment, log: ChaosLog, cast: Cast, outcomes: list[Outcome], visited: list[Outcome]
) -> checks.Verdict:
    chats = cast.by_address()
    offset = time.time() - time.monotonic()
    dms = [c.address for c in [*cast.slack, *cast.invitees]]
    sent = checks.telegram_sent(d.telegram) + checks.slack_sent(d.slack, dms, offset)
    engine = sa.create_engine(d.database_url)
    try:
        verdict = checks.answers(engine, outcomes)
        verdict.add(
            checks.deliveries(engine, sent, chats, _cutoffs(d, chats), _dispatcher_kills(log))
        )
        verdict.add(checks.reminders(engine, visited))
    finally:
        engine.dispose()
    verdict.add(checks.takeovers(log)).add(checks.exits(log))
    for outcome in [*outcomes, *visited]:
        if outcome.problem:
            verdict.problems.append(f"{outcome.chat.address}: {outcome.problem}")
    verdict.counts["stakeholders finished"] = sum(o.finished for o in outcomes)
    verdict.counts["invitees reminded"] = sum(o.finished for o in visited)
    return verdict


def test_nothing_lost_or_doubled_under_faults() -> None:
    seed = _seed()
    print(f"\nfault suite seed {seed}")
    rng = random.Random(seed)
    log = ChaosLog(seed)
    with deployment(rng) as d:
        cast = Cast(
            telegram=[TelegramChat(d.telegram, 700_000 + n) for n in range(RESPONDENTS // 2)],
            slack=[SlackChat(d.slack, f"UR{n:05d}") for n in range(RESPONDENTS // 2)],
            invitees=[SlackChat(d.slack, f"UI{n:05d}") for n in range(INVITEES)],
        )
        outcomes, visited = _run(d, rng, log, cast)
        verdict = _verdict(d, log, cast, outcomes, visited)
        report = _report(seed, log, d, verdict)
        print(report)
        assert not verdict.problems, report
