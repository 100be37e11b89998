"""The time-zone question: asked once, answered by a button or in words, on a real database.

The Handler drives the question's answer (both paths through a batch); `Scheduling`
asks it before a first follow-up and times sends in the research team's zone meanwhile.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import slack_format, telegram_format
from bot.channels.base import InboundEvent
from bot.followup_cli import FollowupRequest, schedule_followup
from bot.handling import Handler
from bot.questionnaires import QuestionnaireBook
from bot.scheduling import Scheduling
from bot.time_zones import question, zone_named
from bot.timing import CANADIAN_ZONES
from conversations.inputs import Begin, Input, Pick, Reply
from conversations.messages import Answered, Ask, Message, Notice, Say, message_from_dict
from storage import UnitOfWork, repository, schedules
from storage.consents import consents_of
from storage.models import (
    Answer,
    Identity,
    OutboxRow,
    ReceivedEvent,
    ScheduledSend,
    Stakeholder,
)

Factory = sessionmaker[Session]
CHECK_IN = Path(__file__).resolve().parents[2] / "examples" / "check-in.yaml"
NOW = datetime(2027, 1, 7, 15, 0, tzinfo=UTC)  # Thursday, 10:00 in Toronto
ZONES = [option.zone for option in CANADIAN_ZONES]


# ------------------------------------------------------------------------ the question


def test_the_question_offers_the_canadian_zones_in_both_languages() -> None:
    english, french = question("en"), question("fr")
    assert [o.value for o in english.options] == ZONES == [o.value for o in french.options]
    assert english.text == "Which time zone are you in? " + english.text.split("? ", 1)[1]
    assert french.text.startswith("Dans quel fuseau horaire êtes-vous?")
    assert "Atlantic (Halifax)" in [o.label for o in english.options]
    assert "Terre-Neuve (St. John’s)" in [o.label for o in french.options]


@pytest.mark.parametrize("zone", ZONES)
def test_each_button_survives_telegram_and_slack(zone: str) -> None:
    data = telegram_format.callback_data("p", "tz", zone)
    assert len(data.encode()) <= 64
    assert telegram_format.parse_callback(data) == Pick("tz", zone)
    rendered = telegram_format.render(question("en"))
    assert rendered is not None and rendered.keyboard is not None
    datas = [b.callback_data for row in rendered.keyboard.inline_keyboard for b in row]
    assert data in datas
    menu = next(
        element
        for block in slack_format.render(question("en")).blocks
        if block["type"] == "actions"
        for element in block["elements"]
    )
    [option] = [o for o in menu["options"] if o["value"] == data]
    action = {"type": menu["type"], "action_id": menu["action_id"], "selected_option": option}
    body = {"user": {"id": "U1"}, "actions": [{**action, "action_ts": "1.2"}]}
    event = slack_format.to_inbound_action(body)
    assert event is not None and event.input == Pick("tz", zone)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Toronto", "America/Toronto"),
        ("eastern", "America/Toronto"),
        ("Est", "America/Toronto"),
        ("America/Halifax", "America/Halifax"),
        ("america/halifax", "America/Halifax"),
        ("Atlantique", "America/Halifax"),
        ("St. John's", "America/St_Johns"),
        ("Terre-Neuve", "America/St_Johns"),
        ("Saskatchewan", "America/Regina"),
        ("  Vancouver. ", "America/Vancouver"),
        ("Europe/Paris", "Europe/Paris"),
        ("I live in Toronto", None),
        ("Mars/Olympus", None),
        ("yes", None),
    ],
)
def test_typed_zone_names(text: str, zone: str | None) -> None:
    assert zone_named(text) == zone


# ------------------------------------------------------------------------- handling

_ids: Iterator[int] = itertools.count(1)


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    check_in = QuestionnaireBook.from_file(CHECK_IN)
    with UnitOfWork(session_factory) as uow:
        check_in.store_current(uow.session)
        uow.commit()
    return check_in


@pytest.fixture
def handler(session_factory: Factory, book: QuestionnaireBook) -> Handler:
    return Handler(session_factory, book, lambda: NOW, open_enrollment=True)


def event(what: Input | str, who: str = "alice") -> InboundEvent:
    return InboundEvent(
        platform="telegram",
        event_id=f"tz{next(_ids)}",
        sender=who,
        address=f"{who}-chat",
        input=Reply(what) if isinstance(what, str) else what,
        display_name=who.title(),
        received_at=NOW,
    )


def said(sf: Factory, ids: tuple[int, ...]) -> list[Message]:
    with UnitOfWork(sf) as uow:
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)))
        return [message_from_dict(row.payload) for row in sorted(rows, key=lambda r: r.id)]


def zone_of(sf: Factory, who: str) -> str:
    with UnitOfWork(sf) as uow:
        statement = (
            select(Stakeholder.time_zone)
            .join(Identity, Identity.stakeholder_id == Stakeholder.id)
            .where(Identity.external_id == who)
        )
        return str(uow.session.scalars(statement).one())


def asked_at(sf: Factory) -> dict[str, datetime | None]:
    """When each person was asked their zone, by account."""
    with UnitOfWork(sf) as uow:
        statement = select(Identity.external_id, Stakeholder.time_zone_asked_at).join(
            Stakeholder, Identity.stakeholder_id == Stakeholder.id
        )
        return {who: at for who, at in uow.session.execute(statement)}


def complete(handler: Handler, who: str = "alice", gap: str = "Toronto") -> list[Message]:
    """Take the check-in from start to end; what the last answer got back."""
    for what in (Begin(), "I agree", "1", "3", "no"):
        assert not handler.handle(event(what, who)).duplicate
    return said(handler.session_factory, handler.handle(event(gap, who)).outbox_ids)


def test_asked_right_after_completion_and_never_before(
    session_factory: Factory, handler: Handler
) -> None:
    last = complete(handler)
    # "Toronto" answered the free-text question: a city named mid-questionnaire is an answer
    with UnitOfWork(session_factory) as uow:
        gap = uow.session.scalars(select(Answer).where(Answer.item_id == "biggest_gap")).one()
        assert gap.value == "Toronto"
    assert zone_of(session_factory, "alice") == "UTC"
    assert isinstance(last[-1], Ask) and last[-1].item_id == "tz"
    assert any("check-in answers have been recorded" in str(m) for m in last[:-1])
    assert asked_at(session_factory) == {"alice": NOW}


def test_asked_after_completion_means_not_asked_again_before_a_follow_up(
    session_factory: Factory, handler: Handler, book: QuestionnaireBook
) -> None:
    complete(handler)
    due = NOW + timedelta(days=7)
    with UnitOfWork(session_factory) as uow:
        alice = uow.session.scalars(select(Identity).where(Identity.external_id == "alice")).one()
    [send] = _followup_sends(session_factory, due, [alice.stakeholder_id], number=2)
    before = len(_outbox(session_factory))
    rules = Scheduling(session_factory, book, lambda: due, default_zone=ZoneInfo("America/Toronto"))
    assert rules.process(send).status == "sent"
    later = _outbox(session_factory)[before:]
    assert later and not any(_asks_zone(r.payload) for r in later)
    assert asked_at(session_factory) == {"alice": NOW}


def test_a_known_zone_is_never_asked(session_factory: Factory, handler: Handler) -> None:
    handler.handle(event(Begin(), "bob"))
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(Stakeholder.__table__.update().values(time_zone="America/Regina"))
        uow.commit()
    last = complete(handler, "bob")
    assert not any(isinstance(m, Ask) and m.item_id == "tz" for m in last)


def test_a_zone_from_the_profile_costs_no_claim_and_an_agreement_no_extra_read(
    engine: Engine, session_factory: Factory, handler: Handler
) -> None:
    """Decided in memory on the batched path: completing the run of someone whose zone
    came with their profile tries no claim (the guarded UPDATE), and their agreement is
    recorded without reading their run again. Both used to run for every such event."""
    handler.handle(replace(event(Begin(), "cy"), time_zone="America/Regina"))
    statements: list[str] = []

    def seen(_c: Any, _k: Any, statement: str, *_rest: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        last = complete(handler, "cy")
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert not any(isinstance(m, Ask) and m.item_id == "tz" for m in last)
    assert not [s for s in statements if s.startswith("update stakeholders")]
    assert not [s for s in statements if s.startswith("select runs.stakeholder_id")]
    with UnitOfWork(session_factory) as uow:
        [cy] = uow.session.scalars(select(Stakeholder.id).join(Identity)).all()
        assert [c.decision for c in consents_of(uow.session, cy)] == ["agreed"]
    assert asked_at(session_factory) == {"cy": None}
    assert zone_of(session_factory, "cy") == "America/Regina"


def test_a_button_sets_the_zone_and_a_stale_press_is_harmless(
    session_factory: Factory, handler: Handler
) -> None:
    complete(handler)
    first = handler.handle(event(Pick("tz", "America/Halifax")))
    answered, thanks = said(session_factory, first.outbox_ids)
    assert answered == Answered("tz", question("en").text, "Atlantic (Halifax)")
    assert isinstance(thanks, Say) and "Atlantic (Halifax)" in thanks.text
    assert zone_of(session_factory, "alice") == "America/Halifax"

    again = handler.handle(event(Pick("tz", "America/Halifax")))  # the old keyboard, again
    assert zone_of(session_factory, "alice") == "America/Halifax" and not again.duplicate
    forged = handler.handle(event(Pick("tz", "Mars/Olympus")))
    assert forged.notices and "not one of the time zones" in forged.notices[0]
    assert isinstance(said(session_factory, forged.outbox_ids)[0], Notice)
    assert zone_of(session_factory, "alice") == "America/Halifax"


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Eastern", "America/Toronto"),
        ("America/Halifax", "America/Halifax"),
        ("Regina", "America/Regina"),
    ],
)
def test_a_typed_answer_after_completion_sets_the_zone(
    session_factory: Factory, handler: Handler, typed: str, zone: str
) -> None:
    complete(handler)
    handled = handler.handle(event(typed))
    assert zone_of(session_factory, "alice") == zone
    assert isinstance(said(session_factory, handled.outbox_ids)[-1], Say)
    later = handler.handle(event("Vancouver"))  # once known, words are words again
    assert zone_of(session_factory, "alice") == zone and not later.duplicate


def test_a_city_as_a_first_message_starts_the_questionnaire(
    session_factory: Factory, handler: Handler
) -> None:
    first = said(session_factory, handler.handle(event("Toronto", "carl")).outbox_ids)
    assert zone_of(session_factory, "carl") == "UTC"
    assert any("Would you like to answer it now?" in str(m) for m in first)


def test_in_a_batch_the_answer_goes_one_by_one_and_the_others_are_not_disturbed(
    session_factory: Factory, handler: Handler
) -> None:
    complete(handler, "alice")
    handler.handle(event(Begin(), "bob"))
    handler.handle(event("I agree", "bob"))
    results = handler.handle_batch(
        [event("1", "bob"), event(Pick("tz", "America/Vancouver"), "alice"), event("4", "bob")]
    )
    assert [r.duplicate for r in results] == [False, False, False]
    assert zone_of(session_factory, "alice") == "America/Vancouver"
    with UnitOfWork(session_factory) as uow:
        items = set(uow.session.scalars(select(Answer.item_id)))
    assert {"data_use_change", "capacity_now"} <= items


# ----------------------------------------------------------------------- scheduling


def _person(sf: Factory, name: str, zone: str) -> int:
    with UnitOfWork(sf) as uow:
        row = repository.create_stakeholder(uow.session, name=name, language="fr", time_zone=zone)
        repository.link_identity(uow.session, row.id, "console", name, now=NOW)
        uow.commit()
        return row.id


def _followup_sends(sf: Factory, due: datetime, ids: list[int], number: int = 1) -> list[int]:
    with UnitOfWork(sf) as uow:
        made = schedules.create_followup(
            uow.session,
            questionnaire_key="check-in",
            questionnaire_version="1",
            wave=f"wave{number}",
            cohort={"type": "stakeholders", "ids": ids},
            schedule={"type": "at", "date": "2099-01-01", "time": "10:00"},
            created_by="test",
            now=NOW,
        )
        sends = [schedules.NewSend("followup", who, made.id, 1, due) for who in ids]
        created = schedules.schedule_sends(uow.session, sends, NOW)
        uow.commit()
        return [row.id for row in created]


def test_asked_once_before_a_first_follow_up_timed_in_the_research_teams_zone(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    unknown = _person(session_factory, "una", "UTC")
    known = _person(session_factory, "kim", "America/Vancouver")
    due = datetime(2027, 1, 14, 12, 30, tzinfo=UTC)  # Thursday: 07:30 in Toronto
    clock = {"now": due}
    rules = Scheduling(
        session_factory, book, lambda: clock["now"], default_zone=ZoneInfo("America/Toronto")
    )
    for send in _followup_sends(session_factory, due, [unknown, known]):
        assert rules.process(send).status == "sent"

    rows = _outbox(session_factory)
    una = [r for r in rows if r.address == "una"]
    first = message_from_dict(una[0].payload)
    assert isinstance(first, Ask) and first.item_id == "tz"
    assert first.text.startswith("Dans quel fuseau horaire")  # in their language
    assert {r.not_before for r in una} == {datetime(2027, 1, 14, 14, 0, tzinfo=UTC)}  # 09:00 EST
    kim = [r for r in rows if r.address == "kim"]
    assert all(message_from_dict(r.payload) != first for r in kim)
    assert {r.not_before for r in kim} == {datetime(2027, 1, 14, 17, 0, tzinfo=UTC)}  # 09:00 PST

    [second] = _followup_sends(session_factory, due + timedelta(days=7), [unknown], number=2)
    clock["now"] = due + timedelta(days=7)
    before = len(_outbox(session_factory))
    assert rules.process(second).status == "sent"
    later = _outbox(session_factory)[before:]
    assert later and not any(_asks_zone(r.payload) for r in later)
    with UnitOfWork(session_factory) as uow:
        asked = {p.id: p.time_zone_asked_at for p in uow.session.scalars(select(Stakeholder))}
        marks = uow.session.scalar(
            select(func.count())
            .select_from(ReceivedEvent)
            .where(ReceivedEvent.platform == "parley")
        )
    assert asked == {unknown: due, known: None}  # asked when the first follow-up went out
    assert marks == 0  # inbound_events is for platform deliveries only


def _outbox(sf: Factory) -> list[OutboxRow]:
    with UnitOfWork(sf) as uow:
        return list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def _asks_zone(payload: dict[str, Any]) -> bool:
    message = message_from_dict(payload)
    return isinstance(message, Ask) and message.item_id == "tz"


# -------------------------------------------------------------------------- follow-ups

HALIFAX = ZoneInfo("America/Halifax")


def test_a_follow_up_at_10_for_someone_without_a_zone_is_at_10_in_the_research_teams_zone(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    """Every four weeks from 10:00 on 2027-03-04, across Halifax's DST start (03-14)."""
    unknown = [_person(session_factory, "una", "UTC"), _person(session_factory, "zed", "")]
    kim = _person(session_factory, "kim", "America/Vancouver")
    request = FollowupRequest("all", every="every 4 weeks", starting="2027-03-04 10:00")
    with UnitOfWork(session_factory) as uow:
        lines = schedule_followup(
            uow.session,
            book,
            "check-in",
            request,
            zone=ZoneInfo("America/Toronto"),  # how the researcher typed the time
            created_by="test",
            now=NOW,
            team_zone=HALIFAX,  # PARLEY_RESEARCHER_TIME_ZONE
        )
        uow.commit()
    assert lines[-1] == (
        "first sends: 3, 2027-03-04 09:00 America/Toronto to 2027-03-04 13:00 America/Toronto"
    )
    first = _sends(session_factory)
    march = datetime(2027, 3, 4, 14, 0, tzinfo=UTC)  # 10:00 AST
    assert first == {unknown[0]: [march], unknown[1]: [march], kim: [march + timedelta(hours=4)]}

    rules = Scheduling(session_factory, book, lambda: march, default_zone=HALIFAX)
    for send in _pending_ids(session_factory, unknown):
        assert rules.process(send).status == "sent"
    april = datetime(2027, 4, 1, 13, 0, tzinfo=UTC)  # 10:00 ADT, not 14:00 UTC again
    assert {who: due[1:] for who, due in _sends(session_factory).items()} == {
        unknown[0]: [april],
        unknown[1]: [april],
        kim: [],
    }


def _sends(sf: Factory) -> dict[int, list[datetime]]:
    """Each stakeholder's follow-up sends, by due time."""
    found: dict[int, list[datetime]] = {}
    with UnitOfWork(sf) as uow:
        rows = uow.session.scalars(select(ScheduledSend).order_by(ScheduledSend.due_at))
        for row in rows:
            found.setdefault(row.stakeholder_id, []).append(row.due_at)
    return found


def _pending_ids(sf: Factory, who: list[int]) -> list[int]:
    with UnitOfWork(sf) as uow:
        return [r.id for r in schedules.pending_sends(uow.session) if r.stakeholder_id in who]
