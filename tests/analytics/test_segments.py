"""Segment tables: small cells hidden, and no subtraction gives one back.

The attacker below does what a reader with a calculator can: every published sum (a
row's overall count from the item summary, a group's total, the item's respondents)
minus the visible cells of that line; whenever a line has a single unknown left, it is
solved, and solving goes on until nothing changes. It must never solve a hidden cell.
"""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest

from analytics.digest import build_digest
from analytics.model import SegmentTable
from analytics.segments import table_for
from conversations.questionnaire import Item
from tests.analytics.tiny import NOW, Person, frames_of, questionnaire


def item(item_id: str) -> Item:
    return questionnaire().item(item_id)


def table(item_id: str, by_group: dict[str, list[Any]], k: int = 3) -> SegmentTable:
    values = [v for group in by_group.values() for v in group]
    groups = [g for g, group in by_group.items() for _ in group]
    return table_for(item(item_id), "region", pd.Series(values), pd.Series(groups), k)


def grid(t: SegmentTable) -> dict[tuple[str, str], int | None]:
    cells = {(c.row, c.group): c.count for c in t.cells}
    cells |= {("total", c.group): c.count for c in t.group_totals}
    return cells


def attack(t: SegmentTable, row_totals: dict[str, int], additive: bool) -> dict[Any, int]:
    """Every hidden entry the published sums give away, by repeated subtraction."""
    known = {key: value for key, value in grid(t).items() if value is not None}
    respondents = sum(row_totals.values()) if additive else None
    lines: list[tuple[list[tuple[str, str]], int | None]] = [
        ([(r, g) for g in t.groups], row_totals[r]) for r in t.rows
    ]
    if additive:
        lines += [([(r, g) for r in t.rows], None) for g in t.groups]  # cells = total
    lines.append(([("total", g) for g in t.groups], respondents))
    recovered: dict[Any, int] = {}
    for _ in range(100):
        progress = False
        for entries, total in lines:
            group_total = ("total", entries[0][1]) if total is None else None
            if group_total is not None:
                if group_total not in known and all(e in known for e in entries):
                    known[group_total] = recovered[group_total] = sum(known[e] for e in entries)
                    progress = True
                    continue
                total = known.get(group_total)
            if total is None:
                continue
            unknown = [e for e in entries if e not in known]
            if len(unknown) == 1:
                known[unknown[0]] = recovered[unknown[0]] = total - sum(
                    known[e] for e in entries if e in known
                )
                progress = True
        if not progress:
            break
    return recovered


def row_totals(
    by_group: dict[str, list[Any]], rows: tuple[str, ...], multi: bool = False
) -> dict[str, int]:
    values = [v for group in by_group.values() for v in group]
    if multi:
        return {r: sum(r in v for v in values) for r in rows}
    return {r: values.count(r) for r in rows}


def hidden(t: SegmentTable) -> set[tuple[str, str]]:
    return {key for key, value in grid(t).items() if value is None}


def test_a_small_cell_and_its_complements_are_hidden() -> None:
    data = {
        "east": ["red"] * 5 + ["blue"] * 2 + ["green"] * 4,
        "west": ["red"] * 6 + ["blue"] * 5 + ["green"] * 3,
    }
    t = table("colour", data)
    assert hidden(t) == {("blue", "east"), ("blue", "west"), ("green", "east"), ("green", "west")}
    assert t.cell("red", "east").count == 5 and t.cell("red", "east").share == 5 / 11
    assert [c.count for c in t.group_totals] == [11, 14]
    assert attack(t, row_totals(data, t.rows), additive=True) == {}


def test_without_suppression_the_attacker_would_win() -> None:
    """The attack is real: on the unsuppressed table (k=1) it recovers a hidden cell."""
    data = {"east": ["red"] * 5 + ["blue"] * 2, "west": ["red"] * 6 + ["blue"] * 5}
    t = table("colour", data, k=1)
    cells = [
        c if (c.row, c.group) != ("blue", "east") else type(c)(c.row, c.group, None, None, True)
        for c in t.cells
    ]
    leaky = SegmentTable(t.item_id, t.dimension, t.rows, t.groups, tuple(cells), t.group_totals)
    assert attack(leaky, row_totals(data, t.rows), additive=True) == {("blue", "east"): 2}


def test_a_group_of_fewer_than_k_is_hidden_whole_zeros_included() -> None:
    data = {
        "east": ["red"] * 4 + ["blue"] * 4,
        "west": ["red"] * 3 + ["blue"] * 5,
        "north": ["red"] * 2,
    }
    t = table("colour", data)
    assert {("red", "north"), ("blue", "north"), ("green", "north"), ("total", "north")} <= hidden(
        t
    )
    assert attack(t, row_totals(data, t.rows), additive=True) == {}


def test_zeros_and_cells_of_k_or_more_are_shown() -> None:
    data = {"east": ["red"] * 3 + ["blue"] * 4, "west": ["red"] * 3 + ["blue"] * 3}
    t = table("colour", data)
    assert hidden(t) == set()
    assert t.cell("green", "east").count == 0


def test_not_recorded_is_a_group_of_its_own_listed_last() -> None:
    data = {"": ["red"] * 3, "east": ["red"] * 3, "west": ["blue"] * 3}
    assert table("colour", data).groups == ("east", "west", "")


def test_multi_choice_tables_count_people_and_resist_the_attack() -> None:
    data = {
        "east": [["excel", "bi"]] * 4 + [["excel"], ["excel", "r"], ["excel", "bi"]] + [["bi"]],
        "west": [["excel"]] * 4 + [["bi", "r"], ["bi"], ["excel", "bi"]],
    }
    t = table("tools", data)
    assert (t.cell("excel", "east").count, t.cell("excel", "west").count) == (7, 5)
    assert [c.count for c in t.group_totals] == [8, 7]
    assert hidden(t) == {("r", "east"), ("r", "west"), ("bi", "east"), ("bi", "west")}
    assert attack(t, row_totals(data, t.rows, multi=True), additive=False) == {}


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_give_a_hidden_cell_away(seed: int) -> None:
    rng = random.Random(seed)
    groups = ["east", "west", "north", "south"][: rng.randint(2, 4)]
    weights = [rng.random() ** 3 for _ in range(3)]
    data = {
        g: rng.choices(["red", "blue", "green"], weights=weights, k=rng.randint(1, 12))
        for g in groups
    }
    k = rng.randint(2, 4)
    t = table("colour", data, k)
    for c in t.cells:
        assert c.suppressed or c.count == 0 or c.count >= k
    assert attack(t, row_totals(data, t.rows), additive=True) == {}


def test_digest_segments_by_each_dimension_for_segment_items() -> None:
    people = [Person(answers={"colour": "red", "tools": ["r"]}, region="east") for _ in range(4)]
    people += [Person(answers={"colour": "blue"}, region="west", language="fr") for _ in range(4)]
    people += [Person(answers={"colour": "blue"}, region=None)]
    digest = build_digest(frames_of(people), questionnaire(), None, NOW)
    found = [(t.item_id, t.dimension) for t in digest.segments]
    assert found == [
        (i, d) for i in ("colour", "tools") for d in ("organisation_type", "region", "language")
    ]
    by = {(t.item_id, t.dimension): t for t in digest.segments}
    region = by["colour", "region"]
    assert region.groups == ("east", "west", "")
    assert all(region.cell(row, "").suppressed for row in region.rows)
    assert attack(region, {"red": 4, "blue": 5, "green": 0}, additive=True) == {}
    language = by["colour", "language"]
    assert language.cell("blue", "en").suppressed  # the one blue "en" answer
    assert language.cell("green", "fr").count == 0
    assert attack(language, {"red": 4, "blue": 5, "green": 0}, additive=True) == {}
