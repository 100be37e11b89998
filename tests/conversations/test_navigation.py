"""Navigation is computed from a cached plan of the questionnaire, for speed; these tests
hold it to the plain definitions, written here the straightforward way, on every state a
run passes through while people wander the example questionnaire (random replies,
back, skip, next)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import engine
from conversations.inputs import Reply
from conversations.loading import load_questionnaire_file
from conversations.navigation import (
    Progress,
    counted_values,
    next_item,
    previous_item,
    progress,
    reconcile_relevance,
)
from conversations.questionnaire import Item, Questionnaire
from conversations.run import AnswerState, AnswerValue, RunState, StoredAnswer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@cache
def _example() -> Questionnaire:
    return load_questionnaire_file("examples/settlement-data-needs.yaml").questionnaire


@pytest.fixture
def example() -> Questionnaire:
    return _example()


# --- the definitions, the plain way ----------------------------------------------------


def _relevant(item: Item, values: Mapping[str, AnswerValue]) -> bool:
    return item.relevant is None or item.relevant.evaluate(values)


def plain_progress(q: Questionnaire, run: RunState) -> Progress:
    values = counted_values(run.answers)
    reached = q.index_of(run.cursor) if run.cursor and q.has_item(run.cursor) else len(q.items)

    def may_be_relevant(item: Item) -> bool:
        if item.relevant is None:
            return True
        undecided = any(
            name not in run.answers and q.index_of(name) >= reached
            for name in item.relevant.references
        )
        return undecided or item.relevant.evaluate(values)

    ids = [item.id for item in q.items if item.is_question and may_be_relevant(item)]
    number = ids.index(run.cursor) + 1 if run.cursor in ids else len(ids)
    answered = sum(
        1
        for item_id in ids
        if item_id in run.answers and run.answers[item_id].state is not AnswerState.NOT_APPLICABLE
    )
    return Progress(number=number, total=len(ids), answered=answered)


def plain_reconcile(
    q: Questionnaire, run: RunState, now: datetime
) -> tuple[RunState, tuple[tuple[str, StoredAnswer], ...]]:
    answers = dict(run.answers)
    values = counted_values(answers)
    changed = []
    for item in q.items:
        stored = answers.get(item.id)
        if stored is None:
            continue
        relevant = _relevant(item, values)
        if not relevant and stored.state is not AnswerState.NOT_APPLICABLE:
            updated = replace(stored, state=AnswerState.NOT_APPLICABLE, answered_at=now)
        elif relevant and stored.state is AnswerState.NOT_APPLICABLE:
            restored = AnswerState.SKIPPED if stored.value is None else AnswerState.ANSWERED
            updated = replace(stored, state=restored, answered_at=now)
        else:
            continue
        answers[item.id] = updated
        changed.append((item.id, updated))
        values = counted_values(answers)
    return replace(run, answers=answers), tuple(changed)


def plain_next(q: Questionnaire, run: RunState, after: int) -> Item | None:
    values = counted_values(run.answers)
    for item in q.items[after + 1 :]:
        if item.id in run.answers or not _relevant(item, values):
            continue
        later = q.items[q.index_of(item.id) + 1 :]
        if item.is_question or not any(i.id in run.answers for i in later):
            return item
    return None


def plain_previous(q: Questionnaire, run: RunState, before: int) -> Item | None:
    values = counted_values(run.answers)
    for item in reversed(q.items[:before]):
        stored = run.answers.get(item.id)
        if stored is None or stored.state is AnswerState.NOT_APPLICABLE:
            continue
        if item.is_question and _relevant(item, values):
            return item
    return None


# --- wandering through the questionnaire ------------------------------------------------

_WORDS = ["back", "skip", "next", "1", "2", "3", "0", "5", "oui", "non", "yes", "no",
          "2026-03-15", "1, 2", "3 and 4", "Some text", "12", "100000", "4.5"]  # fmt: skip


def _wander(q: Questionnaire, replies: list[str]) -> Iterator[RunState]:
    step = engine.start(q, "en", NOW)
    step = engine.step(q, step.run, Reply("I agree"), NOW)
    yield step.run
    for number, reply in enumerate(replies, start=1):
        step = engine.step(q, step.run, Reply(reply), NOW + timedelta(seconds=number))
        yield step.run


def _check(q: Questionnaire, run: RunState) -> None:
    assert progress(q, run) == plain_progress(q, run)
    reconciled, changed = reconcile_relevance(q, run, NOW)
    plain_run, plain_changed = plain_reconcile(q, run, NOW)
    assert (dict(reconciled.answers), changed) == (dict(plain_run.answers), plain_changed)
    assert replace(reconciled, answers={}) == replace(plain_run, answers={})
    for position in range(-1, len(q.items) + 1):
        assert next_item(q, run, position) == plain_next(q, run, position)
        assert previous_item(q, run, max(position, 0)) == plain_previous(q, run, max(position, 0))


def test_a_straight_run_navigates_as_defined(example: Questionnaire) -> None:
    replies = {"number": "2", "date": "2026-03-15", "yes_no": "yes", "scale": "3"}
    run = next(_wander(example, []))
    checked = 0
    while run.cursor is not None and checked < 200:
        _check(example, run)
        item = example.item(run.cursor)
        reply = replies.get(item.type.value, "1" if item.choices else "text")
        run = engine.step(example, run, Reply(reply), NOW).run
        checked += 1
    _check(example, run)
    assert checked > 40


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=90))
def test_any_wandering_navigates_as_defined(replies: list[str]) -> None:
    q = _example()
    for run in _wander(q, replies):
        _check(q, run)
