"""The storage contract, run unchanged against SQLite and PostgreSQL.

Every test gets a freshly migrated database through the `session_factory` fixture
(parametrized over both backends) and never asks which backend it has.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from conversations.run import AnswerState, StoredAnswer
from storage import (
    IdentityTaken,
    OutboxRow,
    QuestionnaireChanged,
    ReceivedEvent,
    Run,
    StaleDataError,
    UnitOfWork,
    answer_history_for_run,
    answers_for_run,
    claim_outbox,
    create_run,
    create_stakeholder,
    due_outbox,
    enqueue,
    enqueue_many,
    identities_of,
    link_identity,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_many,
    outbox_counts,
    questionnaire_definition,
    record_answers,
    record_inbound,
    run_for,
    save_run_state,
    stakeholder_for_identity,
    store_questionnaire,
)
from storage.message_refs import (
    AskedAt,
    LiveMessage,
    live_messages,
    messages_for_items,
    remember_messages,
)
from storage.outbox import DueMessage, due_messages

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Factory = sessionmaker[Session]


def _stakeholder(uow: UnitOfWork, name: str = "Awa") -> int:
    return create_stakeholder(uow.session, name=name, language="fr", now=NOW).id


def _run(uow: UnitOfWork, stakeholder_id: int, wave: str = "main") -> Run:
    return create_run(
        uow.session,
        stakeholder_id=stakeholder_id,
        questionnaire_key="settlement",
        questionnaire_version="1",
        state={"v": 1, "turn": 0},
        status="in_progress",
        wave=wave,
        now=NOW,
    )


def _answer(value: Any, raw: str, at: datetime = NOW) -> StoredAnswer:
    return StoredAnswer(
        value=value,
        raw=raw,
        display=str(value),
        state=AnswerState.ANSWERED,
        language="en",
        answered_at=at,
    )


# -- inbound events -------------------------------------------------------------------


def test_a_redelivered_event_is_recorded_once_and_the_transaction_survives(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        assert record_inbound(uow.session, "telegram", "1001", NOW) is True
        assert record_inbound(uow.session, "telegram", "1001", NOW) is False
        assert record_inbound(uow.session, "slack", "1001", NOW) is True
        _stakeholder(uow)  # still usable after the duplicate
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert record_inbound(uow.session, "telegram", "1001", NOW) is False
        count = len(uow.session.scalars(select(ReceivedEvent)).all())
    assert count == 2


# -- people ---------------------------------------------------------------------------


def test_an_identity_leads_to_its_stakeholder(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        awa = _stakeholder(uow, "Awa")
        link_identity(uow.session, awa, "telegram", "42", "awa_k", now=NOW)
        link_identity(uow.session, awa, "slack", "T1/U9", now=NOW)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        found = stakeholder_for_identity(uow.session, "telegram", "42")
        assert found is not None and found.id == awa and found.name == "Awa"
        assert stakeholder_for_identity(uow.session, "telegram", "43") is None
        assert stakeholder_for_identity(uow.session, "slack", "42") is None
        assert [i.platform for i in identities_of(uow.session, awa)] == ["telegram", "slack"]


def test_linking_an_identity_again_is_a_no_op_but_not_to_someone_else(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        awa, ben = _stakeholder(uow, "Awa"), _stakeholder(uow, "Ben")
        first = link_identity(uow.session, awa, "telegram", "42", now=NOW)
        again = link_identity(uow.session, awa, "telegram", "42", "Awa K.", now=NOW)
        assert again.id == first.id and again.display_name == "Awa K."
        with pytest.raises(IdentityTaken, match="already linked to stakeholder"):
            link_identity(uow.session, ben, "telegram", "42", now=NOW)


def test_foreign_keys_are_enforced(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow, pytest.raises(IntegrityError):
        link_identity(uow.session, 999, "telegram", "42", now=NOW)


# -- questionnaires -------------------------------------------------------------------


def test_storing_a_questionnaire_is_idempotent_for_the_same_checksum(
    session_factory: Factory,
) -> None:
    definition = {"id": "settlement", "items": [{"id": "q1", "type": "text"}]}
    with UnitOfWork(session_factory) as uow:
        first = store_questionnaire(uow.session, "settlement", "1", definition, "abc", now=NOW)
        again = store_questionnaire(uow.session, "settlement", "1", definition, "abc", now=NOW)
        assert again.id == first.id
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert questionnaire_definition(uow.session, "settlement", "1") == definition
        assert questionnaire_definition(uow.session, "settlement", "2") is None


def test_a_changed_questionnaire_under_the_same_version_is_refused(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        store_questionnaire(uow.session, "settlement", "1", {"items": []}, "abc", now=NOW)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        with pytest.raises(QuestionnaireChanged, match="give the changed questionnaire"):
            store_questionnaire(uow.session, "settlement", "1", {"items": [1]}, "def", now=NOW)
        store_questionnaire(uow.session, "settlement", "2", {"items": [1]}, "def", now=NOW)


# -- runs -----------------------------------------------------------------------------


def test_a_run_is_found_by_stakeholder_questionnaire_and_wave(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        awa = _stakeholder(uow)
        main, followup = _run(uow, awa), _run(uow, awa, wave="followup-1")
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        found = run_for(uow.session, awa, "settlement")
        assert found is not None and found.id == main.id
        assert found.state == {"v": 1, "turn": 0} and found.version_id == 1
        other = run_for(uow.session, awa, "settlement", "followup-1")
        assert other is not None and other.id == followup.id
        assert run_for(uow.session, awa, "another") is None


def test_a_second_run_in_the_same_wave_is_refused(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        awa = _stakeholder(uow)
        _run(uow, awa)
        with pytest.raises(IntegrityError):
            _run(uow, awa)


def test_saving_a_run_bumps_its_version_and_completes_it(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        run = _run(uow, _stakeholder(uow))
        uow.commit()

    later = NOW + timedelta(minutes=5)
    with UnitOfWork(session_factory) as uow:
        save_run_state(uow.session, run, {"v": 1, "turn": 9}, "completed", later)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        stored = uow.session.get(Run, run.id)
        assert stored is not None
        assert (stored.state, stored.status, stored.version_id) == (
            {"v": 1, "turn": 9},
            "completed",
            2,
        )
        assert stored.updated_at == later and stored.completed_at == later


def test_a_run_saved_after_someone_else_saved_it_raises_stale_data(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        stakeholder_id = _run(uow, _stakeholder(uow)).stakeholder_id
        uow.commit()

    with UnitOfWork(session_factory) as slow:
        stale = run_for(slow.session, stakeholder_id, "settlement")
        assert stale is not None
        slow.commit()  # its read is over; SQLite's single writer serializes the rest

        with UnitOfWork(session_factory) as fast:
            fresh = run_for(fast.session, stakeholder_id, "settlement")
            assert fresh is not None
            save_run_state(fast.session, fresh, {"v": 1, "turn": 1}, "in_progress", NOW)
            fast.commit()

        with pytest.raises(StaleDataError):
            save_run_state(slow.session, stale, {"v": 1, "turn": 1}, "paused", NOW)

    with UnitOfWork(session_factory) as uow:
        kept = run_for(uow.session, stakeholder_id, "settlement")
        assert kept is not None and (kept.status, kept.version_id) == ("in_progress", 2)


# -- answers --------------------------------------------------------------------------


def test_answers_are_upserted_and_every_change_is_kept(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        run_id = _run(uow, _stakeholder(uow)).id
        record_answers(
            uow.session,
            run_id,
            [("q1", _answer(3, "3")), ("q2", _answer(["a", "b"], "a b"))],
            "1",
            "tg:1",
            NOW,
        )
        uow.commit()

    later = NOW + timedelta(minutes=2)
    skipped = StoredAnswer(None, "/skip", "—", AnswerState.SKIPPED, "fr", later, "n/a")
    with UnitOfWork(session_factory) as uow:
        record_answers(uow.session, run_id, [("q1", skipped)], "2", "tg:2", later)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        current = {a.item_id: a for a in answers_for_run(uow.session, run_id)}
        history = answer_history_for_run(uow.session, run_id)

    assert list(current) == ["q1", "q2"]
    q1 = current["q1"]
    assert (q1.value, q1.raw, q1.state, q1.language, q1.other_text) == (
        None,
        "/skip",
        "skipped",
        "fr",
        "n/a",
    )
    assert (q1.questionnaire_version, q1.answered_at, q1.updated_at) == ("2", later, later)
    assert current["q2"].value == ["a", "b"]
    assert [(h.item_id, h.value, h.event_id) for h in history] == [
        ("q1", 3, "tg:1"),
        ("q2", ["a", "b"], "tg:1"),
        ("q1", None, "tg:2"),
    ]
    assert [h.recorded_at for h in history] == [NOW, NOW, later]


def test_the_same_item_twice_in_one_batch_keeps_the_later_answer(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        run_id = _run(uow, _stakeholder(uow)).id
        record_answers(
            uow.session, run_id, [("q1", _answer(1, "1")), ("q1", _answer(2, "2"))], "1", None, NOW
        )
        record_answers(uow.session, run_id, [], "1", None, NOW)
        assert [a.value for a in answers_for_run(uow.session, run_id)] == [2]
        assert [h.value for h in answer_history_for_run(uow.session, run_id)] == [1, 2]


# -- outbox ---------------------------------------------------------------------------


def test_due_messages_come_oldest_first_within_the_limit(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        first = enqueue(uow.session, "telegram", "42", {"text": "one"}, now=NOW)
        rest = [
            enqueue(uow.session, "slack", "U9", {"text": "two"}, now=NOW),
            *enqueue_many(uow.session, "telegram", "42", [{"text": "three"}], now=NOW),
        ]
        assert enqueue_many(uow.session, "telegram", "42", [], now=NOW) == []
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        due = due_outbox(uow.session, NOW, limit=10)
        assert [row.id for row in due] == [first, *rest]
        assert [row.payload["text"] for row in due] == ["one", "two", "three"]
        assert [row.id for row in due_outbox(uow.session, NOW, limit=2)] == [first, rest[0]]
        telegram = due_outbox(uow.session, NOW, limit=10, channel="telegram")
        assert [row.id for row in telegram] == [first, rest[1]]
        light = due_messages(uow.session, NOW, limit=10, exclude={rest[0]})
        assert light == [
            DueMessage(first, "telegram", "42", {"text": "one"}, 0),
            DueMessage(rest[1], "telegram", "42", {"text": "three"}, 0),
        ]
        assert [m.id for m in due_messages(uow.session, NOW, limit=1)] == [first]


def test_a_message_is_not_due_before_its_time(session_factory: Factory) -> None:
    tomorrow = NOW + timedelta(days=1)
    with UnitOfWork(session_factory) as uow:
        run_id = _run(uow, _stakeholder(uow)).id
        reminder = enqueue(
            uow.session,
            "telegram",
            "42",
            {"text": "hi"},
            run_id=run_id,
            not_before=tomorrow,
            now=NOW,
        )
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert due_outbox(uow.session, NOW, limit=10) == []
        assert [r.id for r in due_outbox(uow.session, tomorrow, limit=10)] == [reminder]
        assert due_outbox(uow.session, tomorrow, limit=10)[0].run_id == run_id


def test_marking_moves_messages_between_pending_sent_and_failed(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        sent, retried, failed = (
            enqueue(uow.session, "console", "me", {"n": n}, now=NOW) for n in range(3)
        )
        uow.commit()

    retry_at = NOW + timedelta(seconds=30)
    with UnitOfWork(session_factory) as uow:
        assert mark_sent(uow.session, sent, NOW) is True
        assert mark_retry(uow.session, retried, "429 Too Many Requests", retry_at) is True
        assert mark_failed(uow.session, failed, "403 " + "x" * 5000) is True
        assert mark_sent(uow.session, failed, NOW) is False  # failed is final
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        rows = {r.id: r for r in uow.session.scalars(select(OutboxRow))}
        assert outbox_counts(uow.session) == {"pending": 1, "sent": 1, "failed": 1, "cancelled": 0}
        assert due_outbox(uow.session, NOW, limit=10) == []
        assert [r.id for r in due_outbox(uow.session, retry_at, limit=10)] == [retried]

    assert (rows[sent].status, rows[sent].sent_at, rows[sent].attempts) == ("sent", NOW, 1)
    assert (rows[retried].status, rows[retried].not_before) == ("pending", retry_at)
    assert (rows[retried].attempts, rows[retried].last_error) == (1, "429 Too Many Requests")
    assert rows[failed].status == "failed" and rows[failed].sent_at is None
    assert len(rows[failed].last_error or "") <= 2000


def test_many_deliveries_are_marked_at_once_and_only_pending_ones(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        ids = [enqueue(uow.session, "console", "me", {"n": n}, now=NOW) for n in range(4)]
        mark_failed(uow.session, ids[3], "gone")
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert mark_sent_many(uow.session, ids, NOW) == set(ids[:3])
        assert mark_sent_many(uow.session, ids, NOW) == set()  # a second time: nothing
        assert mark_sent_many(uow.session, [], NOW) == set()
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        rows = {r.id: r for r in uow.session.scalars(select(OutboxRow))}
    assert [(rows[i].status, rows[i].attempts, rows[i].sent_at) for i in ids[:3]] == [
        ("sent", 1, NOW)
    ] * 3
    assert rows[ids[3]].status == "failed"


def test_question_messages_are_remembered_in_bulk_and_the_latest_wins(
    session_factory: Factory,
) -> None:
    q1, q2, q1_elsewhere = (
        AskedAt("telegram", "42", "q1"),
        AskedAt("telegram", "42", "q2"),
        AskedAt("slack", "42", "q1"),
    )
    with UnitOfWork(session_factory) as uow:
        remember_messages(uow.session, [(q1, "100"), (q2, "101"), (q1, "102")], NOW)
        remember_messages(uow.session, [], NOW)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        remember_messages(uow.session, [(q2, "200"), (q1_elsewhere, "7")], NOW)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        found = messages_for_items(uow.session, {q1, q2, q1_elsewhere, AskedAt("x", "1", "q")})
        assert messages_for_items(uow.session, set()) == {}
    assert found == {q1: "102", q2: "200", q1_elsewhere: "7"}


def test_a_remembered_question_keeps_the_outbox_row_that_asked_it(
    session_factory: Factory,
) -> None:
    q1 = AskedAt("slack", "U1", "q1")
    with UnitOfWork(session_factory) as uow:
        remember_messages(uow.session, [(q1, "C1|1.0")], NOW, asked_by={q1: 10})
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        first = live_messages(uow.session, {q1})
        remember_messages(uow.session, [(q1, "C1|2.0")], NOW, asked_by={q1: 14})
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        again = live_messages(uow.session, {q1})
    assert first == {q1: LiveMessage("C1|1.0", 10)}
    assert again == {q1: LiveMessage("C1|2.0", 14)}


def test_outbox_counts_start_at_zero(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        assert outbox_counts(uow.session) == {"pending": 0, "sent": 0, "failed": 0, "cancelled": 0}


def test_concurrent_dispatchers_take_disjoint_messages(session_factory: Factory) -> None:
    """Two transactions take due rows at once: on PostgreSQL the second skips the rows the
    first has locked; on SQLite it waits for the first to commit. Either way no message is
    taken twice and none is left behind."""
    with UnitOfWork(session_factory) as uow:
        payloads = [{"n": n} for n in range(4)]
        ids = enqueue_many(uow.session, "console", "me", payloads, now=NOW)
        uow.commit()

    taken_by_second: list[int] = []

    def second_dispatcher() -> None:
        with UnitOfWork(session_factory) as other:
            rows = due_outbox(other.session, NOW, limit=10)
            taken_by_second.extend(row.id for row in rows)
            for row in rows:
                mark_sent(other.session, row.id, NOW)
            other.commit()

    with UnitOfWork(session_factory) as first:
        taken_by_first = [row.id for row in due_outbox(first.session, NOW, limit=2)]
        for outbox_id in taken_by_first:
            mark_sent(first.session, outbox_id, NOW)
        second = threading.Thread(target=second_dispatcher)
        second.start()
        second.join(timeout=0.5)  # PostgreSQL: done already; SQLite: waiting on our lock
        first.commit()
    second.join(timeout=10)

    assert not second.is_alive()
    assert taken_by_first == ids[:2]
    assert sorted(taken_by_second) == ids[2:]


def test_a_claimed_message_is_leased_until_its_lease_runs_out(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        ids = [enqueue(uow.session, "console", "me", {"n": n}, now=NOW) for n in range(3)]
        uow.commit()

    lease_until = NOW + timedelta(minutes=1)
    with UnitOfWork(session_factory) as uow:
        claimed = claim_outbox(uow.session, NOW, limit=2, lease_until=lease_until)
        assert [row.id for row in claimed] == ids[:2]
        assert {row.not_before for row in claimed} == {lease_until}
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert [r.id for r in claim_outbox(uow.session, NOW, 10, lease_until)] == ids[2:]
        assert mark_sent(uow.session, ids[0], NOW) is True
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        assert [r.id for r in due_outbox(uow.session, lease_until, limit=10)] == ids[1:]


# -- time and transactions ------------------------------------------------------------


def test_timestamps_come_back_as_the_same_instant_in_utc(session_factory: Factory) -> None:
    dakar_evening = datetime(2026, 6, 1, 21, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-1)))
    with UnitOfWork(session_factory) as uow:
        record_inbound(uow.session, "console", "tz", dakar_evening)
        uow.commit()

    with UnitOfWork(session_factory) as uow:
        stored = uow.session.scalars(select(ReceivedEvent)).one()
        assert stored.received_at == dakar_evening
        assert stored.received_at.tzinfo is UTC
        assert stored.received_at.hour == 22


def test_a_naive_timestamp_is_refused(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow, pytest.raises(StatementError, match="naive datetime"):
        record_inbound(uow.session, "console", "naive", datetime(2026, 6, 1, 12, 0))


def test_a_unit_of_work_rolls_back_unless_committed(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        record_inbound(uow.session, "console", "forgotten", NOW)

    with pytest.raises(RuntimeError, match="boom"), UnitOfWork(session_factory) as uow:
        record_inbound(uow.session, "console", "failed", NOW)
        uow.commit()
        record_inbound(uow.session, "console", "after-commit", NOW)
        raise RuntimeError("boom")

    with UnitOfWork(session_factory) as uow:
        kept = set(uow.session.scalars(select(ReceivedEvent.event_id)))
    assert kept == {"failed"}


def test_a_unit_of_work_has_a_session_only_inside_its_block(session_factory: Factory) -> None:
    uow = UnitOfWork(session_factory)
    with pytest.raises(RuntimeError, match="only available inside"):
        _ = uow.session
    with uow:
        assert uow.session.is_active
    with pytest.raises(RuntimeError):
        _ = uow.session
