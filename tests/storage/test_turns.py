"""The batched hot path (`storage.turns`, `record_answers_many`, `enqueue_batches`) and the
run state cache, against SQLite and PostgreSQL.

Each batched function must do exactly what its one-at-a-time counterpart does when
called once per item, in order: these tests hold them to that.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from conversations import engine
from conversations.inputs import Reply
from conversations.loading import load_questionnaire_file
from conversations.run import AnswerState, RunState, StoredAnswer
from storage import (
    Identity,
    OutboxRow,
    ReceivedEvent,
    Run,
    Stakeholder,
    StaleDataError,
    UnitOfWork,
    answer_history_for_run,
    answers_for_run,
    create_run,
    create_stakeholder,
    ensure_schema,
    link_identity,
    make_engine,
    make_session_factory,
)
from storage.repository import (
    AnswerRecord,
    OutboxBatch,
    RunSave,
    enqueue_batches,
    enrol,
    participants,
    record_answers_many,
    record_inbound_many,
    run_states,
    save_run_states,
    start_run,
)
from storage.run_cache import CachedState, RunStateCache, encode_state, from_document

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
Factory = sessionmaker[Session]


def _person(uow: UnitOfWork, external_id: str, *, with_run: bool = True) -> tuple[int, int | None]:
    stakeholder = create_stakeholder(uow.session, name=external_id, language="en", now=NOW)
    link_identity(uow.session, stakeholder.id, "telegram", external_id, now=NOW)
    if not with_run:
        return stakeholder.id, None
    run = create_run(
        uow.session,
        stakeholder_id=stakeholder.id,
        questionnaire_key="settlement",
        questionnaire_version="1",
        state={"v": 1, "turn": 0},
        status="in_progress",
        now=NOW,
    )
    return stakeholder.id, run.id


def _answer(value: object, at: datetime = NOW) -> StoredAnswer:
    return StoredAnswer(
        value=value,  # type: ignore[arg-type]
        raw=str(value),
        display=str(value),
        state=AnswerState.ANSWERED,
        language="en",
        answered_at=at,
    )


def test_new_event_ids_are_reported_once_and_stored_once(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        assert record_inbound_many(uow.session, [("telegram", "1", NOW)]) == {("telegram", "1")}
        new = record_inbound_many(
            uow.session,
            [
                ("telegram", "1", NOW),  # seen before
                ("telegram", "2", NOW),
                ("telegram", "2", NOW),  # repeated within the batch
                ("slack", "1", NOW),
            ],
        )
        assert new == {("telegram", "2"), ("slack", "1")}
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        assert len(uow.session.scalars(select(ReceivedEvent)).all()) == 3


def test_participants_come_with_their_runs_in_one_query(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        awa, awa_run = _person(uow, "awa")
        ben, _ = _person(uow, "ben", with_run=False)
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        keys = [("telegram", "awa"), ("telegram", "ben"), ("telegram", "nobody"), ("slack", "awa")]
        found = participants(uow.session, keys, "settlement")
        one = participants(uow.session, [("telegram", "awa")], "settlement")
        other_questionnaire = participants(uow.session, [("telegram", "awa")], "another")
    assert set(found) == {("telegram", "awa"), ("telegram", "ben")}
    assert one == {("telegram", "awa"): found[("telegram", "awa")]}
    awa_found = found[("telegram", "awa")]
    assert awa_found.stakeholder_id == awa and awa_found.language == "en"
    assert awa_found.run is not None and awa_found.run.id == awa_run
    assert awa_found.run.version_id == 1 and awa_found.run.created_at == NOW
    assert found[("telegram", "ben")].stakeholder_id == ben
    assert found[("telegram", "ben")].run is None
    assert other_questionnaire[("telegram", "awa")].run is None


def test_saves_chain_versions_and_set_completed_at_once(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        _, run_id = _person(uow, "awa")
        _, other_id = _person(uow, "ben")
        uow.commit()
    assert run_id is not None and other_id is not None
    with UnitOfWork(session_factory) as uow:
        save_run_states(
            uow.session,
            [
                RunSave(run_id, 1, '{"v": 1, "turn": 1}', "in_progress", NOW),
                RunSave(other_id, 1, '{"v": 1, "turn": 1}', "completed", NOW),
                RunSave(run_id, 2, '{"v": 1, "turn": 2}', "completed", NOW),
                RunSave(run_id, 3, '{"v": 1, "turn": 3}', "completed", LATER),
            ],
        )
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        run = uow.session.get_one(Run, run_id)
        other = uow.session.get_one(Run, other_id)
        assert (run.version_id, run.state, run.status) == (4, {"v": 1, "turn": 3}, "completed")
        assert run.updated_at == LATER and run.completed_at == NOW  # the first completion
        assert other.completed_at == NOW and other.version_id == 2
        assert run_states(uow.session, [run_id, other_id, 999]) == {
            run_id: {"v": 1, "turn": 3},
            other_id: {"v": 1, "turn": 1},
        }


def test_a_save_from_a_stale_version_is_refused(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        _, run_id = _person(uow, "awa")
        uow.commit()
    assert run_id is not None
    with UnitOfWork(session_factory) as uow, pytest.raises(StaleDataError):
        save_run_states(uow.session, [RunSave(run_id, 7, '{"v": 1}', "in_progress", NOW)])


def test_many_answer_records_equal_one_call_each(session_factory: Factory) -> None:
    with UnitOfWork(session_factory) as uow:
        _, run_id = _person(uow, "awa")
        uow.commit()
    assert run_id is not None
    with UnitOfWork(session_factory) as uow:
        record_answers_many(
            uow.session,
            [
                AnswerRecord(run_id, [("q1", _answer("a")), ("q2", _answer(3))], "1", "t:1", NOW),
                AnswerRecord(run_id, [], "1", "t:2", NOW),
                AnswerRecord(run_id, [("q1", _answer(["b", "c"], LATER))], "1", "t:3", LATER),
            ],
        )
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        current = answers_for_run(uow.session, run_id)
        history = answer_history_for_run(uow.session, run_id)
    assert [(a.item_id, a.value, a.updated_at) for a in current] == [
        ("q1", ["b", "c"], LATER),
        ("q2", 3, NOW),
    ]
    assert [(h.item_id, h.value, h.event_id) for h in history] == [
        ("q1", "a", "t:1"),
        ("q2", 3, "t:1"),
        ("q1", ["b", "c"], "t:3"),
    ]


def test_replies_get_their_own_ids_in_reading_order(session_factory: Factory) -> None:
    def say(*texts: str) -> list[dict[str, str]]:
        return [{"kind": "say", "text": text} for text in texts]

    batches = [
        OutboxBatch("telegram", "chat-1", say("a", "b"), None, NOW),
        OutboxBatch("telegram", "chat-2", say(), None, NOW),
        OutboxBatch("telegram", "chat-2", say("c"), None, NOW),
        OutboxBatch("telegram", "chat-1", say("d"), None, LATER),
    ]
    with UnitOfWork(session_factory) as uow:
        ids = enqueue_batches(uow.session, batches)
        uow.commit()
    assert [len(part) for part in ids] == [2, 0, 1, 1]
    flat = [outbox_id for part in ids for outbox_id in part]
    assert flat == sorted(flat)
    with UnitOfWork(session_factory) as uow:
        rows = {row.id: row for row in uow.session.scalars(select(OutboxRow))}
    texts = [[rows[i].payload["text"] for i in part] for part in ids]
    assert texts == [["a", "b"], [], ["c"], ["d"]]
    assert rows[ids[3][0]].address == "chat-1" and rows[ids[3][0]].created_at == LATER
    assert all(row.status == "pending" and row.attempts == 0 for row in rows.values())
    with UnitOfWork(session_factory) as uow:
        assert enqueue_batches(uow.session, [batches[1]]) == [[]]


@pytest.mark.parametrize("count", [1, 2, 257])
def test_many_replies_keep_their_order_and_fields(session_factory: Factory, count: int) -> None:
    payloads = [{"kind": "say", "text": f"m{i}", "accents": "é ü", "n": i} for i in range(count)]
    with UnitOfWork(session_factory) as uow:
        [ids] = enqueue_batches(uow.session, [OutboxBatch("slack", "C9", payloads, None, LATER)])
        uow.commit()
    assert len(ids) == count and ids == sorted(ids)
    with UnitOfWork(session_factory) as uow:
        rows = {row.id: row for row in uow.session.scalars(select(OutboxRow))}
    assert [rows[i].payload for i in ids] == payloads
    fields = {(r.channel, r.address, r.not_before, r.created_at, r.run_id) for r in rows.values()}
    assert fields == {("slack", "C9", LATER, LATER, None)}


def test_a_reply_with_a_naive_time_is_refused(session_factory: Factory) -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    batch = OutboxBatch("slack", "C9", [{"kind": "say", "text": "x"}] * 2, None, naive)
    with UnitOfWork(session_factory) as uow, pytest.raises(Exception, match="naive datetime"):
        enqueue_batches(uow.session, [batch])


# --- the run state cache ----------------------------------------------------------------


def _states_of_a_whole_run() -> list[RunState]:
    """Every state a run passes through answering the example (pure engine, no database)."""
    q = load_questionnaire_file("examples/settlement-data-needs.yaml").questionnaire
    step = engine.start(q, "fr", NOW)
    states = [step.run]
    step = engine.step(q, step.run, Reply("oui"), NOW)
    states.append(step.run)
    replies = {"number": "2", "date": "2026-03-15", "yes_no": "oui", "scale": "3"}
    while step.run.cursor is not None and len(states) < 200:
        item = q.item(step.run.cursor)
        reply = replies.get(item.type.value, "1" if item.choices else "Du texte libre")
        step = engine.step(q, step.run, Reply(reply), NOW + timedelta(seconds=len(states)))
        states.append(step.run)
    return states


def test_incremental_encoding_equals_dumping_to_dict_at_every_turn() -> None:
    states = _states_of_a_whole_run()
    assert states[-1].completed_at is not None
    previous: CachedState | None = None
    for number, state in enumerate(states):
        encoded = encode_state(state, previous)
        assert encoded.text == json.dumps(state.to_dict())
        assert encode_state(state).text == encoded.text
        assert RunState.from_dict(json.loads(encoded.text)) == state
        previous = CachedState(1, number, NOW, state, encoded)


def test_a_state_read_from_the_database_encodes_its_next_step_the_same() -> None:
    """Every turn a miss (another process had the last one): the same JSON, as data."""
    states = _states_of_a_whole_run()
    for number, (before, after) in enumerate(itertools.pairwise(states)):
        document = json.loads(json.dumps(before.to_dict(), sort_keys=True))  # as JSONB reorders
        read = from_document(1, number, NOW, document)
        assert read.state == before
        assert json.loads(read.encoded.text) == before.to_dict()
        encoded = encode_state(after, read)
        assert json.loads(encoded.text) == after.to_dict()


def test_text_that_looks_like_the_answers_key_is_harmless() -> None:
    tricky = '"answers": {}'
    state = RunState("q", "1", "en", cursor=tricky, answers={tricky: _answer(tricky)})
    assert json.loads(encode_state(state).text) == state.to_dict()


def test_the_cache_serves_only_the_version_it_holds() -> None:
    cache = RunStateCache(capacity=2)
    state = RunState("q", "1", "en")
    entry = CachedState(1, 5, NOW, state, encode_state(state))
    cache.put(entry)
    assert cache.get(1, 5, NOW) is entry
    assert cache.get(1, 5, LATER) is None  # another run that reused the id
    assert cache.get(1, 5, NOW) is None  # a mismatch drops the entry
    cache.put(entry)
    assert cache.get(1, 6, NOW) is None  # saved since, elsewhere
    for run_id in (1, 2, 3):
        cache.put(replace(entry, run_id=run_id))
    assert len(cache) == 2 and cache.get(1, 5, NOW) is None  # least recently used went
    cache.clear()
    assert len(cache) == 0


def test_enrol_and_start_run_store_what_the_orm_functions_store(
    session_factory: Factory,
) -> None:
    with UnitOfWork(session_factory) as uow:
        orm_id = create_stakeholder(uow.session, name="Awa", language="fr", now=NOW).id
        link_identity(uow.session, orm_id, "telegram", "1", "awa_k", now=NOW)
        create_run(
            uow.session,
            stakeholder_id=orm_id,
            questionnaire_key="settlement",
            questionnaire_version="1",
            state={"v": 1},
            status="completed",
            now=NOW,
        )
        core_id = enrol(
            uow.session,
            name="Awa",
            language="fr",
            platform="telegram",
            external_id="2",
            display_name="awa_k",
            now=NOW,
        )
        header = start_run(
            uow.session,
            stakeholder_id=core_id,
            questionnaire_key="settlement",
            questionnaire_version="1",
            state_json='{"v": 1}',
            status="completed",
            now=NOW,
        )
        uow.commit()
    assert (header.version_id, header.created_at, header.status) == (1, NOW, "completed")
    with UnitOfWork(session_factory) as uow:

        def columns(row: object, *skip: str) -> dict[str, object]:
            table = row.__table__  # type: ignore[attr-defined]
            return {c.name: getattr(row, c.key) for c in table.columns if c.name not in skip}

        people = [columns(uow.session.get_one(Stakeholder, i), "id") for i in (orm_id, core_id)]
        links = [
            columns(i, "id", "stakeholder_id", "external_id")
            for i in uow.session.scalars(select(Identity).order_by(Identity.id))
        ]
        runs = [
            columns(r, "id", "stakeholder_id")
            for r in uow.session.scalars(select(Run).order_by(Run.id))
        ]
    assert people[0] == people[1]
    assert links[0] == links[1]
    assert runs[0] == runs[1] and runs[1]["completed_at"] == NOW


def test_reply_ids_stay_right_when_sqlite_hands_out_rowids_at_random(sqlite_url: str) -> None:
    """Past the largest rowid SQLite picks rowids at random: the sorted-ids shortcut
    notices (they are not consecutive) and the rows are inserted again in order."""
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    factory = make_session_factory(engine)
    try:
        with UnitOfWork(factory) as uow:
            last = enqueue_batches(
                uow.session, [OutboxBatch("telegram", "c", [{"text": "x"}], None, NOW)]
            )[0][0]
            uow.session.execute(update(OutboxRow).where(OutboxRow.id == last).values(id=2**63 - 1))
            texts = [str(n) for n in range(12)]
            ids = enqueue_batches(
                uow.session,
                [OutboxBatch("telegram", "c", [{"text": t} for t in texts], None, NOW)],
            )[0]
            uow.commit()
        with UnitOfWork(factory) as uow:
            stored = {row.id: row.payload["text"] for row in uow.session.scalars(select(OutboxRow))}
        assert [stored[i] for i in ids] == texts
        assert len(stored) == 13
    finally:
        engine.dispose()
