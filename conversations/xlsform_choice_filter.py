"""XLSForm `choice_filter` (simple cascades) → a condition on each choice.

ODK filters a list with an expression over the choices sheet's own columns, e.g. a
`cities` list with a `province` column and `choice_filter` `province = ${province}`.
Parley has no expressions over choice rows, so the filter is evaluated here, once per
choice: the city whose `province` cell is `qc` gets the condition `province = 'qc'`,
and the engine offers it only when that holds. Three forms are understood:

    column = ${name}          ${name} = column          selected(${name}, column)

Anything else (and, or, other functions, two columns) is refused with one line: a form
is never run with a silently different filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from conversations.xlsform_conditions import Kind, render, translate
from conversations.xlsform_expressions import Call, Compare, Expr, ExpressionError, Ref
from conversations.xlsform_expressions import Literal as Lit
from conversations.xlsform_sheets import Place, Row, XlsformError

__all__ = ["FILTER_REFUSED", "filter_choices"]

_NAME: Final = r"\$\{\s*(?P<name>[A-Za-z_][\w.-]*)\s*\}"
_COLUMN: Final = r"(?P<column>[A-Za-z_][\w.:-]*)"
_FORMS: Final = (
    re.compile(rf"{_COLUMN}\s*=\s*{_NAME}"),
    re.compile(rf"{_NAME}\s*=\s*{_COLUMN}"),
    re.compile(rf"selected\(\s*{_NAME}\s*,\s*{_COLUMN}\s*\)"),
)
FILTER_REFUSED: Final = (
    "only a simple cascade is supported: a choices column compared with an earlier "
    "answer (filter = ${name}, or selected(${name}, filter))"
)


def filter_choices(
    source: str,
    place: Place,
    entries: list[tuple[Row, dict[str, Any]]],
    kinds: Mapping[str, Kind],
) -> list[tuple[dict[str, Any], Place]]:
    """Each choice with its `relevant` condition, and where that condition came from."""
    name, column, selected = _read(source, place)
    if name not in kinds:
        raise XlsformError(place, f"refers to '{name}', which is not an earlier item")
    if not any(row.get(column) for row, _ in entries):
        raise XlsformError(place, f"no choice of this list has a value in column '{column}'")
    filtered = []
    for row, choice in entries:
        cell = Place("choices", row.number, column)
        value = row.get(column)
        if not value:
            raise XlsformError(cell, f"empty: the choice_filter of {place.sheet} row "
                                     f"{place.row} would never offer this choice")  # fmt: skip
        condition = _condition(name, value, selected, kinds, cell)
        filtered.append(({**choice, "relevant": condition}, cell))
    return filtered


def _read(source: str, place: Place) -> tuple[str, str, bool]:
    text = source.strip()
    for number, form in enumerate(_FORMS):
        match = form.fullmatch(text)
        if match:
            return match["name"], match["column"], number == 2
    raise XlsformError(place, FILTER_REFUSED)


def _condition(
    name: str, value: str, selected: bool, kinds: Mapping[str, Kind], cell: Place
) -> str:
    expr: Expr = (
        Call("selected", Ref(name), value) if selected else Compare("=", Ref(name), Lit(value))
    )
    try:
        return render(translate(expr, kinds, ""))
    except ExpressionError as exc:
        raise XlsformError(cell, exc.reason) from None
