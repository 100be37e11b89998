"""Everything stored about one person, as plain JSON-ready data: what `/mydata` sends (#7).

Each row is dumped column by column (`_columns`), so a column added to a table later is
in the file without anyone remembering to add it here. Only keys that are ours and mean
nothing to the person are left out (row ids, foreign keys, the invitation token's hash).
Messages sent to them are listed by kind and time: their texts are the questions, and
their own words are already under `answers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Session

from storage.consents import consents_of
from storage.models import (
    Answer,
    AnswerChange,
    DiscussionGroup,
    GroupInvitee,
    Identity,
    Invite,
    OutboxRow,
    PollInvitee,
    PollSlot,
    PollVote,
    Run,
    ScheduledSend,
    SchedulingPoll,
    Stakeholder,
)
from storage.stopping import to_person

__all__ = ["FORMAT", "everything_about"]

FORMAT = "parley-my-data/1"
"""The file's own version, so a reader can tell what it holds."""

_HIDDEN = {"id", "stakeholder_id", "run_id", "token_hash", "group_id", "poll_id", "ref_id"}


def everything_about(session: Session, stakeholder_id: int, now: datetime) -> dict[str, Any]:
    """The person's profile, accounts, answers with times and history, consents,
    scheduled items, discussion-group replies, poll votes, invitations and messages."""
    person = session.get_one(Stakeholder, stakeholder_id)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "profile": _columns(person),
        "identities": _all(session, select(Identity).where(Identity.stakeholder_id == person.id)),
        "runs": [_run(session, run) for run in _runs(session, person.id)],
        "consents": [_columns(row) for row in consents_of(session, person.id)],
        "scheduled": _all(
            session, select(ScheduledSend).where(ScheduledSend.stakeholder_id == person.id)
        ),
        "discussion_groups": _groups(session, person.id),
        "polls": _polls(session, person.id),
        "invitations": _all(session, select(Invite).where(Invite.stakeholder_id == person.id)),
        "messages": _messages(session, person.id),
    }


def _runs(session: Session, stakeholder_id: int) -> list[Run]:
    statement = select(Run).where(Run.stakeholder_id == stakeholder_id).order_by(Run.id)
    return list(session.scalars(statement))


def _run(session: Session, run: Run) -> dict[str, Any]:
    state = run.state
    described = _columns(run, hide={"state", "version_id"})
    described["language"] = state.get("language")
    described["consent_version"] = state.get("consent_version")
    described["answers"] = _all(
        session, select(Answer).where(Answer.run_id == run.id).order_by(Answer.id)
    )
    described["answer_history"] = _all(
        session, select(AnswerChange).where(AnswerChange.run_id == run.id).order_by(AnswerChange.id)
    )
    return described


def _groups(session: Session, stakeholder_id: int) -> list[dict[str, Any]]:
    statement = (
        select(GroupInvitee, DiscussionGroup)
        .join(DiscussionGroup, DiscussionGroup.id == GroupInvitee.group_id)
        .where(GroupInvitee.stakeholder_id == stakeholder_id)
        .order_by(GroupInvitee.id)
    )
    return [
        {
            "title": group.title,
            "start_at": group.start_at.isoformat(),
            "location": group.location,
            "status": group.status,
            "response": invitee.response,
            "updated_at": invitee.updated_at.isoformat(),
        }
        for invitee, group in session.execute(statement)
    ]


def _polls(session: Session, stakeholder_id: int) -> list[dict[str, Any]]:
    statement = (
        select(PollInvitee, SchedulingPoll)
        .join(SchedulingPoll, SchedulingPoll.id == PollInvitee.poll_id)
        .where(PollInvitee.stakeholder_id == stakeholder_id)
        .order_by(PollInvitee.id)
    )
    polls = []
    for invitee, poll in session.execute(statement):
        votes = session.execute(
            select(PollVote, PollSlot)
            .join(
                PollSlot,
                (PollSlot.poll_id == PollVote.poll_id) & (PollSlot.number == PollVote.slot_number),
            )
            .where(PollVote.poll_id == poll.id, PollVote.stakeholder_id == stakeholder_id)
            .order_by(PollVote.slot_number)
        )
        polls.append(
            {
                "title": poll.title,
                "status": poll.status,
                "submitted_at": _plain(invitee.submitted_at),
                "votes": [
                    {
                        "start_at": slot.start_at.isoformat(),
                        "choice": vote.choice,
                        "updated_at": vote.updated_at.isoformat(),
                    }
                    for vote, slot in votes
                ],
            }
        )
    return polls


def _messages(session: Session, stakeholder_id: int) -> list[dict[str, Any]]:
    statement = select(OutboxRow).where(to_person(session, stakeholder_id)).order_by(OutboxRow.id)
    return [
        {
            "channel": row.channel,
            "kind": row.payload.get("kind"),
            "status": row.status,
            "created_at": row.created_at.isoformat(),
            "sent_at": _plain(row.sent_at),
        }
        for row in session.scalars(statement)
    ]


def _all(session: Session, statement: Any) -> list[dict[str, Any]]:
    rows: Iterable[DeclarativeBase] = session.scalars(statement)
    return [_columns(row) for row in rows]


def _columns(row: DeclarativeBase, hide: set[str] | None = None) -> dict[str, Any]:
    hidden = _HIDDEN | (hide or set())
    return {
        column.key: _plain(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in hidden
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
