"""One session and one transaction per inbound event or job; nothing persists unless committed.

    with UnitOfWork(session_factory) as uow:
        ... repository functions on uow.session ...
        uow.commit()

The session's lifecycle lives here, outside the repository functions (SQLAlchemy's
"separate and external" rule): they take a `Session` and never commit, so the caller
alone decides when the event's work, its answers and its outbox become visible together.
Leaving the block without `commit()` (an exception, an early return) rolls back.

What was read stays readable after the block (the session closes without expiring it),
so a read-only unit of work needs no commit. After an exception the session is rolled
back first, which expires every object: nothing half-done can be mistaken for stored.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """A context manager owning one `Session`: rollback unless committed, then close."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The session for this unit of work; only inside the `with` block."""
        if self._session is None:
            raise RuntimeError("UnitOfWork.session is only available inside `with`")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a UnitOfWork cannot be entered twice")
        self._session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if exc_type is not None:
                session.rollback()  # expire what the failure left half-done
        finally:
            session.close()  # ends any uncommitted transaction: the database rolls it back

    def commit(self) -> None:
        """Make everything done so far durable; the unit of work stays usable afterwards."""
        self.session.commit()

    def rollback(self) -> None:
        """Discard everything since the last commit."""
        self.session.rollback()
