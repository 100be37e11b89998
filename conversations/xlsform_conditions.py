"""Parsed XLSForm expressions → Parley condition text, keeping XPath's meaning.

Where the two languages differ, the translation follows what the form meant in ODK:

- `${q} != 'a'` is true in ODK when q is empty; Parley's `q != 'a'` is false then, so it
  becomes `not q = 'a'`;
- `${q} = ''` / `${q} != ''` become `not answered(q)` / `answered(q)`;
- a select_one on a yes/no list is a Parley yes_no item: `'yes'` is `true`, and
  `selected(${q}, 'yes')` is `q = true`;
- choice names compare as text (`${q} = 1` means the choice named `1`), numbers as
  numbers (`${n} > '5'` compares with 5);
- arithmetic is folded when it only involves numbers (`. <= 10 * 50`); arithmetic on
  answers cannot be said in Parley and is refused.

`range_bounds` lifts `. >= 0 and . <= 500` into an item's min/max and `count-selected(.)
<= 3` into max_selections, so chat re-prompts say the range instead of a generic message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from conversations.xlsform_expressions import (
    And,
    Arith,
    Call,
    Compare,
    Current,
    Expr,
    ExpressionError,
    Literal,
    Not,
    Or,
    Ref,
)

__all__ = ["Kind", "range_bounds", "render", "translate"]

Kind = str
"""yes_no, choice, multi, number, text, date or note: what an answer is, for coercion."""

_NUMERIC: Final = frozenset({"number", "scale"})
_CHOICE: Final = frozenset({"choice", "multi"})
_ARITHMETIC: Final[Mapping[str, Callable[[float, float], float]]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "mod": lambda a, b: a % b,
}


def translate(expr: Expr, kinds: Mapping[str, Kind], own: Kind) -> Expr:
    """Rewrite `expr` (as a condition) into nodes with Parley's meaning; raises ExpressionError."""
    return _Translator(kinds, own).condition(expr)


class _Translator:
    def __init__(self, kinds: Mapping[str, Kind], own: Kind) -> None:
        self.kinds = kinds
        self.own = own

    def kind(self, node: Expr) -> Kind:
        if isinstance(node, Current):
            return self.own
        if isinstance(node, Ref):
            return self.kinds.get(node.name, "")
        return ""

    def condition(self, node: Expr) -> Expr:
        if isinstance(node, Or):
            return Or(tuple(self.condition(operand) for operand in node.operands))
        if isinstance(node, And):
            return And(tuple(self.condition(operand) for operand in node.operands))
        if isinstance(node, Not):
            return Not(self.condition(node.operand))
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Ref | Current):
            return Call("answered", node)
        if isinstance(node, Call) and node.function == "selected":
            return self.selected(node)
        return self.value(node)

    def selected(self, node: Call) -> Expr:
        if self.kind(node.target) == "yes_no":
            return Compare("=", node.target, self.yes_no(node.code, node.target))
        return node

    def value(self, node: Expr) -> Expr:
        if isinstance(node, Arith):
            return _fold(node)
        if isinstance(node, Compare | And | Or | Not):
            return self.condition(node)
        return node

    def compare(self, node: Compare) -> Expr:
        left, right = self.value(node.left), self.value(node.right)
        empty = self.emptiness(node.operator, left, right)
        if empty is not None:
            return empty
        left, right = self.coerce(left, right), self.coerce(right, left)
        if node.operator == "!=":
            return Not(Compare("=", left, right))
        return Compare(node.operator, left, right)

    def emptiness(self, operator: str, left: Expr, right: Expr) -> Expr | None:
        """`${q} = ''` asks whether q is unanswered."""
        for side, other in ((left, right), (right, left)):
            if isinstance(other, Literal) and other.value == "" and isinstance(side, Ref | Current):
                answered = Call("answered", side)
                if operator == "=":
                    return Not(answered)
                if operator == "!=":
                    return answered
        return None

    def coerce(self, node: Expr, other: Expr) -> Expr:
        """Make a literal the kind of the answer it is compared with."""
        if not isinstance(node, Literal) or isinstance(node.value, bool):
            return node
        kind = self.kind(other)
        if kind == "yes_no":
            return self.yes_no(str(node.value), other)
        if kind == "multi":
            raise ExpressionError(
                f"a select_multiple ({_name(other)}) is compared with selected(), not '='"
            )
        if kind in _CHOICE and not isinstance(node.value, str):
            return Literal(_text(node.value))
        if kind in _NUMERIC and isinstance(node.value, str):
            return Literal(_number(node.value, other))
        return node

    def yes_no(self, code: str, target: Expr) -> Literal:
        if code not in ("yes", "no"):
            raise ExpressionError(f"'{code}' is not a choice of {_name(target)} (yes or no)")
        return Literal(code == "yes")


def _fold(node: Arith) -> Literal:
    left = node.left if isinstance(node.left, Literal) else None
    right = node.right if isinstance(node.right, Literal) else None
    if isinstance(node.left, Arith):
        left = _fold(node.left)
    if isinstance(node.right, Arith):
        right = _fold(node.right)
    numbers = [side.value for side in (left, right) if side is not None]
    valid = len(numbers) == 2 and all(_is_number(n) for n in numbers)
    if not valid:
        raise ExpressionError(f"arithmetic ('{node.operator}') on answers is not supported")
    a, b = float(numbers[0]), float(numbers[1])
    if node.operator in ("div", "mod") and b == 0:
        raise ExpressionError(f"division by zero ('{node.operator}')")
    result = _ARITHMETIC[node.operator](a, b)
    return Literal(int(result) if result.is_integer() else result)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(text: str, target: Expr) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise ExpressionError(f"'{text}' is not a number, and {_name(target)} is one") from None
    return int(value) if value.is_integer() else value


def _text(value: int | float | str) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _name(node: Expr) -> str:
    return f"${{{node.name}}}" if isinstance(node, Ref) else "."


# --- bounds ---------------------------------------------------------------------------

_FLIPPED: Final = {">=": "<=", "<=": ">=", ">": "<", "<": ">"}


def range_bounds(expr: Expr, own: Kind) -> tuple[dict[str, int | float], Expr | None]:
    """Lift `. >= a` / `. <= b` (or count-selected) conjuncts into item fields.

    Returns the fields found and what is left of the constraint (None when nothing is).
    """
    keys = _BOUND_KEYS.get(own)
    if keys is None:
        return {}, expr
    conjuncts = expr.operands if isinstance(expr, And) else (expr,)
    bounds: dict[str, int | float] = {}
    rest: list[Expr] = []
    for conjunct in conjuncts:
        found = _bound(conjunct, own)
        if found is None or keys[found[0]] in bounds:
            rest.append(conjunct)
        else:
            bounds[keys[found[0]]] = found[1]
    if not rest:
        return bounds, None
    return bounds, rest[0] if len(rest) == 1 else And(tuple(rest))


_BOUND_KEYS: Final[Mapping[Kind, Mapping[str, str]]] = {
    "number": {">=": "min", "<=": "max"},
    "multi": {">=": "min_selections", "<=": "max_selections"},
}


def _bound(node: Expr, own: Kind) -> tuple[str, int | float] | None:
    if not isinstance(node, Compare) or node.operator not in _FLIPPED:
        return None
    subject = Call("count", Current()) if own == "multi" else Current()
    operator, left, right = node.operator, node.left, node.right
    if left != subject:
        operator, left, right = _FLIPPED[operator], right, left
    if left != subject or not isinstance(right, Literal) or not _is_number(right.value):
        return None
    if operator not in (">=", "<="):
        return None
    value = right.value
    assert isinstance(value, int | float)
    if own == "multi" and not isinstance(value, int):
        return None
    return operator, value


# --- rendering ------------------------------------------------------------------------


def render(expr: Expr) -> str:
    """Parley condition text for a translated tree (see conversations.conditions)."""
    if isinstance(expr, Or):
        return " or ".join(render(operand) for operand in expr.operands)
    if isinstance(expr, And):
        return " and ".join(_grouped(operand, (Or,)) for operand in expr.operands)
    if isinstance(expr, Not):
        return f"not {_grouped(expr.operand, (Or, And))}"
    if isinstance(expr, Compare):
        return f"{_operand(expr.left)} {expr.operator} {_operand(expr.right)}"
    return _operand(expr)


def _grouped(expr: Expr, loose: tuple[type, ...]) -> str:
    text = render(expr)
    return f"({text})" if isinstance(expr, loose) else text


def _operand(expr: Expr) -> str:
    if isinstance(expr, Ref):
        return expr.name
    if isinstance(expr, Current):
        return "."
    if isinstance(expr, Literal):
        return _literal(expr.value)
    if isinstance(expr, Call):
        target = _operand(expr.target)
        if expr.function == "selected":
            return f"selected({target}, {_literal(expr.code)})"
        return f"{expr.function}({target})"
    return f"({render(expr)})"


def _literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if "'" in value and '"' in value:
            raise ExpressionError("text with both ' and \" cannot be compared in Parley")
        return f"'{value}'" if "'" not in value else f'"{value}"'
    return repr(value)
