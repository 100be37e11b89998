"""Handling a batch together (one statement per kind) ends exactly where handling it one
event at a time (a savepoint each, the ORM) does, on SQLite and PostgreSQL.

The same scripted traffic (several people interleaved, duplicates inside a batch and
across batches, two turns of one person in one batch, a stranger, a step that breaks)
is handled twice on fresh databases: once the usual way, once with the together way
switched off. Every table must end the same, and so must what `handle_batch` returned.
Then: a run saved behind the handler's back is read again, not taken from its cache,
and a conflict discovered at the save sends the batch the one-by-one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import bot.handling as handling
from bot.channels.base import InboundEvent
from bot.handling import Handled, Handler
from bot.questionnaires import QuestionnaireBook
from conversations.catalog import translate
from conversations.inputs import Reply
from conversations.run import RunState
from storage import UnitOfWork, ensure_schema, make_engine, make_session_factory
from storage.models import Answer, AnswerChange, OutboxRow, ReceivedEvent, Run, Stakeholder
from storage.repository import RunHeader, create_stakeholder, link_identity, save_run_state

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EXAMPLE = "examples/settlement-data-needs.yaml"


@pytest.fixture(scope="module")
def book() -> QuestionnaireBook:
    return QuestionnaireBook.from_file(EXAMPLE)


@pytest.fixture
def fresh(database_url: str, book: QuestionnaireBook) -> Iterator[Callable[[], Handler]]:
    """Handlers on fresh databases: the first on `database_url`, the next on new schemas."""
    engines: list[Engine] = []

    def make() -> Handler:
        engine = make_engine(database_url)
        engines.append(engine)
        if len(engines) > 1:  # a clean slate: drop what the previous handler wrote
            with engine.begin() as connection:
                for table in reversed(Answer.metadata.sorted_tables):
                    connection.execute(table.delete())
        ensure_schema(engine)
        factory = make_session_factory(engine)
        with UnitOfWork(factory) as uow:
            book.store_current(uow.session)
            uow.commit()
        return Handler(factory, book, lambda: NOW)

    yield make
    for engine in engines:
        engine.dispose()


def _event(
    number: int,
    who: str,
    text: str,
    *,
    platform: str = "console",
    token: str | None = None,
    command: bool = False,
    group: bool = False,
) -> InboundEvent:
    return InboundEvent(
        platform=platform,
        event_id=f"e{number}",
        sender=who,
        address="team-chat" if group else f"{who}-chat",
        input=Reply(text),
        display_name=who.title(),
        invite_token=token,
        group=group,
        command=command,
        received_at=NOW,
    )


_SCRIPT = ["hello", "I agree", "non_profit", "manager", "12", "3", "2", "back", "4", "skip"]


def _traffic() -> list[list[InboundEvent]]:
    """Batches of events: three people interleaved, plus the awkward cases."""
    people = ["ada", "bo", "cy"]
    events = [
        _event(turn * 10 + number, who, text)
        for turn, text in enumerate(_SCRIPT)
        for number, who in enumerate(people)
    ]
    batches = [events[i : i + 4] for i in range(0, len(events), 4)]
    batches[3].append(batches[3][0])  # the same event twice in one batch
    batches[4].insert(0, batches[2][1])  # redelivered in a later batch
    batches[5].extend([_event(900, "ada", "help"), _event(901, "ada", "progress")])
    batches[6].append(_event(902, "stranger", "hi", platform="telegram"))  # refused
    batches[6].append(_event(903, "bo", "boom"))  # breaks the engine (see below)
    batches.append([_event(904, "dee", "hello"), _event(905, "dee", "I agree")])
    # after an answer, in the same batch, a turn that goes one by one (a stale invitation)
    batches.append([_event(906, "ada", "5"), _event(907, "ada", "/start x", token="x")])
    # one person on two accounts (see `_two_accounts`), both saying hello in one batch
    batches.append([_event(908, "eve", "hello"), _event(909, "eve2", "hi", platform="slack")])
    batches.append([_event(910, "eve2", "I agree", platform="slack")])
    # a researcher command and a group message between turns of the same people
    batches.append(
        [
            _event(911, "bo", "4"),
            _event(912, "bo", "status", command=True),
            _event(913, "bo", "3"),
            _event(914, "cy", "hello all", group=True),
            _event(915, "cy", "4"),
        ]
    )
    return batches


def _two_accounts(handler: Handler) -> None:
    """Eve, known (from a roster) on the console and on Slack, without a run yet."""
    with UnitOfWork(handler.session_factory) as uow:
        eve = create_stakeholder(uow.session, name="Eve", language="fr", now=NOW)
        link_identity(uow.session, eve.id, "console", "eve", now=NOW)
        link_identity(uow.session, eve.id, "slack", "eve2", now=NOW)
        uow.commit()


def _breaking(step: Callable[..., Any]) -> Callable[..., Any]:
    def step_or_break(q: Any, run: RunState, event: Any, now: datetime) -> Any:
        if isinstance(event, Reply) and event.text == "boom":
            raise RuntimeError("a bug in the engine")
        return step(q, run, event, now)

    return step_or_break


def _tables(factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table, in id order, with ids replaced by whose they are (ids are not compared:
    PostgreSQL sequences do not restart when the tables are emptied)."""
    with factory() as session:
        names = {s.id: s.name for s in session.scalars(select(Stakeholder))}
        owners = {r.id: names[r.stakeholder_id] for r in session.scalars(select(Run))}
        owners[None] = None  # type: ignore[index]

        def rows(model: Any, *columns: str) -> list[tuple[Any, ...]]:
            found = session.scalars(select(model).order_by(model.id)).all()
            return [
                tuple(
                    owners[getattr(row, c)] if c == "run_id" else getattr(row, c) for c in columns
                )
                for row in found
            ]

        return {
            "stakeholders": rows(Stakeholder, "name", "language"),
            "runs": [(names[r.stakeholder_id], r.status, r.state, r.version_id, r.completed_at,
                      r.updated_at) for r in session.scalars(select(Run).order_by(Run.id))],
            "answers": rows(Answer, "run_id", "item_id", "raw", "value", "display", "state",
                            "answered_at", "updated_at"),
            "history": rows(AnswerChange, "run_id", "item_id", "value", "state", "event_id"),
            "inbound": sorted(rows(ReceivedEvent, "platform", "event_id")),
            "outbox": [
                row for address in sorted({r[0] for r in rows(OutboxRow, "address")})
                for row in rows(OutboxRow, "address", "payload", "run_id", "status")
                if row[0] == address
            ],
        }  # fmt: skip


def _summary(results: Sequence[Handled]) -> list[tuple[Any, ...]]:
    return [(r.event.event_id, r.duplicate, len(r.outbox_ids), r.notices) for r in results]


def _drive(handler: Handler) -> list[tuple[Any, ...]]:
    _two_accounts(handler)
    return [entry for batch in _traffic() for entry in _summary(handler.handle_batch(batch))]


def test_together_and_one_by_one_end_the_same(
    fresh: Callable[[], Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handling.engine, "step", _breaking(handling.engine.step))
    together = fresh()
    together_results = _drive(together)
    together_tables = _tables(together.session_factory)
    assert len(together.states) == 5  # everyone's run was cached

    def refuse(self: object) -> list[Handled]:
        raise RuntimeError("together switched off")

    monkeypatch.setattr(handling._Together, "run", refuse)
    one_by_one = fresh()
    assert _drive(one_by_one) == together_results
    assert _tables(one_by_one.session_factory) == together_tables
    assert len(one_by_one.states) == 0

    batches = _traffic()
    duplicates = [entry[0] for entry in together_results if entry[1]]
    assert duplicates == [batches[3][0].event_id, batches[2][1].event_id]
    assert {run[1] for run in together_tables["runs"]} == {"in_progress"}
    assert len(together_tables["answers"]) > 10


def test_a_run_saved_elsewhere_is_read_again(fresh: Callable[[], Handler]) -> None:
    handler = fresh()
    for number, text in enumerate(["hello", "I agree", "non_profit"]):
        handler.handle(_event(number, "ada", text))
    assert len(handler.states) == 1
    with UnitOfWork(handler.session_factory) as uow:  # another process switches language
        run = uow.session.scalars(select(Run)).one()
        state = RunState.from_dict(run.state)
        french = RunState.from_dict({**state.to_dict(), "language": "fr"})
        save_run_state(uow.session, run, french.to_dict(), run.status, NOW)
        uow.commit()
    handled = handler.handle(_event(10, "ada", "help"))
    with handler.session_factory() as session:
        said = session.get_one(OutboxRow, handled.outbox_ids[-1]).payload["text"]
        run = session.scalars(select(Run)).one()
    assert translate("help.general", "fr") in said  # the stored state, not the cached one
    assert run.state["language"] == "fr" and run.version_id == 5


def test_a_conflict_at_the_save_sends_the_batch_one_by_one(
    fresh: Callable[[], Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = fresh()
    handler.handle_batch([_event(1, "ada", "hello"), _event(2, "bo", "hello")])
    participants = handling.repository.participants

    def stale(*args: Any, **kwargs: Any) -> Any:  # as if another writer got in between
        found = participants(*args, **kwargs)
        for key, who in found.items():
            if who.run is not None:
                old: RunHeader = who.run
                found[key] = type(who)(who.stakeholder_id, who.language,
                                       RunHeader(old.id, old.questionnaire_key,
                                                 old.questionnaire_version, old.status,
                                                 old.version_id - 1, old.created_at))  # fmt: skip
        return found

    monkeypatch.setattr(handling.repository, "participants", stale)
    results = handler.handle_batch([_event(3, "ada", "I agree"), _event(4, "bo", "I agree")])
    assert results[0].outbox_ids and len(results[0].outbox_ids) == len(results[1].outbox_ids)
    with handler.session_factory() as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        inbound = session.scalars(select(ReceivedEvent)).all()
    assert [run.status for run in runs] == ["in_progress", "in_progress"]
    assert [run.version_id for run in runs] == [2, 2]
    assert len(inbound) == 4
