"""One survey row → one Parley item definition (the mapping the YAML loader reads).

| XLSForm type                | Parley item                                           |
|-----------------------------|-------------------------------------------------------|
| select_one L                | single_choice (yes_no when L is exactly yes/no;       |
|                             | scale when appearance is likert over 1, 2, 3 …)       |
| select_multiple L           | multi_choice                                          |
| integer, decimal            | number (kind integer / decimal)                       |
| range (start, end, step 1)  | scale when at most 11 points, number otherwise        |
| text, date, note            | text, date, note                                      |
| acknowledge                 | yes_no whose constraint is `. = true`                 |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from conversations.xlsform_choice_filter import filter_choices
from conversations.xlsform_conditions import Kind, range_bounds, render, translate
from conversations.xlsform_expressions import (
    And,
    Compare,
    Current,
    Expr,
    ExpressionError,
    parse_expression,
)
from conversations.xlsform_expressions import Literal as Lit
from conversations.xlsform_sheets import Columns, Place, Row, XlsformError, flag

__all__ = ["Built", "ItemBuilder", "ItemRow", "combine"]

_DISPLAY_ONLY: Final = frozenset(
    {
        "minimal", "quick", "horizontal", "horizontal-compact", "compact", "label",
        "list-nolabel", "list", "columns", "columns-pack", "no-buttons", "multiline",
        "numbers", "thousands-sep", "no-calendar", "field-list", "table-list",
        "autocomplete", "vertical", "picker", "rating", "no-ticks", "columns-1",
        "columns-2", "columns-3", "columns-4", "columns-5",
    }
)  # fmt: skip
"""Appearances that only change how a form app draws a question; chat has one look."""

_SIMPLE_TYPES: Final = frozenset(
    {"integer", "decimal", "range", "text", "date", "note", "acknowledge"}
)
_FLAGS: Final = ("quotable", "segment", "allow_skip")
_TEXTS: Final = (
    ("help", "hint"),
    ("constraint_message", "constraint_message"),
    ("required_message", "required_message"),
)
_TYPE_TEXTS: Final = ("unit", "min_label", "max_label")
_REFERENCE: Final = re.compile(r"\$\{[^}]*\}")
_DYNAMIC: Final = re.compile(r"\$\{|^[A-Za-z][\w-]*\(.*\)$")
"""`${q}` or `today()`: a default computed from other answers or the clock."""


@dataclass(frozen=True)
class ItemRow:
    row: Row
    sheet: str
    words: list[str]

    def place(self, column: str) -> Place:
        return Place(self.sheet, self.row.number, column)

    def get(self, column: str) -> str:
        return self.row.get(column)


@dataclass
class Built:
    definition: dict[str, Any]
    places: dict[str, Place] = field(default_factory=dict)
    """Definition paths relative to the item (`.label`, `.choices[2]`) → workbook places."""
    warnings: list[XlsformError] = field(default_factory=list)


def combine(first: Expr | None, second: Expr | None) -> Expr | None:
    """Both conditions must hold: a group's `relevant` applies to each of its rows."""
    if first is None or second is None:
        return first or second
    parts = [*_conjuncts(first), *_conjuncts(second)]
    return And(tuple(parts))


def _conjuncts(expr: Expr) -> tuple[Expr, ...]:
    return expr.operands if isinstance(expr, And) else (expr,)


class ItemBuilder:
    def __init__(
        self,
        columns: Columns,
        choice_lists: Mapping[str, list[tuple[Row, dict[str, Any]]]],
        language: str,
        kinds: dict[str, Kind],
    ) -> None:
        self.columns = columns
        self.choice_lists = choice_lists
        self.language = language
        self.kinds = kinds

    def build(self, item: ItemRow, group_relevant: Expr | None) -> Built:
        name = item.get("name")
        if not name:
            raise XlsformError(item.place("name"), "required")
        definition: dict[str, Any] = {"id": name}
        built = Built(definition, {"": item.place("name"), ".id": item.place("name")})
        kind, constraint = self.typed(item, built)
        self.texts(item, built, kind)
        self.flags(item, built, kind)
        relevant = self.expression(item, "relevant", "")
        self.set_condition(built, "relevant", combine(group_relevant, relevant), item)
        own = self.expression(item, "constraint", kind)
        self.constraint(item, built, kind, combine(constraint, own))
        self.default(item, built, kind)
        self.unsupported(item)
        self.kinds[name] = kind
        return built

    # --- types --------------------------------------------------------------------------

    def typed(self, item: ItemRow, built: Built) -> tuple[Kind, Expr | None]:
        """Set type fields; returns the answer kind and a constraint the type implies."""
        word = item.words[0]
        definition = built.definition
        built.places[".type"] = item.place("type")
        if word in ("select_one", "select_multiple"):
            return self.select(item, built), None
        if word not in _SIMPLE_TYPES:
            raise XlsformError(item.place("type"), f"type '{word}' is not supported")
        if len(item.words) > 1:
            raise XlsformError(item.place("type"), f"unexpected '{item.words[1]}' after {word}")
        if word in ("integer", "decimal"):
            definition.update(type="number", kind=word)
            return "number", None
        if word == "range":
            return self.range(item, built), None
        if word in ("text", "date", "note"):
            definition["type"] = word
            return word, None
        if word == "acknowledge":
            definition["type"] = "yes_no"
            return "yes_no", Compare("=", Current(), Lit(True))
        raise XlsformError(item.place("type"), f"type '{word}' is not supported")

    def select(self, item: ItemRow, built: Built) -> Kind:
        word = item.words[0]
        if len(item.words) != 2:
            extra = " ".join(item.words[2:])
            reason = f"write {word} followed by one choice list name"
            if extra == "or_other":
                reason = "'or_other' is not supported: give the list a choice with other = yes"
            raise XlsformError(item.place("type"), reason)
        list_name = item.words[1]
        entries = self.choice_lists.get(list_name)
        if entries is None:
            reason = f"choice list '{list_name}' is not in the choices sheet"
            raise XlsformError(item.place("type"), reason)
        names = [choice["id"] for _, choice in entries]
        appearance = self.appearance(item)
        plain = not (
            word == "select_one" and (sorted(names) == ["no", "yes"] or "likert" in appearance)
        )
        if item.get("choice_filter") and not plain:
            reason = "choice_filter is not supported on a yes/no or likert list"
            raise XlsformError(item.place("choice_filter"), reason)
        if word == "select_one" and sorted(names) == ["no", "yes"]:
            built.definition["type"] = "yes_no"
            return "yes_no"
        if word == "select_one" and "likert" in appearance:
            return self.likert(item, built, entries)
        built.definition["type"] = "single_choice" if word == "select_one" else "multi_choice"
        built.places[".choices"] = item.place("type")
        built.definition["choices"] = [dict(choice) for _, choice in entries]
        for index, (row, _) in enumerate(entries):
            built.places[f".choices[{index}]"] = Place("choices", row.number, "name")
            built.places[f".choices[{index}].label"] = Place("choices", row.number, "label")
        if item.get("choice_filter"):
            self.choice_filter(item, built, entries)
        return "choice" if word == "select_one" else "multi"

    def choice_filter(
        self, item: ItemRow, built: Built, entries: list[tuple[Row, dict[str, Any]]]
    ) -> None:
        """A cascade: each choice offered only when its filter column matches the answer."""
        place = item.place("choice_filter")
        filtered = filter_choices(item.get("choice_filter"), place, entries, self.kinds)
        built.definition["choices"] = [choice for choice, _ in filtered]
        for index, (_, cell) in enumerate(filtered):
            built.places[f".choices[{index}].relevant"] = cell

    def likert(
        self, item: ItemRow, built: Built, entries: list[tuple[Row, dict[str, Any]]]
    ) -> Kind:
        """A likert list of choices named 1, 2, 3 … is a scale; its end labels are kept."""
        names = [choice["id"] for _, choice in entries]
        numbers = [int(n) for n in names if re.fullmatch(r"-?\d+", n)]
        consecutive = len(numbers) == len(names) and numbers == list(
            range(numbers[0], numbers[0] + len(numbers))
        )
        if not consecutive:
            reason = "likert needs choices named by consecutive whole numbers (1, 2, 3 …)"
            raise XlsformError(item.place("appearance"), reason)
        built.definition.update(
            type="scale",
            min=numbers[0],
            max=numbers[-1],
            min_label=entries[0][1]["label"],
            max_label=entries[-1][1]["label"],
        )
        for key in (".min", ".max", ".min_label", ".max_label"):
            built.places[key] = item.place("type")
        return "scale"

    def range(self, item: ItemRow, built: Built) -> Kind:
        start, end = _range_parameters(item)
        if 0 < end - start <= 10:
            built.definition.update(type="scale", min=start, max=end)
            kind: Kind = "scale"
        else:
            built.definition.update(type="number", kind="integer", min=start, max=end)
            kind = "number"
        built.places[".min"] = built.places[".max"] = item.place("parameters")
        return kind

    def appearance(self, item: ItemRow) -> set[str]:
        words = set(item.get("appearance").lower().split())
        for word in sorted(words - _DISPLAY_ONLY - {"likert"}):
            raise XlsformError(item.place("appearance"), f"appearance '{word}' is not supported")
        if "likert" in words and item.words[0] != "select_one":
            raise XlsformError(item.place("appearance"), "likert applies to select_one only")
        return words

    # --- columns ------------------------------------------------------------------------

    def texts(self, item: ItemRow, built: Built, kind: Kind) -> None:
        label = self.text(item, "label")
        if label is None:
            raise XlsformError(item.place("label"), "required")
        built.definition["label"] = label
        built.places[".label"] = item.place("label")
        pairs = [*_TEXTS, *((name, name) for name in _TYPE_TEXTS)]
        for key, column in pairs:
            text = self.text(item, column)
            if text is not None:
                built.definition[key] = text
                built.places[f".{key}"] = item.place(column)

    def text(self, item: ItemRow, column: str) -> dict[str, str] | None:
        for header in self.columns.of(column):
            if _REFERENCE.search(item.get(header.text)):
                reason = "references like ${name} inside text are not supported"
                raise XlsformError(item.place(header.text), reason)
        return self.columns.localized(item.row, column, self.language)

    def flags(self, item: ItemRow, built: Built, kind: Kind) -> None:
        if kind != "note":
            built.definition["required"] = self.flag(item, "required") or False
            built.places[".required"] = item.place("required")
        for column in _FLAGS:
            if item.get(column):
                built.definition[column] = self.flag(item, column)
                built.places[f".{column}"] = item.place(column)
        if item.get("max_length"):
            built.definition["max_length"] = _whole(item, "max_length")
            built.places[".max_length"] = item.place("max_length")

    def flag(self, item: ItemRow, column: str) -> bool | None:
        value = flag(item.get(column))
        if value is None:
            reason = f"'{item.get(column)}' is not yes or no"
            if column == "required":
                reason = "a required that depends on other answers is not supported"
            raise XlsformError(item.place(column), reason)
        return value

    # --- conditions ---------------------------------------------------------------------

    def expression(self, item: ItemRow, column: str, kind: Kind) -> Expr | None:
        source = item.get(column)
        if not source:
            return None
        try:
            return translate(parse_expression(source), self.kinds, kind)
        except ExpressionError as exc:
            raise XlsformError(item.place(column), exc.reason) from None

    def set_condition(self, built: Built, key: str, expr: Expr | None, item: ItemRow) -> None:
        if expr is None:
            return
        try:
            built.definition[key] = render(expr)
        except ExpressionError as exc:
            raise XlsformError(item.place(key), exc.reason) from None
        built.places[f".{key}"] = item.place(key)

    def constraint(self, item: ItemRow, built: Built, kind: Kind, expr: Expr | None) -> None:
        if expr is None:
            return
        if built.definition.get("type") == "number":
            bounds, expr = range_bounds(expr, "number")
        elif kind == "multi":
            bounds, expr = range_bounds(expr, "multi")
        else:
            bounds = {}
        for key, value in bounds.items():
            built.definition[key] = value
            built.places[f".{key}"] = item.place("constraint")
        self.set_condition(built, "constraint", expr, item)

    def default(self, item: ItemRow, built: Built, kind: Kind) -> None:
        """The `default` cell in the item's stored form (the loader checks it is possible)."""
        text = item.get("default")
        if not text:
            return
        if _DYNAMIC.search(text):
            reason = "a default computed from answers or functions is not supported"
            raise XlsformError(item.place("default"), reason)
        built.definition["default"] = _default_value(item, text, kind, built.definition)
        built.places[".default"] = item.place("default")

    def unsupported(self, item: ItemRow) -> None:
        self.appearance(item)
        if item.get("parameters") and item.words[0] != "range":
            reason = f"parameters are not supported for type '{item.words[0]}'"
            raise XlsformError(item.place("parameters"), reason)
        if item.get("choice_filter") and item.words[0] not in ("select_one", "select_multiple"):
            reason = "choice_filter applies to select_one and select_multiple only"
            raise XlsformError(item.place("choice_filter"), reason)


def _range_parameters(item: ItemRow) -> tuple[int, int]:
    values = {"start": "1", "end": "10", "step": "1"}
    for part in re.split(r"[\s;,]+", item.get("parameters").strip()):
        key, _, value = part.partition("=")
        if not part:
            continue
        if key.strip() not in values or not value.strip():
            raise XlsformError(item.place("parameters"), f"unknown range parameter '{part}'")
        values[key.strip()] = value.strip()
    try:
        start, end, step = (int(values[k]) for k in ("start", "end", "step"))
    except ValueError:
        raise XlsformError(item.place("parameters"), "range needs whole numbers") from None
    if step != 1:
        raise XlsformError(item.place("parameters"), f"a step of {step} is not supported (only 1)")
    if end <= start:
        raise XlsformError(item.place("parameters"), "end must be greater than start")
    return start, end


def _default_value(item: ItemRow, text: str, kind: Kind, definition: dict[str, Any]) -> Any:
    """`yes` → true, `a c` → [a, c] (a select_multiple's names), `12` → 12, dates as written."""
    if kind == "multi":
        return text.split()
    if kind == "yes_no":
        value = flag(text)
        if value is None:
            raise XlsformError(item.place("default"), f"'{text}' is not yes or no")
        return value
    if kind in ("number", "scale"):
        try:
            number = float(text)
        except ValueError:
            raise XlsformError(item.place("default"), f"'{text}' is not a number") from None
        whole = kind == "scale" or definition.get("kind") == "integer" or number.is_integer()
        return int(number) if whole and number.is_integer() else number
    return text


def _whole(item: ItemRow, column: str) -> int:
    text = item.get(column)
    if not re.fullmatch(r"\d+", text):
        raise XlsformError(item.place(column), f"'{text}' is not a whole number")
    return int(text)
