"""A check-in follow-up with scheduled sends, written as the CLI writes one: shared by
the tests that need scheduled work in the database (leader election, notices)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from storage import schedules
from storage.schedules import NewSend

__all__ = ["schedule_check_in"]


def schedule_check_in(session: Session, due: Iterable[tuple[int, datetime]], now: datetime) -> int:
    """A follow-up of the check-in questionnaire, with one send per (stakeholder id, due
    time); returns how many sends were made."""
    followup = schedules.create_followup(
        session,
        questionnaire_key="check-in",
        questionnaire_version="1",
        wave="check-in",
        cohort={"type": "all"},
        schedule={"type": "at", "date": "2027-01-15", "time": "10:00"},
        created_by="test",
        now=now,
    )
    sends = [NewSend("followup", person, followup.id, 1, when) for person, when in due]
    return len(schedules.schedule_sends(session, sends, now))
