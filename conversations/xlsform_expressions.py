"""XLSForm (XPath) expressions → a small tree Parley's condition language can express.

ODK writes `${q1} = 'yes'`, `selected(${q2}, 'pr')`, `count-selected(.) <= 3` and
`. >= 0 and . <= 500`. This module parses that subset into `Expr` nodes; anything the
condition language cannot say (other functions, arithmetic on answers, paths) raises
`ExpressionError` with the exact reason the researcher sees, e.g.
"function 'pulldata' is not supported": a form is refused rather than run with a
silently different rule. Rendering and meaning live in `xlsform_conditions`.

Precedence, loosest first (as in XPath 1.0): or, and, = !=, < <= > >=, + -, * div mod,
unary -, primary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "And",
    "Arith",
    "Call",
    "Compare",
    "Current",
    "Expr",
    "ExpressionError",
    "Literal",
    "Not",
    "Or",
    "Ref",
    "parse_expression",
]

_MAX_DEPTH: Final = 32
_FUNCTIONS: Final = frozenset({"selected", "count-selected", "not", "true", "false", "date"})
_EQUALITY: Final = ("=", "!=")
_RELATIONAL: Final = ("<", "<=", ">", ">=")


class ExpressionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Current:
    pass


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class Call:
    function: str
    """`selected` or `count` (Parley's names)."""
    target: Ref | Current
    code: str = ""


@dataclass(frozen=True)
class Compare:
    operator: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Arith:
    operator: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Ref | Current | Literal | Call | Compare | Arith | Not | And | Or

_TOKENS: Final = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<ref>\$\{[^}]*\})
    | (?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\|)
    | (?P<punct>\.\.|[(),./\[\]@])
    | (?P<name>[A-Za-z_][A-Za-z0-9_:.-]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKENS.match(source, position)
        if match is None:
            character = source[position]
            if character in "'\"":
                raise ExpressionError("unterminated string")
            raise ExpressionError(f"unexpected character {character!r}")
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group()))
        position = match.end()
    tokens.append(_Token("end", ""))
    return tokens


class _Parser:
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

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "punct", "name") and self.token.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise _unexpected(self.token, wanted=text)
        self.advance()

    def parse(self) -> Expr:
        if self.token.kind == "end":
            raise ExpressionError("empty expression")
        node = self.disjunction()
        if self.token.kind != "end":
            raise _unexpected(self.token)
        return node

    def disjunction(self) -> Expr:
        operands = [self.conjunction()]
        while self.at("or"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Expr:
        operands = [self.equality()]
        while self.at("and"):
            self.advance()
            operands.append(self.equality())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def equality(self) -> Expr:
        node = self.relational()
        while self.at(*_EQUALITY):
            node = Compare(self.advance().text, node, self.relational())
        return node

    def relational(self) -> Expr:
        node = self.additive()
        while self.at(*_RELATIONAL):
            node = Compare(self.advance().text, node, self.additive())
        return node

    def additive(self) -> Expr:
        node = self.multiplicative()
        while self.at("+", "-"):
            node = Arith(self.advance().text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Expr:
        node = self.unary()
        while self.at("*", "div", "mod"):
            node = Arith(self.advance().text, node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.at("-"):
            self.advance()
            return Arith("-", Literal(0), self.unary())
        return self.primary()

    def primary(self) -> Expr:
        token = self.advance()
        if token.kind == "ref":
            return Ref(token.text[2:-1].strip())
        if token.kind == "number":
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "punct" and token.text == ".":
            return Current()
        if token.kind == "punct" and token.text == "(":
            return self.parenthesised()
        if token.kind == "name" and self.at("("):
            return self.call(token.text)
        if token.kind == "punct" and token.text in ("..", "/", "[", "@"):
            raise ExpressionError(f"XPath paths ('{token.text}') are not supported: use ${{name}}")
        raise _unexpected(token)

    def parenthesised(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExpressionError("expression is nested too deeply")
        node = self.disjunction()
        self.expect(")")
        self.depth -= 1
        return node

    def call(self, name: str) -> Expr:
        if name not in _FUNCTIONS:
            raise ExpressionError(f"function '{name}' is not supported")
        self.advance()
        arguments: list[Expr] = []
        while not self.at(")"):
            if arguments:
                self.expect(",")
            arguments.append(self.disjunction())
        self.advance()
        return _function(name, arguments)


def _function(name: str, arguments: list[Expr]) -> Expr:
    """The few XPath functions with a Parley meaning, checked for their arguments."""
    if name in ("true", "false"):
        _arity(name, arguments, 0)
        return Literal(name == "true")
    if name == "not":
        _arity(name, arguments, 1)
        return Not(arguments[0])
    if name == "date":
        _arity(name, arguments, 1)
        return _date_literal(arguments[0])
    if name == "count-selected":
        _arity(name, arguments, 1)
        return Call("count", _target(name, arguments[0]))
    _arity(name, arguments, 2)
    code = arguments[1]
    if not isinstance(code, Literal) or isinstance(code.value, bool):
        raise ExpressionError("selected() needs a choice name in quotes as its second argument")
    return Call("selected", _target(name, arguments[0]), _code(code.value))


def _code(value: str | int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _date_literal(argument: Expr) -> Literal:
    text = argument.value if isinstance(argument, Literal) else None
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return Literal(text)
    raise ExpressionError("date() needs a date in quotes, e.g. date('2026-01-31')")


def _target(name: str, argument: Expr) -> Ref | Current:
    if isinstance(argument, Ref | Current):
        return argument
    raise ExpressionError(f"{name}() needs ${{name}} or '.' as its first argument")


def _arity(name: str, arguments: list[Expr], count: int) -> None:
    if len(arguments) != count:
        raise ExpressionError(f"{name}() takes {count} argument{'s' if count != 1 else ''}")


def _unexpected(token: _Token, wanted: str = "") -> ExpressionError:
    found = "end of expression" if token.kind == "end" else f"'{token.text}'"
    if wanted and token.kind == "end":
        return ExpressionError(f"missing '{wanted}'")
    return ExpressionError(f"unexpected {found}")


def parse_expression(source: str) -> Expr:
    """Parse an XLSForm expression, or raise ExpressionError naming what is not supported."""
    return _Parser(source).parse()
