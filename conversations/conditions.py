"""The small expression language of `relevant` and `constraint` (never `eval`).

Conditions are written by researchers in questionnaire files, so they are parsed once,
at load time, into a tree of frozen dataclasses: a typo becomes a one-line
`ConditionError` with a position instead of a surprise in the middle of a conversation.
Evaluation is total: whatever the stored answers look like, `evaluate` answers True or
False and never raises, because a crash there would strand a respondent.

Grammar, loosest binding first::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := primary [("=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in") primary]
    primary    := item_id | "." | number | string | "true" | "false"
                | "(" condition ")" | "(" literal ("," literal)+ [","] ")"   (after "in" only)
                | "answered" "(" target ")" | "count" "(" target ")"
                | "selected" "(" target "," string ")"
    target     := item_id | "."

Semantics, chosen so that a condition about an unanswered item is simply false:

- any comparison (including `in`) with a missing value is false, so `x != 'a'` is
  *also* false when `x` is unanswered or skipped; write `not answered(x) or x != 'a'`
  (or `not x = 'a'`) to include missing answers;
- numbers compare numerically (an int equals the same float); strings compare as
  strings, which orders ISO dates correctly; booleans only support `=` and `!=`;
  values of different kinds (a number and a string, a yes/no and 1) are never equal
  and never ordered; a multi-choice answer (a list) is only usable with `in`,
  `count` and `selected`;
- `a in b` is membership when `b` is a multi-choice answer or a tuple of literals,
  and equality when `b` is a single value (so `'a' in org_type` works for single
  choices too);
- a bare value used as a condition (`has_website`) is true only when it is `true`;
- `count(x)` is the number of ticked choices, 0 when unanswered and 1 for any other
  answer; `selected(x, 'c')` is true when `c` is ticked (or is the single choice).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from conversations.run import AnswerValue

__all__ = ["Condition", "ConditionError", "parse_condition"]

_MAX_DEPTH: Final = 32
"""Nesting limit, so that hostile or broken input cannot exhaust the Python stack."""

_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false"})
_FUNCTIONS: Final = frozenset({"answered", "count", "selected"})
_COMPARISONS: Final = frozenset({"=", "==", "!=", "<", "<=", ">", ">="})


class ConditionError(Exception):
    """A condition that cannot be parsed; `position` is a 0-based offset into the source."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


# --- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    """One of: name, number, string, op, punct, end."""
    text: str
    position: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of condition"
        if self.kind == "string":
            return f"string {self.text}"
        return f"'{self.text}'"


_TOKEN_PATTERN: Final = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>==|!=|<=|>=|=|<|>)
    | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN_PATTERN.match(source, position)
        if match is None:
            raise _bad_character(source, position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _bad_character(source: str, position: int) -> ConditionError:
    character = source[position]
    if character in "'\"":
        return ConditionError("unterminated string", position)
    return ConditionError(f"unexpected character {character!r}", position)


# --- syntax tree ----------------------------------------------------------------------

_Scalar = str | int | float | bool


@dataclass(frozen=True)
class _Literal:
    value: _Scalar


@dataclass(frozen=True)
class _Item:
    item_id: str


@dataclass(frozen=True)
class _Current:
    pass


@dataclass(frozen=True)
class _Values:
    """`('a', 'b')`: only ever the right-hand side of `in`."""

    values: tuple[_Literal, ...]


@dataclass(frozen=True)
class _Call:
    function: str
    target: _Item | _Current
    code: str = ""


@dataclass(frozen=True)
class _Compare:
    operator: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _All:
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    operands: tuple[_Node, ...]


_Node = _Literal | _Item | _Current | _Values | _Call | _Compare | _Not | _All | _Any


# --- parser ---------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; one instance per source."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.token
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, word: str) -> bool:
        return self.token.kind == "name" and self.token.text.lower() == word

    def at(self, text: str) -> bool:
        return self.token.kind in ("op", "punct") and self.token.text == text

    def unexpected(self, token: _Token | None = None) -> ConditionError:
        token = token or self.token
        return ConditionError(f"unexpected {token.describe()}", token.position)

    def expect(self, text: str) -> _Token:
        if not self.at(text):
            if self.token.kind == "end":
                raise ConditionError(f"missing '{text}'", self.token.position)
            raise self.unexpected()
        return self.advance()

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ConditionError("condition is nested too deeply", position)

    def parse(self) -> _Node:
        if self.token.kind == "end":
            raise ConditionError("empty condition", 0)
        node = self.disjunction()
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def disjunction(self) -> _Node:
        operands = [self.conjunction()]
        while self.at_keyword("or"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else _Any(tuple(operands))

    def conjunction(self) -> _Node:
        operands = [self.negation()]
        while self.at_keyword("and"):
            self.advance()
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else _All(tuple(operands))

    def negation(self) -> _Node:
        if not self.at_keyword("not"):
            return self.comparison()
        self.nested(self.advance().position)
        node = _Not(self.negation())
        self.depth -= 1
        return node

    def comparison(self) -> _Node:
        left = self.primary(allow_values=False)
        if self.token.kind == "op":
            written = self.advance().text
            operator = "=" if written == "==" else written
            return _Compare(operator, left, self.primary(allow_values=False))
        if self.at_keyword("in"):
            self.advance()
            return _Compare("in", left, self.primary(allow_values=True))
        return left

    def primary(self, *, allow_values: bool) -> _Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return _Literal(_number(token.text))
        if token.kind == "string":
            self.advance()
            return _Literal(token.text[1:-1])
        if token.kind == "name":
            return self.name()
        if self.at("."):
            self.advance()
            return _Current()
        if self.at("("):
            return self.parenthesised(allow_values=allow_values)
        raise self.unexpected()

    def name(self) -> _Node:
        token = self.advance()
        word = token.text.lower()
        if word in ("true", "false"):
            return _Literal(word == "true")
        if word in _KEYWORDS:
            raise self.unexpected(token)
        if self.at("("):
            return self.call(token)
        if token.text != word:
            raise ConditionError(f"item ids are lower case, not '{token.text}'", token.position)
        return _Item(token.text)

    def call(self, name: _Token) -> _Node:
        function = name.text.lower()
        if function not in _FUNCTIONS:
            raise ConditionError(f"unknown function '{name.text}'", name.position)
        self.advance()
        target = self.target(function)
        code = ""
        if function == "selected":
            self.expect(",")
            if self.token.kind != "string":
                raise ConditionError(
                    "selected() needs a choice id in quotes as its second argument",
                    self.token.position,
                )
            code = self.advance().text[1:-1]
        self.expect(")")
        return _Call(function, target, code)

    def target(self, function: str) -> _Item | _Current:
        token = self.token
        if self.at("."):
            self.advance()
            return _Current()
        is_item = token.kind == "name" and token.text.lower() not in _KEYWORDS
        if not is_item:
            raise ConditionError(f"{function}() needs an item id or '.'", token.position)
        if token.text != token.text.lower():
            raise ConditionError(f"item ids are lower case, not '{token.text}'", token.position)
        self.advance()
        return _Item(token.text)

    def parenthesised(self, *, allow_values: bool) -> _Node:
        opening = self.advance()
        self.nested(opening.position)
        node = self.disjunction()
        if self.at(","):
            node = self.values(node, opening, allow_values=allow_values)
        self.expect(")")
        self.depth -= 1
        return node

    def values(self, first: _Node, opening: _Token, *, allow_values: bool) -> _Values:
        if not allow_values:
            raise ConditionError("a list of values can only follow 'in'", opening.position)
        if not isinstance(first, _Literal):
            raise ConditionError("a list after 'in' can only hold values", opening.position)
        values = [first]
        while self.at(","):
            self.advance()
            if self.at(")"):
                break
            position = self.token.position
            element = self.primary(allow_values=False)
            if not isinstance(element, _Literal):
                raise ConditionError("a list after 'in' can only hold values", position)
            values.append(element)
        return _Values(tuple(values))


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


# --- evaluation -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    answers: Mapping[str, AnswerValue]
    current: AnswerValue


def _kind(value: object) -> str:
    """The comparable kind of a value; bool is checked first because bool is an int."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


_OPERATORS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(written: str, left: object, right: object) -> bool:
    """Only same-kind scalars compare; anything else (a missing value included) is False."""
    if written == "in":
        return _contains(right, left)
    kind = _kind(left)
    if kind == "other" or kind != _kind(right):
        return False
    if kind == "bool" and written not in ("=", "!="):
        return False
    return bool(_OPERATORS[written](left, right))


def _equal(left: object, right: object) -> bool:
    return _compare("=", left, right)


def _contains(container: object, element: object) -> bool:
    if isinstance(container, list | tuple):
        return any(_equal(element, member) for member in container)
    return _equal(element, container)


def _lookup(target: _Item | _Current, scope: _Scope) -> object:
    if isinstance(target, _Current):
        return scope.current
    return scope.answers.get(target.item_id)


def _call(node: _Call, scope: _Scope) -> bool | int:
    value = _lookup(node.target, scope)
    if node.function == "answered":
        return value is not None
    if node.function == "count":
        if isinstance(value, list):
            return len(value)
        return 0 if value is None else 1
    return _contains(value, node.code)


def _value(node: _Node, scope: _Scope) -> object:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Values):
        return tuple(literal.value for literal in node.values)
    if isinstance(node, _Item | _Current):
        return _lookup(node, scope)
    if isinstance(node, _Call):
        return _call(node, scope)
    return _truth(node, scope)


def _truth(node: _Node, scope: _Scope) -> bool:
    if isinstance(node, _Compare):
        return _compare(node.operator, _value(node.left, scope), _value(node.right, scope))
    if isinstance(node, _Not):
        return not _truth(node.operand, scope)
    if isinstance(node, _All):
        return all(_truth(operand, scope) for operand in node.operands)
    if isinstance(node, _Any):
        return any(_truth(operand, scope) for operand in node.operands)
    return _value(node, scope) is True


# --- references -----------------------------------------------------------------------


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    if isinstance(node, _Compare):
        yield from _walk(node.left)
        yield from _walk(node.right)
    elif isinstance(node, _Not):
        yield from _walk(node.operand)
    elif isinstance(node, _All | _Any):
        for operand in node.operands:
            yield from _walk(operand)
    elif isinstance(node, _Call):
        yield node.target


def _target_name(node: _Node) -> str | None:
    if isinstance(node, _Item):
        return node.item_id
    if isinstance(node, _Current):
        return "."
    return None


def _strings(node: _Node) -> tuple[str, ...]:
    literals = node.values if isinstance(node, _Values) else (node,)
    texts = (lit.value for lit in literals if isinstance(lit, _Literal))
    return tuple(text for text in texts if isinstance(text, str))


def _choice_pairs(node: _Node) -> Iterator[tuple[str, str]]:
    if isinstance(node, _Call) and node.function == "selected":
        yield (_target_name(node.target) or ".", node.code)
    if not isinstance(node, _Compare) or node.operator not in ("=", "!=", "in"):
        return
    for item, other in ((node.left, node.right), (node.right, node.left)):
        name = _target_name(item)
        if name is not None:
            for text in _strings(other):
                yield (name, text)


# --- public ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed `relevant` or `constraint`; construct it with `parse_condition`.

    Building one parses `source`, so an invalid `Condition` cannot exist; two conditions
    are equal when their sources are.
    """

    source: str
    _tree: _Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", _Parser(self.source).parse())

    def __str__(self) -> str:
        return self.source

    def evaluate(self, answers: Mapping[str, AnswerValue], current: AnswerValue = None) -> bool:
        """True or False for these answers (answered items only); never raises."""
        return _truth(self._tree, _Scope(answers, current))

    @property
    def references(self) -> frozenset[str]:
        """Item ids the condition reads, so the loader can check they come earlier."""
        return frozenset(n.item_id for n in _walk(self._tree) if isinstance(n, _Item))

    @property
    def choice_references(self) -> tuple[tuple[str, str], ...]:
        """(item id, string) pairs where a string stands for a choice of that item.

        The item id is `.` for the answer being checked. Strings compared with a
        non-choice item (a date, a text) appear too: the loader only checks choice items.
        """
        pairs = (pair for node in _walk(self._tree) for pair in _choice_pairs(node))
        return tuple(dict.fromkeys(pairs))

    @property
    def uses_current(self) -> bool:
        """Whether `.` appears, which only makes sense in a `constraint`."""
        return any(isinstance(node, _Current) for node in _walk(self._tree))


def parse_condition(source: str) -> Condition:
    """Parse `source`, raising `ConditionError` with the offending position."""
    return Condition(source)
