"""Default answers (`default`, XLSForm's column of the same name): checked, offered, accepted.

A default is a suggestion, not an answer: nothing is stored until the person accepts it.
Chat has no pre-filled field, so a default is offered the way a person would offer one:
the question marks it (★ on the choice, the ticks already set on a multi-choice, "Suggested
answer: 12" on a typed one) and a Keep button, the words `keep`/`garder`/`next` or, except
on free text where "ok" is an answer, `ok`/`d'accord` accept it. Any other reply answers
as usual. A default is only offered while the item has no answer of its own.
"""

from __future__ import annotations

from typing import Final

from conversations.answers import Accepted, Rejected, accept_value, explain
from conversations.questionnaire import Item, ItemType
from conversations.run import AnswerValue, RunState
from conversations.text import fold

__all__ = ["accepts_default", "default_problem", "offered_default", "preselected"]

_OK: Final = frozenset({"ok", "okay", "d'accord", "daccord", "d’accord"})
"""Typed agreement with the suggestion; `keep`/`garder`/`next` are commands already."""


def offered_default(item: Item, run: RunState) -> Accepted | None:
    """The default as it would be recorded, if it is on offer for `item` (as asked now).

    Not offered when the item already has an answer (going back shows that instead), or
    when a cascade hides a default choice: the person can only accept what they see.
    """
    if item.default is None or item.id in run.answers:
        return None
    accepted = accept_value(item, item.default, run.language)
    return accepted if isinstance(accepted, Accepted) else None


def preselected(item: Item, run: RunState) -> tuple[str, ...]:
    """A multi-choice default starts as the ticks, so Done alone accepts it."""
    if item.type is not ItemType.MULTI_CHOICE or offered_default(item, run) is None:
        return ()
    value = item.default
    return tuple(value) if isinstance(value, list) else ()


def accepts_default(item: Item, text: str) -> bool:
    """A typed reply that means "yes, the suggestion": ok, or nothing at all."""
    said = fold(text).strip()
    return not said or (item.type is not ItemType.TEXT and said in _OK)


def default_problem(item: Item, value: AnswerValue, language: str) -> str | None:
    """Why `value` cannot be `item`'s default (for the loader), or None when it can."""
    if item.type is ItemType.NOTE:
        return "a note takes no answer, so it has no default"
    shape = _shape_problem(item, value)
    if shape is not None:
        return shape
    accepted = accept_value(item, value, language)
    if isinstance(accepted, Rejected):
        return f"{value!r} is not an answer this item accepts: {explain(accepted, 'en')}"
    constraint = item.constraint
    if constraint and not constraint.references and not constraint.evaluate({}, accepted.value):
        return f"{value!r} does not meet the item's constraint ({item.constraint})"
    return None


def _shape_problem(item: Item, value: AnswerValue) -> str | None:
    if item.type is ItemType.SINGLE_CHOICE and not isinstance(value, str):
        return f"must be one choice id, not {value!r}"
    if item.type is ItemType.MULTI_CHOICE and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return f"must be a list of choice ids, not {value!r}"
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE):
        chosen = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        unknown = [c for c in chosen if item.choice(c) is None]
        if unknown:
            ids = ", ".join(c.id for c in item.choices)
            return f"'{unknown[0]}' is not a choice id ({ids})"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    wanted = {
        ItemType.YES_NO: ("true or false", isinstance(value, bool)),
        ItemType.NUMBER: ("a number", number),
        ItemType.SCALE: ("a whole number on the scale", number),
        ItemType.TEXT: ("text", isinstance(value, str)),
        ItemType.DATE: ("a date written 2026-11-26", isinstance(value, str)),
    }.get(item.type)
    if wanted is not None and not wanted[1]:
        return f"must be {wanted[0]}, not {value!r}"
    return None
