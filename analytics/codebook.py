"""The codebook that travels with every export: what each column and each code means.

One row per question and code: a choice item has a row per choice, a scale a row per
point, a yes/no item a row for `yes` and one for `no`; any other question has one row
with the code columns empty. Rows say which questionnaire version they describe, so an
export that spans versions documents each. Labels come in every language of the
questionnaires (`label_en`, `label_fr`, …).

`wide_column` names the column of the wide export that holds the row's data. A
multi-choice item has one 0/1 column per choice, `item:choice`; the free text typed after
an `other` choice goes to `item:choice:text` (`specify_column`). Item and choice ids never
contain `:`, so these names cannot collide with an item id. An item whose id is also the
name of a column about the respondent or the run (`region`, `language`, …) is exported as
`item:value`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from conversations.catalog import translate
from conversations.questionnaire import Choice, Item, ItemType, Localized, Questionnaire

__all__ = [
    "WIDE_RUN_COLUMNS",
    "choice_column",
    "codebook_frame",
    "codebook_languages",
    "item_column",
    "specify_column",
    "wide_item_columns",
]


WIDE_RUN_COLUMNS = (
    *("respondent", "name", "organisation", "organisation_type", "region", "questionnaire"),
    *("questionnaire_version", "wave", "run_status", "language", "started_at", "completed_at"),
)
"""The columns of the wide export before the questions (`name`, `organisation`: identified)."""


def item_column(item_id: str) -> str:
    """The wide column of a question with one column: its id, unless a run column has it."""
    return f"{item_id}:value" if item_id in WIDE_RUN_COLUMNS else item_id


def choice_column(item_id: str, choice_id: str) -> str:
    """The 0/1 column of one choice of a multi-choice item in the wide export."""
    return f"{item_id}:{choice_id}"


def specify_column(item_id: str, choice_id: str) -> str:
    """The column of the text typed after choosing an `other` choice."""
    return f"{item_id}:{choice_id}:text"


def wide_item_columns(item: Item) -> list[str]:
    """The wide export's columns for one question, in order."""
    if item.type is ItemType.MULTI_CHOICE:
        columns = [choice_column(item.id, choice.id) for choice in item.choices]
    else:
        columns = [item_column(item.id)]
    return columns + [specify_column(item.id, c.id) for c in item.choices if c.other]


def codebook_languages(questionnaires: Sequence[Questionnaire]) -> tuple[str, ...]:
    """Every language of the questionnaires, the first one's order first."""
    languages: dict[str, None] = {}
    for q in questionnaires:
        languages.update(dict.fromkeys(q.languages))
    return tuple(languages)


def codebook_frame(questionnaires: Sequence[Questionnaire]) -> pd.DataFrame:
    """The codebook of these questionnaire versions (see the module docstring)."""
    languages = codebook_languages(questionnaires)
    rows = [
        {**_item_fields(q, position, item, languages), **code}
        for q in questionnaires
        for position, item in enumerate((i for i in q.items if i.is_question), start=1)
        for code in _codes(item, languages)
    ]
    return pd.DataFrame(rows, columns=_columns(languages), dtype=object)


def _columns(languages: tuple[str, ...]) -> list[str]:
    def each(name: str) -> list[str]:
        return [f"{name}_{language}" for language in languages]

    return [
        *("questionnaire", "questionnaire_version", "position", "item_id", "section_id"),
        *each("section"),
        *("type", "required"),
        *each("label"),
        *("relevant", "constraint", "number_kind", "minimum", "maximum"),
        *each("unit"),
        "choice_code",
        *each("choice_label"),
        *("choice_other", "choice_exclusive", "wide_column", "specify_column"),
    ]


def _texts(name: str, text: Localized | None, languages: tuple[str, ...]) -> dict[str, str]:
    return {f"{name}_{lang}": text.get(lang) if text else "" for lang in languages}


def _item_fields(
    q: Questionnaire, position: int, item: Item, languages: tuple[str, ...]
) -> dict[str, Any]:
    numeric = item.type is ItemType.NUMBER
    return {
        "questionnaire": q.id,
        "questionnaire_version": q.version,
        "position": position,
        "item_id": item.id,
        "section_id": item.section_id,
        **_texts("section", q.section(item.section_id).title, languages),
        "type": item.type.value,
        "required": item.required,
        **_texts("label", item.label, languages),
        "relevant": str(item.relevant or ""),
        "constraint": str(item.constraint or ""),
        "number_kind": item.number_kind.value if numeric else "",
        "minimum": item.minimum if numeric and item.minimum is not None else "",
        "maximum": item.maximum if numeric and item.maximum is not None else "",
        **_texts("unit", item.unit, languages),
    }


def _codes(item: Item, languages: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The code rows of one question; one row of empty code fields when it has none."""
    if item.choices:
        yield from (_choice_row(item, choice, languages) for choice in item.choices)
    elif item.type is ItemType.SCALE:
        yield from _scale_rows(item, languages)
    elif item.type is ItemType.YES_NO:
        for code in ("yes", "no"):
            labels = {
                f"choice_label_{lang}": translate(f"answer.{code}", lang) for lang in languages
            }
            yield _code_row(code, labels, item_column(item.id))
    else:
        yield _code_row("", _texts("choice_label", None, languages), item_column(item.id))


def _choice_row(item: Item, choice: Choice, languages: tuple[str, ...]) -> dict[str, Any]:
    multi = item.type is ItemType.MULTI_CHOICE
    column = choice_column(item.id, choice.id) if multi else item_column(item.id)
    row = _code_row(choice.id, _texts("choice_label", choice.label, languages), column)
    row["choice_other"] = choice.other
    row["choice_exclusive"] = choice.exclusive
    row["specify_column"] = specify_column(item.id, choice.id) if choice.other else ""
    return row


def _scale_rows(item: Item, languages: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    ends = {item.scale_min: item.min_label, item.scale_max: item.max_label}
    for point in range(item.scale_min, item.scale_max + 1):
        labels = _texts("choice_label", ends.get(point), languages)
        yield _code_row(str(point), labels, item_column(item.id))


def _code_row(code: str, labels: dict[str, str], column: str) -> dict[str, Any]:
    return {
        "choice_code": code,
        **labels,
        "choice_other": "",
        "choice_exclusive": "",
        "wide_column": column,
        "specify_column": "",
    }
