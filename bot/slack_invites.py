"""`parley invite --channel slack`: open a DM with each roster member who is on Slack.

People are found by the Slack id in the roster, else by e-mail (`users.lookupByEmail`).
The consent messages go into the outbox here and are sent by the running `parley run`.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.starting import begin_run
from conversations.questionnaire import Questionnaire
from storage import repository
from storage.errors import IdentityTaken
from storage.models import Identity, Stakeholder

__all__ = ["invite_roster_on_slack"]


async def invite_roster_on_slack(
    session: Session, q: Questionnaire, token: str, api_url: str, now: datetime
) -> list[str]:
    """One line per person: invited, already invited, or why not."""
    client = AsyncWebClient(token=token, base_url=api_url)
    lines = []
    for person in session.scalars(select(Stakeholder).order_by(Stakeholder.id)).all():
        slack_id = _slack_id(session, person.id) or await _lookup(client, person.email)
        if slack_id is None:
            lines.append(f"{person.name}: not on Slack (no Slack id, e-mail not found)")
            continue
        try:
            if _slack_id(session, person.id) is None:
                repository.link_identity(session, person.id, "slack", slack_id, now=now)
        except IdentityTaken:
            lines.append(f"{person.name}: Slack account {slack_id} belongs to someone else")
            continue
        if repository.run_for(session, person.id, q.id) is not None:
            lines.append(f"{person.name}: already invited")
            continue
        begin_run(session, q, person.id, person.language, "slack", slack_id, now)
        lines.append(f"{person.name}: invited on Slack ({slack_id})")
    return lines


def _slack_id(session: Session, stakeholder_id: int) -> str | None:
    return session.scalars(
        select(Identity.external_id).where(
            Identity.stakeholder_id == stakeholder_id, Identity.platform == "slack"
        )
    ).first()


async def _lookup(client: AsyncWebClient, email: str | None) -> str | None:
    if not email:
        return None
    try:
        found = await client.users_lookupByEmail(email=email)
    except SlackApiError:
        return None
    return str((found.get("user") or {}).get("id") or "") or None
