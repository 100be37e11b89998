"""The Slack modal for a new discussion group: `/parley group new` (or a bare `group create`).

Three steps, only the middle one with rules, and that one pure:

1. `GroupModal.open` answers a researcher's slash command with `views.open` (the command's
   `trigger_id` is valid for three seconds, so no database is involved): title, date and
   time pickers, duration, a Canadian time-zone menu, place or link, capacity, a people
   picker, or a cohort typed as for `/group create --to`.
2. `validate(fields, now)` reads the submission: a `GroupDraft`, or errors keyed by block
   id, which Slack shows under the fields (`response_action: errors`) while the modal stays
   open. Slack itself refuses to submit an empty required field; a blank title, a time in
   the past or on a DST change, or nobody to invite are ours to catch.
3. A valid draft becomes the line `/group create "…" 2027-02-03 14:00 --duration 60 …`
   and travels like any `/parley` command (an `InboundEvent`, `command=True`): the same
   role check, the same transaction, `bot.groups` does the work, and the answer (or the
   refusal, e.g. a cohort that matches nobody) comes back as an ephemeral message.

Everyone else gets no modal: their command goes to the handler, which refuses it politely.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from bot.channels.base import InboundEvent
from bot.groups import MAX_TITLE, MAX_WHERE
from bot.timing import CANADIAN_ZONES, AmbiguousTime, NonexistentTime, local_to_utc, parse_zone
from conversations.catalog import translate
from conversations.inputs import Reply

__all__ = [
    "DURATIONS",
    "GROUP_MODAL",
    "GroupDraft",
    "GroupModal",
    "ModalFields",
    "command_text",
    "group_modal",
    "read_fields",
    "validate",
    "wants_modal",
]

log = logging.getLogger(__name__)

GROUP_MODAL = "parley_group_create"
"""The modal's `callback_id`: its `view_submission` comes back under this name."""
DURATIONS = (30, 45, 60, 90, 120, 180)
FIELD = "value"
"""Every input's `action_id`; blocks are told apart by their `block_id`."""
_OPENERS = frozenset({"group new", "group create"})
_ESCAPED = '\\"“”«»„'


class WebClient(Protocol):
    """The one Web API call the modal makes (slack_sdk's `AsyncWebClient` has it)."""

    async def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> Any: ...


def wants_modal(text: str) -> bool:
    """`/parley group new` or `/parley group create` without arguments opens the modal."""
    return " ".join(text.split()).lower() in _OPENERS


# ------------------------------------------------------------------------- the view


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


def _input(
    block_id: str,
    element: dict[str, Any],
    language: str,
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(translate(f"modal.field.{block_id}", language)),
        "element": {**element, "action_id": FIELD},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _zone_options(zone: str, language: str) -> list[dict[str, Any]]:
    options = [_option(getattr(z, language, z.en), z.zone) for z in CANADIAN_ZONES]
    if zone not in {z.zone for z in CANADIAN_ZONES}:
        options.append(_option(zone, zone))  # the team's own zone, wherever it is
    return options


def group_modal(zone: str, channel: str, language: str = "en") -> dict[str, Any]:
    """The modal; `channel` (where the command was typed) is kept for the confirmation."""
    zones = _zone_options(zone, language)
    minutes = [_option(translate("modal.minutes", language, n=n), str(n)) for n in DURATIONS]
    return {
        "type": "modal",
        "callback_id": GROUP_MODAL,
        "private_metadata": json.dumps({"channel": channel}),
        "title": _plain(translate("modal.title", language)),
        "submit": _plain(translate("modal.submit", language)),
        "close": _plain(translate("modal.close", language)),
        "blocks": [
            _input("title", {"type": "plain_text_input", "max_length": MAX_TITLE}, language),
            _input("date", {"type": "datepicker"}, language),
            _input("time", {"type": "timepicker"}, language),
            _input(
                "duration",
                {"type": "static_select", "options": minutes, "initial_option": minutes[2]},
                language,
            ),
            _input(
                "zone",
                {
                    "type": "static_select",
                    "options": zones,
                    "initial_option": next(o for o in zones if o["value"] == zone),
                },
                language,
            ),
            _input("where", {"type": "plain_text_input", "max_length": MAX_WHERE}, language),
            _input(
                "capacity",
                {"type": "number_input", "is_decimal_allowed": False, "min_value": "1"},
                language,
                optional=True,
            ),
            _input("invitees", {"type": "multi_users_select"}, language, optional=True),
            _input(
                "cohort",
                {"type": "plain_text_input"},
                language,
                optional=True,
                hint=translate("modal.cohort_hint", language),
            ),
        ],
    }


# ------------------------------------------------------------------- the submission


@dataclass(frozen=True)
class ModalFields:
    """What was entered, as Slack reports it (None when left empty)."""

    title: str | None = None
    date: str | None = None
    time: str | None = None
    duration: str | None = None
    zone: str | None = None
    where: str | None = None
    capacity: str | None = None
    invitees: tuple[str, ...] = ()
    cohort: str | None = None


@dataclass(frozen=True)
class GroupDraft:
    """A submission that passed every check that needs no database."""

    title: str
    start: datetime
    """Local wall time in `zone` (aware)."""
    minutes: int
    zone: str
    where: str
    capacity: int | None
    to: str
    """Slack mentions (`<@U1>,<@U2>`) or the cohort as typed."""


def read_fields(state_values: Mapping[str, Any]) -> ModalFields:
    """`view.state.values` → `ModalFields`."""

    def slot(block: str) -> Mapping[str, Any]:
        found = state_values.get(block, {}).get(FIELD)
        return found if isinstance(found, Mapping) else {}

    def option(block: str) -> str | None:
        chosen = slot(block).get("selected_option")
        return str(chosen["value"]) if isinstance(chosen, Mapping) else None

    def text(block: str, key: str = "value") -> str | None:
        value = slot(block).get(key)
        return str(value) if value not in (None, "") else None

    return ModalFields(
        title=text("title"),
        date=text("date", "selected_date"),
        time=text("time", "selected_time"),
        duration=option("duration"),
        zone=option("zone"),
        where=text("where"),
        capacity=text("capacity"),
        invitees=tuple(str(u) for u in slot("invitees").get("selected_users") or ()),
        cohort=text("cohort"),
    )


def validate(
    fields: ModalFields, now: datetime, language: str = "en"
) -> GroupDraft | dict[str, str]:
    """A draft, or `{block_id: message}` for every field that is wrong (all at once)."""
    errors: dict[str, str] = {}

    def error(block: str, key: str, **params: object) -> None:
        errors.setdefault(block, translate(f"modal.error.{key}", language, **params))

    title = " ".join((fields.title or "").split())
    if not title:
        error("title", "title_missing")
    where = " ".join((fields.where or "").split())
    if not where:
        error("where", "where_missing")
    minutes = _minutes(fields.duration)
    if minutes is None:
        error("duration", "duration")
    capacity = _capacity(fields.capacity)
    if capacity == 0:
        error("capacity", "capacity")
    to = _invitees(fields, error)
    start = _start(fields, now, error)
    if errors or start is None or minutes is None or to is None:
        return errors
    zone = str(start.tzinfo)
    return GroupDraft(title, start, minutes, zone, where, capacity or None, to)


def _minutes(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else None


def _capacity(text: str | None) -> int | None:
    """None when empty; 0 stands for anything that is not a whole number of at least 1."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    return int(value) if value.isdigit() and int(value) >= 1 else 0


def _invitees(fields: ModalFields, error: Callable[..., None]) -> str | None:
    cohort = " ".join((fields.cohort or "").split())
    if fields.invitees and cohort:
        error("cohort", "who_both")
        return None
    if not fields.invitees and not cohort:
        error("invitees", "who_missing")
        return None
    return ",".join(f"<@{user}>" for user in fields.invitees) or cohort


def _start(fields: ModalFields, now: datetime, error: Callable[..., None]) -> datetime | None:
    """The local start; refuses a time that is in the past or that a DST change skips or
    repeats (said under the time picker)."""
    if fields.zone is None:
        error("zone", "zone")
    if fields.date is None:
        error("date", "date_missing")
    if fields.time is None:
        error("time", "time_missing")
    if fields.zone is None or fields.date is None or fields.time is None:
        return None
    try:
        zone = parse_zone(fields.zone)
    except ValueError:  # a TimingError: not a zone this machine knows
        error("zone", "zone")
        return None
    try:
        day, at = date.fromisoformat(fields.date), time.fromisoformat(fields.time)
    except ValueError:  # Slack's pickers never send these
        error("date", "date_missing")
        return None
    try:
        instant = local_to_utc(day, at, zone)
    except AmbiguousTime:
        error("time", "ambiguous", time=f"{at:%H:%M}", date=day.isoformat(), zone=zone.key)
        return None
    except NonexistentTime:
        error("time", "skipped", time=f"{at:%H:%M}", date=day.isoformat(), zone=zone.key)
        return None
    if instant <= now:
        error("date", "past", when=f"{day.isoformat()} {at:%H:%M}", zone=zone.key)
        return None
    return datetime.combine(day, at, tzinfo=zone)


def _quoted(text: str) -> str:
    escaped = "".join(f"\\{c}" if c in _ESCAPED else c for c in text)
    return f'"{escaped}"'


def command_text(draft: GroupDraft) -> str:
    """The `/group create …` line the draft stands for, read back by `bot.group_commands`."""
    start = f"{draft.start:%Y-%m-%d %H:%M}"
    parts = [
        "/group create",
        _quoted(draft.title),
        start,
        f"--duration {draft.minutes}",
        f"--zone {draft.zone}",
        f"--where {_quoted(draft.where)}",
        f"--to {_quoted(draft.to)}",
    ]
    if draft.capacity is not None:
        parts.append(f"--capacity {draft.capacity}")
    return " ".join(parts)


# ---------------------------------------------------------------- the Slack side


class GroupModal:
    """Opens the modal for researchers and turns a valid submission into a command event."""

    def __init__(
        self,
        researchers: Callable[[str], Awaitable[bool]],
        zone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        language: str = "en",
    ) -> None:
        self.researchers = researchers
        """Whether a Slack user id holds a researcher role now (read from the stored roles,
        `bot.roles`); asked only for a command that wants the modal."""
        self.zone = zone
        self.clock = clock
        self.language = language

    async def open(self, client: WebClient, body: Mapping[str, Any]) -> bool:
        """Open the modal if the command asks for it and comes from a researcher."""
        user = str(body.get("user_id", ""))
        if not wants_modal(str(body.get("text", ""))) or not await self.researchers(user):
            return False
        view = group_modal(self.zone, str(body.get("channel_id", "")), self.language)
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except Exception:  # an expired trigger, Slack down: the usage line is answered instead
            log.warning("views.open for the group modal failed", exc_info=True)
            return False
        return True

    def submitted(self, body: Mapping[str, Any]) -> InboundEvent | dict[str, str]:
        """The command event for a valid submission, or the errors to show in the modal."""
        view = body.get("view") or {}
        fields = read_fields((view.get("state") or {}).get("values") or {})
        outcome = validate(fields, self.clock(), self.language)
        if isinstance(outcome, dict):
            return outcome
        user = str((body.get("user") or {}).get("id", ""))
        channel = _channel(view.get("private_metadata"))
        return InboundEvent(
            platform="slack",
            event_id=f"view:{view.get('id', '')}",
            sender=user,
            address=f"{channel}/{user}" if channel else user,
            input=Reply(command_text(outcome)),
            group=True,
            command=True,
        )


def _channel(metadata: Any) -> str:
    try:
        return str(json.loads(str(metadata or "{}")).get("channel") or "")
    except (ValueError, AttributeError):
        return ""
