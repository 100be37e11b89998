"""XLSForm expressions → Parley conditions, as a table (the translation is pure)."""

from __future__ import annotations

import pytest

from conversations.conditions import parse_condition
from conversations.xlsform_conditions import range_bounds, render, translate
from conversations.xlsform_expressions import ExpressionError, parse_expression

KINDS = {"yn": "yes_no", "org": "choice", "ds": "multi", "n": "number", "d": "date", "t": "text"}


def parley(source: str, own: str = "") -> str:
    return render(translate(parse_expression(source), KINDS, own))


@pytest.mark.parametrize(
    ("xlsform", "expected"),
    [
        ("${yn} = 'yes'", "yn = true"),
        ("${yn} = 'no' or selected(${yn}, 'yes')", "yn = false or yn = true"),
        ("selected(${ds}, 'pr')", "selected(ds, 'pr')"),
        ("not(selected(${ds}, 'none'))", "not selected(ds, 'none')"),
        ("count-selected(${ds}) >= 2", "count(ds) >= 2"),
        ("${org} != 'np'", "not org = 'np'"),
        ("${org} = 2", "org = '2'"),
        ("${n} > '5'", "n > 5"),
        ("${t} = ''", "not answered(t)"),
        ("${t} != ''", "answered(t)"),
        ("${n}", "answered(n)"),
        ("${d} >= date('2026-01-01')", "d >= '2026-01-01'"),
        (". <= 10 * 50 + 1", ". <= 501"),
        ("(${n} > 1 or ${n} < -1) and ${yn} = 'yes'", "(n > 1 or n < -1) and yn = true"),
        ("not(${n} > 1 and ${n} < 5)", "not (n > 1 and n < 5)"),
        ("true()", "true"),
    ],
)
def test_translations(xlsform: str, expected: str) -> None:
    assert parley(xlsform) == expected
    parse_condition(expected)  # Parley accepts what was produced


@pytest.mark.parametrize(
    ("xlsform", "reason"),
    [
        ("pulldata('a', 'b', 'c', ${n})", "function 'pulldata' is not supported"),
        ("string-length(.) > 3", "function 'string-length' is not supported"),
        ("${n} * 2 > 3", "arithmetic ('*') on answers is not supported"),
        ("${ds} = 'pr'", "a select_multiple (${ds}) is compared with selected(), not '='"),
        ("/data/n > 3", "XPath paths ('/') are not supported: use ${name}"),
        ("${n} > ", "unexpected end of expression"),
        ("selected(${ds})", "selected() takes 2 arguments"),
        ("1 div 0 > 1", "division by zero ('div')"),
    ],
)
def test_refusals(xlsform: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parley(xlsform)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("xlsform", "own", "bounds", "rest"),
    [
        (". >= 0 and . <= 500", "number", {"min": 0, "max": 500}, None),
        ("500 >= . and . > 1", "number", {"max": 500}, ". > 1"),
        ("count-selected(.) <= 3", "multi", {"max_selections": 3}, None),
        (". >= 0 and . <= ${n}", "number", {"min": 0}, ". <= n"),
        (". >= 2", "text", {}, ". >= 2"),
    ],
)
def test_bounds_are_lifted_into_item_fields(
    xlsform: str, own: str, bounds: dict[str, int], rest: str | None
) -> None:
    found, left = range_bounds(translate(parse_expression(xlsform), KINDS, own), own)
    assert found == bounds
    assert (render(left) if left is not None else None) == rest
