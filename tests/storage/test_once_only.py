"""Once-only, enforced by the database: digest occurrences and the time-zone question.

A contract suite over both backends (`session_factory` is SQLite and PostgreSQL). The
races open a second unit of work while the first holds its claim uncommitted: the
database, not a read-then-write in Python, must make the second one lose.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import UnitOfWork, create_stakeholder, digests
from storage.models import Digest, ReceivedEvent, Stakeholder
from storage.time_zone_question import claim_time_zone_question

Factory = sessionmaker[Session]
NOW = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)


def _race(factory: Factory, claim: Callable[[Session], object]) -> tuple[object, object]:
    """`claim` in two units of work; the second starts before the first commits."""
    second: list[object] = []

    def other_process() -> None:
        with UnitOfWork(factory) as uow:
            second.append(claim(uow.session))
            uow.commit()

    with UnitOfWork(factory) as uow:
        first = claim(uow.session)
        racer = threading.Thread(target=other_process)
        racer.start()
        racer.join(timeout=0.5)  # PostgreSQL: waiting on our row; SQLite: on our lock
        uow.commit()
    racer.join(timeout=20)
    assert not racer.is_alive()
    return first, second[0]


def _no_marks(factory: Factory) -> None:
    with UnitOfWork(factory) as uow:
        count = uow.session.scalar(
            select(func.count())
            .select_from(ReceivedEvent)
            .where(ReceivedEvent.platform == "parley")
        )
    assert count == 0


# -------------------------------------------------------------------------- digests


def test_an_occurrence_is_claimed_once_and_says_where_it_went(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        first = digests.claim_digest(uow.session, NOW, "done", NOW, channel="slack", address="C123")
        again = digests.claim_digest(uow.session, NOW, "missed", NOW + timedelta(hours=1))
        uow.commit()
    assert isinstance(first, int) and again is None
    with UnitOfWork(session_factory) as uow:
        [row] = digests.digests(uow.session)
    assert (row.id, row.due_at, row.status, row.handled_at) == (first, NOW, "done", NOW)
    assert (row.channel, row.address, row.summary) == ("slack", "C123", None)
    _no_marks(session_factory)


def test_two_processes_claiming_one_occurrence_post_it_once(session_factory: Factory) -> None:
    first, second = _race(
        session_factory, lambda session: digests.claim_digest(session, NOW, "done", NOW)
    )
    assert isinstance(first, int) and second is None


def test_the_database_refuses_a_second_row_for_an_occurrence(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        digests.claim_digest(uow.session, NOW, "done", NOW)
        uow.session.add(Digest(due_at=NOW, status="missed", handled_at=NOW))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_a_status_other_than_done_or_missed_is_not_a_claim(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow, pytest.raises(ValueError, match="'started'"):
        digests.claim_digest(uow.session, NOW, "started", NOW)


def test_the_schedule_continues_after_the_last_handled_occurrence(
    session_factory: Factory,
) -> None:
    day = timedelta(days=1)
    with UnitOfWork(session_factory) as uow:
        assert digests.last_handled(uow.session) is None
        assert digests.first_start(uow.session) is None
        assert digests.record_start(uow.session, NOW - 3 * day) is True
        assert digests.record_start(uow.session, NOW - 2 * day) is True  # a second process
        assert digests.record_start(uow.session, NOW - 2 * day) is False  # that instant again
        assert digests.last_handled(uow.session) is None  # a start is not an occurrence
        digests.claim_digest(uow.session, NOW - day, "missed", NOW)
        digests.claim_digest(uow.session, NOW, "done", NOW)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert digests.first_start(uow.session) == NOW - 3 * day  # the earliest counts
        assert digests.last_handled(uow.session) == NOW
        statuses = [row.status for row in digests.digests(uow.session)]
    assert statuses == ["started", "started", "missed", "done"]


# ----------------------------------------------------------------- time-zone question


def _someone(factory: Factory) -> int:
    with UnitOfWork(factory) as uow:
        person = create_stakeholder(uow.session, name="Una", language="en", now=NOW)
        uow.commit()
        return person.id


def test_the_time_zone_question_is_claimed_once(session_factory: Factory) -> None:
    una = _someone(session_factory)
    with UnitOfWork(session_factory) as uow:
        assert claim_time_zone_question(uow.session, una, NOW) is True
        assert claim_time_zone_question(uow.session, una, NOW + timedelta(days=1)) is False
        assert uow.session.get_one(Stakeholder, una).time_zone_asked_at == NOW  # in the session
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert uow.session.get_one(Stakeholder, una).time_zone_asked_at == NOW
    _no_marks(session_factory)


def test_a_rolled_back_claim_leaves_them_to_be_asked(session_factory: Factory) -> None:
    una = _someone(session_factory)
    with UnitOfWork(session_factory) as uow:
        assert claim_time_zone_question(uow.session, una, NOW) is True  # never committed
    with UnitOfWork(session_factory) as uow:
        assert claim_time_zone_question(uow.session, una, NOW) is True


def test_two_processes_asking_at_once_ask_once(session_factory: Factory) -> None:
    una = _someone(session_factory)
    first, second = _race(
        session_factory, lambda session: claim_time_zone_question(session, una, NOW)
    )
    assert (first, second) == (True, False)


def test_nobody_to_claim_is_no_claim(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        assert claim_time_zone_question(uow.session, 404, NOW) is False
