"""The handling transaction against a real database (SQLite and PostgreSQL), with a fixed clock.

Each test drives `Handler` with `InboundEvent`s as a channel would and then reads the
tables: inbound_events, stakeholders, runs, answers and the outbox.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundEvent
from bot.handling import Handled, Handler
from bot.questionnaires import QuestionnaireBook
from conversations.inputs import Begin, Input, Pick, Reply
from storage import UnitOfWork
from storage.models import Answer, AnswerChange, Identity, OutboxRow, ReceivedEvent, Run
from storage.models import Stakeholder as StakeholderRow
from tests.e2e.support import EXAMPLE

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
Factory = sessionmaker[Session]

SORRY = "Sorry, something went wrong on our side."
INVITATION_ONLY = "This study is by invitation only."
STALE = "That question has already been answered."


@pytest.fixture(scope="module")
def book() -> QuestionnaireBook:
    return QuestionnaireBook.from_file(EXAMPLE)


@pytest.fixture
def make_handler(session_factory: Factory, book: QuestionnaireBook) -> Callable[..., Handler]:
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        uow.commit()

    def make(*, open_enrollment: bool = False) -> Handler:
        return Handler(session_factory, book, lambda: NOW, open_enrollment=open_enrollment)

    return make


@pytest.fixture
def handler(make_handler: Callable[..., Handler]) -> Handler:
    return make_handler()


_ids: Iterator[int] = itertools.count(1)


def event(
    what: Input | str,
    who: str = "alice",
    *,
    platform: str = "console",
    event_id: str | None = None,
    language: str | None = None,
) -> InboundEvent:
    return InboundEvent(
        platform=platform,
        event_id=event_id or f"e{next(_ids)}",
        sender=who,
        address=f"{who}-chat",
        input=Reply(what) if isinstance(what, str) else what,
        display_name=who.title(),
        language=language,
        received_at=NOW,
    )


def started(handler: Handler, who: str = "alice", *answers: str) -> None:
    """Open the conversation, agree, and answer the first questions."""
    for what in (Begin(), "I agree", *answers):
        result = handler.handle(event(what, who))
        assert not result.duplicate


# --- reading the tables ---------------------------------------------------------------


def rows(factory: Factory, model: type[Any], *where: Any) -> list[Any]:
    with UnitOfWork(factory) as uow:
        return list(uow.session.scalars(select(model).where(*where).order_by(model.id)))


def count(factory: Factory, model: type[Any], *where: Any) -> int:
    with UnitOfWork(factory) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)))


def answers_of(factory: Factory, who: str) -> dict[str, Any]:
    run = run_of(factory, who)
    return {a.item_id: a.value for a in rows(factory, Answer, Answer.run_id == run.id)}


def run_of(factory: Factory, who: str) -> Run:
    with UnitOfWork(factory) as uow:
        statement = (
            select(Run)
            .join(Identity, Identity.stakeholder_id == Run.stakeholder_id)
            .where(Identity.external_id == who)
        )
        return uow.session.scalars(statement).one()


def outbox_of(factory: Factory, handled: Handled) -> list[OutboxRow]:
    found = rows(factory, OutboxRow, OutboxRow.id.in_(handled.outbox_ids))
    assert [row.id for row in found] == sorted(handled.outbox_ids)
    return found


def kinds(factory: Factory, handled: Handled) -> list[str]:
    return [row.payload["kind"] for row in outbox_of(factory, handled)]


def texts(factory: Factory, handled: Handled) -> list[str]:
    return [row.payload.get("text", "") for row in outbox_of(factory, handled)]


# --- redelivery -------------------------------------------------------------------------


def test_the_same_event_twice_is_handled_once(handler: Handler, session_factory: Factory) -> None:
    started(handler)
    answer = event("1", event_id="update-77")

    first = handler.handle(answer)
    outbox_after_first = count(session_factory, OutboxRow)
    again = handler.handle(answer)

    assert not first.duplicate and kinds(session_factory, first) == ["answered", "ask"]
    assert again.duplicate and again.outbox_ids == ()
    assert count(session_factory, OutboxRow) == outbox_after_first
    assert answers_of(session_factory, "alice") == {"org_type": "non_profit"}
    assert count(session_factory, AnswerChange) == 1
    assert count(session_factory, ReceivedEvent, ReceivedEvent.event_id == "update-77") == 1
    assert run_of(session_factory, "alice").state["cursor"] == "province"


def test_a_duplicate_inside_one_batch_is_handled_once(
    handler: Handler, session_factory: Factory
) -> None:
    started(handler)
    first = event("1", event_id="u-1")
    second = event("5", event_id="u-2")
    redelivered = event("5", event_id="u-2")
    later = event("3", event_id="u-3")

    results = handler.handle_batch([first, second, redelivered, later])

    assert [r.duplicate for r in results] == [False, False, True, False]
    assert results[2].outbox_ids == ()
    assert answers_of(session_factory, "alice") == {
        "org_type": "non_profit",
        "province": "on",
        "respondent_role": "analyst",
    }
    assert count(session_factory, AnswerChange) == 3
    assert run_of(session_factory, "alice").state["cursor"] == "total_staff"


def test_two_stakeholders_interleaved_in_one_batch(
    handler: Handler, session_factory: Factory
) -> None:
    batch = [
        event(Begin(), "alice"),
        event(Begin(), "bob"),
        event("I agree", "alice"),
        event("I agree", "bob"),
        event("1", "alice"),
        event("3", "bob"),
        event("5", "alice"),
        event("14", "bob"),
    ]

    results = handler.handle_batch(batch)

    assert not any(r.duplicate for r in results)
    assert answers_of(session_factory, "alice") == {"org_type": "non_profit", "province": "on"}
    assert answers_of(session_factory, "bob") == {
        "org_type": "municipality",
        "province": "national",
    }
    assert count(session_factory, StakeholderRow) == 2
    assert count(session_factory, Run) == 2
    for handled in results:
        check_outbox_belongs_to(session_factory, handled)
    assert [kinds(session_factory, r) for r in results[:2]] == [["say", "ask"]] * 2
    assert [kinds(session_factory, r) for r in results[4:]] == [["answered", "ask"]] * 4
    every_row = {row.id for row in rows(session_factory, OutboxRow)}
    assert every_row == {i for r in results for i in r.outbox_ids}, "no row without its event"


def check_outbox_belongs_to(factory: Factory, handled: Handled) -> None:
    """Each row of an event goes to that event's address, in the order it is to be read."""
    assert handled.outbox_ids, "every event gets an answer"
    assert list(handled.outbox_ids) == sorted(handled.outbox_ids)
    run = run_of(factory, handled.event.sender)
    for row in outbox_of(factory, handled):
        assert (row.channel, row.address) == (handled.event.platform, handled.event.address)
        assert row.run_id == run.id
        assert (row.status, row.attempts, row.not_before) == ("pending", 0, NOW)


def test_outbox_rows_keep_the_order_of_the_reply(
    handler: Handler, session_factory: Factory
) -> None:
    handler.handle(event(Begin()))
    agreed = handler.handle(event("I agree"))
    skipped_to = handler.handle_batch(
        [event(reply) for reply in ("1", "5", "3", "40", "6", "2.5", "skip")]
    )[-1]

    check_outbox_belongs_to(session_factory, agreed)
    rows_ = outbox_of(session_factory, agreed)
    assert [r.payload["kind"] for r in rows_] == ["answered", "say", "ask"]
    assert rows_[0].payload["item_id"] == "consent"
    assert rows_[1].payload["text"].startswith("Section 1: About your organisation")
    assert rows_[2].payload["item_id"] == "org_type"

    # skipping the last item of section 1: the skip, the next section's intro, its question
    check_outbox_belongs_to(session_factory, skipped_to)
    rows_ = outbox_of(session_factory, skipped_to)
    assert [r.payload["kind"] for r in rows_] == ["answered", "say", "ask"]
    assert rows_[0].payload["item_id"] == "annual_budget"
    assert rows_[1].payload["text"].startswith("Section 2: Data and your mission")
    assert rows_[2].payload["item_id"] == "data_importance"


# --- who may take part ----------------------------------------------------------------


def test_a_console_user_is_enrolled_automatically(
    handler: Handler, session_factory: Factory
) -> None:
    handled = handler.handle(event(Begin(), "dana", language="fr"))

    [person] = rows(session_factory, StakeholderRow)
    assert (person.name, person.language, person.created_at) == ("Dana", "fr", NOW)
    [identity] = rows(session_factory, Identity)
    assert (identity.platform, identity.external_id, identity.stakeholder_id) == (
        "console",
        "dana",
        person.id,
    )
    assert run_of(session_factory, "dana").status == "consenting"
    assert kinds(session_factory, handled) == ["say", "ask"]
    welcome, consent = texts(session_factory, handled)
    assert welcome.startswith("Bienvenue à « Besoins en données des organismes")
    assert consent.endswith("Acceptez-vous de participer?")


def test_a_telegram_stranger_is_refused_in_an_invitation_only_study(
    handler: Handler, session_factory: Factory
) -> None:
    first = handler.handle(event(Begin(), "4242", platform="telegram"))
    second = handler.handle(event("hello?", "4242", platform="telegram"))

    for handled in (first, second):
        [row] = outbox_of(session_factory, handled)
        assert (row.channel, row.address, row.run_id) == ("telegram", "4242-chat", None)
        assert row.payload["kind"] == "say"
        assert row.payload["text"].startswith(f"Hello! {INVITATION_ONLY}")
    assert count(session_factory, StakeholderRow) == 0
    assert count(session_factory, Identity) == 0
    assert count(session_factory, Run) == 0
    assert count(session_factory, ReceivedEvent, ReceivedEvent.platform == "telegram") == 2


def test_the_refusal_speaks_the_language_the_platform_reports(
    handler: Handler, session_factory: Factory
) -> None:
    handled = handler.handle(event(Begin(), "4243", platform="telegram", language="fr"))
    assert texts(session_factory, handled)[0].startswith(
        "Bonjour! Cette étude se fait sur invitation"
    )


def test_open_enrollment_lets_a_telegram_stranger_take_part(
    make_handler: Callable[..., Handler], session_factory: Factory
) -> None:
    handler = make_handler(open_enrollment=True)

    handled = handler.handle(event(Begin(), "4242", platform="telegram"))
    handler.handle(event("I agree", "4242", platform="telegram"))
    handler.handle(event("2", "4242", platform="telegram"))

    assert kinds(session_factory, handled) == ["say", "ask"]
    assert INVITATION_ONLY not in " ".join(texts(session_factory, handled))
    [identity] = rows(session_factory, Identity)
    assert (identity.platform, identity.external_id) == ("telegram", "4242")
    assert answers_of(session_factory, "4242") == {"org_type": "sector_council"}


@pytest.mark.parametrize(
    ("profile_zone", "stored"),
    [
        ("America/Halifax", "America/Halifax"),  # Slack keeps an IANA zone per person
        ("Mars/Olympus_Mons", "UTC"),  # not a zone: unknown, so asked later
        (None, "UTC"),  # Telegram says nothing
    ],
)
def test_someone_enrolling_themselves_keeps_their_profiles_time_zone(
    make_handler: Callable[..., Handler],
    session_factory: Factory,
    profile_zone: str | None,
    stored: str,
) -> None:
    handler = make_handler(open_enrollment=True)
    first = replace(event(Begin(), "U0ZONE", platform="slack"), time_zone=profile_zone)
    handler.handle(first)
    [person] = rows(session_factory, StakeholderRow)
    assert person.time_zone == stored


# --- stale buttons and failures -------------------------------------------------------


def test_a_stale_button_changes_nothing(handler: Handler, session_factory: Factory) -> None:
    started(handler, "alice", "1")  # org_type answered; province is asked
    before = run_of(session_factory, "alice")

    handled = handler.handle(event(Pick("org_type", "municipality")))

    assert kinds(session_factory, handled) == ["notice"]
    assert texts(session_factory, handled) == [STALE]
    assert handled.notices == (STALE,)
    assert answers_of(session_factory, "alice") == {"org_type": "non_profit"}
    assert count(session_factory, AnswerChange) == 1
    after = run_of(session_factory, "alice")
    assert after.state["cursor"] == before.state["cursor"] == "province"
    assert after.state["answers"] == before.state["answers"]
    assert after.status == before.status

    # the current question's button still works
    handler.handle(event(Pick("province", "qc")))
    assert answers_of(session_factory, "alice") == {"org_type": "non_profit", "province": "qc"}


def test_an_event_that_breaks_the_engine_gets_an_apology_and_spares_the_batch(
    handler: Handler, session_factory: Factory
) -> None:
    started(handler, "alice", "1")
    started(handler, "bob")
    with UnitOfWork(session_factory) as uow:  # a run whose state no code can read
        run = uow.session.get(Run, run_of(session_factory, "alice").id)
        assert run is not None
        run.state = {"v": 999, "garbage": True}
        uow.commit()
    outbox_before = count(session_factory, OutboxRow)
    broken = event("5", "alice", event_id="break-1")

    results = handler.handle_batch([event("2", "bob"), broken, event("bc", "bob")])

    bob_first, sorry, bob_second = results
    [apology] = texts(session_factory, sorry)
    assert apology.startswith(SORRY) and "999" not in apology
    [row] = outbox_of(session_factory, sorry)
    assert (row.channel, row.address, row.run_id) == ("console", "alice-chat", None)
    assert kinds(session_factory, bob_first) == kinds(session_factory, bob_second)
    assert kinds(session_factory, bob_first) == ["answered", "ask"]
    assert answers_of(session_factory, "bob") == {"org_type": "sector_council", "province": "bc"}
    assert run_of(session_factory, "alice").state == {"v": 999, "garbage": True}
    assert answers_of(session_factory, "alice") == {"org_type": "non_profit"}
    assert count(session_factory, OutboxRow) == outbox_before + 5

    assert count(session_factory, ReceivedEvent, ReceivedEvent.event_id == "break-1") == 1
    assert handler.handle(broken).duplicate, "the failed event is recorded: no retry loop"
