"""Fixtures: the rights study stored in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.handling import Handler
from bot.questionnaires import QuestionnaireBook
from storage import UnitOfWork
from tests.rights.support import Chat, Clock

Factory = sessionmaker[Session]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_chat(session_factory: Factory, clock: Clock) -> Callable[..., Chat]:
    """A chat with a Handler on `book` (stored first), for one account."""

    def make(book: QuestionnaireBook, who: str = "acct-5501", **options: object) -> Chat:
        with UnitOfWork(session_factory) as uow:
            book.store_current(uow.session)
            uow.commit()
        handler = Handler(session_factory, book, clock, open_enrollment=True)
        return Chat(handler, who, **options)  # type: ignore[arg-type]

    return make
