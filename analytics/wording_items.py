"""One paragraph per item summary: the question in bold, then its numbers by item type.

Multi-choice shares are shares of respondents (so they may add up to more than 100%),
and the paragraph says so; skipped answers are reported beside the respondents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.model import (
    ChoiceSummary,
    DateSummary,
    ItemSummary,
    NumberSummary,
    ScaleSummary,
    TextSummary,
    YesNoSummary,
)
from analytics.wording import Line, Paragraph, Quote, Strong, Words, cap

__all__ = ["MAX_QUOTES", "MAX_TERMS", "item_paragraph", "scale_point"]

MAX_TERMS = 8
MAX_QUOTES = 3


def item_paragraph(summary: ItemSummary, words: Words) -> Paragraph:
    """The question, who answered, and the numbers for its type."""
    head = Line((Strong(words.item(summary.item_id)),))
    if summary.skipped:
        who = words(
            "digest.respondents_skipped",
            count=words.count(summary.respondents),
            skipped=words.count(summary.skipped),
        )
    else:
        who = words("digest.respondents", count=words.count(summary.respondents))
    if summary.respondents == 0:
        return (head, Line((who,)), Line((words("digest.no_answers"),)))
    body: Callable[[Any, Words], list[Line]] = _BODIES[type(summary)]
    return (head, Line((who,)), *body(summary, words))


def _choices(summary: ChoiceSummary, words: Words) -> list[Line]:
    lines = [
        Line(
            (
                words(
                    "digest.choice",
                    label=words.choice(summary.item_id, c.choice_id),
                    count=words.count(c.count),
                    share=words.share(c.share),
                ),
            ),
            bullet=True,
        )
        for c in summary.counts
    ]
    if summary.kind == "multi_choice":
        lines.append(Line((words("digest.multi_note"),)))
    return lines


def _scale(summary: ScaleSummary, words: Words) -> list[Line]:
    points = " · ".join(
        words(
            "digest.scale_count",
            point=scale_point(summary, p.value, words),
            count=words.count(p.count),
            share=words.share(p.share),
        )
        for p in summary.distribution
    )
    stats = words(
        "digest.scale_stats",
        mean=words.numbers.decimal(summary.mean),
        median=words.numbers.decimal(summary.median),
        top2=words.share(summary.top2_box),
    )
    return [Line((points,)), Line((stats,))]


def scale_point(summary: ScaleSummary, value: int, words: Words) -> str:
    """A scale point, with the questionnaire's label at either end ("1 (Not at all)")."""
    q = words.questionnaire
    item = q.item(summary.item_id) if q.has_item(summary.item_id) else None
    end = None
    if item is not None and value == summary.scale_min:
        end = item.min_label
    elif item is not None and value == summary.scale_max:
        end = item.max_label
    if end is None:
        return words("digest.scale_point", value=value)
    return words("digest.scale_point_label", value=value, label=cap(end.get(words.language), 60))


def _number(summary: NumberSummary, words: Words) -> list[Line]:
    n = words.numbers
    stats = words(
        "digest.number_stats",
        median=n.decimal(summary.median, 2),
        q1=n.decimal(summary.q1, 2),
        q3=n.decimal(summary.q3, 2),
        iqr=n.decimal(summary.iqr, 2),
        minimum=n.decimal(summary.minimum, 2),
        maximum=n.decimal(summary.maximum, 2),
    )
    return [Line((stats,))]


def _yes_no(summary: YesNoSummary, words: Words) -> list[Line]:
    no_share = summary.no / summary.respondents if summary.respondents else None
    pairs = (("yes", summary.yes, summary.yes_share), ("no", summary.no, no_share))
    text = " · ".join(
        words(
            "digest.choice",
            label=words(f"digest.{key}"),
            count=words.count(count),
            share=words.share(share),
        )
        for key, count, share in pairs
    )
    return [Line((text,))]


def _date(summary: DateSummary, words: Words) -> list[Line]:
    text = words(
        "digest.date_stats",
        earliest=summary.earliest or "–",
        median=summary.median or "–",
        latest=summary.latest or "–",
    )
    return [Line((text,))]


def _text(summary: TextSummary, words: Words) -> list[Line]:
    lines: list[Line] = []
    if summary.top_terms:
        terms = ", ".join(
            words("digest.term", term=cap(t.term, 40), count=words.count(t.count))
            for t in summary.top_terms[:MAX_TERMS]
        )
        lines.append(Line((words("digest.terms", terms=terms),)))
    lines += [
        Line((Quote(words("digest.quote", quote=cap(quote))),), bullet=True)
        for quote in summary.quotes[:MAX_QUOTES]
    ]
    return lines


_BODIES: dict[type, Callable[[Any, Words], list[Line]]] = {
    ChoiceSummary: _choices,
    ScaleSummary: _scale,
    NumberSummary: _number,
    YesNoSummary: _yes_no,
    DateSummary: _date,
    TextSummary: _text,
}
