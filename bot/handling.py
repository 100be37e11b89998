"""handle(event): the one transaction that turns an inbound event into stored state.

Gather → decide → apply, in a single unit of work: record the event id (a duplicate
stops here), load the person's run, ask the pure engine what happens, save the run, the
answers and the outgoing messages, commit. Nothing is sent here: the dispatcher sends
the outbox only after the commit, so a crash never loses an answer it acknowledged.

Events that arrive together are handled in one transaction (a savepoint each), which
lets one fsync cover many answers without weakening durability: nobody is told their
answer was received until the commit that holds it has returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot import researcher
from bot.channels.base import InboundEvent
from bot.questionnaires import QuestionnaireBook
from conversations import engine
from conversations.catalog import translate
from conversations.inputs import Reply
from conversations.messages import Message, Notice, Say, message_to_dict
from conversations.run import RunState
from storage import repository
from storage.invitations import InviteStatus, redeem_invite
from storage.models import Run, Stakeholder
from storage.unit_of_work import UnitOfWork

__all__ = ["Access", "Handled", "Handler"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Handled:
    event: InboundEvent
    outbox_ids: tuple[int, ...] = ()
    duplicate: bool = False
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    """Who may take part and who may run researcher commands, and where."""

    open_enrollment: bool = False
    research_address: tuple[str, str] | None = None
    researchers: frozenset[tuple[str, str]] = frozenset()


class Handler:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        book: QuestionnaireBook,
        clock: Clock,
        *,
        open_enrollment: bool = False,
        access: Access | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.book = book
        self.clock = clock
        self.access = access or Access(open_enrollment=open_enrollment)

    def handle(self, event: InboundEvent) -> Handled:
        return self.handle_batch([event])[0]

    def handle_batch(self, events: Sequence[InboundEvent]) -> list[Handled]:
        with UnitOfWork(self.session_factory) as uow:
            results = [self._handle_isolated(uow.session, event) for event in events]
            uow.commit()
        return results

    def _handle_isolated(self, session: Session, event: InboundEvent) -> Handled:
        """One event in its own savepoint: its failure never takes the others down."""
        for attempt in (1, 2):
            savepoint = session.begin_nested()
            try:
                handled = self._apply(session, event)
            except StaleDataError:
                savepoint.rollback()
                session.expire_all()
                if attempt == 2:
                    return self._apologise(session, event)
                continue
            except Exception:
                savepoint.rollback()
                log.exception("event %s:%s failed", event.platform, event.event_id)
                return self._apologise(session, event)
            savepoint.commit()
            return handled
        raise AssertionError("unreachable")

    def _apply(self, session: Session, event: InboundEvent) -> Handled:
        now = self.clock()
        if not repository.record_inbound(session, event.platform, event.event_id, now):
            return Handled(event, duplicate=True)
        if event.group:
            return self._in_group(session, event, now)
        stakeholder, refusal = self._stakeholder(session, event, now)
        if stakeholder is None:
            said = Say(translate(refusal, event.language or self.book.current.default_language))
            return Handled(event, self._enqueue(session, event, [said], None, now))
        run = repository.run_for(session, stakeholder.id, self.book.current.id)
        if run is None:
            step = engine.start(self.book.current, stakeholder.language, now)
            run = repository.create_run(
                session,
                stakeholder_id=stakeholder.id,
                questionnaire_key=self.book.current.id,
                questionnaire_version=self.book.current.version,
                state=step.run.to_dict(),
                status=step.run.status.value,
                now=now,
            )
            return Handled(event, self._enqueue(session, event, step.messages, run.id, now))
        return self._step(session, event, run, now)

    def _step(self, session: Session, event: InboundEvent, run: Run, now: datetime) -> Handled:
        questionnaire = self.book.get(session, run.questionnaire_key, run.questionnaire_version)
        state = RunState.from_dict(run.state)
        result = engine.step(questionnaire, state, event.input, now)
        repository.save_run_state(session, run, result.run.to_dict(), result.run.status.value, now)
        if result.recorded:
            repository.record_answers(
                session,
                run.id,
                result.recorded,
                questionnaire_version=questionnaire.version,
                event_id=f"{event.platform}:{event.event_id}",
                now=now,
            )
        notices = tuple(m.text for m in result.messages if isinstance(m, Notice))
        outbox_ids = self._enqueue(session, event, result.messages, run.id, now)
        return Handled(event, outbox_ids, notices=notices)

    def _stakeholder(
        self, session: Session, event: InboundEvent, now: datetime
    ) -> tuple[Stakeholder | None, str]:
        """The person behind the event, or None and the catalog key of why not."""
        known = repository.stakeholder_for_identity(session, event.platform, event.sender)
        if event.invite_token is not None:
            return self._invited(session, event, known, now)
        if known is not None:
            return known, ""
        if not self._may_enrol(event):
            return None, "enrollment.invitation_only"
        language = self.book.current.language_or_default(event.language)
        stakeholder = repository.create_stakeholder(
            session, name=event.display_name or event.sender, language=language, now=now
        )
        repository.link_identity(
            session, stakeholder.id, event.platform, event.sender, event.display_name, now=now
        )
        return stakeholder, ""

    def _invited(
        self, session: Session, event: InboundEvent, known: Stakeholder | None, now: datetime
    ) -> tuple[Stakeholder | None, str]:
        """Tapping an invitation binds this account to its roster entry (once)."""
        assert event.invite_token is not None
        redemption = redeem_invite(session, event.invite_token, now=now)
        invited_id = redemption.stakeholder_id
        if known is not None and known.id == invited_id:
            return known, ""  # their own link again: just carry on
        if redemption.status is not InviteStatus.ACCEPTED or invited_id is None:
            return None, f"invite.{redemption.status.value}"
        if known is not None:
            return known, ""  # this account already belongs to someone: keep it theirs
        repository.link_identity(
            session, invited_id, event.platform, event.sender, event.display_name, now=now
        )
        return session.get_one(Stakeholder, invited_id), ""

    def _may_enrol(self, event: InboundEvent) -> bool:
        """The console's user is always a participant; elsewhere, only in an open study."""
        return event.platform == "console" or self.access.open_enrollment

    def _in_group(self, session: Session, event: InboundEvent, now: datetime) -> Handled:
        """Group chats: researcher commands in the research channel; silence otherwise."""
        if (event.platform, event.address) != self.access.research_address:
            return Handled(event)
        text = event.input.text if isinstance(event.input, Reply) else ""
        command = researcher.parse_command(text)
        if command is None:
            return Handled(event)
        language = self.book.current.language_or_default(event.language)
        if (event.platform, event.sender) not in self.access.researchers:
            reply = translate("researcher.refused", language)
        else:
            reply = researcher.respond(session, self.book.current, command[0], language)
        return Handled(event, self._enqueue(session, event, [Say(reply)], None, now))

    def _enqueue(
        self,
        session: Session,
        event: InboundEvent,
        messages: Sequence[Message],
        run_id: int | None,
        now: datetime,
    ) -> tuple[int, ...]:
        payloads = [message_to_dict(m) for m in messages]
        ids = repository.enqueue_many(
            session, event.platform, event.address, payloads, run_id=run_id, now=now
        )
        return tuple(ids)

    def _apologise(self, session: Session, event: InboundEvent) -> Handled:
        """After a bug: record the event (so a redelivery doesn't loop) and say sorry once."""
        now = self.clock()
        repository.record_inbound(session, event.platform, event.event_id, now)
        sorry = Say(translate("error.sorry", event.language or "en"))
        return Handled(event, self._enqueue(session, event, [sorry], None, now))
