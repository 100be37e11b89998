"""Segment tables with small-cell suppression: no cell from fewer than k people, ever.

For each item marked `segment: true` (single choice, multi choice, scale or yes/no) and
each dimension (organisation type, region, language, from the roster; "" when not
recorded), a table counts the item's respondents per answer (rows) and group (columns),
with each group's respondents as a totals row.

The rule
--------
1. **Primary suppression.** A cell counting 1 to k−1 people is suppressed. A group with
   1 to k−1 respondents is suppressed whole: its total and every cell, zeros included
   (a visible 0 would still tell something about those few people).
2. **Complementary suppression.** The published numbers add up: a row's cells add up to
   the item's overall count for that answer (shown in the item summary), a group's cells
   add up to its total (single choice, scale, yes/no), and the group totals add up to
   the item's respondents. So a line (a row, a group's column with its total, or the
   totals row) with exactly **one** suppressed entry gives it away by subtraction. Until
   no line has exactly one, the smallest other visible entry of such a line (non-zero
   first; ties: the first) is suppressed too. Every line then hides zero or at least
   two entries, and each suppressed entry is known only as part of a sum.
Zeros are shown (a true zero names nobody) unless rule 1 or 2 hides them. Multi-choice
columns do not add up (one person ticks several), but the same rule is applied: it
only ever hides more. Suppressed and complementary cells look the same to the reader.

Not covered: linking two digests (a cell that moves from 2 to 4 between digests is
shown the second time); researchers get the study's counts with that in mind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.model import SEGMENT_DIMENSIONS, SegmentCell, SegmentTable
from conversations.questionnaire import Item, ItemType, Questionnaire

__all__ = ["SEGMENTABLE", "TOTAL_ROW", "segment_tables", "suppress", "table_for"]

SEGMENTABLE = (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE, ItemType.SCALE, ItemType.YES_NO)
TOTAL_ROW = "total"


def segment_tables(
    answers: pd.DataFrame, stakeholders: pd.DataFrame, questionnaire: Questionnaire, k: int
) -> tuple[SegmentTable, ...]:
    """Every segment item × dimension table, suppressed, in questionnaire order."""
    answered = answers[answers["state"] == "answered"]
    people = stakeholders.set_index("stakeholder_id")
    tables = []
    for item in questionnaire.items:
        if not (item.segment and item.type in SEGMENTABLE):
            continue
        rows = answered[answered["item_id"] == item.id]
        values = rows["value"].reset_index(drop=True)
        for dimension in SEGMENT_DIMENSIONS:
            groups = people[dimension].astype(object).reindex(rows["stakeholder_id"])
            labels = pd.Series(groups.fillna("").astype(str).to_numpy())
            tables.append(table_for(item, dimension, values, labels, k))
    return tuple(tables)


def table_for(
    item: Item, dimension: str, values: pd.Series, groups: pd.Series, k: int
) -> SegmentTable:
    """One item's answers (`values`) by the group of each respondent (`groups`, aligned)."""
    row_keys = _row_keys(item)
    group_keys = tuple(sorted(set(groups), key=lambda g: (g == "", g)))
    totals = groups.value_counts().reindex(group_keys, fill_value=0).to_numpy(dtype=np.int64)
    keys = _keys(item, values)
    pairs = pd.DataFrame({"key": keys.to_numpy(), "group": groups.reindex(keys.index).to_numpy()})
    grid = pairs.groupby(["key", "group"]).size().unstack(fill_value=0)
    grid = grid.reindex(index=list(row_keys), columns=list(group_keys), fill_value=0)
    counts = grid.to_numpy(dtype=np.int64).reshape(len(row_keys), len(group_keys))
    hidden, hidden_totals = suppress(counts, totals, k)
    return _table(item.id, dimension, row_keys, group_keys, counts, totals, hidden, hidden_totals)


def _row_keys(item: Item) -> tuple[str, ...]:
    if item.type is ItemType.SCALE:
        return tuple(str(p) for p in range(item.scale_min, item.scale_max + 1))
    if item.type is ItemType.YES_NO:
        return ("yes", "no")
    return tuple(c.id for c in item.choices)


def _keys(item: Item, values: pd.Series) -> pd.Series:
    """Each value's row key(s), keeping the respondent's index (a multi-choice repeats it)."""
    if item.type is ItemType.MULTI_CHOICE:
        return values.explode().dropna().astype(str)
    if item.type is ItemType.YES_NO:
        return values.map(lambda v: "yes" if v is True else "no" if v is False else None).dropna()
    if item.type is ItemType.SCALE:
        return pd.to_numeric(values, errors="coerce").dropna().astype(int).astype(str)
    return values.dropna().astype(str)


def suppress(counts: np.ndarray, totals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks (cells, group totals) of what to hide: the module docstring's rule."""
    hidden = (counts > 0) & (counts < k)
    small = (totals > 0) & (totals < k)
    hidden[:, small] = True
    hidden_totals = small.copy()
    for _ in range(counts.size + totals.size + 1):  # each pass hides one more, or stops
        if not _hide_one_complement(counts, totals, hidden, hidden_totals):
            break
    return hidden, hidden_totals


def _hide_one_complement(
    counts: np.ndarray, totals: np.ndarray, hidden: np.ndarray, hidden_totals: np.ndarray
) -> bool:
    """Find a line hiding exactly one entry and hide its complement; False if none."""
    rows, columns = counts.shape
    lines: list[list[tuple[str, int, int]]] = [
        [("cell", r, c) for c in range(columns)] for r in range(rows)
    ]
    lines += [[("cell", r, c) for r in range(rows)] + [("total", 0, c)] for c in range(columns)]
    lines.append([("total", 0, c) for c in range(columns)])
    for line in lines:
        flags = [_is_hidden(e, hidden, hidden_totals) for e in line]
        if sum(flags) != 1:
            continue
        visible = [e for e, flag in zip(line, flags, strict=True) if not flag]
        if visible:
            _hide(_complement(visible, counts, totals), hidden, hidden_totals)
            return True
    return False


def _is_hidden(entry: tuple[str, int, int], hidden: np.ndarray, hidden_totals: np.ndarray) -> bool:
    kind, r, c = entry
    return bool(hidden[r, c]) if kind == "cell" else bool(hidden_totals[c])


def _complement(
    visible: list[tuple[str, int, int]], counts: np.ndarray, totals: np.ndarray
) -> tuple[str, int, int]:
    def value(entry: tuple[str, int, int]) -> int:
        kind, r, c = entry
        return int(counts[r, c]) if kind == "cell" else int(totals[c])

    return min(visible, key=lambda e: (value(e) == 0, value(e)))


def _hide(entry: tuple[str, int, int], hidden: np.ndarray, hidden_totals: np.ndarray) -> None:
    kind, r, c = entry
    if kind == "cell":
        hidden[r, c] = True
    else:
        hidden_totals[c] = True


def _table(
    item_id: str,
    dimension: str,
    row_keys: tuple[str, ...],
    group_keys: tuple[str, ...],
    counts: np.ndarray,
    totals: np.ndarray,
    hidden: np.ndarray,
    hidden_totals: np.ndarray,
) -> SegmentTable:
    cells = tuple(
        _cell(row, group, int(counts[r, c]), int(totals[c]), bool(hidden[r, c]))
        for r, row in enumerate(row_keys)
        for c, group in enumerate(group_keys)
    )
    group_totals = tuple(
        _cell(TOTAL_ROW, group, int(totals[c]), 0, bool(hidden_totals[c]))
        for c, group in enumerate(group_keys)
    )
    return SegmentTable(item_id, dimension, row_keys, group_keys, cells, group_totals)


def _cell(row: str, group: str, count: int, total: int, hidden: bool) -> SegmentCell:
    if hidden:
        return SegmentCell(row, group, None, None, True)
    return SegmentCell(row, group, count, count / total if total else None, False)
