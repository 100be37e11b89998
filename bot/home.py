"""What a stakeholder's App Home shows: where they are in the questionnaire."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.questionnaires import QuestionnaireBook
from conversations.catalog import translate
from conversations.navigation import progress
from conversations.run import RunState, RunStatus
from storage import repository
from storage.unit_of_work import UnitOfWork

__all__ = ["home_status"]


def home_status(
    session_factory: sessionmaker[Session], book: QuestionnaireBook, platform: str, user: str
) -> tuple[str, str, bool, str]:
    """(title, progress line, can continue, Continue label) for one platform account."""
    q = book.current
    with UnitOfWork(session_factory) as uow:
        person = repository.stakeholder_for_identity(uow.session, platform, user)
        run = repository.run_for(uow.session, person.id, q.id) if person else None
        state = RunState.from_dict(run.state) if run else None
    language = q.language_or_default(state.language if state else None)
    title = q.title.get(language)
    label = translate("home.continue", language)
    if state is None:
        return title, translate("home.not_started", language), person is not None, label
    if state.status is RunStatus.COMPLETED:
        return title, translate("run.completed", language), False, label
    where = progress(q, state)
    line = translate("progress.summary", language, answered=where.answered, total=where.total)
    return title, line, state.status.is_open, label
