"""The digest read from a real database (SQLite file and PostgreSQL), written through the
real storage functions: the numbers that come out are the ones the answers say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from analytics.digest import digest_from_database
from analytics.frames import ANSWER_COLUMNS, load_answers, load_frames
from analytics.model import ChoiceCount, DeliveryHealth, DropOff
from conversations.run import AnswerState, RunState, RunStatus, StoredAnswer
from storage import groups as group_store
from storage import outbox, repository
from storage.answers import record_answers
from tests.analytics.tiny import questionnaire

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)


def answer(value: Any, state: AnswerState = AnswerState.ANSWERED) -> StoredAnswer:
    return StoredAnswer(value, str(value), str(value), state, "en", START)


def person(
    session: Session,
    name: str,
    status: RunStatus,
    answers: dict[str, Any],
    cursor: str | None = None,
    **roster: Any,
) -> int:
    stakeholder = repository.create_stakeholder(
        session, name=name, language="en", now=START, **roster
    )
    state = RunState("tiny", "1", "en", status=status, started_at=START)
    run = repository.create_run(
        session,
        stakeholder_id=stakeholder.id,
        questionnaire_key="tiny",
        questionnaire_version="1",
        state=state.to_dict(),
        status=RunStatus.IN_PROGRESS.value,
        now=START,
    )
    stored = [
        (item, answer(None, AnswerState.SKIPPED) if value == "skipped" else answer(value))
        for item, value in answers.items()
    ]
    record_answers(session, run.id, stored, "1", None, START + timedelta(minutes=1))
    final = RunState("tiny", "1", "en", status=status, cursor=cursor, started_at=START)
    repository.save_run_state(
        session, run, final.to_dict(), status.value, START + timedelta(minutes=30)
    )
    return stakeholder.id


def seed(session: Session) -> None:
    a = person(
        session,
        "A",
        RunStatus.COMPLETED,
        {
            "colour": "blue",
            "tools": ["excel", "bi"],
            "ease": 5,
            "staff": 10,
            "open_data": True,
            "since": "2024-01-01",
            "story": "Great data",
        },
        organisation="Org 1",
        region="east",
    )
    record_answers(session, 1, [("colour", answer("red"))], "1", None, START + timedelta(minutes=2))
    b = person(
        session,
        "B",
        RunStatus.COMPLETED,
        {
            "colour": "red",
            "tools": ["excel"],
            "ease": 4,
            "staff": 20,
            "open_data": False,
            "story": "skipped",
        },
        organisation="Org 2",
    )
    person(session, "C", RunStatus.IN_PROGRESS, {"colour": "blue"}, "tools", organisation="Org 2")
    person(session, "D", RunStatus.WITHDRAWN, {"colour": "green"}, organisation="Org 3")
    spec = group_store.SessionSpec("Round table", 60, "America/Toronto", "Zoom", 8, "researcher")
    group = group_store.create_group(session, spec, NOW + timedelta(days=2), NOW)
    invitees = group_store.add_invitees(session, group.id, [a, b], NOW)
    invitees[0].response = "yes"
    sent, failed, limited = (
        outbox.enqueue(session, "slack", "U1", {"kind": "text"}, now=START) for _ in range(3)
    )
    outbox.mark_sent(session, sent, START)
    outbox.mark_failed(session, failed, "channel_not_found")
    outbox.mark_retry(session, limited, "slack: ratelimited (retry after 3s)", NOW)


def test_digest_numbers_from_the_database(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        seed(session)
    digest = digest_from_database(engine, questionnaire(), None, NOW)
    h = digest.headline
    assert (h.roster, h.invited, h.started, h.completed, h.in_progress) == (3, 3, 3, 2, 1)
    assert (h.organisations_total, h.organisations_completed) == (2, 2)
    assert h.median_minutes_to_complete == 30.0
    colour, tools, ease, staff, open_data, since, story, _ = digest.items
    assert colour.counts == (  # type: ignore[union-attr]
        ChoiceCount("red", 2, 2 / 3),
        ChoiceCount("blue", 1, 1 / 3),
        ChoiceCount("green", 0, 0.0),
    )
    assert [c.share for c in tools.counts] == [1.0, 0.5, 0.0]  # type: ignore[union-attr]
    assert (ease.mean, ease.top2_box) == (4.5, 1.0)  # type: ignore[union-attr]
    assert (staff.median, staff.q1, staff.q3, staff.iqr) == (15.0, 12.5, 17.5, 5.0)  # type: ignore[union-attr]
    assert (open_data.yes, open_data.no) == (1, 1)  # type: ignore[union-attr]
    assert since.earliest == "2024-01-01"  # type: ignore[union-attr]
    assert (story.respondents, story.skipped, story.quotes) == (1, 1, ("Great data",))  # type: ignore[union-attr]
    assert digest.drop_off == (DropOff("tools", 1),)
    assert digest.delivery == DeliveryHealth(
        sent=1, pending=1, failed=1, retried=0, retries=0, rate_limited=1
    )
    (group,) = digest.groups
    assert (group.title, group.yes, group.no_reply, group.capacity) == ("Round table", 1, 1, 8)


def test_long_frame_for_exports(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        seed(session)
    frame = load_answers(engine, "tiny")
    assert list(frame.columns) == list(ANSWER_COLUMNS)
    assert set(frame["stakeholder_id"]) == {1, 2, 3}  # D withdrew: nothing of theirs
    values = {(r.stakeholder_id, r.item_id): r.value for r in frame.itertuples()}
    assert values[1, "colour"] == "red"  # the later answer is current
    assert values[1, "tools"] == ["excel", "bi"]
    assert values[1, "open_data"] is True and values[1, "ease"] == 5
    assert values[2, "story"] is None
    assert str(frame["answered_at"].dtype) == "datetime64[ns, UTC]"
    frames = load_frames(engine, "tiny")
    assert sorted(frames.stakeholders["name"]) == ["A", "B", "C"]
    assert frames.runs["completed_at"].notna().sum() == 2
