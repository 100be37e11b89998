"""Roster import, invitation links and researcher commands, through the real Handler."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import time_zones
from bot.channels.base import InboundEvent
from bot.handling import Access, Handler
from bot.invites import issue_telegram_invites
from bot.questionnaires import QuestionnaireBook
from bot.roster import RosterError, import_roster, read_roster
from bot.starting import begin_run
from conversations.inputs import Begin, Input, Reply
from conversations.messages import message_from_dict
from storage import UnitOfWork, repository
from storage.models import Identity, OutboxRow, Run, Stakeholder

ROOT = Path(__file__).parents[2]
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
Factory = sessionmaker[Session]
_ids = itertools.count(1)


@pytest.fixture
def book(session_factory: Factory) -> QuestionnaireBook:
    book = QuestionnaireBook.from_file(ROOT / "examples" / "settlement-data-needs.yaml")
    with UnitOfWork(session_factory) as uow:
        book.store_current(uow.session)
        entries = read_roster(ROOT / "examples" / "roster.csv", book.current.languages)
        import_roster(uow.session, entries, NOW)
        uow.commit()
    return book


def handler(
    factory: Factory, book: QuestionnaireBook, clock: datetime = NOW, **access: object
) -> Handler:
    return Handler(factory, book, lambda: clock, access=Access(**access))  # type: ignore[arg-type]


def tg(
    sender: str, given: Input, token: str | None = None, *, group: str | None = None
) -> InboundEvent:
    return InboundEvent(
        platform="telegram",
        event_id=str(next(_ids)),
        sender=sender,
        address=group or sender,
        input=given,
        invite_token=token,
        group=group is not None,
    )


def said(factory: Factory, address: str) -> list[str]:
    with UnitOfWork(factory) as uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.address == address).order_by(OutboxRow.id)
        ).all()
        return [str(message_from_dict(r.payload).__dict__.get("text", "")) for r in rows]


def links(factory: Factory, valid_for: timedelta = timedelta(days=30)) -> dict[str, str]:
    with UnitOfWork(factory) as uow:
        invitations = issue_telegram_invites(uow.session, "ParleyBot", now=NOW, valid_for=valid_for)
        uow.commit()
    return {i.email or i.name: i.link.split("start=")[1] for i in invitations}


def test_roster_import_is_idempotent(session_factory: Factory, book: QuestionnaireBook) -> None:
    with UnitOfWork(session_factory) as uow:
        entries = read_roster(ROOT / "examples" / "roster.csv", ("en", "fr"))
        assert import_roster(uow.session, entries, NOW) == (0, 15)
        uow.commit()
        assert uow.session.scalar(select(func.count()).select_from(Stakeholder)) == 15
        slack = uow.session.scalar(
            select(func.count()).select_from(Identity).where(Identity.platform == "slack")
        )
        assert slack == 4


def test_bad_roster_rows_are_one_line_each(tmp_path: Path) -> None:
    bad = tmp_path / "roster.csv"
    bad.write_text(
        "name,organisation,organisation_type,region,language,time_zone,email,slack_id\n"
        "Ann,Org,non_profit,on,en,America/Toronto,ann@example.org,\n"
        ",Org,non_profit,on,de,Mars/Olympus,not-an-email,x\n"
    )
    with pytest.raises(RosterError) as caught:
        read_roster(bad, ("en", "fr"))
    assert [str(e) for e in caught.value.errors] == [
        f"{bad}:3: name: required",
        f"{bad}:3: language: 'de' is not one of en, fr",
        f"{bad}:3: time_zone: unknown time zone 'Mars/Olympus' (use e.g. America/Toronto)",
        f"{bad}:3: email: not an e-mail address: 'not-an-email'",
        f"{bad}:3: slack_id: not a Slack user id: 'x'",
    ]


def test_a_row_without_a_time_zone_is_imported_and_asked_once(
    session_factory: Factory, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    header = "name,organisation,organisation_type,region,language,time_zone,email,slack_id\n"
    roster.write_text(header + "Zoë,Org,non_profit,on,fr,,zoe@example.org,\n")
    with UnitOfWork(session_factory) as uow:
        assert import_roster(uow.session, read_roster(roster, ("en", "fr")), NOW) == (1, 0)
        zoe = uow.session.scalars(select(Stakeholder).where(Stakeholder.name == "Zoë")).one()
        assert zoe.time_zone == "" and not time_zones.is_known(zoe)
        asked = time_zones.ask_once(uow.session, zoe, zoe.language, NOW)
        assert asked is not None and asked.item_id == "tz"
        assert time_zones.ask_once(uow.session, zoe, zoe.language, NOW) is None
        zoe.time_zone = "America/Halifax"  # their answer
        uow.commit()

    with UnitOfWork(session_factory) as uow:  # the same roster again: the answer is kept
        assert import_roster(uow.session, read_roster(roster, ("en", "fr")), NOW) == (0, 1)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        zoe = uow.session.scalars(select(Stakeholder).where(Stakeholder.name == "Zoë")).one()
        assert (zoe.time_zone, zoe.time_zone_asked_at) == ("America/Halifax", NOW)


def test_a_row_with_a_time_zone_updates_it(session_factory: Factory, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    header = "name,organisation,organisation_type,region,language,time_zone,email,slack_id\n"
    for zone, expected in (("", ""), ("America/Regina", "America/Regina")):
        roster.write_text(header + f"Ann,Org,non_profit,on,en,{zone},ann@example.org,\n")
        with UnitOfWork(session_factory) as uow:
            import_roster(uow.session, read_roster(roster, ("en", "fr")), NOW)
            uow.commit()
        with UnitOfWork(session_factory) as uow:
            ann = uow.session.scalars(select(Stakeholder).where(Stakeholder.name == "Ann")).one()
            assert ann.time_zone == expected


def test_invitation_binds_the_account_and_starts_consent_in_their_language(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    tokens = links(session_factory)
    assert len(tokens) == 15
    roster = read_roster(ROOT / "examples" / "roster.csv", ("en", "fr"))
    french = next(e.email for e in roster if e.language == "fr" and e.email)
    handle = handler(session_factory, book)
    handle.handle(tg("777", Begin(), tokens[french]))
    with UnitOfWork(session_factory) as uow:
        identity = uow.session.scalars(select(Identity).where(Identity.external_id == "777")).one()
        person = uow.session.get_one(Stakeholder, identity.stakeholder_id)
        run = uow.session.scalars(select(Run).where(Run.stakeholder_id == person.id)).one()
    assert person.email == french
    assert run.state["language"] == "fr"
    assert run.status == "consenting"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown", "This invitation link is not valid."),
        ("expired", "This invitation link has expired."),
        ("used", "This invitation link has already been used."),
    ],
)
def test_bad_invitations_get_a_clear_message(
    session_factory: Factory, book: QuestionnaireBook, case: str, expected: str
) -> None:
    tokens = list(links(session_factory).values())
    later = NOW + timedelta(days=31)
    handle = handler(session_factory, book, later if case == "expired" else NOW)
    if case == "used":
        handle.handle(tg("1", Begin(), tokens[0]))
    token = "no-such-token" if case == "unknown" else tokens[0]
    handle.handle(tg("2", Begin(), token))
    assert said(session_factory, "2")[0].startswith(expected)


def test_own_link_again_just_resumes(session_factory: Factory, book: QuestionnaireBook) -> None:
    token = next(iter(links(session_factory).values()))
    handle = handler(session_factory, book)
    handle.handle(tg("5", Begin(), token))
    handle.handle(tg("5", Reply("I agree")))
    handle.handle(tg("5", Begin(), token))
    assert said(session_factory, "5")[-2].startswith("Welcome back")


def test_uninvited_start_is_refused_unless_open(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    handler(session_factory, book).handle(tg("9", Begin()))
    assert said(session_factory, "9") == [
        "Hello! This study is by invitation only. If you received an invitation link, please "
        "open it to take part."
    ]
    handler(session_factory, book, open_enrollment=True).handle(tg("10", Begin()))
    assert said(session_factory, "10")[0].startswith("Welcome to")


def test_research_group_status_for_researchers_only(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    group = "-100555"
    handle = handler(
        session_factory,
        book,
        research_address=("telegram", group),
        researchers=frozenset({("telegram", "11")}),
    )
    handle.handle(tg("12", Reply("/status"), group=group))
    handle.handle(tg("11", Reply("/status@ParleyBot"), group=group))
    handle.handle(tg("11", Reply("just chatting"), group=group))
    handle.handle(tg("11", Reply("/status"), group="-100999"))
    replies = said(session_factory, group)
    assert replies[0] == "Sorry, only members of the research team can use that command."
    assert replies[1].startswith("Data needs of settlement organisations: 15 invited")
    assert len(replies) == 2
    assert said(session_factory, "-100999") == []


def test_one_person_two_platforms_one_run(
    session_factory: Factory, book: QuestionnaireBook
) -> None:
    roster = read_roster(ROOT / "examples" / "roster.csv", ("en", "fr"))
    on_slack = next(e for e in roster if e.slack_id)
    token = links(session_factory)[on_slack.email or on_slack.name]
    handle = handler(session_factory, book)
    handle.handle(tg("31", Begin(), token))
    handle.handle(tg("31", Reply("I agree")))
    handle.handle(tg("31", Reply("1")))  # org_type on Telegram
    slack = InboundEvent(
        platform="slack", event_id="Ev1", sender=str(on_slack.slack_id),
        address=str(on_slack.slack_id), input=Reply("5"),
    )  # fmt: skip
    handle.handle(slack)  # province on Slack
    with UnitOfWork(session_factory) as uow:
        runs = uow.session.scalars(select(Run)).all()
    assert len(runs) == 1
    assert runs[0].state["answers"].keys() == {"org_type", "province"}
    assert said(session_factory, str(on_slack.slack_id))[-1] == label_of(book, "respondent_role")


def label_of(book: QuestionnaireBook, item_id: str) -> str:
    return book.current.item(item_id).label.get("en")


@pytest.mark.parametrize("batched", [True, False], ids=["together", "one-by-one"])
def test_replies_go_to_an_open_follow_up_run_not_the_main_one(
    session_factory: Factory, book: QuestionnaireBook, batched: bool
) -> None:
    checkin = QuestionnaireBook.from_file(ROOT / "examples" / "check-in.yaml")
    handle = handler(session_factory, book, open_enrollment=True)
    for said_text in ("hello", "I agree", "1"):  # main run: consent, then org_type
        handle.handle(tg("41", Reply(said_text)))
    with UnitOfWork(session_factory) as uow:
        checkin.store_current(uow.session)
        person = repository.stakeholder_for_identity(uow.session, "telegram", "41")
        assert person is not None
        begin_run(uow.session, checkin.current, person.id, "en", "telegram", "41", NOW,
                  wave="checkin:2027-01-15")  # fmt: skip
        uow.commit()
    reply = tg("41", Reply("I agree"))
    if batched:
        handle.handle(reply)
    else:
        with UnitOfWork(session_factory) as uow:
            handle._handle_isolated(uow.session, reply)
            uow.commit()
    with UnitOfWork(session_factory) as uow:
        runs = {r.wave: r for r in uow.session.scalars(select(Run))}
    assert runs["checkin:2027-01-15"].status == "in_progress"
    assert runs["main"].state["cursor"] == "province", "the main run did not move"
    assert set(runs["main"].state["answers"]) == {"org_type"}
