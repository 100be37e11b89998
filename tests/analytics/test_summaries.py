"""Per-item statistics: tiny frames in, exact numbers out."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.model import (
    ChoiceCount,
    ChoiceSummary,
    DateSummary,
    NumberSummary,
    ScaleSummary,
    TermCount,
    TextSummary,
    ValueCount,
    YesNoSummary,
)
from analytics.summaries import QUOTE_MAX_CHARS, summarize_items
from analytics.terms import top_terms
from tests.analytics.tiny import Person, frames_of, questionnaire


def summary_of(item_id: str, values: list[Any]) -> Any:
    people = [Person(answers={item_id: value}) for value in values]
    summaries = summarize_items(frames_of(people).answers, questionnaire())
    return next(s for s in summaries if s.item_id == item_id)


@pytest.mark.parametrize(
    ("values", "counts", "respondents", "skipped"),
    [
        # shares are of respondents, not ticks: 3 + 2 + 1 ticks over 4 people
        (
            [["excel", "bi"], ["excel"], [], ["excel", "bi", "r"]],
            [("excel", 3, 0.75), ("bi", 2, 0.5), ("r", 1, 0.25)],
            4,
            0,
        ),
        # a skip is not a respondent; not-applicable counts nowhere
        (
            [["bi"], "skipped", "not_applicable", ["bi", "r"]],
            [("excel", 0, 0.0), ("bi", 2, 1.0), ("r", 1, 0.5)],
            2,
            1,
        ),
        # a choice the questionnaire no longer has is not counted
        ([["excel", "gone"]], [("excel", 1, 1.0), ("bi", 0, 0.0), ("r", 0, 0.0)], 1, 0),
        ([], [("excel", 0, None), ("bi", 0, None), ("r", 0, None)], 0, 0),
    ],
)
def test_multi_choice_shares(
    values: list[Any], counts: list[tuple[str, int, float | None]], respondents: int, skipped: int
) -> None:
    summary = summary_of("tools", values)
    assert summary == ChoiceSummary(
        "tools",
        "multi_choice",
        respondents,
        skipped,
        tuple(ChoiceCount(*c) for c in counts),
        summary.leading,
    )


@pytest.mark.parametrize(
    ("values", "leading"),
    [
        (["red", "red", "blue"], "red"),
        (["red", "blue"], None),  # a tie has no leader
        (["skipped"], None),
        ([], None),
    ],
)
def test_single_choice_leading(values: list[str], leading: str | None) -> None:
    assert summary_of("colour", values).leading == leading


def test_single_choice_counts_and_shares() -> None:
    summary = summary_of("colour", ["red", "red", "blue", "skipped"])
    assert summary.counts == (
        ChoiceCount("red", 2, 2 / 3),
        ChoiceCount("blue", 1, 1 / 3),
        ChoiceCount("green", 0, 0.0),
    )
    assert (summary.respondents, summary.skipped) == (3, 1)


@pytest.mark.parametrize(
    ("values", "distribution", "mean", "median", "top2"),
    [
        ([1, 2, 4, 5, 5], [1, 1, 0, 1, 2], 3.4, 4.0, 0.6),
        ([3, 3], [0, 0, 2, 0, 0], 3.0, 3.0, 0.0),
        ([4, 5, 1, 2], [1, 1, 0, 1, 1], 3.0, 3.0, 0.5),
    ],
)
def test_scale_statistics(
    values: list[int], distribution: list[int], mean: float, median: float, top2: float
) -> None:
    summary = summary_of("ease", values)
    n = len(values)
    assert summary == ScaleSummary(
        "ease",
        n,
        0,
        1,
        5,
        tuple(ValueCount(p, c, c / n) for p, c in enumerate(distribution, start=1)),
        pytest.approx(mean),
        median,
        top2,
    )


def test_scale_without_answers_has_no_statistics() -> None:
    summary = summary_of("ease", ["skipped"])
    assert (summary.mean, summary.median, summary.top2_box) == (None, None, None)
    assert [v.share for v in summary.distribution] == [None] * 5


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 3, 4, 100], (5, 3.0, 2.0, 4.0, 2.0, 1.0, 100.0)),
        ([1, 2, 3, 4], (4, 2.5, 1.75, 3.25, 1.5, 1.0, 4.0)),
        ([10], (1, 10.0, 10.0, 10.0, 0.0, 10.0, 10.0)),
        ([2.5, 0.5], (2, 1.5, 1.0, 2.0, 1.0, 0.5, 2.5)),
        (["skipped"], (0, None, None, None, None, None, None)),
    ],
)
def test_number_statistics(values: list[Any], expected: tuple[Any, ...]) -> None:
    summary = summary_of("staff", values)
    skipped = values.count("skipped")
    assert summary == NumberSummary("staff", expected[0], skipped, *expected[1:])


@pytest.mark.parametrize(
    ("values", "yes", "no", "share"),
    [([True, True, False], 2, 1, 2 / 3), ([False], 0, 1, 0.0), (["skipped"], 0, 0, None)],
)
def test_yes_no(values: list[Any], yes: int, no: int, share: float | None) -> None:
    skipped = values.count("skipped")
    assert summary_of("open_data", values) == YesNoSummary(
        "open_data", yes + no, skipped, yes, no, share
    )


@pytest.mark.parametrize(
    ("values", "earliest", "median", "latest"),
    [
        (
            ["2024-01-05", "2023-02-01", "2024-06-30", "2024-03-01"],
            "2023-02-01",
            "2024-01-05",
            "2024-06-30",
        ),
        (["2024-01-05"], "2024-01-05", "2024-01-05", "2024-01-05"),
        ([], None, None, None),
    ],
)
def test_dates(values: list[str], earliest: str, median: str, latest: str) -> None:
    assert summary_of("since", values) == DateSummary(
        "since", len(values), 0, earliest, median, latest
    )


@pytest.mark.parametrize(
    ("texts", "terms"),
    [
        (
            ["The data is late and the data is wrong", "Les données sont en retard", "data data"],
            [("data", 2), ("données", 1), ("late", 1), ("retard", 1), ("wrong", 1)],
        ),
        # apostrophes split French elisions; case folds; digits and short words go
        (["L'immigration 2024, l'emploi", "IMMIGRATION ok"], [("immigration", 2), ("emploi", 1)]),
        (["the and les des", ""], []),
    ],
)
def test_top_terms_without_stop_words(texts: list[str], terms: list[tuple[str, int]]) -> None:
    import pandas as pd

    assert top_terms(pd.Series(texts)) == tuple(TermCount(*t) for t in terms)


def test_top_terms_are_limited_and_ordered_by_count_then_word() -> None:
    import pandas as pd

    texts = pd.Series(["zebra apple mango", "zebra apple", "zebra"])
    assert top_terms(texts, limit=2) == (TermCount("zebra", 3), TermCount("apple", 2))


def test_quotes_only_from_quotable_items_at_most_three_short_recent_ones() -> None:
    long = "word " * (QUOTE_MAX_CHARS // 5 + 1)
    texts = ["first said", long, "third said", "fourth said", "fifth said"]
    people = [Person(answers={"story": t, "private": t}) for t in texts]
    summaries = summarize_items(frames_of(people).answers, questionnaire())
    story = next(s for s in summaries if s.item_id == "story")
    private = next(s for s in summaries if s.item_id == "private")
    assert isinstance(story, TextSummary)
    # person 1 answered most recently (tiny.py: an hour earlier per person)
    assert story.quotes == ("first said", "third said", "fourth said")
    assert private.quotes == ()
    assert (story.respondents, private.respondents) == (5, 5)


def test_notes_have_no_summary_and_order_follows_the_questionnaire() -> None:
    summaries = summarize_items(frames_of([]).answers, questionnaire())
    assert [s.item_id for s in summaries] == [
        "colour",
        "tools",
        "ease",
        "staff",
        "open_data",
        "since",
        "story",
        "private",
    ]
