"""Questionnaire files: every validation error is one exact line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from conversations.errors import QuestionnaireError
from conversations.loading import (
    definition_checksum,
    load_questionnaire_file,
    parse_questionnaire,
    questionnaire_from_definition,
)
from conversations.questionnaire import ItemType

EXAMPLE = Path(__file__).parents[2] / "examples" / "settlement-data-needs.yaml"

BASE = """\
id: t
version: "1"
title: {en: T, fr: T}
languages: [en, fr]
consent: {version: "1", text: {en: Agree, fr: Accord}}
closing: {en: Bye, fr: Salut}
sections:
  - id: s1
    title: {en: S, fr: S}
    items:
      - id: q1
        type: single_choice
        label: {en: Q1, fr: Q1}
        choices:
          - {id: a, label: {en: A, fr: A}}
          - {id: b, label: {en: B, fr: B}}
      - id: q2
        type: number
        label: {en: Q2, fr: Q2}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "form.yaml")
    return [str(e) for e in caught.value.errors]


def test_base_is_valid() -> None:
    loaded = parse_questionnaire(BASE, "form.yaml")
    assert [i.id for i in loaded.questionnaire.items] == ["q1", "q2"]
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        type: number\n",
            "        type: numbr\n",
            "form.yaml:18: sections[0].items[1].type: unknown item type 'numbr' (expected one of: "
            "single_choice, multi_choice, scale, yes_no, number, text, date, note)",
        ),
        (
            "          - {id: b,",
            "          - {id: a,",
            "form.yaml:16: sections[0].items[0].choices[1].id: duplicate id 'a'",
        ),
        (
            "      - id: q2\n",
            "      - id: q1\n",
            "form.yaml:17: sections[0].items[1].id: duplicate item id 'q1'",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        relevant: \"q1 = 'c'\"\n",
            "form.yaml:20: sections[0].items[1].relevant: 'c' is not a choice id of 'q1'",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            '        label: {en: Q2, fr: Q2}\n        relevant: "q3 > 1"\n',
            "form.yaml:20: sections[0].items[1].relevant: refers to 'q3', which is not an "
            "earlier item",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            '        label: {en: Q2, fr: Q2}\n        relevant: ". > 1"\n',
            "form.yaml:20: sections[0].items[1].relevant: '.' (the answer itself) can only be "
            "used in a constraint",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        lable: x\n",
            "form.yaml:20: sections[0].items[1].lable: unknown field 'lable' (expected one of: "
            "allow_skip, constraint, constraint_message, default, help, id, kind, label, max, "
            "min, quotable, relevant, required, required_message, segment, type, unit)",
        ),
        (
            "        label: {en: Q1, fr: Q1}\n",
            "        label: {en: Q1, fr: Q1}\n        default: c\n",
            "form.yaml:14: sections[0].items[0].default: 'c' is not a choice id (a, b)",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        default: many\n",
            "form.yaml:20: sections[0].items[1].default: must be a number, not 'many'",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        max: 10\n        default: 20\n",
            "form.yaml:21: sections[0].items[1].default: 20 is not an answer this item accepts: "
            "20 is outside the accepted range. Reply with a whole number up to 10.",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        constraint: '. > 5'\n        default: 3\n",
            "form.yaml:21: sections[0].items[1].default: 3 does not meet the item's constraint "
            "(. > 5)",
        ),
        (
            "          - {id: b, label: {en: B, fr: B}}",
            "          - {id: b, label: {en: B, fr: B}, relevant: 'q2 > 3'}",
            "form.yaml:16: sections[0].items[0].choices[1].relevant: refers to 'q2', which is "
            "not an earlier item",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        required_message: {fr: SVP}\n",
            "form.yaml:20: sections[0].items[1].required_message: missing the default "
            "language 'en'",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, fr: Q2}\n        min: 10\n        max: 2\n",
            "form.yaml:20: sections[0].items[1].min: min (10) is greater than max (2)",
        ),
        (
            "        label: {en: Q2, fr: Q2}\n",
            "        label: {en: Q2, de: Q2}\n",
            "form.yaml:19: sections[0].items[1].label.de: 'de' is not one of languages",
        ),
        (
            "languages: [en, fr]\n",
            "languages: [en, fr]\ndefault_language: de\n",
            "form.yaml:5: default_language: 'de' is not one of languages ['en', 'fr']",
        ),
        (
            'version: "1"\n',
            "",
            'form.yaml:1: version: required: a version such as "1" or "2026-11"',
        ),
        (
            "id: t\n",
            "id: Bad Id\n",
            "form.yaml:1: id: invalid id 'Bad Id' (use lower-case letters, digits, _ and -, at "
            "most 64 characters)",
        ),
        (
            "        type: number\n",
            "        type: number\n        required: yes please\n",
            "form.yaml:19: sections[0].items[1].required: must be true or false, not 'yes please'",
        ),
    ],
)
def test_each_error_is_one_exact_line(old: str, new: str, expected: str) -> None:
    assert old in BASE
    assert errors_of(BASE.replace(old, new, 1)) == [expected]


def test_item_ids_are_short_enough_for_buttons() -> None:
    long_id = "q" + "x" * 32
    [error] = errors_of(BASE.replace("      - id: q2\n", f"      - id: {long_id}\n"))
    assert error == (
        f"form.yaml:17: sections[0].items[1].id: invalid id '{long_id}' (use lower-case "
        "letters, digits and _, at most 32 characters)"
    )


def test_bad_condition_names_the_position() -> None:
    text = BASE.replace(
        "        label: {en: Q2, fr: Q2}\n",
        "        label: {en: Q2, fr: Q2}\n        relevant: \"q1 = = 'a'\"\n",
    )
    [error] = errors_of(text)
    assert error.startswith("form.yaml:20: sections[0].items[1].relevant: ")
    assert "position 5" in error


def test_invalid_yaml_names_the_line() -> None:
    assert errors_of(BASE + "  - id: [unclosed\n") == [
        "form.yaml:21: invalid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_several_errors_are_all_reported_in_line_order() -> None:
    text = BASE.replace("type: number", "type: nope").replace("{id: b,", "{id: a,")
    lines = errors_of(text)
    assert [line.split(":")[1] for line in lines] == ["16", "18"]


def test_missing_translation_is_a_warning_not_an_error() -> None:
    loaded = parse_questionnaire(BASE.replace("{en: Q2, fr: Q2}", "Q2"), "form.yaml")
    assert [str(w) for w in loaded.warnings] == [
        "form.yaml:19: sections[0].items[1].label: missing translation 'fr' (falls back to 'en')"
    ]
    assert loaded.questionnaire.item("q2").label.get("fr") == "Q2"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire_file(tmp_path / "missing.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'missing.yaml'}: cannot read file:")


def test_definition_round_trip_gives_the_same_questionnaire() -> None:
    loaded = load_questionnaire_file(EXAMPLE)
    rebuilt = questionnaire_from_definition(loaded.definition, "db")
    assert rebuilt == loaded.questionnaire
    assert definition_checksum(loaded.definition) == loaded.checksum


def test_example_questionnaire_has_48_questions_and_every_type() -> None:
    loaded = load_questionnaire_file(EXAMPLE)
    q = loaded.questionnaire
    assert loaded.warnings == ()
    assert sum(1 for i in q.items if i.is_question) == 48
    assert {i.type for i in q.items} == set(ItemType)
    assert q.languages == ("en", "fr")
    assert any(i.relevant for i in q.items)
    assert any(i.constraint for i in q.items)
    assert any(c.other for i in q.items for c in i.choices)
    assert any(not i.required for i in q.items)
    assert any(i.allow_skip for i in q.items)
