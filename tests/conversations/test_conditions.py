"""The condition language: parse errors, evaluation tables, references, robustness."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.conditions import Condition, ConditionError, parse_condition
from conversations.run import AnswerValue

# --- parse errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("", "empty condition", 0),
        ("   ", "empty condition", 0),
        ("x = 1)", "unexpected ')'", 5),
        ("(x = 1))", "unexpected ')'", 7),
        ("x =", "unexpected end of condition", 3),
        ("(x = 1", "missing ')'", 6),
        ("x = 1 y", "unexpected 'y'", 6),
        ("x = 'abc", "unterminated string", 4),
        ('x = "abc', "unterminated string", 4),
        ("x @ 1", "unexpected character '@'", 2),
        ("x ! 1", "unexpected character '!'", 2),
        ("x < y < z", "unexpected '<'", 6),
        ("x = 1 'a'", "unexpected string 'a'", 6),
        ("a and or b", "unexpected 'or'", 6),
        ("and", "unexpected 'and'", 0),
        ("x = not y", "unexpected 'not'", 4),
        ("x not in y", "unexpected 'not'", 2),
        ("X = 1", "item ids are lower case, not 'X'", 0),
        ("foo(x)", "unknown function 'foo'", 0),
        ("answered()", "answered() needs an item id or '.'", 9),
        ("count('a')", "count() needs an item id or '.'", 6),
        ("answered(x, y)", "unexpected ','", 10),
        ("selected(x)", "unexpected ')'", 10),
        ("selected(x, 1)", "selected() needs a choice id in quotes as its second argument", 12),
        ("x = ('a', 'b')", "a list of values can only follow 'in'", 4),
        ("x in ('a', y)", "a list after 'in' can only hold values", 11),
        ("x in (y, 'a')", "a list after 'in' can only hold values", 5),
        ("x in ()", "unexpected ')'", 6),
        ("x = 1.", "unexpected '.'", 5),
        ("x = -", "unexpected character '-'", 4),
        ("(" * 40 + "x" + ")" * 40, "condition is nested too deeply", 32),
        ("not " * 40 + "x", "condition is nested too deeply", 128),
    ],
)
def test_parse_errors_name_the_problem_and_its_position(
    source: str, message: str, position: int
) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(source)
    assert caught.value.reason == message
    assert caught.value.position == position
    assert str(caught.value) == f"{message} at position {position}"


def test_the_documented_error_example() -> None:
    with pytest.raises(ConditionError, match=r"^unexpected '\)' at position 7$"):
        parse_condition("(a = 1))")


@pytest.mark.parametrize(
    "source",
    [
        "x = 'a'",
        "x == 'a'",
        'x != "a"',
        "x<=5 and y>=2.5",
        "x_1 = 1",
        "_private = true",
        "TRUE",
        "x = FALSE Or NOT y = 1",
        "x IN ('a', 'b',)",
        "x in ('a')",
        ". <= total_staff",
        "x > -5",
        "x > .5",
        "count = 2",
        "answered(.) and count(.) >= 1 and selected(., 'a')",
        "ANSWERED(x)",
        "(((x = 1)))",
    ],
)
def test_valid_conditions_parse(source: str) -> None:
    assert parse_condition(source).source == source


def test_conditions_compare_by_source_and_print_it() -> None:
    assert parse_condition("x = 1") == Condition("x = 1")
    assert str(parse_condition("x = 1")) == "x = 1"
    with pytest.raises(ConditionError):
        Condition("x =")


# --- evaluation -----------------------------------------------------------------------

ANSWERS: Mapping[str, AnswerValue] = {
    "org_type": "non_profit",
    "org_size": 12,
    "fte": 2.5,
    "has_data": True,
    "shares_data": False,
    "datasets": ["ircc", "provincial"],
    "no_datasets": [],
    "started": "2026-11-26",
    "name": "Maple Services",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # equality and inequality on each kind
        ("org_type = 'non_profit'", True),
        ("org_type == 'non_profit'", True),
        ('org_type = "non_profit"', True),
        ("org_type = 'public'", False),
        ("org_type != 'public'", True),
        ("org_type != 'non_profit'", False),
        ("has_data = true", True),
        ("has_data = TRUE", True),
        ("has_data = false", False),
        ("shares_data = false", True),
        ("shares_data != true", True),
        ("has_data", True),
        ("shares_data", False),
        ("not shares_data", True),
        # numbers, int against float
        ("org_size = 12", True),
        ("org_size = 12.0", True),
        ("org_size >= 5", True),
        ("org_size < 5", False),
        ("org_size > 11.5", True),
        ("org_size <= 12", True),
        ("fte = 2.5", True),
        ("fte < 3", True),
        ("fte > -1", True),
        # dates and other strings order as strings
        ("started >= '2026-01-01'", True),
        ("started < '2026-11-26'", False),
        ("started = '2026-11-26'", True),
        ("name > 'M'", True),
        # missing answers: every comparison is false, `not` still inverts
        ("missing = 'a'", False),
        ("missing != 'a'", False),
        ("not missing = 'a'", True),
        ("missing < 5", False),
        ("missing >= 5", False),
        ("missing = true", False),
        ("missing", False),
        ("'a' in missing", False),
        ("missing in ('a', 'b')", False),
        ("not answered(missing) or missing != 'a'", True),
        # type mismatches: false, never an error
        ("org_size = '12'", False),
        ("org_size != '12'", False),
        ("org_size < 'z'", False),
        ("org_type > 5", False),
        ("has_data = 1", False),
        ("has_data != 1", False),
        ("has_data > false", False),
        ("datasets = 'ircc'", False),
        ("datasets != 'ircc'", False),
        ("datasets > 1", False),
        ("'ircc'", False),
        ("12", False),
        # `in`: membership in a multi answer, or one of a tuple of values
        ("'ircc' in datasets", True),
        ("'municipal' in datasets", False),
        ("'ircc' in no_datasets", False),
        ("5 in datasets", False),
        ("org_type in ('public', 'non_profit')", True),
        ("org_type in ('public', 'private')", False),
        ("org_type in ('non_profit',)", True),
        ("org_type in ('non_profit')", True),
        ("org_size in (10, 12)", True),
        ("org_size in (10.0, 12.0)", True),
        ("org_size in ('12', 'x')", False),
        ("has_data in (true)", True),
        ("has_data in (1, 2)", False),
        ("'non_profit' in org_type", True),
        ("org_type in datasets", False),
        ("datasets in ('ircc', 'provincial')", False),
        # functions
        ("answered(org_type)", True),
        ("answered(shares_data)", True),
        ("answered(no_datasets)", True),
        ("answered(missing)", False),
        ("not answered(missing)", True),
        ("count(datasets) = 2", True),
        ("count(no_datasets) = 0", True),
        ("count(missing) = 0", True),
        ("count(org_type) = 1", True),
        ("count(datasets) > 1.5", True),
        ("count(datasets)", False),
        ("selected(datasets, 'ircc')", True),
        ("selected(datasets, 'municipal')", False),
        ("selected(org_type, 'non_profit')", True),
        ("selected(missing, 'a')", False),
        ("not selected(missing, 'a')", True),
        ("answered(org_type) = true", True),
        # precedence: or < and < not < comparison
        ("has_data or shares_data and missing = 1", True),
        ("(has_data or shares_data) and missing = 1", False),
        ("not has_data or has_data", True),
        ("not (has_data or has_data)", False),
        ("not not has_data", True),
        ("not org_size = 5 and org_size = 12", True),
        ("shares_data or org_size > 5 and 'ircc' in datasets", True),
        ("shares_data or org_size > 5 and 'x' in datasets", False),
        ("has_data and org_size = 12 and fte = 2.5 and started > '2000'", True),
        ("shares_data or missing or org_size = 1 or fte = 2.5", True),
        ("(org_size = 12) = true", True),
        ("TRUE and not FALSE", True),
    ],
)
def test_evaluate(source: str, expected: bool) -> None:
    assert parse_condition(source).evaluate(ANSWERS) is expected


@pytest.mark.parametrize(
    ("source", "current", "expected"),
    [
        (". <= org_size", 12, True),
        (". <= org_size", 13, False),
        (". <= org_size", 2.5, True),
        (". > 0", None, False),
        ("answered(.)", None, False),
        ("answered(.)", 0, True),
        ("count(.) <= 2", ["a", "b"], True),
        ("selected(., 'a')", ["a", "b"], True),
        ("not selected(., 'none') or count(.) = 1", ["none", "a"], False),
        (". != 'x'", "y", True),
        (". = true", True, True),
    ],
)
def test_evaluate_with_the_current_answer(
    source: str, current: AnswerValue, expected: bool
) -> None:
    assert parse_condition(source).evaluate(ANSWERS, current) is expected


# --- references -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "references", "choice_references", "uses_current"),
    [
        ("x = 'a'", {"x"}, (("x", "a"),), False),
        ("x != 'a'", {"x"}, (("x", "a"),), False),
        ("'a' = x", {"x"}, (("x", "a"),), False),
        ("'a' in x", {"x"}, (("x", "a"),), False),
        ("x in ('a', 'b', 3)", {"x"}, (("x", "a"), ("x", "b")), False),
        ("x in ('a')", {"x"}, (("x", "a"),), False),
        ("selected(x, 'a')", {"x"}, (("x", "a"),), False),
        ("x = 'a' or x = 'a' or y = 'b'", {"x", "y"}, (("x", "a"), ("y", "b")), False),
        ("x < 'a' and x = 5 and x = y", {"x", "y"}, (), False),
        ("answered(x) and count(y) > 1", {"x", "y"}, (), False),
        ("not (a = 1 and (b = 2 or c in ('z')))", {"a", "b", "c"}, (("c", "z"),), False),
        (". <= total", {"total"}, (), True),
        ("selected(., 'none')", set(), ((".", "none"),), True),
        (". = 'a'", set(), ((".", "a"),), True),
        ("answered(.)", set(), (), True),
        ("true", set(), (), False),
    ],
)
def test_references(
    source: str,
    references: set[str],
    choice_references: tuple[tuple[str, str], ...],
    uses_current: bool,
) -> None:
    condition = parse_condition(source)
    assert condition.references == frozenset(references)
    assert condition.choice_references == choice_references
    assert condition.uses_current is uses_current


# --- robustness -----------------------------------------------------------------------

SAMPLES = [
    "a = 'x'",
    "a != 1",
    "a < 2.5 or a >= 'z'",
    "'x' in a and a in ('x', 1, true)",
    "not answered(a) or count(b) > 1 and selected(c, 'x')",
    ". <= a",
    "a",
    "a = b",
    "a in b",
    "count(.) = count(a)",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
values = st.one_of(scalars, st.lists(st.one_of(st.text(max_size=3), scalars), max_size=4))
answer_maps = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values)


@given(source=st.sampled_from(SAMPLES), answers=answer_maps, current=values)
def test_evaluate_never_raises(source: str, answers: dict[str, object], current: object) -> None:
    result = parse_condition(source).evaluate(answers, current)  # type: ignore[arg-type]
    assert isinstance(result, bool)


WORDS = [
    "a", "b", ".", "1", "2.5", "-3", "'x'", '"y"', "true", "false", "and", "or", "not",
    "in", "=", "==", "!=", "<", "<=", ">", ">=", "(", ")", ",", "answered", "count",
    "selected", "@", "'",
]  # fmt: skip


@given(
    words=st.lists(st.sampled_from(WORDS), max_size=12),
    answers=answer_maps,
    current=values,
)
def test_token_soup_parses_or_fails_cleanly_and_evaluates(
    words: list[str], answers: dict[str, object], current: object
) -> None:
    source = " ".join(words)
    try:
        condition = parse_condition(source)
    except ConditionError as error:
        assert 0 <= error.position <= len(source)
        return
    result = condition.evaluate(answers, current)  # type: ignore[arg-type]
    assert isinstance(result, bool)
    assert condition.references <= {"a", "b", "answered", "count", "selected"}


@given(st.text(max_size=60))
def test_parsing_random_text_only_raises_condition_error(source: str) -> None:
    try:
        parse_condition(source)
    except ConditionError as error:
        assert 0 <= error.position <= len(source)
