"""Two processes handling one person's events at once (#8): each event applies once,
one after the other, never interleaved; none is lost to the race, none is doubled.

Two `Handler`s, each on its own engine (its own connections, as two `parley run --role
web` processes have), are fed the same events (every event delivered to both, as with
100% duplicated traffic) in different orders and batch sizes, from two threads, on a
real PostgreSQL. Every reply is free text, so any order of winning is a valid history.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.channels.base import InboundEvent
from bot.handling import Handler
from bot.questionnaires import QuestionnaireBook
from conversations.catalog import translate
from conversations.inputs import Reply
from storage import UnitOfWork, ensure_schema, make_engine, make_session_factory
from storage.models import Answer, AnswerChange, OutboxRow, Run

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
NOTES = Path(__file__).with_name("twelve-notes.yaml")
PEOPLE = 6
ITEMS = 12


def _event(who: str, number: int, text: str) -> InboundEvent:
    return InboundEvent(
        platform="telegram",
        event_id=f"{who}-{number}",
        sender=who,
        address=who,
        input=Reply(text),
        display_name=who,
        received_at=NOW,
    )


def _handlers(database_url: str, book: QuestionnaireBook) -> list[Handler]:
    handlers = []
    for _ in range(2):
        engine = make_engine(database_url)
        ensure_schema(engine)
        factory = make_session_factory(engine)
        with UnitOfWork(factory) as uow:
            book.store_current(uow.session)
            uow.commit()
        handlers.append(Handler(factory, book, lambda: NOW, open_enrollment=True))
    return handlers


def _feed(handler: Handler, events: list[InboundEvent], seed: int) -> None:
    rng = random.Random(seed)
    position = 0
    while position < len(events):
        size = rng.randint(1, 8)
        handler.handle_batch(events[position : position + size])
        position += size


def test_the_same_events_on_two_processes_apply_once_each_in_turn(postgres_url: str) -> None:
    book = QuestionnaireBook.from_file(NOTES)
    first, second = _handlers(postgres_url, book)
    people = [f"p{n}" for n in range(PEOPLE)]
    for who in people:  # enrolled and consented, one process: the race is over the notes
        first.handle_batch([_event(who, 0, "hello"), _event(who, 1, "I agree")])
    notes = [_event(who, n + 2, f"note {n} from {who}") for n in range(ITEMS) for who in people]
    orders = [notes[:], notes[:]]
    random.Random(7).shuffle(orders[1])  # the second process sees another order
    threads = [
        threading.Thread(target=_feed, args=(handler, order, seed))
        for seed, (handler, order) in enumerate(zip((first, second), orders, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "handling did not finish within 120 s"

    with UnitOfWork(first.session_factory) as uow:
        session = uow.session
        sources = Counter(session.scalars(select(AnswerChange.event_id)))
        statuses = Counter(session.scalars(select(Run.status)))
        answered = session.execute(
            select(Run.id, func.count(Answer.id)).join(Answer).group_by(Run.id)
        ).all()
        texts = [row.payload.get("text", "") for row in session.scalars(select(OutboxRow))]
    assert all(count == 1 for count in sources.values()), "an event was applied twice"
    assert len(sources) == PEOPLE * ITEMS, "an event was lost"
    assert statuses == {"completed": PEOPLE}
    assert sorted(count for _, count in answered) == [ITEMS] * PEOPLE
    assert translate("error.sorry", "en") not in texts, "an event failed in the race"
