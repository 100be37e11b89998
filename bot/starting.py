"""Starting a conversation the person did not open: an invitation on Slack, later a follow-up.

The run and its first messages (consent) are written in the caller's transaction, so the
dispatcher sends them only once that commits, like any other reply.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from conversations import engine
from conversations.messages import message_to_dict
from conversations.questionnaire import Questionnaire
from storage import repository
from storage.models import Run

__all__ = ["begin_run", "invite_on_slack"]


def begin_run(
    session: Session,
    q: Questionnaire,
    stakeholder_id: int,
    language: str | None,
    platform: str,
    address: str,
    now: datetime,
    *,
    wave: str = "main",
    not_before: datetime | None = None,
) -> tuple[Run, tuple[int, ...]]:
    """Create the run (asking consent) and queue its first messages to `address`.

    A follow-up passes its `wave` (each wave is its own run) and a `not_before` outside
    the stakeholder's quiet hours.
    """
    step = engine.start(q, language, now)
    run = repository.create_run(
        session,
        stakeholder_id=stakeholder_id,
        questionnaire_key=q.id,
        questionnaire_version=q.version,
        state=step.run.to_dict(),
        status=step.run.status.value,
        wave=wave,
        now=now,
    )
    payloads = [message_to_dict(m) for m in step.messages]
    ids = repository.enqueue_many(
        session, platform, address, payloads, run_id=run.id, not_before=not_before, now=now
    )
    return run, tuple(ids)


def invite_on_slack(
    session: Session, q: Questionnaire, slack_user: str, now: datetime, name: str | None = None
) -> bool:
    """Open a DM with `slack_user` and ask for consent; False if they already have a run
    or have stopped messages from the study."""
    person = repository.stakeholder_for_identity(session, "slack", slack_user)
    if person is None:
        person = repository.create_stakeholder(
            session, name=name or slack_user, language=q.default_language, now=now
        )
        repository.link_identity(session, person.id, "slack", slack_user, name, now=now)
    if repository.run_for(session, person.id, q.id) is not None or person.stopped_at is not None:
        return False  # started already, or stopped messages (STOP, a withdrawal: #7)
    begin_run(session, q, person.id, person.language, "slack", slack_user, now)
    return True
