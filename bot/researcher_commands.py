"""`/followup …` in the research chat (and `/parley followup …` on Slack): the CLI's operations.

The words are the CLI's (`parley followup add|list|cancel`), with a shorthand that reads
like a sentence: `/followup add check-in region:NS 2027-01-15 10:00`. The work is the
CLI's too (`bot.followup_cli`), so chat and CLI refuse the same input with the same
message, naming the field. A command runs in a savepoint of the handling transaction: a
refusal rolls back whatever it had written, and the researcher reads "Nothing was
scheduled" and why. Times are read and shown in the research team's zone
(`PARLEY_RESEARCHER_TIME_ZONE`) unless `--zone` says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bot.chat_args import Arguments, CommandError, read_arguments, words
from bot.digest_posting import CONSOLE_ADDRESS
from bot.followup_cli import (
    FollowupRequest,
    cancel,
    followup_lines,
    researcher_zone,
    schedule_followup,
)
from bot.followups import FollowupError
from bot.groups import GroupError
from bot.questionnaires import QuestionnaireBook
from conversations.catalog import translate
from conversations.errors import QuestionnaireError

__all__ = ["Caller", "Desk", "attempt", "followup", "parse_id", "scheduling_command"]

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}")
_SUFFIXES = (".yaml", ".yml", ".xlsx")
_ADD_OPTIONS = ("questionnaire", "to", "at", "every", "starting", "after", "zone", "wave")
_SERIES = re.compile(r"(?:every|daily|weekly)\b", re.IGNORECASE)
_SERIES_START = re.compile(r"\s+(?:starting|from)\s+", re.IGNORECASE)
_AFTER = re.compile(r"\bafter\b", re.IGNORECASE)
_MUTATING = {"followup": {"add", "cancel"}, "group": {"create", "reschedule", "cancel", "poll"}}


@dataclass(frozen=True)
class Desk:
    """What researcher commands take from the settings."""

    zone: str = "America/Toronto"
    """The research team's time zone: commands read and show times in it."""
    questionnaires: Path | None = None
    """The folder `/followup add <name>` finds `<name>.yaml` in (the main questionnaire's)."""
    digest_to: tuple[str, str] = CONSOLE_ADDRESS
    """Where `/digest` posts: the research channel (`PARLEY_RESEARCH_CHANNEL`) or console."""


@dataclass(frozen=True)
class Caller:
    """Who asked, when and where: what a command needs besides its words."""

    author: str
    """`telegram:11`, `slack:U0123`: recorded as who created what."""
    language: str
    now: datetime
    desk: Desk = field(default_factory=Desk)
    slash: str = "/"
    """How commands are typed here: `/` in a Telegram group, `/parley ` on Slack."""


def scheduling_command(text: str) -> bool:
    """Whether a command text may have scheduled something (its jobs are then added)."""
    head, _, rest = text.strip().lstrip("/").partition(" ")
    command = head.split("@")[0].lower()
    sub = rest.strip().split(" ", 1)[0].lower()
    return sub in _MUTATING.get(command, set())


def attempt(session: Session, caller: Caller, action: Callable[[], list[str]]) -> str:
    """Run `action` in a savepoint; a refusal undoes it and says why, naming the field."""
    savepoint = session.begin_nested()
    try:
        lines = action()
    except (CommandError, FollowupError, GroupError) as error:
        savepoint.rollback()
        return translate("research.not_scheduled", caller.language, reason=str(error))
    except QuestionnaireError as error:
        savepoint.rollback()
        reason = "; ".join(str(e) for e in error.errors[:3])
        return translate("research.not_scheduled", caller.language, reason=reason)
    savepoint.commit()
    return "\n".join(lines)


def parse_id(text: str, field: str) -> int:
    try:
        return int(text.strip().lstrip("#"))
    except ValueError:
        raise CommandError(f"{field} '{text}': use the number shown by list") from None


def followup(session: Session, main_key: str, caller: Caller, argument: str) -> str:
    """`/followup add|list|cancel …`; no subcommand (or `help`) shows the usage."""
    sub, _, rest = argument.strip().partition(" ")
    actions: dict[str, Callable[[], list[str]]] = {
        "add": lambda: _add(session, main_key, caller, rest),
        "list": lambda: _list(session, caller, rest),
        "cancel": lambda: _cancel(session, caller, rest),
    }
    action = actions.get(sub.lower())
    if action is None:
        return translate("research.followup_usage", caller.language, slash=caller.slash)
    return attempt(session, caller, action)


def _add(session: Session, main_key: str, caller: Caller, text: str) -> list[str]:
    arguments = read_arguments(words(text), _ADD_OPTIONS)
    request, name = _followup_request(arguments)
    book = QuestionnaireBook.from_file(_questionnaire_file(name, caller.desk))
    return schedule_followup(
        session,
        book,
        main_key,
        request,
        zone=researcher_zone(arguments.option("zone") or caller.desk.zone),
        created_by=caller.author,
        now=caller.now,
        team_zone=researcher_zone(caller.desk.zone),
    )


def _followup_request(arguments: Arguments) -> tuple[FollowupRequest, str]:
    """Positional words fill what options did not give: questionnaire, who, then when."""
    rest = list(arguments.positional)
    name = arguments.option("questionnaire") or (rest.pop(0) if rest else None)
    to = arguments.option("to") or (rest.pop(0) if rest else None)
    if not name:
        raise CommandError("<questionnaire>: missing (e.g. check-in)")
    if not to:
        raise CommandError("--to: missing (all, completed, region:X, stakeholder:ID …)")
    timed = {key: arguments.option(key) for key in ("at", "every", "starting", "after")}
    if rest and any(timed[key] for key in ("at", "every", "after")):
        raise CommandError(f"'{' '.join(rest)}': the time is already given by an option")
    if rest:
        timed = {**timed, **_when(rest)}
    request = FollowupRequest(
        to=to,
        at=timed["at"],
        every=timed["every"],
        starting=timed["starting"],
        after=timed["after"],
        wave=arguments.option("wave"),
    )
    return request, name


def _when(text_words: Sequence[str]) -> dict[str, str | None]:
    """`2027-01-15 10:00` (at), `every 4 weeks … starting …` (series), `14 days after completed`."""
    text = " ".join(text_words)
    if _AFTER.search(text):
        return {"after": text}
    if _SERIES.match(text):
        every, *starting = _SERIES_START.split(text, maxsplit=1)
        if not starting:
            raise CommandError(
                f"--starting: missing in '{text}' "
                "(e.g. every 4 weeks until 2027-06-30 starting 2027-01-15 10:00)"
            )
        return {"every": every, "starting": starting[0]}
    return {"at": text}


def _questionnaire_file(name: str, desk: Desk) -> Path:
    """`check-in` → `<folder>/check-in.yaml`: a plain name, looked up beside the main file."""
    folder = desk.questionnaires
    if folder is not None and _FILE_NAME.fullmatch(name):
        for candidate in (folder / name, *(folder / f"{name}{s}" for s in _SUFFIXES)):
            if candidate.is_file() and candidate.suffix in _SUFFIXES:
                return candidate
    known = sorted({p.stem for p in folder.iterdir() if p.suffix in _SUFFIXES}) if folder else []
    raise CommandError(
        f"<questionnaire> '{name}': not found (available: {', '.join(known) or 'none'})"
    )


def _list(session: Session, caller: Caller, text: str) -> list[str]:
    arguments = read_arguments(words(text), ("zone",))
    if arguments.positional:
        raise CommandError(f"'{' '.join(arguments.positional)}': list takes only --zone")
    zone = researcher_zone(arguments.option("zone") or caller.desk.zone)
    return [line.replace("\t", " · ") for line in followup_lines(session, zone)]


def _cancel(session: Session, caller: Caller, text: str) -> list[str]:
    arguments = read_arguments(words(text), ())
    if len(arguments.positional) != 1:
        raise CommandError("ID: give the follow-up's number, e.g. cancel 3")
    return cancel(session, parse_id(arguments.positional[0], "ID"), caller.now, caller.author)
