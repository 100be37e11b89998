"""`parley followup add|list|cancel`: validate, store rows, say what was scheduled.

Everything happens in the caller's unit of work: an error raises before the commit, so
bad input schedules nothing. Times are shown in the researcher's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.followups import (
    MAX_WAVE,
    FollowupError,
    after_sends,
    describe_cohort,
    describe_schedule,
    first_sends,
    parse_cohort,
    plan_schedule,
    zone_of,
)
from bot.questionnaires import QuestionnaireBook
from bot.roles import cli_actor
from bot.settings import Settings
from bot.timing import TimingError, parse_zone
from forms import load_any_file
from storage import audit, schedules

__all__ = [
    "FollowupRequest",
    "add_followup",
    "cancel",
    "followup_lines",
    "list_followups",
    "researcher_zone",
    "schedule_followup",
]


def researcher_zone(name: str) -> ZoneInfo:
    """The zone a researcher reads and writes times in; an unknown one names `--zone`."""
    try:
        return parse_zone(name)
    except TimingError as error:
        raise FollowupError(f"--zone: {error}") from None


def _shown(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"


@dataclass(frozen=True)
class FollowupRequest:
    """What a researcher asked for, as typed (CLI options or a chat command): who and when."""

    to: str
    at: str | None = None
    every: str | None = None
    starting: str | None = None
    after: str | None = None
    wave: str | None = None


def add_followup(
    session: Session,
    settings: Settings,
    questionnaire: Path,
    *,
    to: str,
    at: str | None,
    every: str | None,
    starting: str | None,
    after: str | None,
    zone: str | None,
    wave: str | None,
    now: datetime | None = None,
) -> list[str]:
    """`parley followup add`: the questionnaire file and zone from the command line."""
    researcher = researcher_zone(zone or settings.researcher_time_zone)
    book = QuestionnaireBook.from_file(questionnaire)
    main_key = load_any_file(settings.questionnaire).questionnaire.id
    request = FollowupRequest(to, at, every, starting, after, wave)
    return schedule_followup(
        session,
        book,
        main_key,
        request,
        zone=researcher,
        created_by=cli_actor(),
        now=now or datetime.now(UTC),
        team_zone=researcher_zone(settings.researcher_time_zone),
    )


def schedule_followup(
    session: Session,
    book: QuestionnaireBook,
    main_key: str,
    request: FollowupRequest,
    *,
    zone: ZoneInfo,
    created_by: str,
    now: datetime,
    team_zone: ZoneInfo | None = None,
) -> list[str]:
    """Validate, store the follow-up and its first sends, and say what was scheduled.

    Shared by the CLI and the researcher chat commands, so both refuse the same input
    with the same message (naming the field) and schedule nothing when they do.
    `team_zone` (default `zone`) times people whose own zone is not known, as the
    scheduler does later (`Scheduling.default_zone`).
    """
    fallback = team_zone or zone
    label = (request.wave or book.current.id).strip()
    if not label or len(label) > MAX_WAVE or ":" in label:
        raise FollowupError(f"--wave {label!r}: 1-{MAX_WAVE} characters, no ':'")
    cohort = parse_cohort(request.to, main_key)
    members = schedules.cohort_members(session, cohort)
    if not members:
        raise FollowupError(f"--to {request.to}: matches nobody who can be reached")
    plan = plan_schedule(
        at=request.at,
        every=request.every,
        starting=request.starting,
        after=request.after,
        zone=zone,
        member_zones=[zone_of(person, fallback) for person in members],
        main_questionnaire=main_key,
        now=now,
    )
    book.store_current(session)
    followup = schedules.create_followup(
        session,
        questionnaire_key=book.current.id,
        questionnaire_version=book.current.version,
        wave=label,
        cohort=cohort,
        schedule=plan.schedule,
        created_by=created_by,
        now=now,
    )
    if plan.schedule["type"] == "after":
        sends = after_sends(session, followup, now, fallback=fallback)
    else:
        sends = first_sends(followup, members, now, fallback=fallback)
    created = schedules.schedule_sends(session, sends, now)
    lines = [
        f"follow-up {followup.id}: {book.current.id} v{book.current.version} (wave {label}) "
        f"to {describe_cohort(cohort)}: {len(members)} stakeholder(s), "
        f"{describe_schedule(plan.schedule)}"
    ]
    if created:
        first, last = min(r.due_at for r in created), max(r.due_at for r in created)
        span = _shown(first, zone)
        if last != first:
            span += f" to {_shown(last, zone)}"
        lines.append(f"first sends: {len(created)}, {span}")
    else:
        lines.append("no sends yet: each is scheduled when its event happens")
    details = {
        "followup": followup.id,
        "questionnaire": f"{book.current.id} v{book.current.version}",
        "wave": label,
        "to": describe_cohort(cohort),
        "schedule": describe_schedule(plan.schedule),
        "stakeholders": len(members),
        "sends": len(created),
    }
    audit.record(session, created_by, "followup.add", details, audit.channel_of(created_by), now)
    return lines


def list_followups(session: Session, settings: Settings, zone: str | None) -> list[str]:
    return followup_lines(session, researcher_zone(zone or settings.researcher_time_zone))


def followup_lines(session: Session, zone: ZoneInfo) -> list[str]:
    """Every follow-up not cancelled, with its next send in `zone` (one line each)."""
    pending = schedules.pending_counts(session)
    lines: list[str] = []
    for followup in schedules.followups(session):
        rows = [
            r for r in schedules.sends_of(session, "followup", followup.id) if r.status == "pending"
        ]
        upcoming = f"next {_shown(min(r.due_at for r in rows), zone)}" if rows else "none due"
        lines.append(
            f"{followup.id}\t{followup.questionnaire_key} (wave {followup.wave})\t"
            f"{describe_cohort(followup.cohort)}\t{describe_schedule(followup.schedule)}\t"
            f"{pending.get(followup.id, 0)} pending, {upcoming}"
        )
    return lines or ["no follow-ups scheduled"]


def cancel(
    session: Session, followup_id: int, now: datetime | None = None, actor: str | None = None
) -> list[str]:
    """Cancel a follow-up's pending sends; audited as by `actor` (default: this CLI user)."""
    when, who = now or datetime.now(UTC), actor or cli_actor()
    cancelled = schedules.cancel_followup(session, followup_id, when)
    if cancelled is None:
        raise FollowupError(f"follow-up {followup_id} does not exist")
    details = {"followup": followup_id, "sends_cancelled": cancelled}
    audit.record(session, who, "followup.cancel", details, audit.channel_of(who), when)
    return [f"follow-up {followup_id} cancelled: {cancelled} pending sends will not be sent"]
