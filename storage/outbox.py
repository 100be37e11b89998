"""The transactional outbox: messages are rows first, sent only after their transaction commits.

The handler enqueues in the same transaction as the run and answers it reports on; the
dispatcher later takes due rows and marks each sent, to retry, or failed. Nothing here
sends anything.

Two ways to take rows:
- `due_outbox` locks them (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so parallel
  dispatchers get disjoint rows); send and mark within that transaction.
- `claim_outbox` leases them: it pushes `not_before` to `lease_until`, so after a commit
  no one else takes them until the lease ends, and the sending can happen outside any
  transaction. Prefer it on SQLite, whose single writer lock would otherwise be held
  for the length of a network call. A dispatcher that dies mid-send loses nothing: the
  lease runs out and the row is due again.
- `claim_messages` is the dispatcher's claim when several processes share PostgreSQL
  (#8): one UPDATE over a `FOR UPDATE SKIP LOCKED` subquery marks the rows
  `claimed_by`/`claimed_until` and returns them. Only the elected dispatcher of a
  platform sends, so claims matter in the moments when an old holder has not yet
  noticed it lost its role; a new holder first takes back its platform's claims
  (`release_claims`), so a dead holder's rows go out at once rather than at lease end.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    CursorResult,
    Executable,
    Integer,
    Select,
    Text,
    all_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from storage.models import OUTBOX_STATUSES, OutboxRow
from storage.types import UTCDateTime
from storage.upsert import table_of

__all__ = [
    "FAILED_ROWS",
    "PENDING_ROWS",
    "DueMessage",
    "OutboxBatch",
    "claim_messages",
    "claim_outbox",
    "due_messages",
    "due_outbox",
    "enqueue",
    "enqueue_batches",
    "enqueue_many",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "outbox_counts",
    "postpone",
    "release_claims",
    "waiting_for_retry",
]

_TABLE = table_of(OutboxRow)

PENDING_ROWS = _TABLE.c.status == literal_column("'pending'")
"""`status = 'pending'` with the value in the text, not a parameter: a prepared (generic)
plan can then use the partial index `ix_outbox_pending` (migration 0013), whose
predicate a parameter cannot be proven to match."""
FAILED_ROWS = _TABLE.c.status == literal_column("'failed'")
"""The same for `ix_outbox_failed`."""
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
"""Built once: the ids come back in the order of the rows, which is the reading order."""
_INSERT_UNORDERED = insert(_TABLE).returning(_TABLE.c.id)
"""For SQLite, where SQLAlchemy can keep the order above only by inserting row by row."""

_INSERT_ROWS = text(
    "INSERT INTO outbox (channel, address, payload, run_id, not_before, created_at)"
    " SELECT channel, address, payload, run_id, not_before, created_at FROM ROWS FROM ("
    " jsonb_to_recordset(CAST(:rows AS jsonb)) AS (channel text, address text,"
    " payload jsonb, run_id bigint, not_before timestamptz, created_at timestamptz)"
    " ) WITH ORDINALITY AS r(channel, address, payload, run_id, not_before, created_at, n)"
    " ORDER BY n RETURNING id"
)
"""PostgreSQL: any number of rows as one statement of fixed text, the rows one JSON
parameter. The multi-row VALUES that SQLAlchemy writes has new text for every row
count, so the driver parses it and the server plans it on every batch (a sixth of a
web process's time at saturation); this text is parsed once and, after a few runs,
prepared. (Arrays, one per column, cost as much again: the driver escapes each JSON
payload inside the array's text.) The sequence numbers the rows in the ORDER BY's
order, the same guarantee SQLAlchemy's own ordered INSERT..SELECT relies on, so the
ids sorted are the ids in row order."""

_MAX_ERROR_LENGTH = 2000
"""Enough for a platform's error body; keeps a misbehaving API from bloating the table."""


def enqueue(
    session: Session,
    channel: str,
    address: str,
    payload: Mapping[str, Any],
    *,
    run_id: int | None = None,
    not_before: datetime | None = None,
    now: datetime,
) -> int:
    """Add one message to the outbox; returns its id."""
    table = table_of(OutboxRow)
    row = _row(channel, address, payload, run_id, not_before, now)
    return int(session.execute(insert(table).returning(table.c.id), row).scalar_one())


def enqueue_many(
    session: Session,
    channel: str,
    address: str,
    payloads: Sequence[Mapping[str, Any]],
    *,
    run_id: int | None = None,
    not_before: datetime | None = None,
    now: datetime,
) -> list[int]:
    """Add several messages for one address in one statement; ids in the given order.

    This is a step's reply: the ids keep the order the messages are to be read in.
    """
    if not payloads:
        return []
    rows = [_row(channel, address, payload, run_id, not_before, now) for payload in payloads]
    return _insert_in_order(session, rows)


class OutboxBatch(NamedTuple):
    """One turn's reply: the arguments of one `enqueue_many` call."""

    channel: str
    address: str
    payloads: Sequence[Mapping[str, Any]]
    run_id: int | None
    now: datetime


def enqueue_batches(session: Session, batches: Sequence[OutboxBatch]) -> list[list[int]]:
    """`enqueue_many` for several replies in one statement; each batch's ids, in order.

    Rows are inserted in the order given, so messages for one address keep the order
    they are to be read in, across batches too.
    """
    rows = [
        _row(channel, address, payload, run_id, None, now)
        for channel, address, payloads, run_id, now in batches
        for payload in payloads
    ]
    if not rows:
        return [[] for _ in batches]
    ids = _insert_in_order(session, rows)
    split: list[list[int]] = []
    taken = 0
    for batch in batches:
        split.append(ids[taken : taken + len(batch.payloads)])
        taken += len(batch.payloads)
    return split


def _insert_in_order(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows; their ids, in the order of the rows.

    On PostgreSQL, one statement of column arrays (`_INSERT_ARRAYS`). On SQLite one
    multi-row INSERT gives each row the next rowid in turn (the VALUES are inserted in
    order, under the write lock this transaction holds), so the ids sorted are the ids
    in row order. That holds while they are consecutive, which is checked; if they are
    not (a table whose rowids ran out is filled at random), those rows are deleted and
    inserted again the slow, ordered way.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        document = json.dumps([_json_row(row) for row in rows])
        inserted = connection.execute(_INSERT_ROWS, {"rows": document}).scalars()
        return sorted(int(outbox_id) for outbox_id in inserted)
    if len(rows) == 1:
        return [int(connection.execute(_INSERT, rows[0]).scalar_one())]
    inserted = connection.execute(_INSERT_UNORDERED, rows).scalars()
    ids = sorted(int(outbox_id) for outbox_id in inserted)
    if ids == list(range(ids[0], ids[0] + len(rows))):
        return ids
    connection.execute(delete(_TABLE).where(_TABLE.c.id.in_(ids)))
    return [int(outbox_id) for outbox_id in connection.execute(_INSERT, rows).scalars()]


def due_outbox(
    session: Session,
    now: datetime,
    limit: int,
    channel: str | None = None,
    *,
    exclude: Collection[int] = (),
) -> list[OutboxRow]:
    """Pending messages whose time has come, oldest first, locked for this transaction.

    On PostgreSQL rows locked by another dispatcher are skipped, not waited for. SQLite
    has no row locks; its single writer serializes dispatchers instead. `exclude` names
    rows this dispatcher is already sending.
    """
    statement = (
        select(OutboxRow)
        .where(PENDING_ROWS, OutboxRow.not_before <= now)
        .order_by(OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if channel is not None:
        statement = statement.where(OutboxRow.channel == channel)
    if exclude:
        statement = statement.where(OutboxRow.id.not_in(list(exclude)))
    return list(session.scalars(statement))


class DueMessage(NamedTuple):
    """What a dispatcher needs of a due row: no ORM object, no identity map."""

    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int


_DUE_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.channel,
    _TABLE.c.address,
    _TABLE.c.payload,
    _TABLE.c.attempts,
)


def due_messages(
    session: Session,
    now: datetime,
    limit: int,
    *,
    exclude: Collection[int] = (),
    channels: Collection[str] | None = None,
    busy: Collection[tuple[str, str]] = (),
) -> list[DueMessage]:
    """`due_outbox` for the dispatcher's hot path: plain tuples, locked the same way.

    It runs on every wake-up under load, where loading ORM objects was most of its cost.
    `channels`: only rows for these (None: every channel). `busy`: (channel, address)
    pairs whose rows must wait (their chat is still sending), left out here rather than
    read and dropped: a look asks for few rows at a time (`Dispatcher.max_in_flight`),
    and the oldest are often those of busy chats."""
    statement = _due_rows(select(*_DUE_COLUMNS), now, limit, exclude, channels)
    if busy:
        keys = [_busy_key(channel, address) for channel, address in busy]
        statement = statement.where(_BUSY_KEY.not_in(keys))
    return [DueMessage(*row) for row in session.execute(statement)]


def _due_rows(
    query: Select[Any],
    now: datetime,
    limit: int,
    exclude: Collection[int],
    channels: Collection[str] | None,
) -> Select[Any]:
    """Pending rows whose time has come, oldest first, at most `limit`, skipping rows
    another transaction holds locked; not `exclude`d; of `channels` (None: all)."""
    query = (
        query.where(PENDING_ROWS, _TABLE.c.not_before <= now)
        .order_by(_TABLE.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if exclude:
        query = query.where(_TABLE.c.id.not_in(list(exclude)))
    if channels is not None:
        query = query.where(_TABLE.c.channel.in_(list(channels)))
    return query


def claim_messages(
    session: Session,
    now: datetime,
    limit: int,
    *,
    channels: Collection[str] | None,
    holder: str,
    lease_until: datetime,
    exclude: Collection[int] = (),
    busy: Collection[tuple[str, str]] = (),
) -> list[DueMessage]:
    """Claim due rows of `channels` (None: all) for `holder` until `lease_until` and return them,
    oldest first. Rows another dispatcher holds locked or claimed are skipped, not
    waited for; commit promptly so the claim (not the row lock) is what others see.

    The holder's own claims are returned again (it may have left rows unsent, e.g. for
    a chat still busy): pass what it is sending right now as `exclude`, and the
    (channel, address) pairs whose rows must wait as `busy`. Both are single array
    parameters: the statement's text stays the same however many there are, so it is
    parsed once and prepared, and rows that could not be sent now are neither claimed
    again nor read (under load a dispatcher looks many times a second)."""
    if channels is not None and not channels:
        return []
    dialect = session.get_bind().dialect.name
    statement = _claim_statement(dialect == "postgresql", channels is not None)
    parameters = {
        "now": now,
        "limit": limit,
        "holder": holder,
        "lease_until": lease_until,
        "exclude": list(exclude),
        "busy": [_busy_key(channel, address) for channel, address in busy],
        "channels": list(channels or ()),
    }
    if dialect == "postgresql":
        session.execute(_NO_SORT)
    rows = [DueMessage(*row) for row in session.execute(statement, parameters)]
    if dialect == "postgresql":
        session.execute(_SORT)
    rows.sort(key=lambda row: row.id)
    return rows


_NO_SORT = text("SET LOCAL enable_sort = off")
"""For the claim only: read the pending rows in id order from `ix_outbox_pending` and
stop at the limit, never fetch them all to sort them. The planner chooses the sort when
it believes few rows are pending: always on a table whose statistics were not gathered
yet, and during a burst after quiet hours, when they say nearly every row was sent. A
look then sorted every waiting row (30-70 ms with a few thousand, measured) instead of
reading a few dozen (under 1 ms)."""
_SORT = text("SET LOCAL enable_sort = on")


_BUSY_SEPARATOR = "\x1f"
"""Between channel and address in a busy key: a control character neither contains."""


_BUSY_KEY = _TABLE.c.channel + _BUSY_SEPARATOR + _TABLE.c.address


def _busy_key(channel: str, address: str) -> str:
    return f"{channel}{_BUSY_SEPARATOR}{address}"


@cache
def _claim_statement(arrays: bool, of_channels: bool) -> Executable:
    """The claim, built once per shape. `arrays`: PostgreSQL's array parameters; SQLite
    (which has none) gets expanding IN lists."""

    def none_of(
        column: ColumnElement[Any], name: str, item: TypeEngine[Any]
    ) -> ColumnElement[bool]:
        if arrays:
            return column != all_(bindparam(name, type_=ARRAY(item)))
        return column.not_in(bindparam(name, type_=item, expanding=True))

    claimable = (
        select(_TABLE.c.id)
        .where(
            PENDING_ROWS,
            _TABLE.c.not_before <= bindparam("now", type_=UTCDateTime()),
            or_(
                _TABLE.c.claimed_until.is_(None),
                _TABLE.c.claimed_until <= bindparam("now", type_=UTCDateTime()),
                _TABLE.c.claimed_by == bindparam("holder", type_=Text),
            ),
            none_of(_TABLE.c.id, "exclude", BigInteger()),
            none_of(_BUSY_KEY, "busy", Text()),
        )
        .order_by(_TABLE.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    if of_channels:
        claimable = claimable.where(
            _TABLE.c.channel.in_(bindparam("channels", type_=Text, expanding=True))
        )
    return (
        update(_TABLE)
        .where(_TABLE.c.id.in_(claimable.scalar_subquery()))
        .values(
            claimed_until=bindparam("lease_until", type_=UTCDateTime()),
            claimed_by=bindparam("holder", type_=Text),
        )
        .returning(*_DUE_COLUMNS)
    )


def release_claims(session: Session, channel: str, *, keep: str | None = None) -> int:
    """Forget the claims on `channel`'s pending rows (a new dispatcher took the role:
    whoever claimed them is gone or deposed), but those of holder `keep`: the new
    holder's own, whose rows may be on the wire. Returns how many were released."""
    statement = (
        update(_TABLE)
        .where(
            _TABLE.c.channel == channel,
            _TABLE.c.status == "pending",
            _TABLE.c.claimed_until.is_not(None),
            _TABLE.c.claimed_by.is_distinct_from(keep),
        )
        .values(claimed_until=None, claimed_by=None)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def claim_outbox(
    session: Session,
    now: datetime,
    limit: int,
    lease_until: datetime,
    channel: str | None = None,
) -> list[OutboxRow]:
    """Take due messages and lease them until `lease_until` (see the module docstring)."""
    rows = due_outbox(session, now, limit, channel)
    if rows:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_([row.id for row in rows]))
            .values(not_before=lease_until)
        )
    return rows


def mark_sent(session: Session, outbox_id: int, now: datetime) -> bool:
    """Record a delivery. False if the row was not pending (someone else finished it)."""
    return _finish(session, outbox_id, status="sent", sent_at=now)


def mark_sent_many(session: Session, outbox_ids: Collection[int], now: datetime) -> set[int]:
    """Record many deliveries in one statement; the ids that were still pending.

    The dispatcher's hot path: one UPDATE for every row a group commit settles, instead of
    one per row (the per-row statements were a third of its time under load).
    """
    if not outbox_ids:
        return set()
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id.in_(list(outbox_ids)), _TABLE.c.status == "pending")
        .values(attempts=_TABLE.c.attempts + 1, status="sent", sent_at=now)
        .returning(_TABLE.c.id)
    )
    return {int(outbox_id) for outbox_id in session.execute(statement).scalars()}


def mark_retry(session: Session, outbox_id: int, error: str, retry_at: datetime) -> bool:
    """Record a failed attempt worth retrying at `retry_at`. False if not pending."""
    return _finish(session, outbox_id, not_before=retry_at, last_error=_clip(error))


def postpone(session: Session, outbox_id: int, until: datetime) -> bool:
    """Hold a message back until `until` without counting an attempt: it was never tried
    (our own pacing said not yet). False if not pending."""
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == outbox_id, _TABLE.c.status == "pending")
        .values(not_before=until, claimed_until=None)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def mark_failed(session: Session, outbox_id: int, error: str) -> bool:
    """Give up on a message (a permanent platform error). False if not pending."""
    return _finish(session, outbox_id, status="failed", last_error=_clip(error))


def outbox_counts(session: Session) -> dict[str, int]:
    """How many messages are in each status (every status present, zero included)."""
    statement = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    counts.update({status: count for status, count in session.execute(statement)})
    return counts


def _finish(session: Session, outbox_id: int, **changes: Any) -> bool:
    """One attempt's outcome: count it, apply the changes, only to a pending row."""
    statement = (
        update(OutboxRow)
        .where(OutboxRow.id == outbox_id, OutboxRow.status == "pending")
        .values(attempts=OutboxRow.attempts + 1, claimed_until=None, **changes)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


def _row(
    channel: str,
    address: str,
    payload: Mapping[str, Any],
    run_id: int | None,
    not_before: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "payload": dict(payload),
        "status": "pending",
        "attempts": 0,
        "not_before": not_before or now,
        "created_at": now,
        "run_id": run_id,
    }


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for `_INSERT_ROWS`: times as ISO text, checked as `UTCDateTime` checks them."""
    return {
        **row,
        "not_before": _utc_text(row["not_before"]),
        "created_at": _utc_text(row["created_at"]),
    }


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; pass an aware one")
    return moment.astimezone(UTC).isoformat()


def _clip(error: str) -> str:
    return error if len(error) <= _MAX_ERROR_LENGTH else error[: _MAX_ERROR_LENGTH - 1] + "…"


def waiting_for_retry(session: Session, now: datetime) -> dict[tuple[str, str], int]:
    """Per (channel, address), the first row that failed and waits for its retry.

    Later rows to that address are held back until it is sent or given up, so nobody
    sees question 5 before question 4. A row merely scheduled for later (never tried)
    holds nothing back.
    """
    statement = (
        select(OutboxRow.channel, OutboxRow.address, func.min(OutboxRow.id))
        .where(PENDING_ROWS, OutboxRow.attempts > 0, OutboxRow.not_before > now)
        .where(OutboxRow.payload["kind"].as_string() != "answered")  # rewrites never block
        .group_by(OutboxRow.channel, OutboxRow.address)
    )
    return {(channel, address): first for channel, address, first in session.execute(statement)}
