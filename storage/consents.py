"""The consent ledger (#7): one row per agreement to, or decline of, a consent text.

Rows are only added: renewing an agreement after the text changed is a new row, so the
ledger shows what each person agreed to, in which language, when and where.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Consent

__all__ = ["consents_of", "latest_decision", "record_decision"]


def record_decision(
    session: Session,
    *,
    stakeholder_id: int,
    questionnaire_key: str,
    version: str,
    decision: str,
    language: str,
    channel: str,
    now: datetime,
) -> Consent:
    """Add one ledger row; `version` is the questionnaire's whole-number consent version."""
    row = Consent(
        stakeholder_id=stakeholder_id,
        questionnaire_key=questionnaire_key,
        consent_version=int(version),
        decision=decision,
        language=language,
        channel=channel,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def consents_of(session: Session, stakeholder_id: int) -> list[Consent]:
    """A person's ledger rows, oldest first."""
    statement = select(Consent).where(Consent.stakeholder_id == stakeholder_id).order_by(Consent.id)
    return list(session.scalars(statement))


def latest_decision(
    session: Session, stakeholder_id: int, questionnaire_key: str
) -> Consent | None:
    """Their most recent agreement or decline for one questionnaire."""
    statement = (
        select(Consent)
        .where(Consent.stakeholder_id == stakeholder_id)
        .where(Consent.questionnaire_key == questionnaire_key)
        .order_by(Consent.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()
