"""The tables: what Parley remembers, so that a restart loses nothing and repeats nothing.

Rows are typed declarative classes. Timestamps are aware UTC (`UTCDateTime`); JSON
columns hold versioned plain data (`RunState.to_dict()`, a questionnaire's source mapping,
an outgoing message), never pickles or platform objects. Constraint names follow one
convention so migrations can name them on every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from conversations.run import RunStatus
from storage.types import UTCDateTime, json_document

__all__ = [
    "ANSWER_STATES",
    "CONSENT_DECISIONS",
    "DIGEST_STATUSES",
    "GROUP_RESPONSES",
    "GROUP_SEND_KINDS",
    "GROUP_STATUSES",
    "OPEN_STATUSES",
    "OUTBOX_STATUSES",
    "POLL_CHOICES",
    "POLL_STATUSES",
    "ROLES",
    "ROLE_SOURCES",
    "SCHEDULED_SEND_KINDS",
    "SCHEDULED_SEND_STATUSES",
    "Answer",
    "AnswerChange",
    "AuditEntry",
    "Base",
    "Consent",
    "Digest",
    "DiscussionGroup",
    "Followup",
    "GroupInvitee",
    "Identity",
    "InstanceSecret",
    "Invite",
    "MessageRef",
    "OutboxRow",
    "PollInvitee",
    "PollSlot",
    "PollVote",
    "ReceivedEvent",
    "RoleGrant",
    "RoleHolder",
    "Run",
    "ScheduledSend",
    "SchedulingPoll",
    "Stakeholder",
    "StoredQuestionnaire",
    "Withdrawal",
]

ANSWER_STATES = ("answered", "skipped", "not_applicable")
"""The values of `conversations.run.AnswerState`, frozen here as the schema's CHECK."""

OUTBOX_STATUSES = ("pending", "sent", "failed", "cancelled")
"""`cancelled` (#7): pending when its recipient stopped or withdrew, so never sent."""

OPEN_STATUSES = (
    RunStatus.INVITED.value,
    *(status.value for status in RunStatus if status.is_open),
)
"""Run statuses that still expect answers: not yet opened, or open (`RunStatus.is_open`)."""

GROUP_SEND_KINDS = ("group_invite", "group_reminder", "poll_invite")
"""Discussion-group sends (#5): an invitation, a T-24h/T-1h reminder, a find-a-time poll."""
SCHEDULED_SEND_KINDS = ("followup", "nudge", *GROUP_SEND_KINDS)
SCHEDULED_SEND_STATUSES = ("pending", "done", "missed", "cancelled")

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""64-bit ids for the tables that grow with traffic; SQLite needs INTEGER for its rowid."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: json_document(),
    }


class Stakeholder(Base):
    """A person we engage, independent of the platforms they use."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation: Mapped[str | None] = mapped_column(sa.String(200))
    organisation_type: Mapped[str | None] = mapped_column(sa.String(100))
    region: Mapped[str | None] = mapped_column(sa.String(100))
    language: Mapped[str] = mapped_column(sa.String(16))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    time_zone_asked_at: Mapped[datetime | None]
    """When they were asked their zone (#5): set once, by a guarded UPDATE, so never twice."""
    stopped_at: Mapped[datetime | None]
    """Set by STOP (#7), cleared by /start: while set, nothing but replies is sent to them."""
    withdrawn_at: Mapped[datetime | None]
    """Set by a confirmed /withdraw (#7); their answers were erased or detached then."""


class Identity(Base):
    """One platform account of a stakeholder: a person can start on Slack and end on Telegram."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class StoredQuestionnaire(Base):
    """A questionnaire version as loaded: runs resume against exactly this definition."""

    __tablename__ = "questionnaires"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128))
    version: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(sa.String(128))
    loaded_at: Mapped[datetime]


class Run(Base):
    """One stakeholder's progress through one questionnaire in one wave.

    `version_id` is SQLAlchemy's optimistic lock: a save whose version was overtaken by
    another transaction raises `StaleDataError` instead of overwriting it.
    """

    __tablename__ = "runs"
    __table_args__ = (sa.UniqueConstraint("stakeholder_id", "questionnaire_key", "wave"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    questionnaire_key: Mapped[str] = mapped_column(sa.String(128))
    questionnaire_version: Mapped[str] = mapped_column(sa.String(64))
    wave: Mapped[str] = mapped_column(sa.String(64), default="main", server_default="main")
    status: Mapped[str] = mapped_column(sa.String(32))
    state: Mapped[dict[str, Any]]
    version_id: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version_id}


class Answer(Base):
    """The current answer to one item of one run (its changes live in `answer_history`)."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "item_id"),
        sa.CheckConstraint(_in("state", ANSWER_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"))
    item_id: Mapped[str] = mapped_column(sa.String(128))
    raw: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[Any] = mapped_column(json_document(), nullable=True)
    display: Mapped[str] = mapped_column(sa.Text)
    other_text: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(16))
    questionnaire_version: Mapped[str] = mapped_column(sa.String(64))
    answered_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AnswerChange(Base):
    """Every answer ever recorded, append-only: the audit trail behind `answers`."""

    __tablename__ = "answer_history"
    __table_args__ = (
        sa.Index(None, "run_id", "item_id"),
        sa.CheckConstraint(_in("state", ANSWER_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"))
    item_id: Mapped[str] = mapped_column(sa.String(128))
    raw: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[Any] = mapped_column(json_document(), nullable=True)
    display: Mapped[str] = mapped_column(sa.Text)
    other_text: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(16))
    questionnaire_version: Mapped[str] = mapped_column(sa.String(64))
    answered_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    event_id: Mapped[str | None] = mapped_column(sa.String(200))


class ReceivedEvent(Base):
    """An inbound platform event id, kept so a redelivery does nothing twice."""

    __tablename__ = "inbound_events"
    __table_args__ = (sa.UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    event_id: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime]


class OutboxRow(Base):
    """A message to send, written in the same transaction as the state that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        *(
            sa.Index(
                f"ix_outbox_{status}",
                "id",
                postgresql_where=sa.text(f"status = '{status}'"),
                sqlite_where=sa.text(f"status = '{status}'"),
            )
            for status in ("pending", "failed")
        ),
        sa.CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("runs.id"))
    claimed_until: Mapped[datetime | None]
    """While in the future, a dispatcher (`claimed_by`) is sending the row: others skip it."""
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))


class Invite(Base):
    """A single-use invitation: only the token's hash is kept, so a database leak reveals none."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MessageRef(Base):
    """The platform id of the message that asked `item_id` in a chat, to rewrite it later.

    After an answer, a channel that can edit turns the question into a transcript line
    (answer shown, buttons gone); toggled checkboxes are redrawn in the same message.
    """

    __tablename__ = "message_refs"
    __table_args__ = (sa.UniqueConstraint("channel", "address", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(200))
    item_id: Mapped[str] = mapped_column(sa.String(128))
    message_id: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime]
    asked_by: Mapped[int | None] = mapped_column(sa.BigInteger)
    """The outbox row that asked it: a rewrite enqueued before that row (the earlier
    asking's answer, put off) must not hit this newer question."""


class Followup(Base):
    """A researcher's follow-up check-in: which questionnaire, to whom, when (#5).

    `cohort` and `schedule` are plain JSON (see `bot.scheduling`); the sends themselves
    are `ScheduledSend` rows, one per stakeholder and occurrence.
    """

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_key: Mapped[str] = mapped_column(sa.String(128))
    questionnaire_version: Mapped[str] = mapped_column(sa.String(64))
    wave: Mapped[str] = mapped_column(sa.String(40))
    cohort: Mapped[dict[str, Any]]
    schedule: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(sa.String(200))


class ScheduledSend(Base):
    """One thing to send at a time: a row first; the scheduler's job only wakes it up.

    `ref_id` is the follow-up's id (kind 'followup') or the run's (kind 'nudge');
    `number` is the occurrence of a series or the nudge's count, so the unique key makes
    creating the same send twice impossible.
    """

    __tablename__ = "scheduled_sends"
    __table_args__ = (
        sa.UniqueConstraint("kind", "ref_id", "stakeholder_id", "number"),
        sa.Index(None, "status", "due_at"),
        sa.CheckConstraint(_in("kind", SCHEDULED_SEND_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", SCHEDULED_SEND_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    ref_id: Mapped[int] = mapped_column(sa.Integer)
    number: Mapped[int] = mapped_column(sa.Integer)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


# -- discussion groups (#5) -------------------------------------------------------------

GROUP_STATUSES = ("scheduled", "cancelled")
GROUP_RESPONSES = ("none", "yes", "maybe", "no", "waitlisted")
"""An invitee's answer; `waitlisted` is a Yes that came when the session was full."""
POLL_STATUSES = ("open", "confirmed", "cancelled")
POLL_CHOICES = ("yes", "maybe")


class DiscussionGroup(Base):
    """A researcher's discussion session: when, where, how many; invitees are rows below.

    `sequence` is the calendar revision (RFC 5546 SEQUENCE): each reschedule bumps it, so
    calendars replace the entry, and the reminder rows of a revision are told apart.
    `capacity` None means no limit.
    """

    __tablename__ = "discussion_groups"
    __table_args__ = (sa.CheckConstraint(_in("status", GROUP_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    start_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(sa.Integer)
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    location: Mapped[str] = mapped_column(sa.String(500))
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="scheduled")
    sequence: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    poll_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class GroupInvitee(Base):
    """One invitee of a group and their RSVP; `updated_at` orders the waitlist."""

    __tablename__ = "group_invitees"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "stakeholder_id"),
        sa.CheckConstraint(_in("response", GROUP_RESPONSES), name="response"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("discussion_groups.id"))
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    response: Mapped[str] = mapped_column(sa.String(16), server_default="none")
    updated_at: Mapped[datetime]


class SchedulingPoll(Base):
    """Find a time: a group to be, offered as 2-6 candidate slots; confirmed into a group."""

    __tablename__ = "group_polls"
    __table_args__ = (sa.CheckConstraint(_in("status", POLL_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    duration_minutes: Mapped[int] = mapped_column(sa.Integer)
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    location: Mapped[str] = mapped_column(sa.String(500))
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="open")
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("discussion_groups.id"))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class PollSlot(Base):
    """A candidate start; `number` (1-6) is what buttons and `poll confirm` name."""

    __tablename__ = "group_poll_slots"
    __table_args__ = (sa.UniqueConstraint("poll_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("group_polls.id"))
    number: Mapped[int] = mapped_column(sa.Integer)
    start_at: Mapped[datetime]


class PollInvitee(Base):
    """Who was asked; `submitted_at` is set when they pressed Done."""

    __tablename__ = "group_poll_invitees"
    __table_args__ = (sa.UniqueConstraint("poll_id", "stakeholder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("group_polls.id"))
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    submitted_at: Mapped[datetime | None]


class PollVote(Base):
    """A slot that works for an invitee: `yes`, or `maybe` (if need be)."""

    __tablename__ = "group_poll_votes"
    __table_args__ = (
        sa.UniqueConstraint("poll_id", "stakeholder_id", "slot_number"),
        sa.CheckConstraint(_in("choice", POLL_CHOICES), name="choice"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("group_polls.id"))
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"))
    slot_number: Mapped[int] = mapped_column(sa.Integer)
    choice: Mapped[str] = mapped_column(sa.String(8))
    updated_at: Mapped[datetime]


# -- digest schedule (#5, #6) -----------------------------------------------------------

DIGEST_STATUSES = ("done", "missed", "started", "requested", "on_demand")
"""`done`: posted; `missed`: too late to post; `started`: not an occurrence but the instant
the schedule was first seen (earlier occurrences were never expected); `requested`: an
on-demand digest asked for in chat, not built yet; `on_demand`: one posted outside the
schedule (migration 0007)."""


class Digest(Base):
    """One occurrence of the digest schedule, handled: a row per `due_at`, never two.

    Occurrences follow from the setting, so a future one has no row; the unique `due_at`
    is what makes a second wake of the same occurrence (another process, a retried job)
    post nothing. `channel`/`address` say where it was posted (None when it was not);
    `summary` holds the numbers the digest showed, for the next "since last digest".
    """

    __tablename__ = "digests"
    __table_args__ = (sa.CheckConstraint(_in("status", DIGEST_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    due_at: Mapped[datetime] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    handled_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    summary: Mapped[dict[str, Any] | None]
    language: Mapped[str | None] = mapped_column(sa.String(8))
    """The language the digest is written in (None for rows that post nothing)."""


# -- exports (#6) -----------------------------------------------------------------------


class InstanceSecret(Base):
    """A random secret of this database, by name; `pseudonym_key` keys export pseudonyms.

    Made by migration 0006 (`storage.instance_secrets` makes one for a database built
    without migrations). Kept in the database
    rather than a setting so that pseudonyms stay the same wherever the data is exported
    from, and do not survive a copy of the settings onto another study's database.
    """

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]


# -- consent and data rights (#7) -------------------------------------------------------

CONSENT_DECISIONS = ("agreed", "declined")


class Consent(Base):
    """One agreement to, or decline of, a questionnaire's consent text: the consent ledger.

    `consent_version` is the text's version: a newer text means those who agreed to an
    older one are asked again before they continue.
    """

    __tablename__ = "consents"
    __table_args__ = (sa.CheckConstraint(_in("decision", CONSENT_DECISIONS), name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(sa.ForeignKey("stakeholders.id"), index=True)
    questionnaire_key: Mapped[str] = mapped_column(sa.String(128))
    consent_version: Mapped[int] = mapped_column(sa.Integer)
    decision: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(32))
    recorded_at: Mapped[datetime]


class Withdrawal(Base):
    """The receipt of a withdrawal: a code to quote, when, and what was erased.

    Deliberately without a stakeholder id or anything personal: `erased` holds counts and
    the mode applied per questionnaire, so a researcher can confirm the erasure happened
    without the receipt leading back to the person.
    """

    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    withdrawn_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(sa.String(32))
    erased: Mapped[dict[str, Any]]


# -- roles and audit (#7) ---------------------------------------------------------------

ROLES = ("researcher", "admin")
"""`researcher` runs researcher commands; `admin` also manages who holds a role."""
ROLE_SOURCES = ("cli", "settings", "chat")
"""Where a grant came from: `parley role grant`, `PARLEY_RESEARCHERS` at start-up, `/role`."""


class RoleGrant(Base):
    """A role held by one platform account (`slack:U0123`, `telegram:11`).

    Keyed by the account rather than by a stakeholder: a researcher need not be on the
    roster. The check before a researcher command is one lookup by the unique key.
    """

    __tablename__ = "role_grants"
    __table_args__ = (
        sa.UniqueConstraint("platform", "external_id", "role"),
        sa.CheckConstraint(_in("role", ROLES), name="role"),
        sa.CheckConstraint(_in("source", ROLE_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    source: Mapped[str] = mapped_column(sa.String(16))
    granted_by: Mapped[str] = mapped_column(sa.String(200))
    granted_at: Mapped[datetime]


class AuditEntry(Base):
    """One researcher action, append-only: who, what, when, from which channel.

    `actor` is a platform account (`slack:U0123`) or `cli:<os user>`; `details` holds the
    action's arguments as ids and counts, never a stakeholder's name or answers. Written in
    the transaction of the action itself, so an action rolled back leaves no row.
    """

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index(None, "at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]]


class RoleHolder(Base):
    """Who holds an elected role (`scheduler`, `dispatcher:slack`), for operators to see.

    The advisory lock decides (`bot.leader`); this row only reports, with a heartbeat the
    holder renews while it leads. A row whose heartbeat is old belongs to a dead holder.
    """

    __tablename__ = "role_holders"

    role: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    since: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
