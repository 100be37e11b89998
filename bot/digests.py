"""The digest schedule: a post to the research channel at set local times (#5).

`PARLEY_DIGEST_SCHEDULE` (e.g. `weekdays 09:00 America/Toronto`; the zone defaults to
the research team's, empty means off) names the occurrences. At each one, the digest
(#6: headline, items, changes since the last digest, charts; `bot.digest_posting`) is
posted through the outbox to the research channel, or to the console when none is set,
in the questionnaire's default language; the numbers it showed are stored in the
occurrence's row for the next one's "since the last digest".

Rows first. Occurrences follow from the setting, so a future one needs no row: what
must be remembered is which ones were handled. Each handled occurrence is a `digests`
row (`storage.digests`), claimed by an insert on its unique `due_at` in the transaction
that enqueues the post: a second wake of the same occurrence finds the row and posts
nothing. The digest is built just before that transaction, in a reading one (a wake
that finds the row already there builds nothing), so no write lock is held while it is
drawn. A missed one is a row with status `missed`; the first start with a schedule
records a `started` row (when expectations begin).

APScheduler's job for an occurrence is `digest:<Unix seconds>`, its argument the same
number. On start and at every sweep `pending()` walks the occurrences after the last
handled one: all but the latest overdue one are recorded missed (one status post is
enough after downtime), the latest fires once if it is within grace (else it is missed
too), and the next future occurrence gets its job. DST: `DigestSchedule.next_run` gives
one instant per scheduled local day, so 09:00 on the spring-forward and fall-back days
happens exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.digest_posting import (
    CONSOLE_ADDRESS,
    build_digest_messages,
    enqueue_messages,
    reading_sessions,
)
from bot.questionnaires import QuestionnaireBook
from bot.timing import DigestSchedule, TimingError, parse_zone
from storage import digests as handled
from storage.unit_of_work import UnitOfWork

__all__ = ["CONSOLE_ADDRESS", "DigestPlan", "DigestResult", "Digests", "parse_plan"]

_LOOK_BACK = timedelta(days=31)
"""After longer downtime, older occurrences are not recorded one by one."""


@dataclass(frozen=True)
class DigestPlan:
    """When digests happen: some weekdays at a wall time in one zone."""

    schedule: DigestSchedule
    zone: ZoneInfo

    def next_after(self, instant: datetime) -> datetime:
        return self.schedule.next_run(instant, self.zone)


def parse_plan(text: str, default_zone: ZoneInfo) -> DigestPlan | None:
    """`weekdays 09:00 America/Toronto` (the zone may be left out); empty text is off.

    Raises TimingError naming PARLEY_DIGEST_SCHEDULE and what was not understood.
    """
    words = text.strip()
    if not words:
        return None
    head, _, last = words.rpartition(" ")
    zone = default_zone
    try:
        if head and ("/" in last or last.upper() == "UTC"):
            zone, words = parse_zone(last), head
        return DigestPlan(DigestSchedule.parse(words), zone)
    except TimingError as error:
        raise TimingError(f"PARLEY_DIGEST_SCHEDULE: {error}") from None


@dataclass(frozen=True)
class DigestResult:
    """`sent`, `missed`, `skipped` (handled before) or `early`; what to wake next."""

    status: str
    following: datetime | None = None
    outbox_id: int | None = None


@dataclass
class Digests:
    session_factory: sessionmaker[Session]
    book: QuestionnaireBook
    clock: Callable[[], datetime]
    plan: DigestPlan
    address: tuple[str, str] = CONSOLE_ADDRESS
    grace: timedelta = timedelta(hours=6)

    def process(self, occurrence: datetime) -> DigestResult:
        """Post the digest of one occurrence, once; see the module doc."""
        now = self.clock()
        if occurrence > now:
            return DigestResult("early", occurrence)
        if now - occurrence > self.grace:
            with UnitOfWork(self.session_factory) as uow:
                result = self._miss(uow.session, occurrence, now)
                uow.commit()
            return result
        return self._post(occurrence, now)

    def pending(self) -> list[datetime]:
        """Start-up and sweeps: settle overdue occurrences; the ones needing a job."""
        now = self.clock()
        with UnitOfWork(self.session_factory) as uow:
            anchor = max(self._anchor(uow.session, now), now - _LOOK_BACK)
            overdue: list[datetime] = []
            following = self.plan.next_after(anchor)
            while following <= now:
                overdue.append(following)
                following = self.plan.next_after(following)
            for occurrence in overdue[:-1]:
                self._miss(uow.session, occurrence, now)
            uow.commit()
        latest = overdue[-1:]
        if latest and now - latest[0] > self.grace:
            self.process(latest[0])
            latest = []
        return [*latest, following]

    def _anchor(self, session: Session, now: datetime) -> datetime:
        """The last handled occurrence, else when this schedule was first seen."""
        last = handled.last_handled(session)
        if last is not None:
            return last
        since = handled.first_start(session)
        if since is None:
            handled.record_start(session, now)
        return since or now

    def _miss(self, session: Session, occurrence: datetime, now: datetime) -> DigestResult:
        if handled.claim_digest(session, occurrence, "missed", now) is None:
            return DigestResult("skipped")
        return DigestResult("missed", self.plan.next_after(occurrence))

    def _post(self, occurrence: datetime, now: datetime) -> DigestResult:
        """Build (reading), then claim the row, enqueue and store the numbers (writing)."""
        questionnaire = self.book.current
        language = questionnaire.default_language
        with UnitOfWork(reading_sessions(self.session_factory)) as uow:
            if handled.handled_at(uow.session, occurrence):
                return DigestResult("skipped")
            built = build_digest_messages(uow.session, questionnaire, self.address, language, now)
        channel, address = self.address
        with UnitOfWork(self.session_factory) as uow:
            row = handled.claim_digest(
                uow.session, occurrence, "done", now, channel=channel, address=address,
                language=language,
            )  # fmt: skip
            if row is None:
                return DigestResult("skipped")
            ids = enqueue_messages(uow.session, self.address, built.messages, now)
            handled.store_summary(uow.session, row, built.digest.to_dict())
            uow.commit()
        return DigestResult("sent", self.plan.next_after(occurrence), ids[0] if ids else None)
