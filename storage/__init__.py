"""Storage: the only package that defines tables, sessions and queries.

The composition root builds an engine with `make_engine(url)`, brings its schema up to
date with `ensure_schema(engine)`, and hands `make_session_factory(engine)` to whoever
needs a `UnitOfWork`. Repository functions take that unit of work's session; they never
commit. Importing this package connects to nothing.
"""

from __future__ import annotations

from storage.db import SQLITE_BEGIN_OPTION, make_engine, make_session_factory
from storage.errors import (
    DatabaseNewerThanCode,
    IdentityTaken,
    QuestionnaireChanged,
    StaleDataError,
    StorageError,
    UnsupportedDatabase,
)
from storage.migrate import current_revision, ensure_schema, head_revision, upgrade
from storage.models import (
    Answer,
    AnswerChange,
    Identity,
    OutboxRow,
    ReceivedEvent,
    Run,
    Stakeholder,
    StoredQuestionnaire,
)
from storage.repository import (
    answer_history_for_run,
    answers_for_run,
    claim_outbox,
    create_run,
    create_stakeholder,
    due_outbox,
    enqueue,
    enqueue_many,
    identities_of,
    link_identity,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_many,
    outbox_counts,
    questionnaire_definition,
    record_answers,
    record_inbound,
    run_for,
    save_run_state,
    stakeholder_for_identity,
    store_questionnaire,
)
from storage.unit_of_work import UnitOfWork

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "Answer",
    "AnswerChange",
    "DatabaseNewerThanCode",
    "Identity",
    "IdentityTaken",
    "OutboxRow",
    "QuestionnaireChanged",
    "ReceivedEvent",
    "Run",
    "Stakeholder",
    "StaleDataError",
    "StorageError",
    "StoredQuestionnaire",
    "UnitOfWork",
    "UnsupportedDatabase",
    "answer_history_for_run",
    "answers_for_run",
    "claim_outbox",
    "create_run",
    "create_stakeholder",
    "current_revision",
    "due_outbox",
    "enqueue",
    "enqueue_many",
    "ensure_schema",
    "head_revision",
    "identities_of",
    "link_identity",
    "make_engine",
    "make_session_factory",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "outbox_counts",
    "questionnaire_definition",
    "record_answers",
    "record_inbound",
    "run_for",
    "save_run_state",
    "stakeholder_for_identity",
    "store_questionnaire",
    "upgrade",
]
