"""Recognising typed replies, per item type, in English and French."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.answers import (
    Accepted,
    Rejected,
    accepted_hint,
    check_selection,
    explain,
    parse_answer,
)
from conversations.catalog import answers as catalog
from conversations.questionnaire import Choice, Item, ItemType, Localized, NumberKind


def loc(en: str, fr: str | None = None) -> Localized:
    return Localized({"en": en, "fr": fr or en}, "en")


def make(type_: ItemType, **fields: Any) -> Item:
    return Item(id="q", type=type_, label=loc("Question?"), section_id="s", **fields)


def rejected(reason: str, **params: str) -> Rejected:
    return Rejected(reason, params)


PROVINCES = (
    Choice("on", loc("Ontario")),
    Choice("qc", loc("Quebec", "Québec")),
    Choice("ns", loc("Nova Scotia", "Nouvelle-Écosse")),
    Choice("nb", loc("New Brunswick", "Nouveau-Brunswick")),
    Choice("bc", loc("British Columbia", "Colombie-Britannique")),
    Choice("other", loc("Other", "Autre"), other=True),
)
DATASETS = (
    Choice("ircc", loc("IRCC data", "Données d’IRCC")),
    Choice("provincial", loc("Provincial data", "Données provinciales")),
    Choice("research", loc("Research and evaluation", "Recherche et évaluation")),
    Choice("municipal", loc("Municipal data", "Données municipales")),
    Choice("none", loc("None of these", "Aucune de ces réponses"), exclusive=True),
)

SINGLE = make(ItemType.SINGLE_CHOICE, choices=PROVINCES)
MULTI = make(ItemType.MULTI_CHOICE, choices=DATASETS, min_selections=1, max_selections=3)
MULTI_MIN2 = make(ItemType.MULTI_CHOICE, choices=DATASETS, min_selections=2)
MULTI_MIN0 = make(ItemType.MULTI_CHOICE, choices=DATASETS, min_selections=0)
MULTI_BETWEEN = make(ItemType.MULTI_CHOICE, choices=DATASETS, min_selections=2, max_selections=3)
MULTI_EXACTLY = make(ItemType.MULTI_CHOICE, choices=DATASETS, min_selections=2, max_selections=2)
MULTI_ALL = make(ItemType.MULTI_CHOICE, choices=DATASETS, max_selections=5)
SCALE = make(
    ItemType.SCALE,
    min_label=loc("Not at all", "Pas du tout"),
    max_label=loc("Completely", "Tout à fait"),
)
SCALE_PLAIN = make(ItemType.SCALE, scale_min=0, scale_max=10)
YES_NO = make(ItemType.YES_NO)
STAFF = make(ItemType.NUMBER, minimum=1, maximum=100_000, unit=loc("staff", "employés"))
FTE = make(
    ItemType.NUMBER,
    number_kind=NumberKind.DECIMAL,
    minimum=0,
    maximum=1000,
    unit=loc("FTE", "ETP"),
)
ANY_INT = make(ItemType.NUMBER)
AT_LEAST = make(ItemType.NUMBER, minimum=0)
AT_MOST = make(ItemType.NUMBER, number_kind=NumberKind.DECIMAL, maximum=10.5)
TEXT = make(ItemType.TEXT)
SHORT_TEXT = make(ItemType.TEXT, max_length=10)
DATE = make(ItemType.DATE)
NOTE = make(ItemType.NOTE)

SINGLE_HINT = {
    "en": "Reply with a number from 1 to 6 or the name of an option.",
    "fr": "Répondez par un numéro de 1 à 6 ou par le nom d’une option.",
}
MULTI_TYPED = {
    "en": "Reply with numbers from 1 to 5 or names of options, separated by commas.",
    "fr": "Répondez par des numéros de 1 à 5 ou des noms d’options, séparés par des virgules.",
}
SCALE_HINT = {
    "en": "Reply with a number from 1 (Not at all) to 5 (Completely).",
    "fr": "Répondez par un nombre de 1 (Pas du tout) à 5 (Tout à fait).",
}
YES_NO_HINT = {"en": "Reply yes or no.", "fr": "Répondez oui ou non."}
STAFF_HINT = {
    "en": "Reply with a whole number from 1 to 100,000 (staff).",
    "fr": "Répondez par un nombre entier de 1 à 100\u00a0000 (employés).",
}
FTE_HINT = {
    "en": "Reply with a number from 0 to 1000 (FTE).",
    "fr": "Répondez par un nombre de 0 à 1000 (ETP).",
}
TEXT_HINT = {
    "en": "Reply in your own words (up to 10 characters).",
    "fr": "Répondez dans vos propres mots (10 caractères au maximum).",
}
DATE_HINT = {
    "en": "Reply with a date, e.g. 2026-11-26.",
    "fr": "Répondez par une date, par exemple 2026-11-26.",
}


# --- single choice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "raw", "expected"),
    [
        ("en", "2", Accepted("qc", "Quebec")),
        ("fr", "2", Accepted("qc", "Québec")),
        ("en", " 6 ", Accepted("other", "Other")),
        ("en", "2.", Accepted("qc", "Quebec")),
        ("en", "Ontario", Accepted("on", "Ontario")),
        ("en", "ONTARIO!", Accepted("on", "Ontario")),
        ("en", "ont", Accepted("on", "Ontario")),
        ("en", "québec", Accepted("qc", "Quebec")),
        ("fr", "QUEBEC", Accepted("qc", "Québec")),
        ("en", "nouvelle-ecosse", Accepted("ns", "Nova Scotia")),
        ("fr", "nova scotia", Accepted("ns", "Nouvelle-Écosse")),
        ("fr", "colombie", Accepted("bc", "Colombie-Britannique")),
        ("en", "nb", Accepted("nb", "New Brunswick")),
        ("en", "other", Accepted("other", "Other")),
        ("fr", "autre", Accepted("other", "Autre")),
        (
            "en",
            "n",
            rejected(
                "answer.choice_ambiguous", text="n", candidates="Nova Scotia (3), New Brunswick (4)"
            ),
        ),
        (
            "fr",
            "Nouv",
            rejected(
                "answer.choice_ambiguous",
                text="nouv",
                candidates="Nouvelle-Écosse (3), Nouveau-Brunswick (4)",
            ),
        ),
        ("en", "7", rejected("answer.no_such_option", number="7", hint=SINGLE_HINT["en"])),
        ("fr", "0", rejected("answer.no_such_option", number="0", hint=SINGLE_HINT["fr"])),
        ("en", "Alberta", rejected("answer.choice_unknown", hint=SINGLE_HINT["en"])),
        ("fr", "", rejected("answer.choice_unknown", hint=SINGLE_HINT["fr"])),
        ("en", "1 2", rejected("answer.choice_unknown", hint=SINGLE_HINT["en"])),
    ],
)
def test_single_choice(language: str, raw: str, expected: Accepted | Rejected) -> None:
    assert parse_answer(SINGLE, raw, language) == expected


def test_an_exact_label_wins_over_a_longer_label_it_prefixes() -> None:
    item = make(
        ItemType.SINGLE_CHOICE,
        choices=(Choice("a", loc("Ontario North")), Choice("b", loc("Ontario"))),
    )
    assert parse_answer(item, "ontario", "en") == Accepted("b", "Ontario")


def test_the_documented_choice_rejection() -> None:
    result = parse_answer(SINGLE, "Alberta", "en")
    assert isinstance(result, Rejected)
    assert explain(result, "en") == (
        "I didn’t recognise that choice. Reply with a number from 1 to 6 or the name of an option."
    )
    assert explain(parse_answer(SINGLE, "Alberta", "fr"), "fr") == (  # type: ignore[arg-type]
        "Je n’ai pas reconnu ce choix. Répondez par un numéro de 1 à 6 ou par le nom d’une option."
    )


# --- multiple choice ------------------------------------------------------------------

IRCC_RESEARCH = ["ircc", "research"]


@pytest.mark.parametrize(
    ("item", "language", "raw", "expected"),
    [
        (MULTI, "en", "1, 3", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "en", "1 3", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "en", "1,3", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "en", "1 and 3", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "fr", "1 et 3", Accepted(IRCC_RESEARCH, "Données d’IRCC, Recherche et évaluation")),
        (MULTI, "en", "3, 1, 1", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "en", "1;3.", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (MULTI, "en", "1 & 3", Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation")),
        (
            MULTI,
            "en",
            "ircc data; municipal data",
            Accepted(["ircc", "municipal"], "IRCC data, Municipal data"),
        ),
        (
            MULTI,
            "fr",
            "données provinciales, recherche et evaluation",
            Accepted(["provincial", "research"], "Données provinciales, Recherche et évaluation"),
        ),
        (MULTI, "en", "Research and evaluation", Accepted(["research"], "Research and evaluation")),
        (
            MULTI,
            "en",
            "prov, muni",
            Accepted(["provincial", "municipal"], "Provincial data, Municipal data"),
        ),
        (
            MULTI,
            "en",
            "1 2 and municipal",
            Accepted(
                ["ircc", "provincial", "municipal"], "IRCC data, Provincial data, Municipal data"
            ),
        ),
        (MULTI, "en", "none", Accepted(["none"], "None of these")),
        (MULTI, "fr", "aucune", Accepted(["none"], "Aucune de ces réponses")),
        (MULTI, "en", "1, 2, 3, 4", rejected("answer.too_many", count="4", max="3")),
        (MULTI, "en", "none, 1", rejected("answer.exclusive", choice="None of these")),
        (MULTI, "fr", "5 et 2", rejected("answer.exclusive", choice="Aucune de ces réponses")),
        (
            MULTI,
            "en",
            "1, 6",
            rejected("answer.no_such_option", number="6", hint=MULTI_TYPED["en"]),
        ),
        (MULTI, "en", "1 9", rejected("answer.no_such_option", number="9", hint=MULTI_TYPED["en"])),
        (
            MULTI,
            "en",
            "1, zzz",
            rejected("answer.multi_unknown", text="zzz", hint=MULTI_TYPED["en"]),
        ),
        (
            MULTI,
            "fr",
            "1 et zzz",
            rejected("answer.multi_unknown", text="zzz", hint=MULTI_TYPED["fr"]),
        ),
        (
            MULTI,
            "fr",
            "données",
            rejected(
                "answer.choice_ambiguous",
                text="donnees",
                candidates=(
                    "Données d’IRCC (1), Données provinciales (2), Données municipales (4)"
                ),
            ),
        ),
        (MULTI, "en", "", rejected("answer.none_selected")),
        (MULTI_MIN2, "en", "2", rejected("answer.too_few", count="1", min="2")),
        (MULTI_MIN2, "en", "none", Accepted(["none"], "None of these")),
    ],
)
def test_multi_choice(item: Item, language: str, raw: str, expected: Accepted | Rejected) -> None:
    assert parse_answer(item, raw, language) == expected


@pytest.mark.parametrize(
    ("item", "language", "ids", "expected"),
    [
        (
            MULTI,
            "en",
            ["research", "ircc", "ircc"],
            Accepted(IRCC_RESEARCH, "IRCC data, Research and evaluation"),
        ),
        (MULTI, "fr", ["none"], Accepted(["none"], "Aucune de ces réponses")),
        (MULTI, "en", [], rejected("answer.none_selected")),
        (MULTI, "en", ["none", "ircc"], rejected("answer.exclusive", choice="None of these")),
        (
            MULTI,
            "en",
            ["ircc", "provincial", "research", "municipal"],
            rejected("answer.too_many", count="4", max="3"),
        ),
        (
            MULTI,
            "en",
            ["bogus"],
            rejected("answer.choice_unknown", hint="Choose one or more (up to 3), then Done."),
        ),
        (MULTI_MIN2, "fr", ["ircc"], rejected("answer.too_few", count="1", min="2")),
        (MULTI_MIN2, "en", ["none"], Accepted(["none"], "None of these")),
        (MULTI_MIN0, "en", [], Accepted([], "None selected")),
        (MULTI_MIN0, "fr", [], Accepted([], "Aucune option choisie")),
        (SINGLE, "fr", ["qc"], Accepted("qc", "Québec")),
        (SINGLE, "en", ["qc", "on"], rejected("answer.too_many", count="2", max="1")),
        (SINGLE, "en", [], rejected("answer.none_selected")),
    ],
)
def test_check_selection(
    item: Item, language: str, ids: list[str], expected: Accepted | Rejected
) -> None:
    assert check_selection(item, ids, language) == expected


def test_check_selection_is_only_for_choice_items() -> None:
    with pytest.raises(ValueError):
        check_selection(SCALE, ["1"], "en")


@pytest.mark.parametrize(
    ("raw", "language", "message"),
    [
        ("1,2,3,4", "en", "You chose 4, but you can choose at most 3."),
        ("1,2,3,4", "fr", "Vous en avez choisi 4, mais vous pouvez en choisir au plus 3."),
        (
            "none, 1",
            "fr",
            "« Aucune de ces réponses » ne peut pas être combiné avec d’autres options. "
            "Choisissez-le seul, ou retirez-le.",
        ),
        (
            "zzz",
            "en",
            "I didn’t recognise “zzz”. "
            "Reply with numbers from 1 to 5 or names of options, separated by commas.",
        ),
    ],
)
def test_multi_choice_rejections_read_well(raw: str, language: str, message: str) -> None:
    result = parse_answer(MULTI, raw, language)
    assert isinstance(result, Rejected)
    assert explain(result, language) == message


# --- scale ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "language", "raw", "expected"),
    [
        (SCALE, "en", "3", Accepted(3, "3")),
        (SCALE, "en", " 4. ", Accepted(4, "4")),
        (SCALE, "en", "1", Accepted(1, "1 (Not at all)")),
        (SCALE, "fr", "5", Accepted(5, "5 (Tout à fait)")),
        (SCALE, "en", "not at all", Accepted(1, "1 (Not at all)")),
        (SCALE, "fr", "Pas du tout", Accepted(1, "1 (Pas du tout)")),
        (SCALE, "fr", "tout a fait", Accepted(5, "5 (Tout à fait)")),
        (SCALE, "en", "Tout à fait", Accepted(5, "5 (Completely)")),
        (SCALE, "en", "0", rejected("answer.scale_out_of_range", value="0", hint=SCALE_HINT["en"])),
        (SCALE, "fr", "6", rejected("answer.scale_out_of_range", value="6", hint=SCALE_HINT["fr"])),
        (
            SCALE,
            "en",
            "-1",
            rejected("answer.scale_out_of_range", value="-1", hint=SCALE_HINT["en"]),
        ),
        (SCALE, "en", "3.5", rejected("answer.scale_not_whole", hint=SCALE_HINT["en"])),
        (SCALE, "fr", "3,5", rejected("answer.scale_not_whole", hint=SCALE_HINT["fr"])),
        (SCALE, "en", "three", rejected("answer.unrecognised", hint=SCALE_HINT["en"])),
        (SCALE, "en", "", rejected("answer.unrecognised", hint=SCALE_HINT["en"])),
        (SCALE, "en", "3 4", rejected("answer.unrecognised", hint=SCALE_HINT["en"])),
        (SCALE_PLAIN, "en", "0", Accepted(0, "0")),
        (SCALE_PLAIN, "en", "10", Accepted(10, "10")),
        (
            SCALE_PLAIN,
            "en",
            "11",
            rejected(
                "answer.scale_out_of_range", value="11", hint="Reply with a number from 0 to 10."
            ),
        ),
    ],
)
def test_scale(item: Item, language: str, raw: str, expected: Accepted | Rejected) -> None:
    assert parse_answer(item, raw, language) == expected


# --- yes / no -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "raw", "expected"),
    [
        *(("en", word, Accepted(True, "Yes")) for word in ("yes", "Y", "YES!", "true", "1")),
        *(("fr", word, Accepted(True, "Oui")) for word in ("oui", "O", "Oui.", "yes")),
        *(("en", word, Accepted(False, "No")) for word in ("no", "N", "false", "2", "non")),
        *(("fr", word, Accepted(False, "Non")) for word in ("non", "n", "NON!", "no")),
        ("en", "yes, but only sometimes", rejected("answer.unrecognised", hint=YES_NO_HINT["en"])),
        ("en", "maybe", rejected("answer.unrecognised", hint=YES_NO_HINT["en"])),
        ("fr", "peut-être", rejected("answer.unrecognised", hint=YES_NO_HINT["fr"])),
        ("fr", "", rejected("answer.unrecognised", hint=YES_NO_HINT["fr"])),
    ],
)
def test_yes_no(language: str, raw: str, expected: Accepted | Rejected) -> None:
    result = parse_answer(YES_NO, raw, language)
    assert result == expected
    if isinstance(result, Accepted):
        assert type(result.value) is bool


def test_yes_no_rejection_reads_well() -> None:
    result = parse_answer(YES_NO, "maybe", "fr")
    assert isinstance(result, Rejected)
    assert explain(result, "fr") == "Désolé, je n’ai pas compris. Répondez oui ou non."


# --- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "language", "raw", "expected"),
    [
        (STAFF, "en", "12", Accepted(12, "12 staff")),
        (STAFF, "fr", "12", Accepted(12, "12 employés")),
        (STAFF, "en", "12 staff", Accepted(12, "12 staff")),
        (STAFF, "en", "about 12", Accepted(12, "12 staff")),
        (STAFF, "fr", "environ 12 employés", Accepted(12, "12 employés")),
        (STAFF, "en", "1,200", Accepted(1200, "1200 staff")),
        (STAFF, "en", "1 200", Accepted(1200, "1200 staff")),
        (STAFF, "fr", "1\u00a0200", Accepted(1200, "1200 employés")),
        (STAFF, "fr", "1\u202f200 employés", Accepted(1200, "1200 employés")),
        (STAFF, "en", "12.0", Accepted(12, "12 staff")),
        (STAFF, "en", "$12", Accepted(12, "12 staff")),
        (STAFF, "en", "25,000", Accepted(25000, "25,000 staff")),
        (STAFF, "fr", "25 000", Accepted(25000, "25\u00a0000 employés")),
        (STAFF, "en", "12.5", rejected("answer.number_not_whole", hint=STAFF_HINT["en"])),
        (STAFF, "fr", "12,5", rejected("answer.number_not_whole", hint=STAFF_HINT["fr"])),
        (
            STAFF,
            "en",
            "0",
            rejected("answer.number_out_of_range", value="0", hint=STAFF_HINT["en"]),
        ),
        (
            STAFF,
            "en",
            "200000",
            rejected("answer.number_out_of_range", value="200,000", hint=STAFF_HINT["en"]),
        ),
        (
            STAFF,
            "fr",
            "-3",
            rejected("answer.number_out_of_range", value="-3", hint=STAFF_HINT["fr"]),
        ),
        (STAFF, "en", "12 or 13", rejected("answer.number_several", hint=STAFF_HINT["en"])),
        (STAFF, "en", "12-15", rejected("answer.number_several", hint=STAFF_HINT["en"])),
        (STAFF, "en", "twelve", rejected("answer.number_unrecognised", hint=STAFF_HINT["en"])),
        (STAFF, "fr", "", rejected("answer.number_unrecognised", hint=STAFF_HINT["fr"])),
        (STAFF, "en", "1e5", rejected("answer.number_unrecognised", hint=STAFF_HINT["en"])),
        (STAFF, "en", "1.2.3", rejected("answer.number_unrecognised", hint=STAFF_HINT["en"])),
        (STAFF, "en", "covid19", rejected("answer.number_unrecognised", hint=STAFF_HINT["en"])),
        (ANY_INT, "en", "-5", Accepted(-5, "-5")),
        (ANY_INT, "en", "\u22125", Accepted(-5, "-5")),
        (ANY_INT, "en", "1,200,000", Accepted(1_200_000, "1,200,000")),
        (ANY_INT, "fr", "1 200 000", Accepted(1_200_000, "1\u00a0200\u00a0000")),
        (ANY_INT, "en", "0", Accepted(0, "0")),
        (FTE, "en", "12.5", Accepted(12.5, "12.5 FTE")),
        (FTE, "fr", "12,5", Accepted(12.5, "12,5 ETP")),
        (FTE, "en", "2,75 FTE", Accepted(2.75, "2.75 FTE")),
        (FTE, "en", "3", Accepted(3.0, "3 FTE")),
        (FTE, "en", "0.5", Accepted(0.5, "0.5 FTE")),
        (FTE, "en", ".5", Accepted(0.5, "0.5 FTE")),
        (FTE, "en", "1,000.0", Accepted(1000.0, "1000 FTE")),
        (FTE, "fr", "1 000,0", Accepted(1000.0, "1000 ETP")),
        (
            FTE,
            "en",
            "1,000.5",
            rejected("answer.number_out_of_range", value="1000.5", hint=FTE_HINT["en"]),
        ),
        (
            FTE,
            "fr",
            "1 000,5",
            rejected("answer.number_out_of_range", value="1000,5", hint=FTE_HINT["fr"]),
        ),
        (
            FTE,
            "en",
            "-0.5",
            rejected("answer.number_out_of_range", value="-0.5", hint=FTE_HINT["en"]),
        ),
        (FTE, "en", "1,2345", Accepted(1.2345, "1.2345 FTE")),
        (FTE, "en", "1234,567", rejected("answer.number_unrecognised", hint=FTE_HINT["en"])),
        (
            ANY_INT,
            "en",
            "1" * 40,
            rejected(
                "answer.number_out_of_range",
                value=f"{int('1' * 40):,}",
                hint="Reply with a whole number.",
            ),
        ),
    ],
)
def test_number(item: Item, language: str, raw: str, expected: Accepted | Rejected) -> None:
    result = parse_answer(item, raw, language)
    assert result == expected
    if isinstance(result, Accepted):
        wanted = int if item.number_kind is NumberKind.INTEGER else float
        assert type(result.value) is wanted


def test_number_rejection_names_the_range_and_unit() -> None:
    result = parse_answer(STAFF, "0", "en")
    assert isinstance(result, Rejected)
    assert explain(result, "en") == (
        "0 is outside the accepted range. Reply with a whole number from 1 to 100,000 (staff)."
    )


# --- text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "language", "raw", "expected"),
    [
        (TEXT, "en", "  We use IRCC data.\n", Accepted("We use IRCC data.", "We use IRCC data.")),
        (SHORT_TEXT, "fr", "0123456789", Accepted("0123456789", "0123456789")),
        (SHORT_TEXT, "en", " 0123456789 ", Accepted("0123456789", "0123456789")),
        (SHORT_TEXT, "en", "01234567890", rejected("answer.text_too_long", length="11", max="10")),
        (SHORT_TEXT, "en", "", rejected("answer.text_empty", hint=TEXT_HINT["en"])),
        (SHORT_TEXT, "fr", " \n\t ", rejected("answer.text_empty", hint=TEXT_HINT["fr"])),
        (TEXT, "en", "", rejected("answer.text_empty", hint="Reply in your own words.")),
    ],
)
def test_text(item: Item, language: str, raw: str, expected: Accepted | Rejected) -> None:
    assert parse_answer(item, raw, language) == expected


def test_text_rejection_names_the_limit() -> None:
    result = parse_answer(SHORT_TEXT, "01234567890", "fr")
    assert isinstance(result, Rejected)
    assert explain(result, "fr") == (
        "Cette réponse compte 11 caractères, mais la limite est de 10. Veuillez la raccourcir."
    )


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "raw", "expected"),
    [
        ("en", "2026-11-26", "2026-11-26"),
        ("en", "2026-1-5", "2026-01-05"),
        ("en", "2026/11/26", "2026-11-26"),
        ("en", "26/11/2026", "2026-11-26"),
        ("en", "11/26/2026", "2026-11-26"),
        ("fr", "26-11-2026", "2026-11-26"),
        ("en", "05/05/2026", "2026-05-05"),
        ("en", "November 26, 2026", "2026-11-26"),
        ("en", "Nov 26 2026", "2026-11-26"),
        ("en", "Nov. 26, 2026.", "2026-11-26"),
        ("en", "26 November 2026", "2026-11-26"),
        ("en", "26th of November, 2026", "2026-11-26"),
        ("en", "Thursday, November 26, 2026", "2026-11-26"),
        ("fr", "26 novembre 2026", "2026-11-26"),
        ("fr", "le jeudi 26 novembre 2026", "2026-11-26"),
        ("fr", "1er mars 2026", "2026-03-01"),
        ("fr", "3 fév 2026", "2026-02-03"),
        ("fr", "3 févr. 2026", "2026-02-03"),
        ("fr", "3 FÉVRIER 2026", "2026-02-03"),
        ("fr", "15 août 2026", "2026-08-15"),
        ("fr", "15 aout 2026", "2026-08-15"),
        ("fr", "5 déc 2026", "2026-12-05"),
        ("fr", "5 décembre 2026", "2026-12-05"),
        ("fr", "12 janv. 2027", "2027-01-12"),
        ("fr", "7 juil 2026", "2026-07-07"),
        ("en", "Sept 9 2026", "2026-09-09"),
        ("en", "29 Feb 2028", "2028-02-29"),
    ],
)
def test_date_accepted(language: str, raw: str, expected: str) -> None:
    assert parse_answer(DATE, raw, language) == Accepted(expected, expected)


@pytest.mark.parametrize(
    ("language", "raw", "expected"),
    [
        ("en", "05/04/2026", rejected("answer.date_ambiguous")),
        ("fr", "1/2/2026", rejected("answer.date_ambiguous")),
        ("en", "Feb 30 2026", rejected("answer.date_invalid", hint=DATE_HINT["en"])),
        ("fr", "30 février 2026", rejected("answer.date_invalid", hint=DATE_HINT["fr"])),
        ("en", "2026-13-01", rejected("answer.date_invalid", hint=DATE_HINT["en"])),
        ("en", "31/04/2026", rejected("answer.date_invalid", hint=DATE_HINT["en"])),
        ("en", "29 Feb 2027", rejected("answer.date_invalid", hint=DATE_HINT["en"])),
        ("en", "0000-01-01", rejected("answer.date_invalid", hint=DATE_HINT["en"])),
        ("en", "tomorrow", rejected("answer.date_unrecognised", hint=DATE_HINT["en"])),
        ("en", "November 26", rejected("answer.date_unrecognised", hint=DATE_HINT["en"])),
        ("fr", "26 Brumaire 2026", rejected("answer.date_unrecognised", hint=DATE_HINT["fr"])),
        ("en", "26/11/26", rejected("answer.date_unrecognised", hint=DATE_HINT["en"])),
        ("en", "2026-11/26", rejected("answer.date_unrecognised", hint=DATE_HINT["en"])),
        ("en", "", rejected("answer.date_unrecognised", hint=DATE_HINT["en"])),
    ],
)
def test_date_rejected(language: str, raw: str, expected: Rejected) -> None:
    assert parse_answer(DATE, raw, language) == expected


def test_ambiguous_date_says_how_to_write_it() -> None:
    result = parse_answer(DATE, "05/04/2026", "en")
    assert isinstance(result, Rejected)
    assert explain(result, "en") == "That date is ambiguous: write it like 2026-11-26."
    assert explain(result, "fr") == "Cette date est ambiguë : écrivez-la comme 2026-11-26."


# --- notes, hints, catalog ------------------------------------------------------------


def test_a_note_takes_no_answer() -> None:
    with pytest.raises(ValueError):
        parse_answer(NOTE, "ok", "en")
    assert accepted_hint(NOTE, "en") == ""


@pytest.mark.parametrize(
    ("item", "language", "hint"),
    [
        (SINGLE, "en", SINGLE_HINT["en"]),
        (SINGLE, "fr", SINGLE_HINT["fr"]),
        (MULTI, "en", "Choose one or more (up to 3), then Done."),
        (MULTI, "fr", "Choisissez une ou plusieurs options (jusqu’à 3), puis Terminé."),
        (MULTI_ALL, "en", "Choose one or more, then Done."),
        (MULTI_MIN0, "fr", "Choisissez une ou plusieurs options, puis Terminé."),
        (MULTI_MIN2, "en", "Choose at least 2, then Done."),
        (MULTI_BETWEEN, "en", "Choose from 2 to 3, then Done."),
        (MULTI_BETWEEN, "fr", "Choisissez-en de 2 à 3, puis Terminé."),
        (MULTI_EXACTLY, "en", "Choose 2, then Done."),
        (SCALE, "en", SCALE_HINT["en"]),
        (SCALE, "fr", SCALE_HINT["fr"]),
        (make(ItemType.SCALE), "en", "Reply with a number from 1 to 5."),
        (make(ItemType.SCALE), "fr", "Répondez par un nombre de 1 à 5."),
        (YES_NO, "en", YES_NO_HINT["en"]),
        (YES_NO, "fr", YES_NO_HINT["fr"]),
        (STAFF, "en", STAFF_HINT["en"]),
        (STAFF, "fr", STAFF_HINT["fr"]),
        (FTE, "en", FTE_HINT["en"]),
        (ANY_INT, "en", "Reply with a whole number."),
        (ANY_INT, "fr", "Répondez par un nombre entier."),
        (AT_LEAST, "en", "Reply with a whole number of at least 0."),
        (AT_LEAST, "fr", "Répondez par un nombre entier d’au moins 0."),
        (AT_MOST, "en", "Reply with a number up to 10.5."),
        (AT_MOST, "fr", "Répondez par un nombre ne dépassant pas 10,5."),
        (TEXT, "en", "Reply in your own words."),
        (TEXT, "fr", "Répondez dans vos propres mots."),
        (SHORT_TEXT, "en", TEXT_HINT["en"]),
        (SHORT_TEXT, "fr", TEXT_HINT["fr"]),
        (DATE, "en", DATE_HINT["en"]),
        (DATE, "fr", DATE_HINT["fr"]),
    ],
)
def test_accepted_hint(item: Item, language: str, hint: str) -> None:
    assert accepted_hint(item, language) == hint


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalog_languages_match() -> None:
    assert catalog.EN.keys() == catalog.FR.keys()
    for key, english in catalog.EN.items():
        assert _placeholders(english) == _placeholders(catalog.FR[key]), key


# --- robustness -----------------------------------------------------------------------

ANSWERABLE = [
    SINGLE,
    MULTI,
    MULTI_MIN2,
    MULTI_MIN0,
    SCALE,
    SCALE_PLAIN,
    YES_NO,
    STAFF,
    FTE,
    ANY_INT,
    AT_MOST,
    TEXT,
    SHORT_TEXT,
    DATE,
]
replies = st.one_of(
    st.text(),
    st.text(alphabet="0123456789,.; -/\u00a0\u202f\u2212&etandno"),
    st.lists(st.sampled_from(["1", "2", "et", "and", ",", "nov", "26", "2026", "/", "-"])).map(
        " ".join
    ),
)


@given(item=st.sampled_from(ANSWERABLE), raw=replies, language=st.sampled_from(["en", "fr"]))
def test_parse_answer_never_raises(item: Item, raw: str, language: str) -> None:
    result = parse_answer(item, raw, language)
    if isinstance(result, Rejected):
        assert explain(result, language)
        return
    assert isinstance(result.display, str)
    expected_types = {
        ItemType.SINGLE_CHOICE: str,
        ItemType.MULTI_CHOICE: list,
        ItemType.SCALE: int,
        ItemType.YES_NO: bool,
        ItemType.NUMBER: int if item.number_kind is NumberKind.INTEGER else float,
        ItemType.TEXT: str,
        ItemType.DATE: str,
    }
    assert type(result.value) is expected_types[item.type]
