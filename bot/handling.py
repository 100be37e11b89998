"""handle(event): the one transaction that turns an inbound event into stored state.

Gather → decide → apply, in a single unit of work: record the event id (a duplicate
stops here), load the person's run, ask the pure engine what happens, save the run, the
answers and the outgoing messages, commit. Nothing is sent here: the dispatcher sends
the outbox only after the commit, so a crash never loses an answer it acknowledged.

Events that arrive together are handled in one transaction, which lets one fsync cover
many answers without weakening durability: nobody is told their answer was received
until the commit that holds it has returned.

Two ways through a batch, with the same outcome:

- together (the usual way): one statement per kind for the whole batch (record the
  ids, find the senders and their runs, save the states, the answers, the outbox;
  `storage.turns`), with the engine stepping each event in order in between. A run's
  state comes from the `RunStateCache` when the run's stored `version_id` says it is
  still current. An event whose step fails gets the apology, as below. Anything else
  (a sender to enrol or to bind by invitation, a run to start, a group chat, an unknown
  sender) goes one by one, inside the same transaction.
- one by one: a savepoint per event, so that one event's failure never takes the
  others down; the run is read and saved through the ORM. If the together way fails at
  the database (another process saved one of the runs first, a constraint), the
  transaction is rolled back and the whole batch is handled this way instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot import groups, researcher, rights, roles, time_zones
from bot.channels.base import InboundEvent
from bot.logs import HANDLING
from bot.outages import unreachable
from bot.questionnaires import QuestionnaireBook
from bot.starting import begin_run
from conversations import consent, engine
from conversations.catalog import translate
from conversations.inputs import Reply
from conversations.messages import Message, Notice, Say, message_to_dict
from conversations.run import RunState
from storage import audit, repository
from storage.errors import is_transient
from storage.invitations import InviteStatus, redeem_invite
from storage.models import Run, Stakeholder
from storage.run_cache import CachedState, RunStateCache, encode_state, from_document
from storage.time_zone_question import UNKNOWN_ZONES
from storage.unit_of_work import UnitOfWork

__all__ = ["Access", "Handled", "Handler"]

log = logging.getLogger(__name__)

_TRANSIENT_TRIES = 5
"""How often a transaction another process deadlocked (or serialized) is run again."""


def _pause_before_retry(attempt: int) -> None:
    """A short, jittered wait, so two transactions that collided do not collide again."""
    time.sleep(random.uniform(0.005, 0.02) * attempt)


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
    """Identities to seed with the researcher role (`PARLEY_RESEARCHERS`) when the Handler is
    built; the check before each researcher command reads the stored roles (`bot.roles`)."""
    desk: researcher.Desk = field(default_factory=researcher.Desk)
    """Where researcher commands read times and find follow-up questionnaires."""


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
        self.states = RunStateCache()
        """Run states as last committed here; see `storage.run_cache`."""
        if self.access.researchers:
            self._seed_researchers()

    def _seed_researchers(self) -> None:
        """Start-up: `PARLEY_RESEARCHERS` become stored grants (added, never removed)."""
        with UnitOfWork(self.session_factory) as uow:
            roles.seed_researchers(uow.session, self.access.researchers, self.clock())
            uow.commit()

    def handle(self, event: InboundEvent) -> Handled:
        return self.handle_batch([event])[0]

    def handle_batch(self, events: Sequence[InboundEvent]) -> list[Handled]:
        try:
            return self._handle_batch(events)
        finally:
            HANDLING.set(None)  # logs after the batch concern no event (`bot.logs`)

    def _handle_batch(self, events: Sequence[InboundEvent]) -> list[Handled]:
        """Together in one transaction; a transaction another process's deadlocked or
        serialized is run again; any other failure sends the batch event by event."""
        if not events:
            return []
        for attempt in range(1, _TRANSIENT_TRIES + 1):
            with UnitOfWork(self.session_factory) as uow:
                together = _Together(self, uow.session, events)
                try:
                    results = together.run()
                    uow.commit()
                except Exception as error:
                    uow.rollback()
                    if unreachable(error):
                        raise  # the database is gone: the processor waits for it
                    if is_transient(error) and attempt < _TRANSIENT_TRIES:
                        _pause_before_retry(attempt)
                        continue
                    if isinstance(error, StaleDataError) or is_transient(error):
                        log.debug("a run moved on during a batch: handling it event by event")
                    else:
                        log.warning(
                            "batch of %d events failed: handling it event by event",
                            len(events),
                            exc_info=True,
                        )
                    return self._one_by_one(events)
            for entry in together.committed_states():
                self.states.put(entry)
            return results
        raise AssertionError("unreachable")

    def _one_by_one(self, events: Sequence[InboundEvent]) -> list[Handled]:
        """Each event in its own savepoint of one transaction; if another process's
        transaction deadlocks with this one, each event in a transaction of its own."""
        with UnitOfWork(self.session_factory) as uow:
            try:
                results = [self._handle_isolated(uow.session, event) for event in events]
                uow.commit()
                return results
            except Exception as error:
                uow.rollback()
                if not is_transient(error):
                    raise
        return [self._alone(event) for event in events]

    def _alone(self, event: InboundEvent) -> Handled:
        """One event, one transaction, run again while the database says transient."""
        for attempt in range(1, _TRANSIENT_TRIES + 1):
            with UnitOfWork(self.session_factory) as uow:
                try:
                    handled = self._handle_isolated(uow.session, event)
                    uow.commit()
                    return handled
                except Exception as error:
                    uow.rollback()
                    if not is_transient(error) or attempt == _TRANSIENT_TRIES:
                        raise
            _pause_before_retry(attempt)
        raise AssertionError("unreachable")

    def _handle_isolated(
        self, session: Session, event: InboundEvent, *, recorded: bool = False
    ) -> Handled:
        """One event in its own savepoint: its failure never takes the others down.

        `recorded`: the event id was already recorded, as new, in this transaction.
        A transient database error (`storage.errors.is_transient`) or an outage
        (`bot.outages`) is raised, not apologised for: the whole transaction must run
        again, and it will.
        """
        HANDLING.set((event.platform, event.event_id))
        for attempt in (1, 2):
            savepoint = session.begin_nested()
            try:
                if attempt == 2:  # another process saved the run first: wait for it now
                    repository.lock_runs_of_identity(session, event.platform, event.sender)
                handled = self._apply(session, event, recorded=recorded)
            except StaleDataError:
                savepoint.rollback()
                session.expire_all()
                if attempt == 2:
                    return self._apologise(session, event)
                continue
            except Exception as error:
                if is_transient(error) or unreachable(error):
                    raise
                savepoint.rollback()
                log.exception("event %s:%s failed", event.platform, event.event_id)
                return self._apologise(session, event)
            savepoint.commit()
            return handled
        raise AssertionError("unreachable")

    def _apply(self, session: Session, event: InboundEvent, *, recorded: bool = False) -> Handled:
        now = self.clock()
        if not recorded and not repository.record_inbound(
            session, event.platform, event.event_id, now
        ):
            return Handled(event, duplicate=True)
        if event.group or event.command:
            return self._in_group(session, event, now)
        if groups.is_group_press(event.input):
            return self._group_press(session, event, now)
        exercised = rights.exercise(
            session, self.book, event.platform, event.sender, event.input, now
        )
        if exercised is None:
            return self._converse(session, event, now)
        said = self._enqueue(session, event, exercised.reply, None, now)
        if not exercised.carry_on:
            return Handled(event, said)
        then = self._converse(session, event, now)  # a STOP the engine closes, a /start
        return replace(then, outbox_ids=(*said, *then.outbox_ids))

    def _converse(self, session: Session, event: InboundEvent, now: datetime) -> Handled:
        """A turn of the sender's conversation: enrol, start, the time zone, or a step."""
        stakeholder, refusal = self._stakeholder(session, event, now)
        if stakeholder is None:
            said = Say(translate(refusal, event.language or self.book.current.default_language))
            return Handled(event, self._enqueue(session, event, [said], None, now))
        run = repository.current_run(session, stakeholder.id, self.book.current.id)
        zone_reply = time_zones.take_answer(stakeholder, event.input, run, stakeholder.language)
        if zone_reply is not None:  # the time-zone question's answer, before any engine
            notices = tuple(m.text for m in zone_reply if isinstance(m, Notice))
            ids = self._enqueue(session, event, zone_reply, None, now)
            return Handled(event, ids, notices=notices)
        if run is None:
            q = self.book.current
            address = event.address
            _, ids = begin_run(
                session, q, stakeholder.id, stakeholder.language, event.platform, address, now
            )
            return Handled(event, ids)
        return self._step(session, event, run, now)

    def _group_press(self, session: Session, event: InboundEvent, now: datetime) -> Handled:
        """An RSVP or find-a-time button (`bot.groups`): answered without touching the run."""
        assert groups.is_group_press(event.input)
        person = repository.stakeholder_for_identity(session, event.platform, event.sender)
        reply = groups.press(session, person, event.input, now)
        notices = tuple(m.text for m in reply if isinstance(m, Notice))
        return Handled(event, self._enqueue(session, event, reply, None, now), notices=notices)

    def _step(self, session: Session, event: InboundEvent, run: Run, now: datetime) -> Handled:
        questionnaire = self.book.get(session, run.questionnaire_key, run.questionnaire_version)
        state = RunState.from_dict(run.state)
        current = self.book.current
        result, shown = rights.decide(current, questionnaire, state, event.input, now)
        repository.save_run_state(session, run, result.run.to_dict(), result.run.status.value, now)
        rights.record_consent(
            session, run.id, run.questionnaire_key, state, result.run, shown, event.platform, now
        )
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
        asked = time_zones.after_step(session, run.id, state, result.run, now)
        outbox_ids = self._enqueue(session, event, [*result.messages, *asked], run.id, now)
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
            session,
            name=event.display_name or event.sender,
            language=language,
            time_zone=time_zones.known_zone(event.time_zone),
            now=now,
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

    def _is_plain_turn(self, event: InboundEvent, run_status: str | None = None) -> bool:
        """Whether `_apply` takes the event straight to the sender's run (enrolling them
        and starting it if need be): not a group message, a researcher command or an
        invitation, nor what may answer the time-zone question. Only such events are
        handled together; keep this in step with it."""
        if event.group or event.command or event.invite_token is not None:
            return False
        if groups.is_group_press(event.input):  # an RSVP or poll button: not the run's
            return False
        if rights.is_request(event.input):  # STOP, my data, withdraw (`bot.rights`)
            return False
        return not time_zones.might_answer(event.input, run_status)

    def _may_enrol(self, event: InboundEvent) -> bool:
        """The console's user is always a participant; elsewhere, only in an open study."""
        return event.platform == "console" or self.access.open_enrollment

    def _in_group(self, session: Session, event: InboundEvent, now: datetime) -> Handled:
        """Group chats: researcher commands in the research channel; silence otherwise."""
        if not event.command and (event.platform, event.address) != self.access.research_address:
            return Handled(event)
        text = event.input.text if isinstance(event.input, Reply) else ""
        command = researcher.parse_command(text)
        if command is None:
            return Handled(event)
        language = self.book.current.language_or_default(event.language)
        if not roles.may_research(session, event.platform, event.sender):
            actor, refused = f"{event.platform}:{event.sender}", {"command": command[0]}
            audit.record(session, actor, "refused", refused, event.platform, now)
            reply = translate("researcher.refused", language)
        else:
            request = researcher.request_for(event, command, language, now, self.access.desk)
            reply = researcher.respond(session, self.book.current, request)
        answer = Notice(reply) if event.command else Say(reply)  # a slash command: only to them
        return Handled(event, self._enqueue(session, event, [answer], None, now))

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


@dataclass
class _Working:
    """A run as this batch has left it so far."""

    header: repository.RunHeader
    version_id: int
    cached: CachedState | None
    """The committed state this batch started from: from the cache, or decoded from
    `document` on first use (`storage.run_cache.from_document`)."""
    document: dict[str, Any] | None
    """The stored state, when it had to be read (decoded on first use)."""
    state: RunState | None = None
    encoded: CachedState | None = None
    """The latest state this batch computed, with its encoding (a cache entry to be)."""


class _Together:
    """One batch the together way (see the module docstring): gather, step, write."""

    def __init__(self, handler: Handler, session: Session, events: Sequence[InboundEvent]):
        self.handler = handler
        self.session = session
        self.events = events
        self.results: list[Handled | None] = []
        self.replies: list[repository.OutboxBatch] = []
        self.pending: dict[int, tuple[int, InboundEvent, tuple[str, ...]]] = {}
        """Result position -> (position in `replies`, event, notices), until ids exist."""
        self.saves: list[repository.RunSave] = []
        self.answers: list[repository.AnswerRecord] = []
        self.runs: dict[int, _Working] = {}
        self.enrolled: dict[tuple[str, str], int] = {}
        """Stakeholders enrolled in this batch, by (platform, sender)."""
        self.started: dict[int, repository.RunHeader] = {}
        """Runs started in this batch, by stakeholder."""
        self.zone_unasked: dict[int, bool] = {}
        """By stakeholder: whether completing their run may ask their time zone (unknown
        and never asked); when False, no claim is tried (`time_zones.after_step`)."""

    def run(self) -> list[Handled]:
        handler, session, events = self.handler, self.session, self.events
        moments = [handler.clock() for _ in events]
        known = repository.participants(
            session, [(e.platform, e.sender) for e in events], handler.book.current.id
        )
        new = repository.record_inbound_many(
            session, [(e.platform, e.event_id, now) for e, now in zip(events, moments, strict=True)]
        )
        self._gather_runs(known.values())
        self.zone_unasked = {p.stakeholder_id: p.zone_unasked for p in known.values()}
        held = {p.stakeholder_id for p in known.values() if p.stopped}  # STOP to lift first
        seen: set[tuple[str, str]] = set()
        one_by_one: set[tuple[str, str]] = set()
        for event, now in zip(events, moments, strict=True):
            key = (event.platform, event.event_id)
            HANDLING.set(key)  # what the logs of this event carry (`bot.logs`)
            if key not in new or key in seen:
                self.results.append(Handled(event, duplicate=True))
                continue
            seen.add(key)
            sender = (event.platform, event.sender)
            participant = known.get(sender)
            stakeholder_id = (
                participant.stakeholder_id if participant else self.enrolled.get(sender)
            )
            if (
                sender in one_by_one
                or not handler._is_plain_turn(event, self._run_status(participant, stakeholder_id))
                or (stakeholder_id is None and not handler._may_enrol(event))
                or stakeholder_id in held  # stopped: a /start lifts it (`bot.rights`)
                or self._renewal_due(participant)
            ):
                # Not a turn of a run (a group, a command, an invitation, a stranger to
                # refuse): the one-by-one way, and later events of the sender follow it.
                # What is pending is written first, so the rows keep the events' order
                # and the one-by-one way reads the runs as they now are.
                one_by_one.add(sender)
                self._write()
                self.results.append(handler._handle_isolated(session, event, recorded=True))
                continue
            run = self.started.get(stakeholder_id) if stakeholder_id is not None else None
            if run is None and participant is not None:
                run = participant.run
            if run is None:
                self._start(event, participant, stakeholder_id, now)
            else:
                self._step(event, self.runs[run.id], stakeholder_id, now)
        HANDLING.set(None)  # the batch's writes concern every event
        self._write()
        return [result for result in self.results if result is not None]

    def _run_status(
        self, participant: repository.Participant | None, stakeholder_id: int | None
    ) -> str | None:
        """The sender's run status as this batch has left it (a step here may complete it)."""
        header = self.started.get(stakeholder_id) if stakeholder_id is not None else None
        if header is None and participant is not None:
            header = participant.run
        if header is None:
            return None
        working = self.runs.get(header.id)
        if working is not None and working.state is not None:
            return working.state.status.value
        return header.status

    def _renewal_due(self, participant: repository.Participant | None) -> bool:
        """Whether their run must show the changed consent text first (`bot.rights`)."""
        if participant is None or participant.run is None:
            return False
        if participant.stakeholder_id in self.started:
            return False
        header = participant.run
        pinned = self.handler.book.get(
            self.session, header.questionnaire_key, header.questionnaire_version
        )
        current = self.handler.book.current
        state = self._state_of(self.runs[header.id])
        return consent.renewal_due(current, pinned.consent_version, state)

    def committed_states(self) -> list[CachedState]:
        """What to cache once the transaction has committed."""
        return [w.encoded for w in self.runs.values() if w.encoded is not None]

    def _gather_runs(self, participants: Iterable[repository.Participant]) -> None:
        cache = self.handler.states
        missing = []
        for participant in participants:
            header = participant.run
            if header is None:
                continue
            cached = cache.get(header.id, header.version_id, header.created_at)
            self.runs[header.id] = _Working(header, header.version_id, cached, None)
            if cached is None:
                missing.append(header.id)
        for run_id, document in repository.run_states(self.session, missing).items():
            self.runs[run_id].document = document

    def _start(
        self,
        event: InboundEvent,
        participant: repository.Participant | None,
        stakeholder_id: int | None,
        now: datetime,
    ) -> None:
        """Someone's first message: enrol them if they are new, start their run, ask consent.

        As `Handler._apply` does; the engine goes first, so that if it fails nothing
        has been written for this event (as when its savepoint is rolled back).
        """
        current = self.handler.book.current
        if participant is not None:
            language = participant.language
        else:
            language = current.language_or_default(event.language)
        try:
            started = engine.start(current, language, now)
            encoded = encode_state(started.run)
        except Exception:
            log.exception("event %s:%s failed", event.platform, event.event_id)
            self._apologise(event)
            return
        if stakeholder_id is None:
            zone = time_zones.known_zone(event.time_zone)
            stakeholder_id = repository.enrol(
                self.session,
                name=event.display_name or event.sender,
                language=language,
                platform=event.platform,
                external_id=event.sender,
                display_name=event.display_name,
                time_zone=zone,
                now=now,
            )
            self.enrolled[(event.platform, event.sender)] = stakeholder_id
            self.zone_unasked[stakeholder_id] = zone in UNKNOWN_ZONES
        header = repository.start_run(
            self.session,
            stakeholder_id=stakeholder_id,
            questionnaire_key=current.id,
            questionnaire_version=current.version,
            state_json=encoded.text,
            status=started.run.status.value,
            now=now,
        )
        entry = CachedState(header.id, header.version_id, now, started.run, encoded)
        self.runs[header.id] = _Working(header, header.version_id, None, None, started.run, entry)
        self.started[stakeholder_id] = header
        self._reply(event, started.messages, header.id, now)

    def _step(
        self, event: InboundEvent, working: _Working, stakeholder_id: int | None, now: datetime
    ) -> None:
        header = working.header
        try:
            questionnaire = self.handler.book.get(
                self.session, header.questionnaire_key, header.questionnaire_version
            )
            state = self._state_of(working)
            result = engine.step(questionnaire, state, event.input, now)
            previous = working.encoded or working.cached
            encoded = encode_state(result.run, previous)
        except Exception:
            log.exception("event %s:%s failed", event.platform, event.event_id)
            self._apologise(event)
            return
        rights.record_consent(
            self.session,
            header.id,
            header.questionnaire_key,
            state,
            result.run,
            questionnaire.consent_version,
            event.platform,
            now,
            stakeholder_id,
        )
        status = result.run.status.value
        self.saves.append(
            repository.RunSave(header.id, working.version_id, encoded.text, status, now)
        )
        working.version_id += 1
        working.state = result.run
        working.encoded = CachedState(
            header.id, working.version_id, header.created_at, result.run, encoded
        )
        if result.recorded:
            self.answers.append(
                repository.AnswerRecord(
                    header.id,
                    result.recorded,
                    questionnaire.version,
                    f"{event.platform}:{event.event_id}",
                    now,
                )
            )
        notices = tuple(m.text for m in result.messages if isinstance(m, Notice))
        asked: tuple[Message, ...] = ()
        if stakeholder_id is None or self.zone_unasked.get(stakeholder_id, True):
            asked = time_zones.after_step(self.session, header.id, state, result.run, now)
        self._reply(event, [*result.messages, *asked], header.id, now, notices)

    def _state_of(self, working: _Working) -> RunState:
        if working.state is None:
            if working.cached is None and working.document is not None:
                header = working.header
                working.cached = from_document(
                    header.id, working.version_id, header.created_at, working.document
                )
            if working.cached is None:
                raise LookupError(f"run {working.header.id} has no stored state")
            working.state = working.cached.state
        return working.state

    def _apologise(self, event: InboundEvent) -> None:
        sorry = Say(translate("error.sorry", event.language or "en"))
        self._reply(event, [sorry], None, self.handler.clock())

    def _reply(
        self,
        event: InboundEvent,
        messages: Sequence[Message],
        run_id: int | None,
        now: datetime,
        notices: tuple[str, ...] = (),
    ) -> None:
        payloads = [message_to_dict(m) for m in messages]
        self.pending[len(self.results)] = (len(self.replies), event, notices)
        self.replies.append(
            repository.OutboxBatch(event.platform, event.address, payloads, run_id, now)
        )
        self.results.append(None)

    def _write(self) -> None:
        """Write what the steps so far decided, and give their results their outbox ids."""
        repository.save_run_states(self.session, self.saves)
        repository.record_answers_many(self.session, self.answers)
        ids = repository.enqueue_batches(self.session, self.replies)
        for position, (reply, event, notices) in self.pending.items():
            self.results[position] = Handled(event, tuple(ids[reply]), notices=notices)
        self.saves, self.answers, self.replies, self.pending = [], [], [], {}
