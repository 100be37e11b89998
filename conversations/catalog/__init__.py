"""Every sentence Parley says, in English and French.

Messages live in small modules by concern (`engine.py`, `answers.py`), each holding an
`EN` and an `FR` dict side by side so translators see both. Keys and `{placeholders}`
must match between languages; a test enforces it.
"""

from __future__ import annotations

from collections.abc import Mapping

from conversations.catalog import answers, digest, engine, groups, research, rights, roles, shell

__all__ = ["LANGUAGES", "MESSAGES", "translate"]

LANGUAGES = ("en", "fr")

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        **engine.EN,
        **answers.EN,
        **shell.EN,
        **research.EN,
        **groups.EN,
        **digest.EN,
        **rights.EN,
        **roles.EN,
    },
    "fr": {
        **engine.FR,
        **answers.FR,
        **shell.FR,
        **research.FR,
        **groups.FR,
        **digest.FR,
        **rights.FR,
        **roles.FR,
    },
}


def translate(key: str, language: str, **params: object) -> str:
    """The message `key` in `language` (English when the language is not in the catalog)."""
    table = MESSAGES.get(language, MESSAGES["en"])
    template = table.get(key) or MESSAGES["en"][key]
    return template.format(**params) if params else template
