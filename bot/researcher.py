"""Researcher commands, parsed once for every channel, answered from the database.

Only identities with the researcher role may run them; everyone else is refused
politely and nothing runs. Scheduling commands (`/followup`, `/group`) live in
`bot.researcher_commands`; this module routes to them and lists them all in `/help`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import group_commands, researcher_commands, role_commands
from bot.channels.base import InboundEvent
from bot.researcher_commands import Caller, Desk
from bot.starting import invite_on_slack
from conversations.catalog import translate
from conversations.questionnaire import Questionnaire
from conversations.run import RunStatus
from storage import audit
from storage import digests as stored_digests
from storage.models import Run, Stakeholder

__all__ = ["COMMANDS", "Desk", "Request", "parse_command", "request_for", "respond"]

COMMANDS = ("status", "invite", "digest", "followup", "group", "role", "help")
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|\b([UW][A-Z0-9]{6,})\b")


@dataclass(frozen=True)
class Request:
    command: str
    argument: str
    language: str
    now: datetime
    author: str = ""
    """`platform:id` of the researcher: recorded as who scheduled something."""
    desk: Desk = field(default_factory=Desk)
    slash: str = "/"
    """How commands are typed where this one came from (`/parley ` on Slack)."""

    @property
    def caller(self) -> Caller:
        return Caller(self.author, self.language, self.now, self.desk, self.slash)


def request_for(
    event: InboundEvent, command: tuple[str, str], language: str, now: datetime, desk: Desk
) -> Request:
    """The request a group message or a slash command makes, with who sent it and how."""
    slash = "/parley " if event.command else "/"
    author = f"{event.platform}:{event.sender}"
    return Request(*command, language=language, now=now, author=author, desk=desk, slash=slash)


def parse_command(text: str) -> tuple[str, str] | None:
    """`/status@ParleyBot args` → ("status", "args"); None when the text is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    return head.split("@")[0].lower(), rest.strip()


def respond(session: Session, questionnaire: Questionnaire, request: Request) -> str:
    """Run a researcher command (the caller has checked the role) and say what happened."""
    language = request.language
    if request.command == "status":
        return status_line(session, questionnaire, language)
    if request.command == "invite":
        return _invite(session, questionnaire, request)
    if request.command == "digest":
        return _digest(session, questionnaire, request)
    if request.command == "followup":
        return researcher_commands.followup(
            session, questionnaire.id, request.caller, request.argument
        )
    if request.command == "group":
        return group_commands.group(session, questionnaire.id, request.caller, request.argument)
    if request.command == "role":
        return role_commands.role(session, request.caller, request.argument)
    if request.command == "help":
        return help_text(request)
    commands = ", ".join(f"{request.slash}{c}" for c in COMMANDS)
    return translate("researcher.unknown", language, commands=commands)


def help_text(request: Request) -> str:
    """Every researcher command, as typed where the researcher is, with their time zone."""
    commands = translate(
        "research.help",
        request.language,
        slash=request.slash,
        zone=request.desk.zone,
        groups=translate("research.help_groups", request.language, slash=request.slash),
    )
    return f"{commands}\n{translate('role.help', request.language, slash=request.slash)}"


def _digest(session: Session, questionnaire: Questionnaire, request: Request) -> str:
    """`/digest [en|fr]`: a `requested` row; the running Parley builds and posts it after
    the commit (`bot.digest_posting`), so this transaction stays short."""
    given = request.argument.strip()
    language = given.lower() or request.language
    if language not in questionnaire.languages:
        languages = ", ".join(questionnaire.languages)
        return translate(
            "researcher.digest_language", request.language, given=given, languages=languages
        )
    channel, address = request.desk.digest_to
    row = stored_digests.request_digest(session, request.now, channel, address, language)
    details = {"digest": row, "to": f"{channel}:{address}", "language": language}
    _audit(session, request, "digest.post", details)
    where = (
        translate("researcher.the_console", request.language)
        if channel == "console"
        else f"{channel}:{address}"
    )
    return translate("researcher.digest_requested", request.language, lang=language, where=where)


def _invite(session: Session, questionnaire: Questionnaire, request: Request) -> str:
    users = [a or b for a, b in _SLACK_MENTION.findall(request.argument)]
    if not users:
        return translate("researcher.invite_usage", request.language)
    invited = [u for u in users if invite_on_slack(session, questionnaire, u, request.now)]
    _audit(
        session, request, "invite", {"channel": "slack", "asked": len(users), "invited": invited}
    )
    names = ", ".join(invited) or "—"
    return translate("researcher.invited", request.language, count=len(invited), names=names)


def _audit(session: Session, request: Request, action: str, details: Mapping[str, object]) -> None:
    """The action's audit row, in the handling transaction (`storage.audit`)."""
    channel = audit.channel_of(request.author)
    audit.record(session, request.author, action, details, channel, request.now)


def status_line(session: Session, questionnaire: Questionnaire, language: str) -> str:
    counts = run_counts(session, questionnaire.id)
    roster = session.scalar(select(func.count()).select_from(Stakeholder)) or 0
    started = sum(counts.values())
    return translate(
        "researcher.status",
        language,
        title=questionnaire.title.get(language),
        invited=roster - started + counts.get(RunStatus.INVITED, 0),
        **{
            status.value: counts.get(status, 0)
            for status in RunStatus
            if status is not RunStatus.INVITED
        },
    )


def run_counts(session: Session, questionnaire_id: str) -> Mapping[RunStatus, int]:
    rows = session.execute(
        select(Run.status, func.count())
        .where(Run.questionnaire_key == questionnaire_id)
        .group_by(Run.status)
    )
    return {RunStatus(status): count for status, count in rows}
