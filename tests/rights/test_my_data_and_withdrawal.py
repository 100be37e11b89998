"""/mydata and /withdraw through the real Handler on SQLite and PostgreSQL.

/mydata: the file holds every row stored about the person, compared with the tables.
/withdraw with `delete`: afterwards no text or JSON column of any table holds their answers
or their name; exports and digests leave them out; nothing more is sent to them.
`keep_anonymous`: the answers stay, under a stakeholder with no name and no identities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from analytics.digest import digest_from_database
from analytics.export import ExportRequest
from bot.cli import app
from bot.exports import prepare_export
from bot.scheduling import Scheduling
from conversations.inputs import Begin, Pick
from conversations.messages import Ask, Attachment, Say
from storage import UnitOfWork, repository, schedules
from storage.groups import SessionSpec, add_invitees, create_group
from storage.models import (
    Answer,
    AnswerChange,
    Consent,
    Digest,
    GroupInvitee,
    Identity,
    OutboxRow,
    Run,
    ScheduledSend,
    Stakeholder,
    Withdrawal,
)
from storage.schedules import NewSend
from tests.rights.support import NAME, SECRET_WORDS, Chat, Clock, study, texts_of, where_found

Factory = sessionmaker[Session]
MakeChat = Callable[..., Chat]
CODE = re.compile(r"W-[0-9A-Z]{4}-[0-9A-Z]{4}")


def me(factory: Factory, chat: Chat) -> Stakeholder:
    with UnitOfWork(factory) as uow:
        found = repository.stakeholder_for_identity(uow.session, chat.platform, chat.who)
        assert found is not None
        uow.session.expunge(found)
        return found


def scheduled_for(factory: Factory, stakeholder_id: int, clock: Clock) -> tuple[int, int]:
    """A nudge and a discussion group (invited, a reminder due) for this person."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        run_id = session.scalars(select(Run.id).where(Run.stakeholder_id == stakeholder_id)).one()
        spec = SessionSpec("Data circle", 60, "America/Toronto", "Room 4", None, "cli:ann")
        group = create_group(session, spec, clock.now + timedelta(days=10), clock.now)
        add_invitees(session, group.id, [stakeholder_id], clock.now)
        session.execute(
            update(GroupInvitee)
            .where(GroupInvitee.stakeholder_id == stakeholder_id)
            .values(response="yes")
        )
        due = clock.now + timedelta(days=3)
        made = schedules.schedule_sends(
            session,
            [
                NewSend("nudge", stakeholder_id, run_id, 1, due),
                NewSend("group_reminder", stakeholder_id, group.id, 1, due),
            ],
            clock.now,
        )
        uow.commit()
        return made[0].id, made[1].id


def another_person(make_chat: MakeChat, chat: Chat) -> Chat:
    """Someone else in the same study, who stays: the erasure must not touch them."""
    other = Chat(chat.handler, "acct-8808", "Other Participant")
    other.send(Begin())
    other.send("I agree")
    other.send(Pick("colour", "blue"))
    other.send("A different long story about harbours")
    other.send("12")
    other.send("nothing else")
    return other


def withdraw(chat: Chat) -> str:
    question = chat.send("/withdraw")
    ask = next(m for m in question if isinstance(m, Ask))
    assert [o.value for o in ask.options] == ["confirm", "cancel"]
    receipt = texts_of(chat.send(Pick(ask.item_id, "confirm")))
    found = CODE.search(receipt)
    assert found, receipt
    return found.group(0)


# -- /mydata -----------------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["/mydata", "my data", "mes données"])
def test_my_data_holds_everything_stored_about_them(
    make_chat: MakeChat, session_factory: Factory, clock: Clock, asked: str
) -> None:
    chat = make_chat(study())
    chat.answer_all()
    person = me(session_factory, chat)
    scheduled_for(session_factory, person.id, clock)

    said = chat.send(asked)

    files = [m for m in said if isinstance(m, Attachment)]
    assert len(files) == 1 and files[0].media_type == "application/json"
    data = json.loads(files[0].content)
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        row = session.get_one(Stakeholder, person.id)
        assert data["profile"]["name"] == NAME == row.name
        assert data["profile"]["language"] == row.language
        identities = session.scalars(select(Identity).where(Identity.stakeholder_id == person.id))
        assert [(i["platform"], i["external_id"]) for i in data["identities"]] == [
            (i.platform, i.external_id) for i in identities
        ]
        runs = session.scalars(select(Run).where(Run.stakeholder_id == person.id)).all()
        assert [r["questionnaire_key"] for r in data["runs"]] == [r.questionnaire_key for r in runs]
        answers = session.scalars(select(Answer).where(Answer.run_id == runs[0].id)).all()
        in_file = {a["item_id"]: a for a in data["runs"][0]["answers"]}
        assert set(in_file) == {a.item_id for a in answers} == {"colour", "story", "staff", "last"}
        for answer in answers:
            assert in_file[answer.item_id]["raw"] == answer.raw
            assert in_file[answer.item_id]["value"] == answer.value
            assert in_file[answer.item_id]["answered_at"] == answer.answered_at.isoformat()
        history = session.scalars(select(AnswerChange).where(AnswerChange.run_id == runs[0].id))
        assert len(data["runs"][0]["answer_history"]) == len(history.all())
        consents = session.scalars(select(Consent).where(Consent.stakeholder_id == person.id)).all()
        assert [(c["decision"], c["consent_version"]) for c in data["consents"]] == [
            (c.decision, c.consent_version) for c in consents
        ]
        sends = session.scalars(
            select(ScheduledSend).where(ScheduledSend.stakeholder_id == person.id)
        ).all()
        assert sorted(s["kind"] for s in data["scheduled"]) == sorted(s.kind for s in sends)
    assert [(g["title"], g["response"]) for g in data["discussion_groups"]] == [
        ("Data circle", "yes")
    ]
    assert all(word in files[0].content for word in SECRET_WORDS)
    assert data["messages"] and all("kind" in m for m in data["messages"])
    assert "token_hash" not in files[0].content


def test_a_stranger_asking_for_their_data_is_told_nothing_is_stored(
    make_chat: MakeChat, session_factory: Factory
) -> None:
    chat = make_chat(study())
    said = chat.send("/mydata")
    assert "does not store anything about you" in texts_of(said)
    with UnitOfWork(session_factory) as uow:
        assert uow.session.scalars(select(Stakeholder)).all() == []  # not enrolled by asking


# -- /withdraw ---------------------------------------------------------------------------


def test_withdrawal_can_be_cancelled(make_chat: MakeChat, session_factory: Factory) -> None:
    chat = make_chat(study())
    chat.answer_all()
    chat.send("withdraw")
    said = chat.send(Pick("rights.withdraw", "cancel"))
    assert "still taking part" in texts_of(said)
    assert "answers.raw" in where_found(session_factory, SECRET_WORDS[0])
    assert me(session_factory, chat).stopped_at is None


def test_withdrawal_with_delete_leaves_no_trace_of_their_answers_or_name(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    chat = make_chat(study(mode="delete"))
    chat.answer_all()
    person = me(session_factory, chat)
    nudge, reminder = scheduled_for(session_factory, person.id, clock)
    other = another_person(make_chat, chat)
    chat.send("/mydata")  # a file of their answers now waits in the outbox too
    _store_a_digest_quoting_them(session_factory, chat, clock)
    for needle in (*SECRET_WORDS[:2], NAME):
        assert where_found(session_factory, needle), f"{needle!r} should be stored before"

    code = withdraw(chat)

    for needle in (*SECRET_WORDS[:2], NAME):
        assert where_found(session_factory, needle) == [], needle
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        assert session.scalars(select(Run).where(Run.stakeholder_id == person.id)).all() == []
        assert (
            session.scalars(select(Consent).where(Consent.stakeholder_id == person.id)).all() == []
        )
        assert session.scalars(select(GroupInvitee)).all() == []
        row = session.get_one(Stakeholder, person.id)
        assert row.withdrawn_at == clock.now and row.stopped_at == clock.now
        receipt = session.scalars(select(Withdrawal)).one()
        assert receipt.code == code
        assert receipt.erased["questionnaires"] == {"rights-study": "delete"}
        assert receipt.erased["counts"]["answers"] == 4
        assert set(receipt.erased) == {"questionnaires", "counts"}  # nothing about the person
        assert receipt.erased["counts"]["digest_quotes"] == 1
        others = session.scalars(select(Answer.raw).where(Answer.item_id == "story")).all()
        assert others == ["A different long story about harbours"]
    assert other.send("progress")  # the other person carries on
    _nothing_reaches(session_factory, chat, clock, nudge, reminder)


def _store_a_digest_quoting_them(factory: Factory, chat: Chat, clock: Clock) -> None:
    """A digest posted before the withdrawal, whose stored numbers quote their story."""
    with UnitOfWork(factory) as uow:
        built = digest_from_database(uow.session, chat.handler.book.current, None, clock.now, k=1)
        summary = built.to_dict()
        assert SECRET_WORDS[0] in json.dumps(summary, ensure_ascii=False)
        uow.session.add(
            Digest(
                due_at=clock.now,
                status="on_demand",
                handled_at=clock.now,
                channel="console",
                address="research",
                summary=summary,
                language="en",
            )
        )
        uow.commit()


def _nothing_reaches(factory: Factory, chat: Chat, clock: Clock, *send_ids: int) -> None:
    with UnitOfWork(factory) as uow:
        uow.session.execute(
            update(OutboxRow).where(OutboxRow.status == "pending").values(status="sent")
        )
        uow.commit()
    clock.advance(days=3, hours=1)
    scheduling = Scheduling(factory, chat.handler.book, clock)
    assert [scheduling.process(i).status for i in send_ids] == ["skipped"] * len(send_ids)
    with UnitOfWork(factory) as uow:
        pending = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.status == "pending", OutboxRow.address == chat.who)
        ).all()
    assert pending == []


def test_withdrawal_keeping_answers_anonymous(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    chat = make_chat(study(mode="keep_anonymous"))
    chat.answer_all()
    person = me(session_factory, chat)
    nudge, reminder = scheduled_for(session_factory, person.id, clock)

    code = withdraw(chat)

    assert where_found(session_factory, NAME) == []
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        run = session.scalars(select(Run)).one()
        assert run.stakeholder_id != person.id
        holder = session.get_one(Stakeholder, run.stakeholder_id)
        assert (holder.name, holder.organisation, holder.email) == ("anonymous", None, None)
        assert (
            session.scalars(select(Identity).where(Identity.stakeholder_id == holder.id)).all()
            == []
        )
        kept = {
            a.item_id: a.raw for a in session.scalars(select(Answer).where(Answer.run_id == run.id))
        }
        assert kept["story"] == SECRET_WORDS[0] and kept["last"] == SECRET_WORDS[1]
        assert session.scalars(select(OutboxRow).where(OutboxRow.run_id == run.id)).all() == []
        receipt = session.scalars(select(Withdrawal)).one()
        assert (receipt.code, receipt.erased["questionnaires"]) == (
            code,
            {"rights-study": "keep_anonymous"},
        )
    _nothing_reaches(session_factory, chat, clock, nudge, reminder)


@pytest.mark.parametrize("mode", ["delete", "keep_anonymous"])
def test_exports_and_digests_made_after_a_withdrawal_leave_the_person_out(
    make_chat: MakeChat, session_factory: Factory, clock: Clock, mode: str
) -> None:
    chat = make_chat(study(mode=mode))
    chat.answer_all()
    other = another_person(make_chat, chat)
    assert other.who

    withdraw(chat)

    request = ExportRequest("rights-study", identified=True, researcher=True)
    with UnitOfWork(session_factory) as uow:
        exported = prepare_export(uow.session, request, clock.now)
        digest = digest_from_database(uow.session, chat.handler.book.current, None, clock.now, k=1)
    text = exported.data.to_csv()
    assert NAME not in text
    assert "Other Participant" in text  # names are exported: the check above can fail
    story = digest.item("story")
    assert story is not None
    if mode == "delete":
        assert SECRET_WORDS[0] not in text
        assert exported.respondents == 1
        assert story.respondents == 1
        assert SECRET_WORDS[0] not in json.dumps(digest.to_dict(), ensure_ascii=False)
    else:
        assert SECRET_WORDS[0] in text and "anonymous" in text
        assert exported.respondents == 2
        assert story.respondents == 2


def test_a_researcher_looks_up_the_receipt(
    make_chat: MakeChat,
    session_factory: Factory,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat = make_chat(study())
    chat.answer_all()
    code = withdraw(chat)
    monkeypatch.setenv("PARLEY_DATABASE_URL", database_url)
    runner = CliRunner()

    shown = runner.invoke(app, ["withdrawal", "show", code.lower()])

    assert shown.exit_code == 0, shown.output
    assert code in shown.output and "rights-study: answers erased" in shown.output
    assert "answers: 4" in shown.output
    assert NAME not in shown.output and chat.who not in shown.output
    for bad, message in (("W-0000-0000", "no withdrawal has"), ("hello", "is not a receipt code")):
        refused = runner.invoke(app, ["withdrawal", "show", bad])
        assert refused.exit_code == 2 and message in refused.output
        assert len(refused.output.strip().splitlines()) == 1


def test_after_withdrawing_start_begins_afresh(
    make_chat: MakeChat, session_factory: Factory
) -> None:
    chat = make_chat(study())
    chat.answer_all()
    withdraw(chat)
    said = chat.send("start")
    assert any(isinstance(m, Ask) and m.item_id == "consent" for m in said)
    assert any(isinstance(m, Say) for m in said)
    assert me(session_factory, chat).stopped_at is None


def test_a_researcher_cannot_invite_someone_who_withdrew_again(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    from bot.starting import invite_on_slack

    chat = make_chat(study(), who="U0PERSON", platform="slack")
    chat.answer_all()
    withdraw(chat)
    with UnitOfWork(session_factory) as uow:
        invited = invite_on_slack(uow.session, chat.handler.book.current, "U0PERSON", clock.now)
        fresh = invite_on_slack(uow.session, chat.handler.book.current, "U0SOMEONE", clock.now)
        uow.commit()
    assert (invited, fresh) == (False, True)  # a newcomer is still invited: the check can fail


def test_a_withdrawing_persons_place_goes_to_the_first_on_the_waitlist(
    make_chat: MakeChat, session_factory: Factory, clock: Clock
) -> None:
    chat = make_chat(study())
    chat.answer_all()
    other = another_person(make_chat, chat)
    leaving, staying = me(session_factory, chat).id, me(session_factory, other).id
    with UnitOfWork(session_factory) as uow:
        spec = SessionSpec("Data circle", 60, "America/Toronto", "Room 4", 1, "cli:ann")
        group = create_group(uow.session, spec, clock.now + timedelta(days=10), clock.now)
        add_invitees(uow.session, group.id, [leaving, staying], clock.now)
        for who, response in ((leaving, "yes"), (staying, "waitlisted")):
            uow.session.execute(
                update(GroupInvitee)
                .where(GroupInvitee.stakeholder_id == who)
                .values(response=response)
            )
        uow.commit()

    withdraw(chat)

    with UnitOfWork(session_factory) as uow:
        rows = uow.session.execute(select(GroupInvitee.stakeholder_id, GroupInvitee.response))
        responses = {who: response for who, response in rows}
        told = uow.session.scalars(
            select(OutboxRow.payload).where(OutboxRow.address == other.who)
        ).all()
    assert responses == {staying: "yes"}
    assert any("Data circle" in json.dumps(payload) for payload in told)
