"""Participants' rights in the handling transaction (#7): STOP, /mydata, /withdraw, consent.

`Handler` asks `exercise` first for every direct message that is not a group press. It
answers STOP, my data and withdrawal (and lifts a STOP on /start) in the same unit of
work as everything else, so a STOP that committed has cancelled what was pending, and an
erasure that committed is whole. `decide` is the engine's step with one addition: if the
consent text changed since the person agreed, they see it again before anything else,
and `record_consent` writes the ledger row for each agreement or decline a step makes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import groups
from bot.questionnaires import QuestionnaireBook
from conversations import consent, engine, rights
from conversations.catalog import translate
from conversations.inputs import Input
from conversations.messages import Attachment, Message, Say
from conversations.questionnaire import Questionnaire, WithdrawMode
from conversations.rights import Right
from conversations.run import RunState, RunStatus
from storage import consents, erasure, personal_data, repository, stopping
from storage.models import Run, Stakeholder

__all__ = ["Outcome", "decide", "exercise", "is_request", "record_consent"]

Draw = Callable[[int], bytes]
"""Random bytes for receipt codes (`secrets.token_bytes`; tests pass their own)."""


@dataclass(frozen=True)
class Outcome:
    """What a rights request came to: `reply` to send; `carry_on`: the engine speaks next
    (a STOP of an open run, which the engine closes; a /start after a STOP)."""

    reply: tuple[Message, ...] = ()
    carry_on: bool = False


def exercise(
    session: Session,
    book: QuestionnaireBook,
    platform: str,
    sender: str,
    given: Input,
    now: datetime,
    draw: Draw = secrets.token_bytes,
) -> Outcome | None:
    """Answer a rights request; None when `given` is none (the conversation's turn)."""
    wanted = rights.recognise(given)
    if wanted is None and not rights.is_restart(given):
        return None  # the usual case: no lookup
    person = repository.stakeholder_for_identity(session, platform, sender)
    if wanted is None:
        if person is not None and person.stopped_at is not None:
            stopping.restart(session, person.id)
            return Outcome((Say(translate("rights.restarted", person.language)),), True)
        return None
    language = person.language if person is not None else book.current.default_language
    if person is None:
        return Outcome((Say(translate("rights.nothing_stored", language)),))
    if wanted is Right.STOP:
        return _stop(session, book, person, now)
    if wanted is Right.MY_DATA:
        return Outcome((_my_data(session, person, now),))
    if wanted is Right.WITHDRAW:
        return Outcome(
            (rights.withdraw_question(_modes(session, book, person).values(), language),)
        )
    if wanted is Right.CANCEL_WITHDRAWAL:
        return Outcome((Say(translate("rights.withdraw_cancelled", language)),))
    return Outcome((_withdraw(session, book, person, platform, now, draw),))


def is_request(given: Input) -> bool:
    """STOP, my data, withdrawal or its buttons: never a plain turn of the conversation."""
    return rights.recognise(given) is not None


def _stop(session: Session, book: QuestionnaireBook, person: Stakeholder, now: datetime) -> Outcome:
    stopping.stop(session, person.id, now)
    run = repository.current_run(session, person.id, book.current.id)
    if run is not None and RunStatus(run.status).is_open:
        return Outcome(carry_on=True)  # the engine closes the run and says so
    return Outcome((Say(translate("rights.stopped", person.language)),))


def _my_data(session: Session, person: Stakeholder, now: datetime) -> Attachment:
    document = personal_data.everything_about(session, person.id, now)
    return Attachment(
        filename=f"my-data-{now:%Y-%m-%d}.json",
        media_type="application/json",
        content=json.dumps(document, ensure_ascii=False, indent=2, default=str),
        caption=translate("rights.my_data", person.language, when=f"{now:%Y-%m-%d %H:%M}"),
    )


def _modes(
    session: Session, book: QuestionnaireBook, person: Stakeholder
) -> dict[int, WithdrawMode]:
    """Each of their runs, and what its questionnaire says to do on withdrawal."""
    runs = session.execute(
        select(Run.id, Run.questionnaire_key, Run.questionnaire_version).where(
            Run.stakeholder_id == person.id
        )
    )
    modes = {int(i): book.get(session, key, version).on_withdraw for i, key, version in runs}
    return modes or {0: book.current.on_withdraw}


def _withdraw(
    session: Session,
    book: QuestionnaireBook,
    person: Stakeholder,
    platform: str,
    now: datetime,
    draw: Draw,
) -> Say:
    modes = _modes(session, book, person)
    code = _fresh_code(session, draw)
    language = person.language
    groups.release_places(session, person.id, now)  # before their RSVPs are erased
    erasure.withdraw(
        session,
        person.id,
        {run_id: mode.value for run_id, mode in modes.items()},
        code=code,
        channel=platform,
        now=now,
    )
    return rights.withdrawn(modes.values(), code, language)


def _fresh_code(session: Session, draw: Draw) -> str:
    """A receipt code not used before (40 random bits: a clash is rare; retried if so)."""
    for _ in range(8):
        code = rights.receipt_code(draw(5))
        if erasure.withdrawal_by_code(session, code) is None:
            return code
    raise RuntimeError("could not draw an unused receipt code in 8 tries")


# -- consent -----------------------------------------------------------------------------


def decide(
    current: Questionnaire, pinned: Questionnaire, state: RunState, given: Input, now: datetime
) -> tuple[engine.Step, str]:
    """The step for `given`, and the consent version the person was shown.

    Before anything else, someone who agreed to an older consent text (or would be shown
    one) sees the current one; their agreement or decline is the renewal.
    """
    if not consent.renewal_due(current, pinned.consent_version, state):
        return engine.step(pinned, state, given, now), pinned.consent_version
    version = current.consent_version
    answer = engine.consent_answer(given)
    if answer is None:
        return engine.Step(state, consent.ask_again(current, state.language)), version
    return consent.renewal(pinned, state, answer, version, now), version


def record_consent(
    session: Session,
    run_id: int,
    questionnaire_key: str,
    before: RunState,
    after: RunState,
    shown_version: str,
    channel: str,
    now: datetime,
    stakeholder_id: int | None = None,
) -> None:
    """A ledger row if the step agreed to or declined the consent text. `stakeholder_id`:
    the run's person, when the caller knows it (else it is read)."""
    decision = consent.decision_of(before, after, shown_version)
    if decision is None:
        return
    if stakeholder_id is None:
        stakeholder_id = session.execute(
            select(Run.stakeholder_id).where(Run.id == run_id)
        ).scalar_one()
    consents.record_decision(
        session,
        stakeholder_id=stakeholder_id,
        questionnaire_key=questionnaire_key,
        version=decision.version,
        decision=decision.verdict.value,
        language=decision.language,
        channel=channel,
        now=now,
    )
