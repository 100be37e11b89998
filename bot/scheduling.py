"""The scheduler: scheduled sends are rows; APScheduler jobs only wake them up (#5).

Two layers:

- `Scheduling` holds the rules and touches only the database, through one unit of work
  per step: `process(send_id)` (a due follow-up or nudge), `overdue()` (start-up: what
  to mark missed, what needs a job), `sweep()` (nudge rows for idle runs, sends of
  `after` follow-ups). It is synchronous and takes an injected clock, so tests drive it
  directly, DST days and downtime included.
- `Scheduler` owns an `AsyncIOScheduler` whose job store is a `SQLAlchemyJobStore` in the
  same database (table `parley_scheduler_jobs`). Jobs are `bot.scheduling:wake` with the
  send's id as their only argument and ids like `followup:12` / `nudge:40`, added with
  `replace_existing=True`. On start (inside the running loop) it reconciles: overdue
  rows beyond grace are marked missed, every pending row gets a job, every job without a
  pending row is removed.

Processing a send is one transaction: the row is locked and re-read; a row no longer
pending is left alone (a second wake does nothing); otherwise it is marked done (or
missed, or cancelled) together with whatever it causes (a run and its first messages,
a reminder in the outbox, the next occurrence's row). Outbox rows get a `not_before`
outside the stakeholder's quiet hours, so the dispatcher's pacing still applies.

Why a module-level registry: a persistent job store pickles the job's callable by
reference and its arguments by value, so a job can only name a module-level function
with primitive arguments, never the running `App`. `Scheduler.start()` registers
itself here and `wake(send_id)` finds it. One scheduler per database: with several
processes on PostgreSQL only the leader (`bot.leader`) starts it; `step_down()` stops it
when the leader loses its lock, and `start()` may run again when it leads again.

Nudges: rows are made by `sweep()`, a job every 15 minutes, rather than by hooks in the
handling transaction (which is tuned for throughput and edited elsewhere): a run whose
status is invited/consenting/in progress/paused, in the main wave or a follow-up wave,
gets its next nudge row due `after_days` (of that run's questionnaire) after it was last
updated (or after the previous nudge). A nudge that wakes up and finds the run active
since is moved to the new idle deadline.

Time zones: people whose zone is not known yet are timed in `default_zone` (the research
team's) and asked their zone before their first follow-up (`bot.time_zones`). Digests
(`bot.digests`) are woken by jobs `digest:<Unix seconds>` through `wake_digest`.

Follow-ups written by `parley followup add` (another process) get their jobs at the
next sweep (within 15 minutes) or on start.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.orm import Session, sessionmaker

from bot import groups
from bot.digests import Digests
from bot.followups import after_sends, next_send
from bot.questionnaires import QuestionnaireBook
from bot.starting import begin_run
from bot.time_zones import ask_once, zone_for
from bot.timing import QuietHours, TimingError, next_allowed
from conversations.catalog import translate
from conversations.inputs import CommandName
from conversations.messages import Ask, AskStyle, Option, message_to_dict
from conversations.run import RunState
from storage import repository, schedules, stopping
from storage.models import OPEN_STATUSES, Followup, Run, ScheduledSend, Stakeholder
from storage.schedules import NewSend
from storage.unit_of_work import UnitOfWork

__all__ = [
    "JOBS_TABLE",
    "NUDGE_ITEM",
    "SWEEP_JOB",
    "Outcome",
    "Scheduler",
    "Scheduling",
    "Wakeup",
    "parse_quiet_hours",
    "sweep",
    "wake",
]

log = logging.getLogger(__name__)

JOBS_TABLE = "parley_scheduler_jobs"
SWEEP_JOB = "nudge_sweep"
SWEEP_EVERY = timedelta(minutes=15)
NUDGE_ITEM = "nudge"
"""The reminder's item id: its Continue button is a `Begin`, and its message ref stays
apart from the real question's, so answering later never rewrites the reminder."""

NUDGE_STATUSES = OPEN_STATUSES
"""A run is nudged while it still expects answers."""
_JOB_ID = re.compile(r"^(followup|nudge|group_invite|group_reminder|poll_invite|digest):(\d+)$")
_WAKE = {"digest": "bot.scheduling:wake_digest"}
"""Job functions by kind (a digest's "id" is its occurrence in Unix seconds); else `wake`."""


def parse_quiet_hours(text: str, weekends: bool) -> QuietHours:
    """`20:00-09:00` (settings) into `QuietHours`; a bad value is a configuration error."""
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return QuietHours(
            time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), weekends
        )
    except ValueError:
        raise TimingError(
            f"PARLEY_QUIET_HOURS '{text}': use HH:MM-HH:MM, e.g. 20:00-09:00"
        ) from None


@dataclass(frozen=True)
class Wakeup:
    """A job to (re)create: the send's kind, id and due instant."""

    kind: str
    send_id: int
    due_at: datetime

    @property
    def job_id(self) -> str:
        return f"{self.kind}:{self.send_id}"

    @classmethod
    def of(cls, row: ScheduledSend) -> Wakeup:
        return cls(row.kind, row.id, row.due_at)


@dataclass(frozen=True)
class Outcome:
    """What processing a send did: `sent`, `missed`, `cancelled`, `skipped` (not pending
    or gone), `early` (not due yet) or `rescheduled` (a nudge whose run was active)."""

    status: str
    wakeups: tuple[Wakeup, ...] = ()
    outbox_ids: tuple[int, ...] = ()


@dataclass
class Scheduling:
    session_factory: sessionmaker[Session]
    book: QuestionnaireBook
    clock: Callable[[], datetime]
    grace: timedelta = timedelta(hours=6)
    quiet: QuietHours = field(default_factory=QuietHours)
    default_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Toronto"))
    """Times sends for people whose zone is not known yet (the research team's zone)."""
    digests: Digests | None = None

    # -- processing a due send --------------------------------------------------------

    def process(self, send_id: int) -> Outcome:
        """Do what a due send says, once: see the module doc."""
        now = self.clock()
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            row = schedules.lock_send(session, send_id)
            if row is None or row.status != "pending":
                return Outcome("skipped")
            if row.due_at > now:
                return Outcome("early", (Wakeup.of(row),))
            if stopping.is_stopped(session, row.stakeholder_id):  # STOP or withdrawal (#7)
                schedules.finish_send(session, row.id, "cancelled", now)
                uow.commit()
                return Outcome("cancelled")
            if row.kind == "followup":
                outcome = self._followup(session, row, now)
            elif row.kind in groups.SEND_KINDS:
                outcome = self._group(session, row, now)
            else:
                outcome = self._nudge(session, row, now)
            uow.commit()
            return outcome

    def _late(self, row: ScheduledSend, now: datetime) -> bool:
        return now - row.due_at > self.grace

    def _group(self, session: Session, row: ScheduledSend, now: datetime) -> Outcome:
        """A discussion-group invitation, reminder or poll: `bot.groups.process_send`."""
        status, ids = groups.process_send(
            session, row, now, late_after=self.grace, quiet=self.quiet
        )
        return Outcome(status, (), ids)

    def _followup(self, session: Session, row: ScheduledSend, now: datetime) -> Outcome:
        followup = session.get(Followup, row.ref_id)
        person = session.get(Stakeholder, row.stakeholder_id)
        if followup is None or person is None or followup.cancelled_at is not None:
            schedules.finish_send(session, row.id, "cancelled", now)
            return Outcome("cancelled")
        wakeups = self._continue_series(session, followup, person, row, now)
        identity = schedules.latest_identity(session, person.id)
        if self._late(row, now) or identity is None:
            schedules.finish_send(session, row.id, "missed", now)
            return Outcome("missed", wakeups)
        schedules.finish_send(session, row.id, "done", now)
        zone = zone_for(person, self.default_zone)
        wave = f"{followup.wave}:{row.due_at.astimezone(zone).date().isoformat()}"
        q = self.book.get(session, followup.questionnaire_key, followup.questionnaire_version)
        if repository.run_for(session, person.id, q.id, wave) is not None:
            return Outcome("sent", wakeups)  # the same wave twice: one run
        asked = self._ask_zone(session, person, identity.platform, identity.external_id, now)
        _, ids = begin_run(
            session,
            q,
            person.id,
            person.language,
            identity.platform,
            identity.external_id,
            now,
            wave=wave,
            not_before=next_allowed(now, zone, self.quiet),
        )
        return Outcome("sent", wakeups, (*asked, *ids))

    def _ask_zone(
        self, session: Session, person: Stakeholder, platform: str, address: str, now: datetime
    ) -> tuple[int, ...]:
        """Before someone's first follow-up, ask their zone if nobody has (`bot.time_zones`)."""
        ask = ask_once(session, person, person.language, now)
        if ask is None:
            return ()
        not_before = next_allowed(now, self.default_zone, self.quiet)
        payload = message_to_dict(ask)
        return (
            repository.enqueue(session, platform, address, payload, not_before=not_before, now=now),
        )

    def _continue_series(
        self,
        session: Session,
        followup: Followup,
        person: Stakeholder,
        row: ScheduledSend,
        now: datetime,
    ) -> tuple[Wakeup, ...]:
        following = next_send(followup, person, row.due_at, fallback=self.default_zone)
        if following is None:
            return ()
        return tuple(Wakeup.of(r) for r in schedules.schedule_sends(session, [following], now))

    def _nudge(self, session: Session, row: ScheduledSend, now: datetime) -> Outcome:
        run = session.get(Run, row.ref_id, populate_existing=True)
        if run is None or run.status not in NUDGE_STATUSES:
            schedules.finish_send(session, row.id, "cancelled", now)
            return Outcome("cancelled")
        q = self.book.get(session, run.questionnaire_key, run.questionnaire_version)
        idle_until = run.updated_at + timedelta(days=q.nudges.after_days)
        if idle_until > row.due_at:  # they were active after this nudge was planned
            schedules.reschedule_send(session, row.id, idle_until)
            return Outcome("rescheduled", (Wakeup(row.kind, row.id, idle_until),))
        identity = schedules.latest_identity(session, row.stakeholder_id)
        person = session.get(Stakeholder, row.stakeholder_id)
        if self._late(row, now) or identity is None or person is None:
            schedules.finish_send(session, row.id, "missed", now)
            return Outcome("missed", self._next_nudge(session, run, row, q.nudges.max_count, now))
        schedules.finish_send(session, row.id, "done", now)
        language = RunState.from_dict(run.state).language
        reminder = Ask(
            item_id=NUDGE_ITEM,
            text=translate("nudge.reminder", language, title=q.title.get(language)),
            style=AskStyle.YES_NO,
            hint="",
            controls=(Option(CommandName.RESUME.value, translate("home.continue", language)),),
        )
        outbox_id = repository.enqueue(
            session,
            identity.platform,
            identity.external_id,
            message_to_dict(reminder),
            run_id=run.id,
            not_before=next_allowed(now, zone_for(person, self.default_zone), self.quiet),
            now=now,
        )
        wakeups = self._next_nudge(session, run, row, q.nudges.max_count, now)
        return Outcome("sent", wakeups, (outbox_id,))

    def _next_nudge(
        self, session: Session, run: Run, row: ScheduledSend, max_count: int, now: datetime
    ) -> tuple[Wakeup, ...]:
        if row.number >= max_count:
            return ()
        q = self.book.get(session, run.questionnaire_key, run.questionnaire_version)
        due = row.due_at + timedelta(days=q.nudges.after_days)
        following = NewSend("nudge", row.stakeholder_id, run.id, row.number + 1, due)
        return tuple(Wakeup.of(r) for r in schedules.schedule_sends(session, [following], now))

    # -- start-up and sweeps ------------------------------------------------------------

    def overdue(self) -> list[Wakeup]:
        """Mark sends later than the grace period missed (a series continues); the rest
        of the pending sends, each needing a job."""
        while True:
            with UnitOfWork(self.session_factory) as uow:
                pending = [Wakeup.of(row) for row in schedules.pending_sends(uow.session)]
            now = self.clock()
            late = [w for w in pending if now - w.due_at > self.grace]
            if not late:
                return pending + self._digest_wakeups()
            for wakeup in late:
                self.process(wakeup.send_id)

    def sweep(self) -> list[Wakeup]:
        """Create nudge rows for idle runs and sends for `after` follow-ups; their wakeups."""
        now = self.clock()
        created: list[ScheduledSend] = []
        with UnitOfWork(self.session_factory) as uow:
            session = uow.session
            created += schedules.schedule_sends(session, self._nudges_due(session), now)
            for followup in schedules.followups(session):
                made = after_sends(session, followup, now, fallback=self.default_zone)
                created += schedules.schedule_sends(session, made, now)
            uow.commit()
        return [Wakeup.of(row) for row in created]

    def _digest_wakeups(self) -> list[Wakeup]:
        if self.digests is None:
            return []
        return [Wakeup("digest", int(t.timestamp()), t) for t in self.digests.pending()]

    def process_digest(self, occurrence: int) -> Outcome:
        """The digest due at `occurrence` (Unix seconds), once (`bot.digests`)."""
        if self.digests is None:
            return Outcome("skipped")
        done = self.digests.process(datetime.fromtimestamp(occurrence, UTC))
        after = done.following
        wakeups = (Wakeup("digest", int(after.timestamp()), after),) if after else ()
        return Outcome(done.status, wakeups, (done.outbox_id,) if done.outbox_id else ())

    def _nudges_due(self, session: Session) -> list[NewSend]:
        runs = _open_runs_of_every_wave(session)
        existing = schedules.nudge_rows(session, [run.id for run in runs])
        sends: list[NewSend] = []
        for run in runs:
            rows = existing[run.id]
            q = self.book.get(session, run.questionnaire_key, run.questionnaire_version)
            sent = sum(1 for row in rows if row.status == "done")
            if any(row.status == "pending" for row in rows) or sent >= q.nudges.max_count:
                continue
            since = max([run.updated_at, *(row.due_at for row in rows)])
            due = since + timedelta(days=q.nudges.after_days)
            sends.append(NewSend("nudge", run.stakeholder_id, run.id, len(rows) + 1, due))
        return sends


def _open_runs_of_every_wave(session: Session) -> list[Run]:
    """Runs still expecting answers, main and follow-up waves alike: all are nudged."""
    statement = sa.select(Run).where(Run.status.in_(NUDGE_STATUSES)).order_by(Run.id)
    return list(session.scalars(statement))


# ------------------------------------------------------------------------ the scheduler

_running: Scheduler | None = None
"""The started scheduler of this process; see the module doc for why a registry."""


async def wake(send_id: int) -> None:
    """The job function: process one send in the running scheduler."""
    if _running is None:  # the row stays pending; the next start recreates the job
        log.warning("scheduled send %s woke with no scheduler running", send_id)
        return
    try:
        await _running.wake(send_id)
    except asyncio.CancelledError:  # shutting down: the row decides, nothing is lost
        log.info("scheduled send %s: interrupted by shutdown", send_id)


async def wake_digest(occurrence: int) -> None:
    """The job function of a digest occurrence (Unix seconds)."""
    if _running is None:  # the next start finds it unhandled and wakes it
        log.warning("digest %s woke with no scheduler running", occurrence)
        return
    try:
        await _running.wake_digest(occurrence)
    except asyncio.CancelledError:
        log.info("digest %s: interrupted by shutdown", occurrence)


async def sweep() -> None:
    """The periodic job: nudge rows, `after` follow-ups, and jobs for rows made elsewhere."""
    if _running is not None:
        try:
            await _running.sweep()
        except asyncio.CancelledError:  # shutting down: the next sweep does it
            log.info("sweep interrupted by shutdown")


class Scheduler:
    """APScheduler in this process, its jobs kept in the database; start inside the loop."""

    def __init__(
        self,
        scheduling: Scheduling,
        database_url: str,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        on_processed: Callable[[Outcome], None] = lambda _outcome: None,
        tablename: str = JOBS_TABLE,
    ) -> None:
        self.scheduling = scheduling
        self._on_enqueued = on_enqueued
        self._on_processed = on_processed
        self._engine = sa.create_engine(database_url)
        grace = int(scheduling.grace.total_seconds())
        self.aps = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=tablename)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
            timezone=UTC,
        )

    async def start(self, *, sweep_now: bool = True) -> None:
        """Start (paused), reconcile rows and jobs, register, then let jobs run."""
        global _running
        self.aps.start(paused=True)
        if sweep_now:
            await asyncio.to_thread(self.scheduling.sweep)
        pending = await asyncio.to_thread(self.scheduling.overdue)
        self.reconcile(pending)
        self.aps.add_job(
            "bot.scheduling:sweep",
            IntervalTrigger(seconds=int(SWEEP_EVERY.total_seconds()), timezone=UTC),
            id=SWEEP_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )
        _running = self
        self.aps.resume()

    def shutdown(self) -> None:
        global _running
        if _running is self:
            _running = None
        if self.aps.running:
            self.aps.shutdown(wait=False)
        self._engine.dispose()

    async def step_down(self) -> None:
        """No longer the leader: stop waking jobs here (rows stay pending for the next one)."""
        self.shutdown()
        for _ in range(100):  # AsyncIOScheduler finishes shutting down on a later loop turn
            if not self.aps.running:
                return
            await asyncio.sleep(0)

    def reconcile(self, pending: Sequence[Wakeup]) -> None:
        """Every pending row has a job; every send job without a pending row is removed."""
        wanted = {w.job_id: w for w in pending}
        have = {job.id for job in self.aps.get_jobs() if _JOB_ID.match(job.id)}
        for job_id in have - wanted.keys():
            self.aps.remove_job(job_id)
        self.add([w for job_id, w in wanted.items() if job_id not in have])

    def add(self, wakeups: Sequence[Wakeup]) -> None:
        for wakeup in wakeups:
            self.aps.add_job(
                _WAKE.get(wakeup.kind, "bot.scheduling:wake"),
                DateTrigger(run_date=self._real(wakeup.due_at), timezone=UTC),
                args=[wakeup.send_id],
                id=wakeup.job_id,
                replace_existing=True,
                misfire_grace_time=int(self.scheduling.grace.total_seconds()),
            )

    def _real(self, due_at: datetime) -> datetime:
        """APScheduler waits on the real clock: the same instant, unless a test injects one."""
        return datetime.now(UTC) + (due_at - self.scheduling.clock())

    async def wake(self, send_id: int) -> None:
        outcome = await asyncio.to_thread(self.scheduling.process, send_id)
        self.add(outcome.wakeups)
        if outcome.outbox_ids:
            self._on_enqueued()
        self._on_processed(outcome)

    async def wake_digest(self, occurrence: int) -> None:
        outcome = await asyncio.to_thread(self.scheduling.process_digest, occurrence)
        self.add(outcome.wakeups)
        if outcome.outbox_ids:
            self._on_enqueued()
        self._on_processed(outcome)

    async def sweep(self) -> None:
        created = await asyncio.to_thread(self.scheduling.sweep)
        pending = await asyncio.to_thread(self.scheduling.overdue)
        self.add(created)
        self.reconcile(pending)
