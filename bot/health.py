"""What an operator needs to know about a running Parley, read in one short transaction (#8).

Who holds each elected role and whether it still beats, how deep the outbox is and what
failed, and how late the scheduled work is. `parley status` prints it; `GET /readyz`
(`bot.readiness`) answers it as JSON to a load balancer, so the read must stay cheap:
a handful of aggregates over indexed ranges (`storage.backlog`), read-only, and on
PostgreSQL in one REPEATABLE READ snapshot with a statement timeout, so the figures agree
with each other and a stuck server cannot hold the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.scheduling import JOBS_TABLE
from storage import SQLITE_BEGIN_OPTION, backlog
from storage.backlog import ChannelDepth, Failure, Overdue
from storage.role_holders import role_holders
from storage.unit_of_work import UnitOfWork

__all__ = ["ALIVE_WITHIN", "Health", "RoleState", "read_health"]

ALIVE_WITHIN = timedelta(seconds=30)
"""A holder whose last heartbeat is younger than this looks alive. Holders beat every ~5 s
and a standby takes over within 30 s, so an older heartbeat means the role is vacant."""

STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class RoleState:
    role: str
    holder: str
    since: datetime
    heartbeat_at: datetime
    heartbeat_age: float
    """Seconds since the holder's last heartbeat."""

    @property
    def alive(self) -> bool:
        return self.heartbeat_age < ALIVE_WITHIN.total_seconds()


@dataclass(frozen=True)
class Health:
    at: datetime
    roles: tuple[RoleState, ...]
    outbox: tuple[ChannelDepth, ...]
    failed: int
    recent_failures: tuple[Failure, ...]
    overdue_sends: Overdue
    overdue_jobs: Overdue
    digest_requests: Overdue

    @property
    def pending(self) -> int:
        return sum(channel.pending for channel in self.outbox)

    @property
    def due(self) -> int:
        return sum(channel.due for channel in self.outbox)

    @property
    def oldest_due_age(self) -> float:
        """Seconds the longest-waiting due message has been due (0 when none is)."""
        return max((self.age(c.oldest_due) for c in self.outbox), default=0.0)

    @property
    def scheduler_lag(self) -> float:
        """Seconds the oldest overdue scheduled work (a send, a job) has been waiting."""
        return max(self.age(self.overdue_sends.oldest), self.age(self.overdue_jobs.oldest))

    def age(self, moment: datetime | None) -> float:
        return 0.0 if moment is None else max(0.0, (self.at - moment).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (times ISO 8601 UTC, ages in seconds)."""
        return {
            "at": self.at.isoformat(),
            "roles": [_role_dict(role) for role in self.roles],
            "outbox": {
                "pending": self.pending,
                "due": self.due,
                "oldest_due_age_s": round(self.oldest_due_age, 3),
                "failed": self.failed,
                "channels": [self._channel_dict(channel) for channel in self.outbox],
                "recent_failures": [_failure_dict(failure) for failure in self.recent_failures],
            },
            "scheduler": {
                "lag_s": round(self.scheduler_lag, 3),
                "overdue_sends": self.overdue_sends.count,
                "oldest_overdue_send_age_s": round(self.age(self.overdue_sends.oldest), 3),
                "overdue_jobs": self.overdue_jobs.count,
                "oldest_overdue_job_age_s": round(self.age(self.overdue_jobs.oldest), 3),
                "digest_requests_waiting": self.digest_requests.count,
            },
        }

    def _channel_dict(self, channel: ChannelDepth) -> dict[str, Any]:
        return {
            "channel": channel.channel,
            "pending": channel.pending,
            "due": channel.due,
            "claimed": channel.claimed,
            "retrying": channel.retrying,
            "oldest_due_age_s": round(self.age(channel.oldest_due), 3),
        }


def read_health(
    session_factory: sessionmaker[Session], now: datetime, *, failures: int = 5
) -> Health:
    """Every figure, from one read-only transaction (rolled back, never committed)."""
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        _begin_reading(session)
        holders = role_holders(session)
        return Health(
            at=now,
            roles=tuple(
                RoleState(h.role, h.holder, h.since, h.heartbeat_at, _seconds(now, h.heartbeat_at))
                for h in holders
            ),
            outbox=tuple(backlog.outbox_depth(session, now)),
            failed=backlog.failed_total(session),
            recent_failures=tuple(backlog.recent_failures(session, failures)),
            overdue_sends=backlog.overdue_sends(session, now),
            overdue_jobs=backlog.overdue_jobs(session, now, JOBS_TABLE),
            digest_requests=backlog.overdue_digest_requests(session),
        )


def _begin_reading(session: Session) -> None:
    """SQLite: a deferred BEGIN, so the read never queues for the write lock. PostgreSQL:
    one snapshot for all the figures, read-only, and no statement longer than 2 s."""
    connection = session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        connection.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))


def _seconds(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())


def _role_dict(role: RoleState) -> dict[str, Any]:
    return {
        "role": role.role,
        "holder": role.holder,
        "since": role.since.isoformat(),
        "heartbeat_at": role.heartbeat_at.isoformat(),
        "heartbeat_age_s": round(role.heartbeat_age, 3),
        "alive": role.alive,
    }


def _failure_dict(failure: Failure) -> dict[str, Any]:
    return {
        "id": failure.id,
        "channel": failure.channel,
        "attempts": failure.attempts,
        "created_at": failure.created_at.isoformat(),
        "error": failure.error.splitlines()[0][:200] if failure.error else "",
    }
