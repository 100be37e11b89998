"""Where a run goes next: relevance, the next and previous items, progress.

Everything is derived from the questionnaire and the stored answers, so nothing here
needs its own state: a run resumed days later navigates exactly as it would have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from conversations.questionnaire import Item, Questionnaire
from conversations.run import AnswerState, AnswerValue, RunState, StoredAnswer

__all__ = [
    "Progress",
    "counted_values",
    "next_item",
    "previous_item",
    "progress",
    "reconcile_relevance",
]


def counted_values(answers: Mapping[str, StoredAnswer]) -> dict[str, AnswerValue]:
    """The values conditions see: answered items only (skipped and not applicable are absent)."""
    return {item_id: a.value for item_id, a in answers.items() if a.counts}


def is_relevant(item: Item, values: Mapping[str, AnswerValue]) -> bool:
    return item.relevant is None or item.relevant.evaluate(values)


def reconcile_relevance(
    q: Questionnaire, run: RunState, now: datetime
) -> tuple[RunState, tuple[tuple[str, StoredAnswer], ...]]:
    """Mark answers whose item became irrelevant as not applicable, and restore the reverse.

    Items are visited in order with the values updated as we go, so a chain of
    dependent conditions settles in one pass (conditions only look backwards).
    """
    answers = dict(run.answers)
    values = counted_values(answers)
    changed: list[tuple[str, StoredAnswer]] = []
    for item in q.items:
        stored = answers.get(item.id)
        if stored is None:
            continue
        relevant = is_relevant(item, values)
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


def next_item(q: Questionnaire, run: RunState, after: int) -> Item | None:
    """The first relevant item after position `after` that still needs an answer (or a note)."""
    values = counted_values(run.answers)
    for item in q.items[after + 1 :]:
        if item.id in run.answers or not is_relevant(item, values):
            continue
        if item.is_question or not _answered_beyond(q, run, item):
            return item
    return None


def _answered_beyond(q: Questionnaire, run: RunState, note: Item) -> bool:
    """Notes are said once: not again when a changed answer walks past them."""
    later = q.items[q.index_of(note.id) + 1 :]
    return any(item.id in run.answers for item in later)


def previous_item(q: Questionnaire, run: RunState, before: int) -> Item | None:
    """The nearest earlier relevant question that has an answer (answered or skipped)."""
    values = counted_values(run.answers)
    for item in reversed(q.items[:before]):
        stored = run.answers.get(item.id)
        if stored is None or stored.state is AnswerState.NOT_APPLICABLE:
            continue
        if item.is_question and is_relevant(item, values):
            return item
    return None


@dataclass(frozen=True)
class Progress:
    """Position among the questions that are relevant given the answers so far."""

    number: int
    total: int
    answered: int


def progress(q: Questionnaire, run: RunState) -> Progress:
    """Counts every question that is, or may still become, relevant.

    A condition on an earlier question that has not been reached yet cannot be decided,
    so its item is counted: the total starts at the full length and shrinks as branches
    are ruled out, instead of growing under the person's feet.
    """
    values = counted_values(run.answers)
    reached = q.index_of(run.cursor) if run.cursor and q.has_item(run.cursor) else len(q.items)
    counted = [
        item
        for item in q.items
        if item.is_question and _may_be_relevant(q, item, values, run.answers, reached)
    ]
    ids = [item.id for item in counted]
    number = ids.index(run.cursor) + 1 if run.cursor in ids else len(ids)
    answered = sum(
        1
        for item in counted
        if item.id in run.answers and run.answers[item.id].state is not AnswerState.NOT_APPLICABLE
    )
    return Progress(number=number, total=len(ids), answered=answered)


def _may_be_relevant(
    q: Questionnaire,
    item: Item,
    values: Mapping[str, AnswerValue],
    answers: Mapping[str, StoredAnswer],
    reached: int,
) -> bool:
    if item.relevant is None:
        return True
    undecided = any(
        name not in answers and q.index_of(name) >= reached for name in item.relevant.references
    )
    return undecided or item.relevant.evaluate(values)
