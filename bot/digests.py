"""The digest schedule: a post to the research channel at set local times (#5).

`PARLEY_DIGEST_SCHEDULE` (e.g. `weekdays 09:00 America/Toronto`; the zone defaults to
the research team's, empty means off) names the occurrences. At each one, a short
status summary (until #6 supplies the digest itself) is posted through the outbox to
the research channel, or to the console when none is set.

Rows first. Occurrences follow from the setting, so a future one needs no row: what
must be remembered is which ones were handled. Each handled occurrence is a `digests`
row (`storage.digests`), claimed by an insert on its unique `due_at` in the transaction
that enqueues the post: a second wake of the same occurrence finds the row and posts
nothing. A missed one is a row with status `missed`; the first start with a schedule
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

from bot.questionnaires import QuestionnaireBook
from bot.researcher import status_line
from bot.timing import DigestSchedule, TimingError, parse_zone
from conversations.catalog import translate
from conversations.messages import Say, message_to_dict
from storage import digests as handled
from storage import repository
from storage.unit_of_work import UnitOfWork

__all__ = ["CONSOLE_ADDRESS", "DigestPlan", "DigestResult", "Digests", "parse_plan"]

CONSOLE_ADDRESS = ("console", "research")
"""Where digests go when no research channel is set: the console prints them."""

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
        with UnitOfWork(self.session_factory) as uow:
            result = self._handle(uow.session, occurrence, now, missed=False)
            uow.commit()
        return result

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
                self._handle(uow.session, occurrence, now, missed=True)
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

    def _handle(
        self, session: Session, occurrence: datetime, now: datetime, *, missed: bool
    ) -> DigestResult:
        following = self.plan.next_after(occurrence)
        if missed or now - occurrence > self.grace:
            if handled.claim_digest(session, occurrence, "missed", now) is None:
                return DigestResult("skipped")
            return DigestResult("missed", following)
        channel, address = self.address
        claimed = handled.claim_digest(
            session, occurrence, "done", now, channel=channel, address=address
        )
        if claimed is None:
            return DigestResult("skipped")
        outbox_id = repository.enqueue(
            session,
            channel,
            address,
            message_to_dict(Say(self._text(session, occurrence))),
            now=now,
        )
        return DigestResult("sent", following, outbox_id)

    def _text(self, session: Session, occurrence: datetime) -> str:
        questionnaire = self.book.current
        language = questionnaire.default_language
        when = occurrence.astimezone(self.plan.zone).strftime("%Y-%m-%d %H:%M %Z")
        status = status_line(session, questionnaire, language)
        return translate("digest.scheduled", language, when=when, status=status)
