"""A small, fixed digest and its questionnaire, for the renderer and chart tests.

Built by hand (not by `analytics.digest`) so rendering is tested on its own: every number
below is the one the golden files must show. One choice label and one item label carry
Slack, Markdown and HTML syntax, which must come out as text everywhere.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from analytics.model import (
    Changes,
    ChoiceCount,
    ChoiceSummary,
    DateSummary,
    DeliveryHealth,
    Digest,
    DropOff,
    FunnelStage,
    Headline,
    ItemReach,
    LeadingChange,
    NumberSummary,
    ScaleSummary,
    SegmentCell,
    SegmentTable,
    Shift,
    TermCount,
    TextSummary,
    UpcomingGroup,
    ValueCount,
    YesNoSummary,
)
from conversations.questionnaire import Questionnaire
from tests.analytics.tiny import questionnaire_of

__all__ = ["NASTY", "empty_digest", "questionnaire", "sample_digest"]

NASTY = "<@U123> <!channel> *bold* _it_ <b>html</b> & <a href='x'>link</a>"

SECTIONS = """\
  - id: org
    title: {en: "Your organisation", fr: "Votre organisme"}
    items:
      - id: org_type
        type: single_choice
        segment: true
        label: {en: "What type of organisation?", fr: "Quel type d'organisme?"}
        choices:
          - id: non_profit
            label:
              en: "Non-profit settlement agency"
              fr: "Organisme d'établissement sans but lucratif"
          - {id: municipality, label: {en: "Municipality", fr: "Municipalité"}}
          - {id: other, label: {en: "Other", fr: "Autre"}}
      - id: tools
        type: multi_choice
        label: {en: "Which tools do you use?", fr: "Quels outils utilisez-vous?"}
        choices:
          - {id: excel, label: {en: "Spreadsheets", fr: "Tableurs"}}
          - {id: bi, label: {en: "Dashboards", fr: "Tableaux de bord"}}
          - {id: nasty, label: {en: "NASTY", fr: "NASTY"}}
  - id: views
    title: {en: "Your views", fr: "Votre avis"}
    items:
      - id: quality
        type: scale
        label:
          en: "How good is the data you get?"
          fr: "Quelle est la qualité des données reçues?"
        min_label: {en: "Very poor", fr: "Très mauvaise"}
        max_label: {en: "Very good", fr: "Très bonne"}
      - id: access
        type: scale
        label: {en: "How easy is it to find data?", fr: "Est-il facile de trouver des données?"}
      - id: staff
        type: number
        label:
          en: "How many staff work with data?"
          fr: "Combien d'employés travaillent avec des données?"
      - id: open_data
        type: yes_no
        label: {en: "Do you publish open data?", fr: "Publiez-vous des données ouvertes?"}
      - id: since
        type: date
        required: false
        label: {en: "Since when?", fr: "Depuis quand?"}
      - id: needs
        type: text
        quotable: true
        label: {en: "NASTY", fr: "NASTY"}
"""


def questionnaire() -> Questionnaire:
    sections = SECTIONS.replace('"NASTY"', '"' + NASTY.replace('"', '\\"') + '"')
    return questionnaire_of("sample", '{en: "Data needs", fr: "Besoins en données"}', sections)


BUILT = datetime(2025, 11, 26, 15, 0, tzinfo=UTC)


def _choices(pairs: list[tuple[str, int]], respondents: int) -> tuple[ChoiceCount, ...]:
    return tuple(ChoiceCount(c, n, n / respondents) for c, n in pairs)


def _scale(counts: list[int]) -> tuple[ValueCount, ...]:
    total = sum(counts)
    return tuple(ValueCount(v, n, n / total) for v, n in enumerate(counts, start=1))


def _segment() -> SegmentTable:
    groups = ("East", "West", "")
    cells = (
        SegmentCell("non_profit", "East", 4, 4 / 6, False),
        SegmentCell("non_profit", "West", None, None, True),
        SegmentCell("non_profit", "", None, None, True),
        SegmentCell("municipality", "East", None, None, True),
        SegmentCell("municipality", "West", 3, 3 / 4, False),
        SegmentCell("municipality", "", None, None, True),
        SegmentCell("other", "East", None, None, True),
        SegmentCell("other", "West", None, None, True),
        SegmentCell("other", "", None, None, True),
    )
    totals = (
        SegmentCell("total", "East", 6, None, False),
        SegmentCell("total", "West", None, None, True),
        SegmentCell("total", "", None, None, True),
    )
    return SegmentTable(
        "org_type", "region", ("non_profit", "municipality", "other"), groups, cells, totals
    )


def sample_digest() -> Digest:
    return Digest(
        questionnaire_id="sample",
        questionnaire_version="1",
        wave="main",
        built_at=BUILT,
        k=3,
        headline=Headline(
            roster=16,
            invited=15,
            started=10,
            completed=8,
            in_progress=2,
            not_started=6,
            declined=1,
            organisations_completed=8,
            organisations_total=15,
            new_responses=3,
            median_minutes_to_complete=18.5,
        ),
        items=(
            ChoiceSummary(
                "org_type",
                "single_choice",
                10,
                0,
                _choices([("non_profit", 5), ("municipality", 4), ("other", 1)], 10),
                "non_profit",
            ),
            ChoiceSummary(
                "tools",
                "multi_choice",
                9,
                1,
                _choices([("excel", 8), ("bi", 3), ("nasty", 2)], 9),
                "excel",
            ),
            ScaleSummary("quality", 10, 0, 1, 5, _scale([1, 1, 2, 4, 2]), 3.5, 4.0, 0.6),
            ScaleSummary("access", 8, 2, 1, 5, _scale([2, 3, 1, 2, 0]), 2.375, 2.0, 0.25),
            NumberSummary("staff", 9, 1, 4.0, 2.0, 7.5, 5.5, 1.0, 40.0),
            YesNoSummary("open_data", 10, 0, 7, 3, 0.7),
            DateSummary("since", 6, 0, "2019-03-01", "2021-06-15", "2024-01-10"),
            TextSummary(
                "needs",
                7,
                3,
                (TermCount("data", 5), TermCount("access", 3), TermCount("<b>", 2)),
                ("Better *regional* data & <i>faster</i> access", "<@U999> please call me"),
            ),
        ),
        funnel=(
            FunnelStage("roster", 16),
            FunnelStage("invited", 15),
            FunnelStage("started", 10),
            FunnelStage("completed", 8),
        ),
        reached=(ItemReach("org_type", 10), ItemReach("quality", 9)),
        drop_off=(DropOff("quality", 1), DropOff("needs", 1), DropOff("staff", 0)),
        changes=Changes(
            since=datetime(2025, 11, 19, 15, 0, tzinfo=UTC),
            new_completions=3,
            leading_changed=(LeadingChange("org_type", "municipality", "non_profit"),),
            shifts=(
                Shift("open_data", "yes", 0.5, 0.7),
                Shift("quality", "mean", 3.9, 3.5),
            ),
            threshold=0.1,
        ),
        segments=(_segment(),),
        groups=(
            UpcomingGroup(
                7,
                "Data *sharing* <!here> & you",
                datetime(2025, 12, 2, 19, 0, tzinfo=UTC),
                "America/Toronto",
                8,
                5,
                2,
                1,
                0,
                4,
            ),
        ),
        delivery=DeliveryHealth(
            sent=120, pending=3, failed=1, retried=4, retries=6, rate_limited=2
        ),
    )


def empty_digest() -> Digest:
    digest = sample_digest()
    headline = replace(
        digest.headline,
        invited=4,
        started=0,
        completed=0,
        in_progress=0,
        not_started=16,
        declined=0,
        organisations_completed=0,
        new_responses=0,
        median_minutes_to_complete=None,
    )
    funnel = (
        FunnelStage("roster", 16),
        FunnelStage("invited", 4),
        FunnelStage("started", 0),
        FunnelStage("completed", 0),
    )
    return replace(
        digest,
        headline=headline,
        funnel=funnel,
        items=(),
        reached=(),
        drop_off=(),
        changes=None,
        segments=(),
        groups=(),
    )
