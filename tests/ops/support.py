"""A database with something of everything operators look at, written the way Parley
writes it (storage functions, APScheduler's own job store), at known ages."""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from sqlalchemy import Engine

from bot.scheduling import JOBS_TABLE
from storage import UnitOfWork, make_session_factory, outbox, repository
from storage import digests as stored_digests
from storage.role_holders import heartbeat
from storage.schedules import NewSend, schedule_sends

__all__ = ["populate"]


def populate(engine: Engine, now: datetime) -> None:
    """Outbox: telegram 3 pending (due 60 s and 10 s ago, one claimed; one due in an hour),
    slack 2 pending (due 5 s ago; one waiting for its retry), 1 failed, 1 sent.
    Scheduled: a follow-up send due 120 s ago, one due tomorrow, a digest asked for 30 s
    ago, an APScheduler job due 300 s ago. Roles: the scheduler beat 3 s ago, telegram's
    dispatcher 45 s ago (gone)."""
    ago = lambda seconds: now - timedelta(seconds=seconds)  # noqa: E731
    with UnitOfWork(make_session_factory(engine)) as uow:
        s = uow.session
        person = repository.create_stakeholder(s, name="ann", language="en", time_zone="UTC")
        repository.link_identity(s, person.id, "telegram", "11")
        outbox.enqueue(s, "telegram", "11", {"kind": "text"}, not_before=ago(60), now=ago(60))
        outbox.enqueue(s, "telegram", "11", {"kind": "text"}, not_before=ago(10), now=ago(10))
        outbox.enqueue(s, "telegram", "11", {"kind": "text"}, not_before=ago(-3600), now=now)
        outbox.enqueue(s, "slack", "D1", {"kind": "text"}, not_before=ago(5), now=ago(5))
        retrying = outbox.enqueue(s, "slack", "D1", {"kind": "text"}, now=ago(20))
        outbox.mark_retry(s, retrying, "HTTP 503", ago(-60))
        failed = outbox.enqueue(s, "slack", "D2", {"kind": "text"}, now=ago(90))
        outbox.mark_failed(s, failed, "channel_not_found\n{'ok': false}")
        sent = outbox.enqueue(s, "telegram", "11", {"kind": "text"}, now=ago(500))
        outbox.mark_sent(s, sent, ago(499))
        claimed = outbox.claim_messages(
            s, now, 1, channels=["telegram"], holder="h:1", lease_until=ago(-30)
        )
        assert len(claimed) == 1
        schedule_sends(
            s,
            [
                NewSend("followup", person.id, 1, 1, ago(120)),
                NewSend("followup", person.id, 1, 2, ago(-86400)),
            ],
            ago(200),
        )
        stored_digests.request_digest(s, ago(30), "console", "console", "en")
        uow.commit()
    with engine.begin() as connection:
        heartbeat(connection, "scheduler", "host-a:1", ago(600), ago(3))
        heartbeat(connection, "dispatcher:telegram", "host-b:2", ago(900), ago(45))
    _overdue_job(engine, ago(300))


def _overdue_job(engine: Engine, at: datetime) -> None:
    """A job whose run time has passed, in APScheduler's own job table (what our reader
    reads of it: the next run time, in Unix seconds)."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    store.jobs_t.create(engine, checkfirst=True)
    with engine.begin() as connection:
        connection.execute(
            store.jobs_t.insert().values(
                id="followup:1", next_run_time=at.timestamp(), job_state=b"never run"
            )
        )
