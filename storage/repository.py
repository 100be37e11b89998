"""Queries named for what they mean: who someone is, which run they are on, what was seen.

Plain functions taking the caller's `Session` first. None of them commits (the unit of
work does) and none opens a session of its own. Some flush, so that ids exist and so
that an optimistic-lock conflict surfaces where the caller can retry it.

Answers, the outbox and the batched hot path of the handler have modules of their own
(`storage.answers`, `storage.outbox`, `storage.turns`); they are re-exported here so
that `storage.repository` is the one place to look.

Functions that create rows take `now`; where it defaults to None, the current UTC time
is used (convenient for administrative paths like roster imports; tests pass it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.run import RunStatus
from storage.answers import (
    AnswerRecord,
    answer_history_for_run,
    answers_for_run,
    record_answers,
    record_answers_many,
)
from storage.errors import IdentityTaken, QuestionnaireChanged
from storage.models import (
    OPEN_STATUSES,
    Identity,
    ReceivedEvent,
    Run,
    Stakeholder,
    StoredQuestionnaire,
)
from storage.outbox import (
    OutboxBatch,
    claim_outbox,
    due_outbox,
    enqueue,
    enqueue_batches,
    enqueue_many,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_many,
    outbox_counts,
    waiting_for_retry,
)
from storage.turns import (
    Participant,
    RunHeader,
    RunSave,
    enrol,
    participants,
    record_inbound_many,
    run_states,
    save_run_states,
    start_run,
)
from storage.upsert import insert_for, table_of

__all__ = [
    "AnswerRecord",
    "OutboxBatch",
    "Participant",
    "RunHeader",
    "RunSave",
    "answer_history_for_run",
    "answers_for_run",
    "claim_outbox",
    "create_run",
    "create_stakeholder",
    "due_outbox",
    "enqueue",
    "enqueue_batches",
    "enqueue_many",
    "enrol",
    "identities_of",
    "link_identity",
    "lock_runs_of_identity",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "outbox_counts",
    "participants",
    "questionnaire_definition",
    "record_answers",
    "record_answers_many",
    "record_inbound",
    "record_inbound_many",
    "run_for",
    "run_states",
    "save_run_state",
    "save_run_states",
    "stakeholder_for_identity",
    "start_run",
    "store_questionnaire",
    "waiting_for_retry",
]


def record_inbound(session: Session, platform: str, event_id: str, received_at: datetime) -> bool:
    """Remember an inbound event id; False means it was seen before and must not be handled.

    ON CONFLICT DO NOTHING rather than catching an IntegrityError: on PostgreSQL a failed
    INSERT would abort the transaction, and with it everything else this event did.
    """
    table = table_of(ReceivedEvent)
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(table.c.id)
    )
    row = {"platform": platform, "event_id": event_id, "received_at": received_at}
    return session.execute(statement, row).first() is not None


# -- people ---------------------------------------------------------------------------


def create_stakeholder(
    session: Session,
    *,
    name: str,
    language: str,
    time_zone: str = "UTC",
    organisation: str | None = None,
    organisation_type: str | None = None,
    region: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> Stakeholder:
    """Add a stakeholder; flushed, so `.id` is set."""
    stakeholder = Stakeholder(
        name=name,
        language=language,
        time_zone=time_zone,
        organisation=organisation,
        organisation_type=organisation_type,
        region=region,
        email=email,
        created_at=now or _utcnow(),
    )
    session.add(stakeholder)
    session.flush()
    return stakeholder


def link_identity(
    session: Session,
    stakeholder_id: int,
    platform: str,
    external_id: str,
    display_name: str | None = None,
    *,
    now: datetime | None = None,
) -> Identity:
    """Link a platform account to a stakeholder; linking it again to the same one is a no-op.

    Raises `IdentityTaken` if the account already belongs to another stakeholder: moving
    it silently would hand one person's run to another.
    """
    identity = _identity(session, platform, external_id)
    if identity is None:
        identity = Identity(
            stakeholder_id=stakeholder_id,
            platform=platform,
            external_id=external_id,
            display_name=display_name,
            created_at=now or _utcnow(),
        )
        session.add(identity)
        session.flush()
        return identity
    if identity.stakeholder_id != stakeholder_id:
        raise IdentityTaken(platform, external_id, identity.stakeholder_id)
    if display_name is not None:
        identity.display_name = display_name
    return identity


def stakeholder_for_identity(
    session: Session, platform: str, external_id: str
) -> Stakeholder | None:
    """Who is behind a platform account, if we know them."""
    statement = (
        select(Stakeholder)
        .join(Identity, Identity.stakeholder_id == Stakeholder.id)
        .where(Identity.platform == platform, Identity.external_id == external_id)
    )
    return session.scalars(statement).one_or_none()


def lock_runs_of_identity(session: Session, platform: str, external_id: str) -> None:
    """Lock the runs of whoever is behind this account until the transaction ends.

    Turns are optimistic (a run's `version_id`); this is the pessimistic second try after
    another process saved the same run first (#8): waiting for its lock here means the
    retry reads the run as the other transaction left it and cannot lose again. SQLite
    has one writer at a time, so there it is a no-op.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    statement = (
        select(Run.id)
        .join(Identity, Identity.stakeholder_id == Run.stakeholder_id)
        .where(Identity.platform == platform, Identity.external_id == external_id)
        .order_by(Run.id)
        .with_for_update(of=Run)
    )
    session.execute(statement).all()


def identities_of(session: Session, stakeholder_id: int) -> list[Identity]:
    """A stakeholder's platform accounts, oldest first (where to reach them)."""
    statement = (
        select(Identity).where(Identity.stakeholder_id == stakeholder_id).order_by(Identity.id)
    )
    return list(session.scalars(statement))


def _identity(session: Session, platform: str, external_id: str) -> Identity | None:
    statement = select(Identity).where(
        Identity.platform == platform, Identity.external_id == external_id
    )
    return session.scalars(statement).one_or_none()


# -- questionnaires -------------------------------------------------------------------


def store_questionnaire(
    session: Session,
    key: str,
    version: str,
    definition: Mapping[str, Any],
    checksum: str,
    *,
    now: datetime | None = None,
) -> StoredQuestionnaire:
    """Keep a questionnaire version; storing the same content again is a no-op.

    Raises `QuestionnaireChanged` when the key and version exist with another checksum.
    The insert tolerates a concurrent loader of the same version (ON CONFLICT DO NOTHING).
    """
    statement = (
        insert_for(session, table_of(StoredQuestionnaire))
        .values(
            key=key,
            version=version,
            definition=dict(definition),
            checksum=checksum,
            loaded_at=now or _utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key", "version"])
    )
    session.execute(statement)
    stored = session.scalars(
        select(StoredQuestionnaire).where(
            StoredQuestionnaire.key == key, StoredQuestionnaire.version == version
        )
    ).one()
    if stored.checksum != checksum:
        raise QuestionnaireChanged(key, version, stored.checksum, checksum)
    return stored


def questionnaire_definition(session: Session, key: str, version: str) -> dict[str, Any] | None:
    """The stored source mapping of a questionnaire version, or None if never stored."""
    statement = select(StoredQuestionnaire.definition).where(
        StoredQuestionnaire.key == key, StoredQuestionnaire.version == version
    )
    return session.scalars(statement).one_or_none()


# -- runs -----------------------------------------------------------------------------


def run_for(
    session: Session, stakeholder_id: int, questionnaire_key: str, wave: str = "main"
) -> Run | None:
    """The stakeholder's run of a questionnaire in a wave, if it was started."""
    statement = select(Run).where(
        Run.stakeholder_id == stakeholder_id,
        Run.questionnaire_key == questionnaire_key,
        Run.wave == wave,
    )
    return session.scalars(statement).one_or_none()


def current_run(session: Session, stakeholder_id: int, questionnaire_key: str) -> Run | None:
    """The run a message from this person continues: their newest open follow-up (another
    wave, started by the scheduler), else their run of the main questionnaire."""
    follow_up = session.scalars(
        select(Run)
        .where(
            Run.stakeholder_id == stakeholder_id,
            Run.wave != "main",
            Run.status.in_(OPEN_STATUSES),
        )
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
    ).first()
    return follow_up or run_for(session, stakeholder_id, questionnaire_key)


def create_run(
    session: Session,
    *,
    stakeholder_id: int,
    questionnaire_key: str,
    questionnaire_version: str,
    state: Mapping[str, Any],
    status: str,
    wave: str = "main",
    now: datetime | None = None,
) -> Run:
    """Start a run; flushed, so `.id` is set.

    A concurrent start of the same (stakeholder, questionnaire, wave) fails at this flush
    with an IntegrityError; the caller retries its event and then finds the run.
    """
    moment = now or _utcnow()
    run = Run(
        stakeholder_id=stakeholder_id,
        questionnaire_key=questionnaire_key,
        questionnaire_version=questionnaire_version,
        wave=wave,
        status=status,
        state=dict(state),
        created_at=moment,
        updated_at=moment,
        completed_at=moment if status == RunStatus.COMPLETED else None,
    )
    session.add(run)
    session.flush()
    return run


def save_run_state(
    session: Session, run: Run, state: Mapping[str, Any], status: str, now: datetime
) -> None:
    """Store a run's new state; raises `StaleDataError` if another transaction saved it first.

    The run may have been loaded in an earlier transaction: it is (re)attached here, and
    its `version_id` is what the UPDATE checks. Flushed, so the conflict surfaces in this
    call, where the caller can roll back and retry from fresh state.
    """
    session.add(run)
    run.state = dict(state)
    run.status = status
    run.updated_at = now
    if status == RunStatus.COMPLETED and run.completed_at is None:
        run.completed_at = now
    session.flush()


def _utcnow() -> datetime:
    return datetime.now(UTC)
