"""`parley group create|list|rsvps|reschedule|cancel` and `parley group poll …`.

Each command parses its options and calls one `bot.groups` operation inside one unit of
work: an error raises before the commit (one line naming the option, exit 2), so bad
input schedules nothing. Times are read and shown in the researcher's zone (`--zone`,
else `PARLEY_RESEARCHER_TIME_ZONE`). Invitations and reminders are rows; the running
`parley run` sends them (its scheduler picks up new rows within 15 minutes, changes such
as a reschedule go out within seconds).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Protocol, TypedDict
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from bot import groups
from bot.auditing import record_group
from bot.groups import GroupError
from bot.settings import Settings
from bot.timing import TimingError, parse_zone

__all__ = ["group_app", "poll_app"]

group_app = typer.Typer(no_args_is_help=True, help="Discussion groups: RSVPs and reminders.")
poll_app = typer.Typer(no_args_is_help=True, help="Find a time: offer 2-6 slots, then confirm.")
group_app.add_typer(poll_app, name="poll")

_FIELDS = ("title", "start", "end", "duration", "where", "capacity", "to", "zone", "slot")

Zone = Annotated[str | None, typer.Option(help="Your time zone (default: setting).")]
Title = Annotated[str, typer.Option(help="What the session is called.")]
Where = Annotated[str, typer.Option(help="A video link or a place.")]
To = Annotated[
    str,
    typer.Option(help="Names or ids (ann, 12), or a cohort: all, org_type:X, region:X, …"),
]
Capacity = Annotated[int | None, typer.Option(help="Places; more Yes go on a waitlist.")]
Id = Annotated[int, typer.Argument(metavar="ID")]
_LENGTH = "60, 90m or 1h30."


class _Result(Protocol):
    def lines(self, zone: ZoneInfo) -> list[str]: ...


Operation = Callable[[Session, Settings, datetime], _Result]


def _option_named(error: GroupError) -> str:
    """`start: …` → `--start: …`, so the message names the option that was typed."""
    text = str(error)
    head = text.split(":", 1)[0].split(" ")[0]
    return f"--{text}" if head in _FIELDS else text


def _run(
    operation: Operation,
    zone: str | None,
    *,
    write: bool = True,
    audit_as: tuple[str, dict[str, int]] | None = None,
) -> None:
    """Run `operation` in one unit of work; `audit_as` (action, extra details) records it
    in the audit log in the same transaction."""
    from bot.cli import _fail, _settings, _unit_of_work

    settings = _settings()
    try:
        shown_in = parse_zone(_researcher_zone(zone, settings))
    except TimingError as error:
        raise _fail([f"--zone: {error}"]) from None
    with _unit_of_work(settings) as uow:
        now = datetime.now(UTC)
        try:
            result = operation(uow.session, settings, now)
        except GroupError as error:
            raise _fail([_option_named(error)]) from None
        if audit_as is not None:
            record_group(uow.session, _author(), audit_as[0], result, now, audit_as[1])
        if write:
            uow.commit()
    for line in result.lines(shown_in):
        typer.echo(line)


def _main_key(settings: Settings, to: str) -> str:
    """The main questionnaire's id, needed only by the `completed` cohort."""
    if to.strip().lower() != "completed":
        return ""
    from forms import load_any_file

    return load_any_file(settings.questionnaire).questionnaire.id


def _author() -> str:
    return f"cli:{getpass.getuser()}"


def _researcher_zone(zone: str | None, settings: Settings) -> str:
    return zone or settings.researcher_time_zone


class _Invitees(TypedDict):
    """What `group create` and `group poll create` both pass on: who, where, in which zone."""

    title: str
    to: str
    where: str
    zone: str
    capacity: int | None
    created_by: str
    main_questionnaire: str


def _invitees(
    settings: Settings, *, title: str, to: str, where: str, capacity: int | None, zone: str | None
) -> _Invitees:
    return _Invitees(
        title=title,
        to=to,
        where=where,
        zone=_researcher_zone(zone, settings),
        capacity=capacity,
        created_by=_author(),
        main_questionnaire=_main_key(settings, to),
    )


@group_app.command("create")
def create(
    title: Title,
    start: Annotated[str, typer.Option(help="'2027-01-15 10:00', 'tomorrow 14:00'.")],
    where: Where,
    to: To,
    duration: Annotated[str | None, typer.Option(help=_LENGTH)] = None,
    end: Annotated[str | None, typer.Option(help="Instead of --duration: '11:30'.")] = None,
    capacity: Capacity = None,
    zone: Zone = None,
) -> None:
    """Schedule a session: invitations with Yes/Maybe/No and an .ics, reminders T-24h, T-1h."""

    def operation(session: Session, settings: Settings, now: datetime) -> _Result:
        shared = _invitees(settings, title=title, to=to, where=where, capacity=capacity, zone=zone)
        return groups.create_group(
            session, start=start, now=now, duration=duration, end=end, **shared
        )

    _run(operation, zone, audit_as=("group.create", {}))


@group_app.command("list")
def list_(
    zone: Zone = None,
    past: Annotated[bool, typer.Option("--past", help="Include sessions that started.")] = False,
) -> None:
    """Scheduled sessions with their answers so far."""
    _run(lambda s, _settings, now: groups.list_groups(s, now=now, include_past=past), zone)


@group_app.command("rsvps")
def rsvps(group_id: Id, zone: Zone = None) -> None:
    """Every invitee's answer (waitlist places included)."""
    _run(lambda s, _settings, _now: groups.rsvps(s, group_id), zone, write=False)


@group_app.command("reschedule")
def reschedule(
    group_id: Id,
    start: Annotated[str, typer.Option(help="The new start, e.g. '2027-01-22 10:00'.")],
    duration: Annotated[str | None, typer.Option(help="A new length, e.g. 90m.")] = None,
    zone: Zone = None,
) -> None:
    """Move a session: those who had not declined get the new time and a new .ics."""

    def operation(session: Session, settings: Settings, now: datetime) -> _Result:
        return groups.reschedule_group(
            session,
            group_id=group_id,
            start=start,
            zone=_researcher_zone(zone, settings),
            now=now,
            duration=duration,
        )

    _run(operation, zone, audit_as=("group.reschedule", {}))


@group_app.command("cancel")
def cancel(group_id: Id, zone: Zone = None) -> None:
    """Call a session off: those who had not declined are told; reminders are cancelled."""
    _run(
        lambda s, _settings, now: groups.cancel_group(s, group_id=group_id, now=now),
        zone,
        audit_as=("group.cancel", {}),
    )


@poll_app.command("create")
def poll_create(
    title: Title,
    slot: Annotated[list[str], typer.Option(help="A candidate start; give 2 to 6.")],
    duration: Annotated[str, typer.Option(help=_LENGTH)],
    where: Where,
    to: To,
    capacity: Capacity = None,
    zone: Zone = None,
) -> None:
    """Ask invitees which of 2-6 times work for them (ticks in their own time zone)."""

    def operation(session: Session, settings: Settings, now: datetime) -> _Result:
        shared = _invitees(settings, title=title, to=to, where=where, capacity=capacity, zone=zone)
        return groups.create_poll(session, slots=slot, now=now, duration=duration, **shared)

    _run(operation, zone, audit_as=("group.poll.create", {}))


@poll_app.command("results")
def poll_results(poll_id: Id, zone: Zone = None) -> None:
    """The slots ranked: most votes, then most Yes, then the earliest."""
    _run(lambda s, _settings, _now: groups.poll_results(s, poll_id), zone, write=False)


@poll_app.command("confirm")
def poll_confirm(
    poll_id: Id,
    slot: Annotated[int, typer.Argument(metavar="SLOT")],
    zone: Zone = None,
) -> None:
    """Turn the poll into a session at SLOT: invitations, .ics and reminders for everyone."""

    def operation(session: Session, _settings: Settings, now: datetime) -> _Result:
        return groups.confirm_poll(session, poll_id=poll_id, slot=slot, now=now)

    _run(operation, zone, audit_as=("group.poll.confirm", {"poll": poll_id, "slot": slot}))
