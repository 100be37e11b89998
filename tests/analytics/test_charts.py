"""Digest charts: which charts, decodable PNGs, exact alt texts in EN and FR, long labels."""

from __future__ import annotations

import io
from dataclasses import replace

import matplotlib.image
import pytest
from PIL import Image

from analytics.charts import bar_png, charts_for, diverging_png, funnel_png, wrap_label
from analytics.model import ScaleSummary
from tests.analytics.sample_digest import NASTY, empty_digest, questionnaire, sample_digest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(data: bytes) -> tuple[int, int]:
    """The image's (width, height), after checking it is a PNG that decodes."""
    assert data.startswith(PNG_SIGNATURE)
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 300
    assert pixels.min() < pixels.max()  # something is drawn
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
        return image.size


def test_the_charts_of_a_digest_in_questionnaire_order() -> None:
    charts = charts_for(sample_digest(), questionnaire(), "en")
    assert [c.key for c in charts] == ["funnel", "item-org_type", "item-tools", "scales-quality"]
    assert charts[0].filename == "funnel.png"
    for chart in charts:
        assert_png(chart.png)


ALT_TEXTS = {
    ("en", "funnel"): (
        "Completion funnel: On the roster 16, Invited 15 (94%), Started 10 (63%), "
        "Completed 8 (50%)."
    ),
    ("fr", "funnel"): (
        "Entonnoir de participation : Sur la liste 16, Invitées 15 (94\u00a0%), "
        "Commencé 10 (63\u00a0%), Terminé 8 (50\u00a0%)."
    ),
    ("en", "item-org_type"): (
        "Bar chart of the answers to “What type of organisation?” (10 respondents): "
        "Non-profit settlement agency 5 (50%); Municipality 4 (40%); Other 1 (10%)."
    ),
    ("fr", "item-org_type"): (
        "Diagramme à barres des réponses à « Quel type d'organisme? » (10 répondants) : "
        "Organisme d'établissement sans but lucratif 5 (50\u00a0%); Municipalité 4 (40\u00a0%); "
        "Autre 1 (10\u00a0%)."
    ),
    ("en", "scales-quality"): (
        "Diverging bar chart of 2 items on a scale from 1 (Very poor) to 5 (Very good): "
        "How good is the data you get?, 10 respondents: 20% low, 20% middle, 60% high; "
        "How easy is it to find data?, 8 respondents: 63% low, 13% middle, 25% high."
    ),
}


@pytest.mark.parametrize(("language", "key"), sorted(ALT_TEXTS))
def test_alt_text_states_the_numbers(language: str, key: str) -> None:
    charts = {c.key: c for c in charts_for(sample_digest(), questionnaire(), language)}
    assert charts[key].alt_text == ALT_TEXTS[(language, key)]


def test_multi_choice_alt_text_says_shares_are_of_respondents() -> None:
    charts = {c.key: c for c in charts_for(sample_digest(), questionnaire(), "en")}
    alt = charts["item-tools"].alt_text
    assert "9 respondents, several answers allowed, shares of respondents" in alt
    assert "Spreadsheets 8 (89%); Dashboards 3 (33%)" in alt
    assert len(alt) <= 1000


def test_titles_are_the_questions_in_the_language() -> None:
    titles = [c.title for c in charts_for(sample_digest(), questionnaire(), "fr")]
    assert titles == [
        "Entonnoir de participation",
        "Quel type d'organisme?",
        "Quels outils utilisez-vous?",
        "Votre avis : échelles",
    ]


def test_an_empty_study_has_only_the_funnel() -> None:
    charts = charts_for(empty_digest(), questionnaire(), "en")
    assert [c.key for c in charts] == ["funnel"]
    assert charts[0].alt_text == "Completion funnel: On the roster 16, Invited 4 (25%), " + (
        "Started 0 (0%), Completed 0 (0%)."
    )
    assert_png(charts[0].png)


def test_unanswered_items_get_no_chart() -> None:
    digest = sample_digest()
    items = tuple(
        replace(s, respondents=0) if s.item_id in ("tools", "access") else s for s in digest.items
    )
    charts = charts_for(replace(digest, items=items), questionnaire(), "en")
    assert [c.key for c in charts] == ["funnel", "item-org_type", "scales-quality"]
    assert "How good is the data" in charts[-1].alt_text
    assert "How easy" not in charts[-1].alt_text


def test_scale_items_beyond_ten_go_to_another_chart() -> None:
    digest = sample_digest()
    quality = next(s for s in digest.items if isinstance(s, ScaleSummary))
    items = tuple(replace(quality, item_id=f"extra_{n}") for n in range(12))
    charts = charts_for(replace(digest, items=items), questionnaire(), "en")
    scale_charts = [c for c in charts if c.key.startswith("scales-")]
    assert [c.key for c in scale_charts] == ["scales-extra_0", "scales-extra_10"]
    assert scale_charts[0].alt_text.startswith("Diverging bar chart of 10 items")
    assert scale_charts[1].alt_text.startswith("Diverging bar chart of 2 items")
    assert scale_charts[0].title == "Answers: scales"  # items the questionnaire lacks


def test_same_numbers_same_bytes() -> None:
    first = charts_for(sample_digest(), questionnaire(), "fr")
    again = charts_for(sample_digest(), questionnaire(), "fr")
    assert [c.png for c in first] == [c.png for c in again]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Municipalité", "Municipalité"),
        (
            "Organisme d'établissement sans but lucratif",
            "Organisme d'établissement sans\nbut lucratif",
        ),
        (
            "Gouvernement provincial ou territorial, ministère de l'Immigration et des Affaires",
            "Gouvernement provincial ou\nterritorial, ministère de…",
        ),
        ("Anticonstitutionnellementissimement-long", "Anticonstitutionnellementissim\nement-long"),
        ("  spaces\n and\tnewlines ", "spaces and newlines"),
    ],
)
def test_long_labels_wrap_then_cut(text: str, expected: str) -> None:
    assert wrap_label(text) == expected
    assert all(len(line) <= 30 for line in wrap_label(text).splitlines())


@pytest.mark.parametrize(
    "label",
    [NASTY, "Budget $5 to $10", r"$\frac{1}{0}$ ^_{", "", "😀 " * 40],
)
def test_any_label_draws(label: str) -> None:
    """Dollar signs are money, not TeX (an unbalanced one would raise); emoji and empty
    labels draw too.
    """
    assert_png(bar_png(label, [label, "b"], [3, 0], ["3 · 100%", "0 · 0%"]))


@pytest.mark.parametrize("points", [2, 3, 5, 7, 11])
def test_diverging_draws_every_scale_size(points: int) -> None:
    rows = ["one", "two"]
    distributions = [[1] * points, [0] * points]  # the second row has no answers
    labels = [str(p) for p in range(points)]
    assert_png(diverging_png("Scale", rows, distributions, labels))


def test_funnel_of_zeros_draws() -> None:
    assert_png(funnel_png("Funnel", ["a", "b"], [0, 0], ["0", "0"]))


def test_chart_height_grows_with_rows() -> None:
    few = assert_png(bar_png("t", ["a"], [1], ["1"]))
    many = assert_png(bar_png("t", [str(i) for i in range(20)], [1] * 20, ["1"] * 20))
    assert many[1] > few[1] * 3
