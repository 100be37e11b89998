"""Per-item statistics: one `ItemSummary` per question, from the answers of that item.

`summarize_items` splits the long answer frame by item once and hands each item's
answered values to the function for its type. Every function gets plain pandas Series
and returns numbers only (see `analytics.model` for what each number means):

- choices: counts per choice in questionnaire order; a share is count / respondents, so a
  multi-choice item's shares are of people, not of ticks. Choice ids the questionnaire no
  longer has (an older version's) are not counted.
- scales: the distribution over every point, mean, median, top-2 box (the two highest
  points' share).
- numbers: n, median, quartiles by linear interpolation (Excel's QUARTILE.INC), IQR.
- dates: earliest, median (the lower middle one, so always a real answer), latest.
- free text: top terms (`analytics.terms`); quotes only for `quotable: true` items: up to
  3 of the most recent answers of at most `QUOTE_MAX_CHARS` characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from analytics.model import (
    ChoiceCount,
    ChoiceSummary,
    DateSummary,
    ItemSummary,
    NumberSummary,
    ScaleSummary,
    TextSummary,
    ValueCount,
    YesNoSummary,
)
from analytics.terms import top_terms
from conversations.questionnaire import Item, ItemType, Questionnaire

__all__ = ["QUOTES", "QUOTE_MAX_CHARS", "ItemAnswers", "summarize_item", "summarize_items"]

QUOTES = 3
QUOTE_MAX_CHARS = 200


class ItemAnswers:
    """One item's answers: the answered values (with their times) and the skip count."""

    def __init__(self, values: pd.Series, answered_at: pd.Series, skipped: int) -> None:
        self.values = values.reset_index(drop=True)
        self.answered_at = answered_at.reset_index(drop=True)
        self.skipped = skipped

    @property
    def respondents(self) -> int:
        return len(self.values)

    @classmethod
    def empty(cls) -> ItemAnswers:
        return cls(pd.Series([], dtype=object), pd.Series([], dtype="datetime64[ns, UTC]"), 0)


def split_by_item(answers: pd.DataFrame) -> dict[str, ItemAnswers]:
    """The long frame as one `ItemAnswers` per item id (not-applicable rows dropped)."""
    answered = answers[answers["state"] == "answered"]
    skipped = answers.loc[answers["state"] == "skipped", "item_id"]
    skips = _counts_by_id(skipped)
    result: dict[str, ItemAnswers] = {}
    # grouped by the column as it is: a categorical's codes, no string per row
    for item_id, group in answered.groupby("item_id", sort=False, observed=True):
        result[str(item_id)] = ItemAnswers(
            group["value"], group["answered_at"], int(skips.get(str(item_id), 0))
        )
    for item_id, count in skips.items():
        if str(item_id) not in result:
            empty = ItemAnswers.empty()
            result[str(item_id)] = ItemAnswers(empty.values, empty.answered_at, int(count))
    return result


def _counts_by_id(ids: pd.Series) -> pd.Series:
    """How often each id occurs, indexed by the id as text (never a zero count)."""
    counts = ids.value_counts()
    counts = counts[counts > 0]  # a categorical counts its unused categories too
    return pd.Series(counts.to_numpy(), index=counts.index.astype(str))


def summarize_items(answers: pd.DataFrame, questionnaire: Questionnaire) -> tuple[ItemSummary, ...]:
    """A summary per question of `questionnaire`, in its order; notes have none."""
    by_item = split_by_item(answers)
    return tuple(
        summarize_item(item, by_item.get(item.id, ItemAnswers.empty()))
        for item in questionnaire.items
        if item.is_question
    )


def summarize_item(item: Item, answers: ItemAnswers) -> ItemSummary:
    return _SUMMARIZERS[item.type](item, answers)


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def _choices(item: Item, answers: ItemAnswers) -> ChoiceSummary:
    values = answers.values
    if item.type is ItemType.MULTI_CHOICE:
        values = values.explode().dropna()
    tally = values.value_counts()
    n = answers.respondents
    counts = tuple(
        ChoiceCount(c.id, int(tally.get(c.id, 0)), _share(int(tally.get(c.id, 0)), n))
        for c in item.choices
    )
    return ChoiceSummary(item.id, item.type.value, n, answers.skipped, counts, _leading(counts))


def _leading(counts: tuple[ChoiceCount, ...]) -> str | None:
    """The choice most people picked; None if nobody did or two share the top."""
    top = max((c.count for c in counts), default=0)
    leaders = [c.choice_id for c in counts if c.count == top]
    return leaders[0] if top > 0 and len(leaders) == 1 else None


def _numbers(answers: ItemAnswers) -> pd.Series:
    return pd.to_numeric(answers.values, errors="coerce").dropna().astype(float)


def _scale(item: Item, answers: ItemAnswers) -> ScaleSummary:
    values = _numbers(answers)
    n = len(values)
    tally = values.value_counts()
    points = range(item.scale_min, item.scale_max + 1)
    distribution = tuple(
        ValueCount(p, int(tally.get(float(p), 0)), _share(int(tally.get(float(p), 0)), n))
        for p in points
    )
    top2 = int((values >= item.scale_max - 1).sum())
    return ScaleSummary(
        item_id=item.id,
        respondents=n,
        skipped=answers.skipped,
        scale_min=item.scale_min,
        scale_max=item.scale_max,
        distribution=distribution,
        mean=float(values.mean()) if n else None,
        median=float(values.median()) if n else None,
        top2_box=_share(top2, n),
    )


def _number(item: Item, answers: ItemAnswers) -> NumberSummary:
    values = _numbers(answers)
    if values.empty:
        return NumberSummary(item.id, 0, answers.skipped, None, None, None, None, None, None)
    q1, median, q3 = (float(q) for q in values.quantile([0.25, 0.5, 0.75]))
    return NumberSummary(
        item_id=item.id,
        respondents=len(values),
        skipped=answers.skipped,
        median=median,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        minimum=float(values.min()),
        maximum=float(values.max()),
    )


def _yes_no(item: Item, answers: ItemAnswers) -> YesNoSummary:
    yes = int((answers.values == True).sum())  # noqa: E712 - elementwise, not identity
    no = int((answers.values == False).sum())  # noqa: E712
    return YesNoSummary(item.id, yes + no, answers.skipped, yes, no, _share(yes, yes + no))


def _date(item: Item, answers: ItemAnswers) -> DateSummary:
    days = answers.values.dropna().astype(str).sort_values(ignore_index=True)
    if days.empty:
        return DateSummary(item.id, 0, answers.skipped, None, None, None)
    middle = str(days.iloc[(len(days) - 1) // 2])
    return DateSummary(
        item.id, len(days), answers.skipped, str(days.iloc[0]), middle, str(days.iloc[-1])
    )


def _text(item: Item, answers: ItemAnswers) -> TextSummary:
    texts = answers.values.dropna().astype(str)
    texts = texts[texts.str.strip() != ""]
    quotes = _quotes(texts, answers.answered_at) if item.quotable else ()
    return TextSummary(item.id, len(texts), answers.skipped, top_terms(texts), quotes)


def _quotes(texts: pd.Series, answered_at: pd.Series) -> tuple[str, ...]:
    """Up to `QUOTES` short answers, the most recent first (ties: the shorter)."""
    short = texts[texts.str.len() <= QUOTE_MAX_CHARS]
    if short.empty:
        return ()
    order = pd.DataFrame({"text": short.str.strip(), "at": answered_at.reindex(short.index)})
    order["length"] = order["text"].str.len()
    order = order.sort_values(["at", "length", "text"], ascending=[False, True, True])
    return tuple(order["text"].head(QUOTES))


_SUMMARIZERS: Mapping[ItemType, Callable[[Item, ItemAnswers], ItemSummary]] = {
    ItemType.SINGLE_CHOICE: _choices,
    ItemType.MULTI_CHOICE: _choices,
    ItemType.SCALE: _scale,
    ItemType.NUMBER: _number,
    ItemType.YES_NO: _yes_no,
    ItemType.DATE: _date,
    ItemType.TEXT: _text,
}
