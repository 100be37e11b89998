"""Where a run goes next: relevance, the next and previous items, progress.

Everything is derived from the questionnaire and the stored answers, so nothing here
needs its own state: a run resumed days later navigates exactly as it would have.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from conversations.questionnaire import Item, Questionnaire
from conversations.run import AnswerState, AnswerValue, RunState, StoredAnswer

if TYPE_CHECKING:
    from conversations.conditions import Condition

__all__ = [
    "Progress",
    "counted_values",
    "has_answer",
    "next_item",
    "offered",
    "previous_item",
    "progress",
    "reconcile_relevance",
]


def counted_values(answers: Mapping[str, StoredAnswer]) -> dict[str, AnswerValue]:
    """The values conditions see: answered items only (skipped and not applicable are absent)."""
    return {item_id: a.value for item_id, a in answers.items() if a.counts}


def is_relevant(item: Item, values: Mapping[str, AnswerValue]) -> bool:
    return item.relevant is None or item.relevant.evaluate(values)


def offered(item: Item, answers: Mapping[str, StoredAnswer]) -> Item:
    """The item as it is asked now: only the choices whose condition holds (cascades).

    Numbers, names and buttons then all refer to what the person sees, so "2" is the
    second choice shown, never a hidden one.
    """
    if not item.filters_choices:
        return item
    values = counted_values(answers)
    shown = tuple(c for c in item.choices if c.relevant is None or c.relevant.evaluate(values))
    return replace(item, choices=shown)


def has_answer(item: Item, answers: Mapping[str, StoredAnswer]) -> bool:
    """An answer is stored and still possible: a cascade's earlier answer may have changed
    so that the chosen choice is no longer offered, and then the item is asked again."""
    stored = answers.get(item.id)
    if stored is None:
        return False
    if not item.filters_choices or stored.state is not AnswerState.ANSWERED:
        return True
    chosen = stored.value if isinstance(stored.value, list) else [stored.value]
    shown = {c.id for c in offered(item, answers).choices}
    return all(choice in shown for choice in chosen)


def reconcile_relevance(
    q: Questionnaire, run: RunState, now: datetime
) -> tuple[RunState, tuple[tuple[str, StoredAnswer], ...]]:
    """Mark answers whose item became irrelevant as not applicable, and restore the reverse.

    Items are visited in order with the values updated as we go, so a chain of
    dependent conditions settles in one pass (conditions only look backwards). When
    nothing changes (most turns), `run` itself is returned.
    """
    plan = _plan(q)
    answers = dict(run.answers)
    values = counted_values(answers)
    evaluated: list[bool | None] = [None] * len(plan.conditions)  # by slot, for `values`
    changed: list[tuple[str, StoredAnswer]] = []
    for item_id, slot in plan.items:
        stored = answers.get(item_id)
        if stored is None:
            continue
        if slot < 0:
            if stored.state is not AnswerState.NOT_APPLICABLE:
                continue  # always relevant, and not marked otherwise: nothing to settle
            relevant = True
        else:
            known = evaluated[slot]
            relevant = plan.conditions[slot].evaluate(values) if known is None else known
            evaluated[slot] = relevant
        if not relevant and stored.state is not AnswerState.NOT_APPLICABLE:
            updated = replace(stored, state=AnswerState.NOT_APPLICABLE, answered_at=now)
        elif relevant and stored.state is AnswerState.NOT_APPLICABLE:
            restored = AnswerState.SKIPPED if stored.value is None else AnswerState.ANSWERED
            updated = replace(stored, state=restored, answered_at=now)
        else:
            continue
        answers[item_id] = updated
        changed.append((item_id, updated))
        values = counted_values(answers)
        evaluated = [None] * len(plan.conditions)
    if not changed:
        return run, ()
    return replace(run, answers=answers), tuple(changed)


def next_item(q: Questionnaire, run: RunState, after: int) -> Item | None:
    """The first relevant item after position `after` that still needs an answer (or a note)."""
    values: dict[str, AnswerValue] | None = None  # worked out when a condition needs them
    for item in q.items[after + 1 :]:
        if item.id in run.answers and not _stale(item, run):
            continue
        if item.relevant is not None:
            if values is None:
                values = counted_values(run.answers)
            if not item.relevant.evaluate(values):
                continue
        if item.filters_choices and not offered(item, run.answers).choices:
            continue  # a cascade that leaves nothing to choose asks nothing
        if item.is_question or not _answered_beyond(q, run, item):
            return item
    return None


def _stale(item: Item, run: RunState) -> bool:
    return item.filters_choices and not has_answer(item, run.answers)


def _answered_beyond(q: Questionnaire, run: RunState, note: Item) -> bool:
    """Notes are said once: not again when a changed answer walks past them."""
    later = q.items[q.index_of(note.id) + 1 :]
    return any(item.id in run.answers for item in later)


def previous_item(q: Questionnaire, run: RunState, before: int) -> Item | None:
    """The nearest earlier relevant question that has an answer (answered or skipped)."""
    values: dict[str, AnswerValue] | None = None  # worked out when a condition needs them
    for item in reversed(q.items[:before]):
        stored = run.answers.get(item.id)
        if stored is None or stored.state is AnswerState.NOT_APPLICABLE or not item.is_question:
            continue
        if item.relevant is None:
            return item
        if values is None:
            values = counted_values(run.answers)
        if item.relevant.evaluate(values):
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
    plan = _plan(q)
    answers = run.answers
    values: dict[str, AnswerValue] | None = None  # worked out when a condition needs them
    cursor = run.cursor
    reached = q.index_of(cursor) if cursor and q.has_item(cursor) else len(q.items)
    counts: list[bool | None] = [None] * len(plan.conditions)  # by slot: counted or not
    total = answered = 0
    number: int | None = None
    for item_id, slot in plan.questions:
        if slot >= 0:
            counted = counts[slot]
            if counted is None:
                counted = True  # undecided: it reads an unanswered item still ahead
                for name, index in plan.references[slot]:
                    if index >= reached and name not in answers:
                        break
                else:
                    if values is None:
                        values = counted_values(answers)
                    counted = plan.conditions[slot].evaluate(values)
                counts[slot] = counted
            if not counted:
                continue
        total += 1
        if item_id == cursor:
            number = total
        stored = answers.get(item_id)
        if stored is not None and stored.state is not AnswerState.NOT_APPLICABLE:
            answered += 1
    return Progress(number=total if number is None else number, total=total, answered=answered)


# --- the questionnaire's shape, worked out once ----------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What navigation needs from a questionnaire on every turn, derived once.

    `Condition.references` walks the condition's tree on each call and items are
    looked up by attribute; progress is computed for every question put, so these are
    laid out flat here. A condition shared by several items gets one slot, so it is
    evaluated once per call (for the same values).
    """

    owner: weakref.ref[Questionnaire]
    items: tuple[tuple[str, int], ...]
    """Every item in order: its id and its `relevant` condition's slot (-1: none)."""
    questions: tuple[tuple[str, int], ...]
    """The same, for questions only."""
    conditions: tuple[Condition, ...]
    """The distinct `relevant` conditions, by slot."""
    references: tuple[tuple[tuple[str, int], ...], ...]
    """By slot: the (item id, position) of each item the condition reads."""


_PLANS: dict[int, _Plan] = {}


def _plan(q: Questionnaire) -> _Plan:
    """The plan of `q`, kept while `q` lives (definitions are immutable, so it stays true)."""
    plan = _PLANS.get(id(q))
    if plan is not None and plan.owner() is q:
        return plan
    slots: dict[Condition, int] = {}
    items = []
    for item in q.items:
        condition = item.relevant
        slot = -1 if condition is None else slots.setdefault(condition, len(slots))
        items.append((item.id, slot, item.is_question))
    plan = _Plan(
        owner=weakref.ref(q),
        items=tuple((item_id, slot) for item_id, slot, _ in items),
        questions=tuple((item_id, slot) for item_id, slot, question in items if question),
        conditions=tuple(slots),
        references=tuple(
            tuple((name, q.index_of(name)) for name in sorted(condition.references))
            for condition in slots
        ),
    )
    _PLANS[id(q)] = plan
    weakref.finalize(q, _forget_plan, id(q), plan)
    return plan


def _forget_plan(key: int, plan: _Plan) -> None:
    if _PLANS.get(key) is plan:
        del _PLANS[key]
