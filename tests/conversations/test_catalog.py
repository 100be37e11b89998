"""Every sentence exists in English and French, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from conversations.catalog import MESSAGES, translate


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["fr"])


@pytest.mark.parametrize("key", sorted(MESSAGES["en"]))
def test_placeholders_match(key: str) -> None:
    assert placeholders(MESSAGES["en"][key]) == placeholders(MESSAGES["fr"][key])
    assert MESSAGES["fr"][key].strip()


def test_unknown_language_falls_back_to_english() -> None:
    assert translate("run.back", "de") == "Back"
    assert translate("run.back", "fr") == "Retour"
