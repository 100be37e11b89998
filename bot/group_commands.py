"""`/group …` in the research chat (and `/parley group …` on Slack): discussion groups (#5).

The operations are `bot.groups`'s, shared with `parley group …`; this module only reads
the words. Positional shorthands keep a chat line short, and every option is the CLI's:

    /group create "Data futures" 2027-02-03 14:00 --where https://meet.example/x --to region:ns
    /group reschedule 4 2027-02-10 14:00
    /group poll create "Data futures" 2027-02-03 14:00 | 2027-02-04 10:00 --where … --to all
    /group poll confirm 2 1

Invitees (`--to`) are a cohort, names or ids as for the CLI, or Slack mentions
(`<@U0123>`), which are looked up among the stakeholders' Slack accounts: that is how the
Slack modal's people picker reaches the same code. Without `--duration` or `--end` a
session lasts an hour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import groups
from bot.auditing import record_group
from bot.chat_args import Arguments, CommandError, read_arguments, words
from bot.followup_cli import researcher_zone
from bot.researcher_commands import Caller, attempt, parse_id
from conversations.catalog import translate
from storage import repository

__all__ = ["group", "resolve_mentions"]

_CREATE = ("title", "start", "duration", "end", "zone", "where", "capacity", "to")
_POLL = ("title", "duration", "zone", "where", "capacity", "to")
_SLOT_SEPARATOR = re.compile(r"\s*[|;]\s*")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|(?:@|slack:)([UW][A-Z0-9]{6,})")

Lines = list[str]


def group(session: Session, main_key: str, caller: Caller, argument: str) -> str:
    """`/group create|list|rsvps|reschedule|cancel|poll …`; anything else shows the usage."""
    sub, _, rest = argument.strip().partition(" ")
    actions: dict[str, Callable[[], Lines]] = {
        "create": lambda: _create(session, main_key, caller, rest),
        "list": lambda: _list(session, caller, rest),
        "rsvps": lambda: _rsvps(session, caller, rest),
        "reschedule": lambda: _reschedule(session, caller, rest),
        "cancel": lambda: _cancel(session, caller, rest),
        "poll": lambda: _poll(session, main_key, caller, rest),
    }
    action = actions.get(sub.lower())
    if action is None:
        return translate("research.group_usage", caller.language, slash=caller.slash)
    return attempt(session, caller, action)


def _zone(arguments: Arguments, caller: Caller) -> ZoneInfo:
    return researcher_zone(arguments.option("zone") or caller.desk.zone)


def _chat(lines: Lines) -> Lines:
    """The CLI's tab-separated columns, readable in a chat message."""
    return [line.replace("\t", " · ") for line in lines]


def _capacity(arguments: Arguments) -> int | None:
    text = arguments.option("capacity")
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"capacity: '{text}' is not a whole number") from None


def _required(arguments: Arguments, name: str, example: str) -> str:
    value = arguments.option(name)
    if value is None or not value.strip():
        raise CommandError(f"{name}: missing (e.g. --{name} {example})")
    return value


def resolve_mentions(session: Session, to: str) -> str:
    """`<@U0123>, @U0456, Ann` → `7, 9, Ann`: Slack people become stakeholder ids (by
    their Slack account); names, ids and cohorts stay for `bot.groups` to read."""
    parts: list[str] = []
    for part in (p.strip() for p in to.split(",")):
        match = _MENTION.fullmatch(part)
        if match is None:
            parts.append(part)
            continue
        user = match[1] or match[2]
        person = repository.stakeholder_for_identity(session, "slack", user)
        if person is None:
            raise CommandError(f"to: <@{user}> is not a stakeholder (not on the roster)")
        parts.append(str(person.id))
    return ", ".join(parts)


def _who(session: Session, arguments: Arguments) -> str:
    return resolve_mentions(session, _required(arguments, "to", "region:ns"))


def _create(session: Session, main_key: str, caller: Caller, text: str) -> Lines:
    arguments = read_arguments(words(text), _CREATE)
    rest = list(arguments.positional)
    title = arguments.option("title") or (rest.pop(0) if rest else "")
    start = arguments.option("start") or " ".join(rest)
    if rest and arguments.option("start"):
        raise CommandError(f"'{' '.join(rest)}': the start is already given by --start")
    if not title.strip():
        raise CommandError('title: missing (e.g. /group create "Data futures" 2027-02-03 14:00)')
    if not start.strip():
        raise CommandError("start: missing (e.g. 2027-02-03 14:00)")
    zone = _zone(arguments, caller)
    duration, end = arguments.option("duration"), arguments.option("end")
    result = groups.create_group(
        session,
        title=title,
        start=start,
        to=_who(session, arguments),
        where=_required(arguments, "where", "https://meet.example/abc"),
        zone=zone.key,
        now=caller.now,
        duration=duration if duration is not None or end is not None else "60",
        end=end,
        capacity=_capacity(arguments),
        created_by=caller.author,
        main_questionnaire=main_key,
    )
    record_group(session, caller.author, "group.create", result, caller.now)
    return result.lines(zone)


def _only_zone(text: str, usage: str, flags: tuple[str, ...] = ()) -> tuple[Arguments, int | None]:
    """`ID [--zone Z]`: the id (None when `usage` allows none) and the arguments."""
    arguments = read_arguments(words(text), ("zone",), flags)
    if not usage:
        if arguments.positional:
            raise CommandError(f"'{' '.join(arguments.positional)}': not expected here")
        return arguments, None
    if len(arguments.positional) != 1:
        raise CommandError(f"ID: give one number, e.g. {usage}")
    return arguments, parse_id(arguments.positional[0], "ID")


def _list(session: Session, caller: Caller, text: str) -> Lines:
    arguments, _ = _only_zone(text, "", flags=("past",))
    listing = groups.list_groups(session, now=caller.now, include_past="past" in arguments.options)
    return _chat(listing.lines(_zone(arguments, caller)))


def _rsvps(session: Session, caller: Caller, text: str) -> Lines:
    arguments, group_id = _only_zone(text, "rsvps 3")
    assert group_id is not None
    return _chat(groups.rsvps(session, group_id).lines(_zone(arguments, caller)))


def _reschedule(session: Session, caller: Caller, text: str) -> Lines:
    arguments = read_arguments(words(text), ("start", "duration", "zone"))
    rest = list(arguments.positional)
    if not rest:
        raise CommandError("ID: give the group's number, e.g. reschedule 3 2027-02-10 14:00")
    group_id = parse_id(rest.pop(0), "ID")
    start = arguments.option("start") or " ".join(rest)
    if not start.strip():
        raise CommandError("start: missing (e.g. reschedule 3 2027-02-10 14:00)")
    zone = _zone(arguments, caller)
    result = groups.reschedule_group(
        session,
        group_id=group_id,
        start=start,
        zone=zone.key,
        now=caller.now,
        duration=arguments.option("duration"),
    )
    record_group(session, caller.author, "group.reschedule", result, caller.now)
    return result.lines(zone)


def _cancel(session: Session, caller: Caller, text: str) -> Lines:
    arguments, group_id = _only_zone(text, "cancel 3")
    assert group_id is not None
    result = groups.cancel_group(session, group_id=group_id, now=caller.now)
    record_group(session, caller.author, "group.cancel", result, caller.now)
    return result.lines(_zone(arguments, caller))


def _poll(session: Session, main_key: str, caller: Caller, text: str) -> Lines:
    sub, _, rest = text.strip().partition(" ")
    actions: dict[str, Callable[[], Lines]] = {
        "create": lambda: _poll_create(session, main_key, caller, rest),
        "results": lambda: _poll_results(session, caller, rest),
        "confirm": lambda: _poll_confirm(session, caller, rest),
    }
    action = actions.get(sub.lower())
    if action is None:
        raise CommandError(f"poll: use poll create, poll results or poll confirm (not '{sub}')")
    return action()


def _poll_create(session: Session, main_key: str, caller: Caller, text: str) -> Lines:
    arguments = read_arguments(words(text), _POLL, repeatable=("slot",))
    rest = list(arguments.positional)
    title = arguments.option("title") or (rest.pop(0) if rest else "")
    if not title.strip():
        raise CommandError('title: missing (e.g. /group poll create "Data futures" …)')
    given = arguments.repeated.get("slot", ())
    if given and rest:
        raise CommandError(f"'{' '.join(rest)}': the slots are already given by --slot")
    slots = list(given) or [s for s in _SLOT_SEPARATOR.split(" ".join(rest)) if s]
    zone = _zone(arguments, caller)
    result = groups.create_poll(
        session,
        title=title,
        slots=slots,
        to=_who(session, arguments),
        where=_required(arguments, "where", "https://meet.example/abc"),
        zone=zone.key,
        now=caller.now,
        duration=arguments.option("duration") or "60",
        capacity=_capacity(arguments),
        created_by=caller.author,
        main_questionnaire=main_key,
    )
    record_group(session, caller.author, "group.poll.create", result, caller.now)
    return result.lines(zone)


def _poll_results(session: Session, caller: Caller, text: str) -> Lines:
    arguments, poll_id = _only_zone(text, "poll results 2")
    assert poll_id is not None
    return groups.poll_results(session, poll_id).lines(_zone(arguments, caller))


def _poll_confirm(session: Session, caller: Caller, text: str) -> Lines:
    arguments = read_arguments(words(text), ("slot", "zone"))
    rest = list(arguments.positional)
    if not rest:
        raise CommandError("ID: give the poll's number and a slot, e.g. poll confirm 2 1")
    poll_id = parse_id(rest.pop(0), "ID")
    slot_text = arguments.option("slot") or (rest.pop(0) if rest else "")
    if rest or not slot_text:
        raise CommandError("slot: give one slot number from poll results, e.g. poll confirm 2 1")
    slot = parse_id(slot_text, "slot")
    result = groups.confirm_poll(session, poll_id=poll_id, slot=slot, now=caller.now)
    chosen = {"poll": poll_id, "slot": slot}
    record_group(session, caller.author, "group.poll.confirm", result, caller.now, chosen)
    return result.lines(_zone(arguments, caller))
