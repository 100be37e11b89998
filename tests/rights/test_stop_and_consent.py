"""STOP everywhere, and the consent ledger, through the real Handler on SQLite and PostgreSQL.

STOP sets the flag, cancels what was pending for the person (messages and scheduled
sends), and the scheduler sends nothing to them afterwards; /start lifts it. Every
agreement and decline is a ledger row; a changed consent text is shown again first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.scheduling import Scheduling
from conversations.inputs import Begin, Pick
from conversations.messages import Ask, Say
from storage import UnitOfWork, repository, schedules
from storage.models import Answer, Consent, OutboxRow, Run, ScheduledSend, Stakeholder
from storage.schedules import NewSend
from tests.rights.support import SECRET_WORDS, Chat, Clock, study, texts_of

Factory = sessionmaker[Session]
MakeChat = Callable[..., Chat]


def person(factory: Factory, chat: Chat) -> Stakeholder:
    with UnitOfWork(factory) as uow:
        found = repository.stakeholder_for_identity(uow.session, chat.platform, chat.who)
        assert found is not None
        uow.session.expunge(found)
        return found


def run_status(factory: Factory, stakeholder_id: int) -> str:
    with UnitOfWork(factory) as uow:
        return uow.session.scalars(
            select(Run.status).where(Run.stakeholder_id == stakeholder_id)
        ).one()


def ledger(factory: Factory, stakeholder_id: int) -> list[tuple[str, int, str, str]]:
    with UnitOfWork(factory) as uow:
        rows = uow.session.scalars(
            select(Consent).where(Consent.stakeholder_id == stakeholder_id).order_by(Consent.id)
        )
        return [(r.decision, r.consent_version, r.language, r.channel) for r in rows]


def pending_for(factory: Factory, chat: Chat) -> list[OutboxRow]:
    with UnitOfWork(factory) as uow:
        statement = select(OutboxRow).where(
            OutboxRow.address == chat.who, OutboxRow.status == "pending"
        )
        return list(uow.session.scalars(statement))


def sent_everything(factory: Factory) -> None:
    """As if the dispatcher had delivered what is pending (it is not under test here)."""
    with UnitOfWork(factory) as uow:
        for row in uow.session.scalars(select(OutboxRow).where(OutboxRow.status == "pending")):
            row.status = "sent"
        uow.commit()


def a_nudge(factory: Factory, stakeholder_id: int, clock: Clock, number: int = 1) -> int:
    with UnitOfWork(factory) as uow:
        run_id = uow.session.scalars(
            select(Run.id).where(Run.stakeholder_id == stakeholder_id)
        ).one()
        due = clock.now + timedelta(days=3)
        made = schedules.schedule_sends(
            uow.session, [NewSend("nudge", stakeholder_id, run_id, number, due)], clock.now
        )
        uow.commit()
        return made[0].id


def send_status(factory: Factory, send_id: int) -> str:
    with UnitOfWork(factory) as uow:
        return uow.session.get_one(ScheduledSend, send_id).status


# -- STOP --------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["stop", "/stop", "arrêter", "unsubscribe", "STOP"])
def test_stop_mid_questionnaire(
    make_chat: MakeChat, session_factory: Factory, clock: Clock, word: str
) -> None:
    chat = make_chat(study())
    chat.send(Begin())
    chat.send("I agree")
    chat.send(Pick("colour", "red"))
    me = person(session_factory, chat)
    nudge = a_nudge(session_factory, me.id, clock)
    assert pending_for(session_factory, chat)  # the last question, not yet delivered

    said = chat.send(word)

    assert "not receive any more messages" in texts_of(said)
    me = person(session_factory, chat)
    assert me.stopped_at == clock.now
    assert run_status(session_factory, me.id) == "withdrawn"
    assert send_status(session_factory, nudge) == "cancelled"
    pending = pending_for(session_factory, chat)
    assert [message_kind(row) for row in pending] == ["say"]  # only the reply to STOP
    with UnitOfWork(session_factory) as uow:
        cancelled = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.status == "cancelled")
        ).all()
    assert cancelled and all(row.address == chat.who for row in cancelled)


def message_kind(row: OutboxRow) -> str:
    return str(row.payload["kind"])


@pytest.mark.parametrize("when", ["no_run", "completed", "declined"])
def test_stop_outside_a_questionnaire(
    make_chat: MakeChat, session_factory: Factory, clock: Clock, when: str
) -> None:
    chat = make_chat(study())
    if when == "no_run":
        chat.send("/mydata")  # anything that enrols without starting: nothing is stored
        said = chat.send("stop")
        assert "does not store anything" in texts_of(said)
        return
    if when == "completed":
        chat.answer_all()
    else:
        chat.send(Begin())
        chat.send("I do not agree")
    said = chat.send("stop")
    me = person(session_factory, chat)
    assert me.stopped_at == clock.now
    assert "not receive any more messages" in texts_of(said)


def test_the_scheduler_sends_nothing_to_someone_who_stopped(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    book = study()
    chat = make_chat(book)
    chat.send(Begin())
    chat.send("I agree")
    me = person(session_factory, chat)
    before = a_nudge(session_factory, me.id, clock)
    chat.send("stop")
    sent_everything(session_factory)
    after = a_nudge(session_factory, me.id, clock, number=2)  # a sweep made another later
    clock.advance(days=3, hours=1)
    scheduling = Scheduling(session_factory, book, clock)

    assert scheduling.process(before).status == "skipped"  # cancelled by the STOP
    assert scheduling.process(after).status == "cancelled"  # the flag, checked on waking
    assert send_status(session_factory, after) == "cancelled"
    assert pending_for(session_factory, chat) == []


def test_a_nudge_reaches_someone_who_did_not_stop(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    """The same path without STOP sends the reminder: the test above can fail."""
    book = study()
    chat = make_chat(book)
    chat.send(Begin())
    chat.send("I agree")
    me = person(session_factory, chat)
    nudge = a_nudge(session_factory, me.id, clock)
    sent_everything(session_factory)
    clock.advance(days=3, hours=1)
    assert Scheduling(session_factory, book, clock).process(nudge).status == "sent"
    assert len(pending_for(session_factory, chat)) == 1


def test_stop_then_start_again(make_chat: MakeChat, session_factory: Factory) -> None:
    chat = make_chat(study())
    chat.send(Begin())
    chat.send("I agree")
    chat.send(Pick("colour", "blue"))
    chat.send("stop")
    assert "Type start to continue" in texts_of(chat.send(SECRET_WORDS[0]))  # not an answer

    said = chat.send("start")

    me = person(session_factory, chat)
    assert me.stopped_at is None
    assert "receive messages from this study again" in texts_of(said)
    assert any(isinstance(m, Ask) and m.item_id == "story" for m in said)
    assert run_status(session_factory, me.id) == "in_progress"
    chat.send(SECRET_WORDS[0])
    with UnitOfWork(session_factory) as uow:
        stored = uow.session.scalars(select(Answer.raw).where(Answer.item_id == "story")).all()
    assert stored == [SECRET_WORDS[0]]


def test_stop_in_a_batch_takes_the_one_by_one_way(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    """Several events together (the batched path): STOP and start are still honoured."""
    chat = make_chat(study())
    chat.send(Begin())
    chat.send("I agree")
    handled = chat.handler.handle_batch(
        [chat.event(Pick("colour", "red")), chat.event("stop"), chat.event("good words")]
    )
    assert not any(h.duplicate for h in handled)
    me = person(session_factory, chat)
    assert me.stopped_at == clock.now
    assert run_status(session_factory, me.id) == "withdrawn"
    chat.handler.handle_batch([chat.event("start")])
    assert person(session_factory, chat).stopped_at is None


# -- the consent ledger ------------------------------------------------------------------


def test_agreeing_is_a_ledger_row(make_chat: MakeChat, session_factory: Factory) -> None:
    chat = make_chat(study(consent=3), language="fr")
    chat.send(Begin())
    chat.send("oui")
    me = person(session_factory, chat)
    assert ledger(session_factory, me.id) == [("agreed", 3, "fr", "console")]


def test_declining_is_a_row_and_nothing_else(make_chat: MakeChat, session_factory: Factory) -> None:
    chat = make_chat(study())
    chat.send(Begin())
    said = chat.send(Pick("consent", "decline"))
    me = person(session_factory, chat)
    assert ledger(session_factory, me.id) == [("declined", 1, "en", "console")]
    assert "Nothing you have said has been recorded" in texts_of(said)
    assert "You declined" in texts_of(chat.send("red"))
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalars(select(Answer)).all() == []


def test_a_batch_records_agreements_too(make_chat: MakeChat, session_factory: Factory) -> None:
    chat = make_chat(study())
    other = Chat(chat.handler, "acct-7702", "Other Person")
    chat.handler.handle_batch([chat.event(Begin()), other.event(Begin())])
    chat.handler.handle_batch([chat.event("I agree"), other.event("I do not agree")])
    assert ledger(session_factory, person(session_factory, chat).id) == [
        ("agreed", 1, "en", "console")
    ]
    assert ledger(session_factory, person(session_factory, other).id) == [
        ("declined", 1, "en", "console")
    ]


@pytest.mark.parametrize("batched", [False, True])
def test_a_new_consent_version_is_asked_again_before_continuing(
    make_chat: MakeChat, session_factory: Factory, batched: bool
) -> None:
    first = make_chat(study(consent=1))
    first.send(Begin())
    first.send("I agree")
    first.send(Pick("colour", "red"))
    chat = make_chat(study(version="2", consent=2))  # the consent text changed

    said = chat.handler.handle_batch([chat.event(SECRET_WORDS[0])]) if batched else None
    said_messages = chat.messages(said[0].outbox_ids) if said else chat.send(SECRET_WORDS[0])

    text = texts_of(said_messages)
    assert "consent text of this study has changed" in text
    assert "Consent text 2" in text
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalars(select(Answer.item_id)).all() == ["colour"]  # not an answer

    again = chat.send("I agree")

    assert any(isinstance(m, Ask) and m.item_id == "story" for m in again)
    me = person(session_factory, chat)
    assert ledger(session_factory, me.id) == [
        ("agreed", 1, "en", "console"),
        ("agreed", 2, "en", "console"),
    ]
    chat.send(SECRET_WORDS[0])
    with UnitOfWork(session_factory) as uow:
        assert sorted(uow.session.scalars(select(Answer.item_id))) == ["colour", "story"]
    assert not any("changed" in texts_of([m]) for m in chat.send(SECRET_WORDS[2]))


def test_declining_a_new_version_ends_politely(
    make_chat: MakeChat, session_factory: Factory
) -> None:
    first = make_chat(study(consent=1))
    first.send(Begin())
    first.send("I agree")
    chat = make_chat(study(version="2", consent=2))
    chat.send("hello")
    said = chat.send(Pick("consent", "decline"))
    me = person(session_factory, chat)
    assert run_status(session_factory, me.id) == "declined"
    assert [row[:2] for row in ledger(session_factory, me.id)] == [("agreed", 1), ("declined", 2)]
    assert any(isinstance(m, Say) for m in said)


def test_an_unchanged_consent_version_is_not_asked_again(
    make_chat: MakeChat, session_factory: Factory
) -> None:
    first = make_chat(study(consent=1))
    first.send(Begin())
    first.send("I agree")
    chat = make_chat(study(version="2", consent=1))  # questions changed, consent did not
    said = chat.send(Pick("colour", "red"))
    assert "changed" not in texts_of(said)
    assert len(ledger(session_factory, person(session_factory, chat).id)) == 1


@pytest.mark.parametrize("kind", ["nudge", "group_invite"])
def test_stop_in_reply_to_a_reminder_or_an_invitation(
    make_chat: MakeChat, session_factory: Factory, clock: Clock, kind: str
) -> None:
    """The scheduler sends a nudge or a group invitation; the reply STOP cancels the rest."""
    from storage.groups import SessionSpec, add_invitees, create_group

    book = study()
    chat = make_chat(book)
    chat.send(Begin())
    chat.send("I agree")
    me = person(session_factory, chat)
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        run_id = session.scalars(select(Run.id).where(Run.stakeholder_id == me.id)).one()
        spec = SessionSpec("Data circle", 60, "UTC", "Room 4", None, "cli:ann")
        group = create_group(session, spec, clock.now + timedelta(days=20), clock.now)
        add_invitees(session, group.id, [me.id], clock.now)
        ref = run_id if kind == "nudge" else group.id
        due = clock.now + timedelta(days=3)
        later_kind = "nudge" if kind == "nudge" else "group_reminder"
        first, later = schedules.schedule_sends(
            session,
            [
                NewSend(kind, me.id, ref, 1 if kind == "nudge" else 0, due),
                NewSend(later_kind, me.id, ref, 2, due + timedelta(days=3)),
            ],
            clock.now,
        )
        first_id, later_id = first.id, later.id
        uow.commit()
    sent_everything(session_factory)
    clock.advance(days=3, hours=1)
    scheduling = Scheduling(session_factory, book, clock)
    assert scheduling.process(first_id).status == "sent"
    assert pending_for(session_factory, chat)  # the reminder or invitation, to them

    said = chat.send("unsubscribe")

    assert "not receive any more messages" in texts_of(said)
    assert [message_kind(r) for r in pending_for(session_factory, chat)] == ["say"]
    sent_everything(session_factory)
    clock.advance(days=3)
    assert scheduling.process(later_id).status == "skipped"  # cancelled by the STOP
    assert send_status(session_factory, later_id) == "cancelled"
    assert pending_for(session_factory, chat) == []


def test_a_changed_consent_text_needs_a_new_consent_version(session_factory: Factory) -> None:
    from storage.consents import ConsentTextChanged
    from tests.rights.support import STUDY, make_book

    revised = STUDY.format(version="2", consent=1, mode="delete").replace(
        "Consent text 1.", "Consent text 1, revised."
    )
    with UnitOfWork(session_factory) as uow:
        study(consent=1).store_current(uow.session)
        study(version="2", consent=2).store_current(uow.session)  # bumped: fine
        with pytest.raises(ConsentTextChanged) as raised:
            make_book(revised).store_current(uow.session)
    assert str(raised.value) == (
        "consent.version: questionnaire 'rights-study' changes the consent text of consent "
        "version 1 (as stored with questionnaire version '1'); bump consent.version"
    )
