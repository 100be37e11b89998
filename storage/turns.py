"""The hot path of a batch of turns, in a few Core statements whatever the batch size.

The handler takes the events that arrive together and, in one transaction, records
their ids, finds who sent them and the runs they are on, and saves the new run states.
Done one event at a time that is a handful of statements per event; done here it is
one statement per kind for the whole batch (executemany or one IN list), which is what
lets a batch of events share one commit cheaply.

The statements are built once per dialect and reused, so SQLAlchemy's compiled cache is
hit on every call. They run on the session's connection, inside its transaction; like
every repository function, nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    String,
    Text,
    and_,
    bindparam,
    case,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from conversations.run import RunStatus
from storage.errors import StaleDataError
from storage.models import OPEN_STATUSES, Identity, ReceivedEvent, Run, Stakeholder
from storage.time_zone_question import UNKNOWN_ZONES
from storage.types import UTCDateTime
from storage.upsert import insert_for, table_of

__all__ = [
    "Participant",
    "RunHeader",
    "RunSave",
    "enrol",
    "participants",
    "record_inbound_many",
    "run_states",
    "save_run_states",
    "start_run",
]


@dataclass(frozen=True)
class RunHeader:
    """A run without its state: enough to know whether a cached state is still current."""

    id: int
    questionnaire_key: str
    questionnaire_version: str
    status: str
    version_id: int
    created_at: datetime


@dataclass(frozen=True)
class Participant:
    """Who is behind a platform account, and their run of one questionnaire (if started)."""

    stakeholder_id: int
    language: str
    run: RunHeader | None
    stopped: bool = False
    """They said STOP (#7): their next message goes the one-by-one way, to lift it."""
    zone_unasked: bool = True
    """Their time zone is unknown and they were never asked it: completing a run may ask
    (`claim_after_completion` decides). False spares that UPDATE for everyone else."""


@dataclass(frozen=True)
class RunSave:
    """A run's new state, to be written only if the run is still at `version_id`.

    As in `save_run_state`, `completed_at` is set to `now` the first time the status
    is "completed" (the UPDATE decides, so the run's row need not be read for it).
    """

    run_id: int
    version_id: int
    state_json: str
    """The new state as JSON text (`storage.run_cache.encode_state`)."""
    status: str
    now: datetime

    @property
    def new_version_id(self) -> int:
        return self.version_id + 1


def record_inbound_many(
    session: Session, events: Sequence[tuple[str, str, datetime]]
) -> set[tuple[str, str]]:
    """Remember (platform, event id, received at) triples; returns the pairs that were new.

    An id already stored, or repeated within `events`, is not new (its first occurrence
    in `events` is, if it was not stored before). Like `record_inbound`, a conflict does
    nothing rather than failing the transaction.
    """
    if not events:
        return set()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for platform, event_id, received_at in events:
        rows.setdefault(
            (platform, event_id),
            {"platform": platform, "event_id": event_id, "received_at": received_at},
        )
    statement = _statements(session)["inbound"]
    # In key order: a batch in another process holding the same ids (a redelivery sent
    # to the other web process) then waits in the same order, never in a deadlock (#8).
    ordered = [rows[key] for key in sorted(rows)]
    result = session.connection().execute(statement, _parameters(ordered))
    return {(platform, event_id) for platform, event_id in result}


def participants(
    session: Session,
    identities: Iterable[tuple[str, str]],
    questionnaire_key: str,
    wave: str = "main",
) -> dict[tuple[str, str], Participant]:
    """For each known (platform, external id): the stakeholder and their run, in one query.

    Unknown accounts are absent from the result; a stakeholder who has not started the
    questionnaire in `wave` has `run=None`.
    """
    keys = list(dict.fromkeys(identities))
    if not keys:
        return {}
    statements = _statements(session)
    parameters: dict[str, Any] = {"questionnaire_key": questionnaire_key, "wave": wave}
    if len(keys) == 1:  # the usual case outside a burst: plain equality is cheaper
        statement = statements["participant"]
        parameters["platform"], parameters["external_id"] = keys[0]
    else:
        statement = statements["participants"]
        parameters["identities"] = keys
    found: dict[tuple[str, str], Participant] = {}
    rows = sorted(session.connection().execute(statement, parameters), key=_preference)
    for row in rows:  # least preferred first: the preferred run overwrites it
        run = None
        if row.run_id is not None:
            run = RunHeader(
                id=row.run_id,
                questionnaire_key=row.questionnaire_key,
                questionnaire_version=row.questionnaire_version,
                status=row.status,
                version_id=row.version_id,
                created_at=row.created_at,
            )
        found[(row.platform, row.external_id)] = Participant(
            row.stakeholder_id,
            row.language,
            run,
            stopped=row.stopped_at is not None,
            zone_unasked=row.time_zone_asked_at is None and row.time_zone in UNKNOWN_ZONES,
        )
    return found


def _preference(row: Any) -> tuple[bool, Any, int]:
    """An open follow-up (another wave) wins over the main run; the newest one wins."""
    follow_up = row.run_id is not None and row.wave != "main"
    return (follow_up, row.created_at or datetime.min.replace(tzinfo=UTC), row.run_id or 0)


def enrol(
    session: Session,
    *,
    name: str,
    language: str,
    platform: str,
    external_id: str,
    display_name: str | None,
    time_zone: str = "UTC",
    now: datetime,
) -> int:
    """A new stakeholder with one platform account; their id.

    What `create_stakeholder` followed by `link_identity` store for someone new, in two
    Core statements. The account must be unknown (see `participants`): if another
    transaction linked it meanwhile, the unique key fails and so does the transaction.
    """
    statements = _statements(session)
    connection = session.connection()
    stakeholder_id = connection.execute(
        statements["stakeholder"],
        {"name": name, "language": language, "time_zone": time_zone, "created_at": now},
    ).scalar_one()
    connection.execute(
        statements["identity"],
        {
            "stakeholder_id": stakeholder_id,
            "platform": platform,
            "external_id": external_id,
            "display_name": display_name,
            "created_at": now,
        },
    )
    return int(stakeholder_id)


def start_run(
    session: Session,
    *,
    stakeholder_id: int,
    questionnaire_key: str,
    questionnaire_version: str,
    state_json: str,
    status: str,
    now: datetime,
    wave: str = "main",
) -> RunHeader:
    """What `create_run` stores, in one Core statement; the new run's header (version 1).

    `state_json` is the state as JSON text (`storage.run_cache.encode_state`).
    """
    statement = _statements(session)["run"]
    run_id = (
        session.connection()
        .execute(
            statement,
            {
                "stakeholder_id": stakeholder_id,
                "questionnaire_key": questionnaire_key,
                "questionnaire_version": questionnaire_version,
                "wave": wave,
                "status": status,
                "state": state_json,
                "version_id": 1,
                "created_at": now,
                "updated_at": now,
                "completed_at": now if status == RunStatus.COMPLETED else None,
            },
        )
        .scalar_one()
    )
    return RunHeader(int(run_id), questionnaire_key, questionnaire_version, status, 1, now)


def run_states(session: Session, run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored states of these runs, by run id (missing ids are absent)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    result = session.connection().execute(_statements(session)["states"], {"ids": ids})
    return {run_id: state for run_id, state in result}


def save_run_states(session: Session, saves: Sequence[RunSave]) -> None:
    """Write new run states in one executemany; `StaleDataError` if any run moved on.

    Each save applies only if the run is still at its `version_id`, and moves it to the
    next one (the same optimistic lock the ORM applies in `save_run_state`). Several
    saves of one run chain: the second must name the version the first one wrote. On
    `StaleDataError` some rows may have been written: roll the transaction back.
    """
    if not saves:
        return
    # Run id order, for the same reason as `record_inbound_many`; the sort is stable, so
    # a run's chain of saves keeps its order.
    saves = sorted(saves, key=lambda save: save.run_id)
    rows = [
        {
            "b_id": save.run_id,
            "b_version_id": save.version_id,
            "b_new_version_id": save.new_version_id,
            "state": save.state_json,
            "status": save.status,
            "updated_at": save.now,
        }
        for save in saves
    ]
    statement = _statements(session)["save"]
    result = cast(CursorResult[Any], session.connection().execute(statement, _parameters(rows)))
    if result.rowcount != len(rows):
        raise StaleDataError(
            f"UPDATE runs matched {result.rowcount} of {len(rows)} (run, version) pairs: "
            "another transaction saved one of these runs first"
        )


def _parameters(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    """One row is executed, not executemany'd: the single-row path is the cheaper one."""
    return rows[0] if len(rows) == 1 else rows


_BUILT: dict[str, dict[str, Executable]] = {}


def _statements(session: Session) -> dict[str, Executable]:
    """This dialect's statements, built on first use (building one costs more than running it)."""
    dialect = session.get_bind().dialect.name
    statements = _BUILT.get(dialect)
    if statements is None:
        statements = _BUILT[dialect] = _build(session)
    return statements


def _build(session: Session) -> dict[str, Executable]:
    completed = literal(RunStatus.COMPLETED.value, String)
    json_text: ColumnElement[Any] = bindparam("state", type_=Text)
    if session.get_bind().dialect.name == "postgresql":
        json_text = sql_cast(json_text, JSONB)  # SQLite keeps JSON as the text itself
    inbound = table_of(ReceivedEvent)
    runs = table_of(Run)
    identities = table_of(Identity)
    stakeholders = table_of(Stakeholder)
    participants_query = (
        select(
            identities.c.platform,
            identities.c.external_id,
            stakeholders.c.id.label("stakeholder_id"),
            stakeholders.c.language,
            stakeholders.c.stopped_at,
            stakeholders.c.time_zone,
            stakeholders.c.time_zone_asked_at,
            runs.c.id.label("run_id"),
            runs.c.questionnaire_key,
            runs.c.questionnaire_version,
            runs.c.status,
            runs.c.version_id,
            runs.c.created_at,
            runs.c.wave,
        )
        .select_from(identities)
        .join(stakeholders, stakeholders.c.id == identities.c.stakeholder_id)
        .outerjoin(
            runs,
            and_(
                runs.c.stakeholder_id == stakeholders.c.id,
                or_(
                    and_(
                        runs.c.questionnaire_key == bindparam("questionnaire_key"),
                        runs.c.wave == bindparam("wave"),
                    ),
                    and_(runs.c.wave != bindparam("wave"), runs.c.status.in_(OPEN_STATUSES)),
                ),
            ),
        )
    )
    identity_pairs = tuple_(identities.c.platform, identities.c.external_id)
    return {
        "stakeholder": insert(stakeholders).returning(stakeholders.c.id),
        "identity": insert(identities),
        "run": insert(runs)
        .values(
            {
                column: json_text if column == "state" else bindparam(column)
                for column in (
                    "stakeholder_id",
                    "questionnaire_key",
                    "questionnaire_version",
                    "wave",
                    "status",
                    "state",
                    "version_id",
                    "created_at",
                    "updated_at",
                    "completed_at",
                )
            }
        )
        .returning(runs.c.id),
        "inbound": insert_for(session, inbound)
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(inbound.c.platform, inbound.c.event_id),
        "participant": participants_query.where(
            identities.c.platform == bindparam("platform"),
            identities.c.external_id == bindparam("external_id"),
        ),
        "participants": participants_query.where(
            identity_pairs.in_(bindparam("identities", expanding=True))
        ),
        "states": select(runs.c.id, runs.c.state).where(
            runs.c.id.in_(bindparam("ids", expanding=True))
        ),
        "save": update(runs)
        .where(runs.c.id == bindparam("b_id"), runs.c.version_id == bindparam("b_version_id"))
        .values(
            state=json_text,
            status=bindparam("status"),
            updated_at=bindparam("updated_at"),
            completed_at=case(
                (
                    and_(
                        runs.c.completed_at.is_(None),
                        bindparam("status", type_=String) == completed,
                    ),
                    bindparam("updated_at", type_=UTCDateTime()),
                ),
                else_=runs.c.completed_at,
            ),
            version_id=bindparam("b_new_version_id"),
        ),
    }
