"""Write examples/settlement-data-needs.xlsx: the YAML example as an XLSForm.

Run once from the repository root (`.venv/bin/python scripts/make_example_xlsform.py`)
whenever the YAML example changes; tests/forms/test_example.py checks that both files
load to the same questionnaire. Parley-only settings (consent, closing, nudges, …) and
item fields (quotable, segment, unit, …) go into the extra columns of docs/xlsform.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402

from conversations.loading import load_questionnaire  # noqa: E402
from conversations.questionnaire import (  # noqa: E402
    Item,
    ItemType,
    Localized,
    Questionnaire,
    WithdrawMode,
)

LANGUAGE_NAMES = {"en": "English", "fr": "French"}
TEXT_COLUMNS = (
    "label", "hint", "constraint_message", "required_message", "unit", "min_label", "max_label",
)  # fmt: skip
SURVEY_PLAIN = ("type", "name", "required", "relevant", "constraint", "appearance")
SURVEY_EXTRA = ("parameters", "quotable", "segment", "allow_skip", "max_length", "default")
YES_NO_LIST = "yes_no"


def column(name: str, language: str) -> str:
    return f"{name}::{LANGUAGE_NAMES.get(language, language)} ({language})"


def texts(value: Localized | None, name: str, languages: tuple[str, ...]) -> dict[str, str]:
    if value is None:
        return {}
    return {column(name, code): value.texts[code] for code in languages if code in value.texts}


# --- conditions: Parley → XLSForm --------------------------------------------------------

TOKEN = re.compile(r"\s+|'[^']*'|\d+(?:\.\d+)?|[A-Za-z_]\w*|<=|>=|!=|=|<|>|[(),.]")


def tokens(source: str) -> list[str]:
    found = [t for t in TOKEN.findall(source) if not t.isspace()]
    if "".join(found) != "".join(source.split()):
        raise SystemExit(f"cannot convert condition {source!r}")
    return found


def to_xlsform(source: str, q: Questionnaire) -> str:
    """The example's conditions in XLSForm; anything unforeseen stops the script."""
    words = tokens(source)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "selected":
            item, code = words[i + 2], words[i + 4]
            out.append(f"selected(${{{item}}}, {code})")
            i += 6
        elif word == "not":
            inner, i = operand(words, i + 1)
            out.append(f"not({to_xlsform(inner, q)})")
        elif q.has_item(word) and q.item(word).type is ItemType.YES_NO:
            operator, value = words[i + 1], words[i + 2]
            answer = {"true": "'yes'", "false": "'no'"}[value]
            out.append(f"${{{word}}} {operator} {answer}")
            i += 3
        elif q.has_item(word):
            out.append(f"${{{word}}}")
            i += 1
        elif (
            word in ("and", "or", ".", "=", "!=", "<", "<=", ">", ">=") or word[0] in "'0123456789"
        ):
            out.append(word)
            i += 1
        else:
            raise SystemExit(f"cannot convert {word!r} in condition {source!r}")
    return " ".join(out)


def operand(words: list[str], start: int) -> tuple[str, int]:
    """The operand of `not`: a call (up to its closing parenthesis) or one comparison."""
    depth, end = 0, start
    while end < len(words):
        depth += {"(": 1, ")": -1}.get(words[end], 0)
        end += 1
        if depth == 0 and (words[start] != "selected" or end > start + 1):
            break
    return " ".join(words[start:end]), end


def constraint(item: Item, q: Questionnaire) -> str:
    parts = []
    if item.type is ItemType.NUMBER:
        parts += [f". >= {_number(item.minimum)}"] if item.minimum is not None else []
        parts += [f". <= {_number(item.maximum)}"] if item.maximum is not None else []
    if item.type is ItemType.MULTI_CHOICE:
        low, high = item.min_selections, item.max_selections
        parts += [f"count-selected(.) >= {low}"] if low is not None else []
        parts += [f"count-selected(.) <= {high}"] if high is not None else []
    if item.constraint is not None:
        parts.append(to_xlsform(item.constraint.source, q))
    return " and ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- sheets ------------------------------------------------------------------------------


def survey_rows(q: Questionnaire) -> Iterator[dict[str, str]]:
    languages = q.languages
    for section in q.sections:
        yield {
            "type": "begin_group",
            "name": section.id,
            **texts(section.title, "label", languages),
            **texts(section.intro, "hint", languages),
        }
        for item in section.items:
            yield item_row(item, q)
        yield {"type": "end_group"}


def item_row(item: Item, q: Questionnaire) -> dict[str, str]:
    row = {"name": item.id, "type": item_type(item)}
    row |= texts(item.label, "label", q.languages) | texts(item.help, "hint", q.languages)
    row |= texts(item.constraint_message, "constraint_message", q.languages)
    row |= texts(item.required_message, "required_message", q.languages)
    row |= texts(item.unit, "unit", q.languages)
    row |= texts(item.min_label, "min_label", q.languages)
    row |= texts(item.max_label, "max_label", q.languages)
    if item.is_question:
        row["required"] = "yes" if item.required else "no"
    if item.relevant is not None:
        row["relevant"] = to_xlsform(item.relevant.source, q)
    if rule := constraint(item, q):
        row["constraint"] = rule
    if item.type is ItemType.SCALE:
        row["parameters"] = f"start={item.scale_min} end={item.scale_max}"
    for flag in ("quotable", "segment", "allow_skip"):
        if getattr(item, flag):
            row[flag] = "yes"
    if item.type is ItemType.TEXT and item.max_length != 2000:
        row["max_length"] = str(item.max_length)
    if item.default is not None:
        row["default"] = default_cell(item.default)
    if any(choice.relevant is not None for choice in item.choices):
        raise SystemExit(f"{item.id}: choice conditions are not converted to choice_filter")
    return row


def default_cell(value: object) -> str:
    """A default as XLSForm writes it: yes/no, names separated by spaces, numbers, text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(value)
    return _number(value) if isinstance(value, int | float) else str(value)


def item_type(item: Item) -> str:
    simple = {
        ItemType.TEXT: "text",
        ItemType.DATE: "date",
        ItemType.NOTE: "note",
        ItemType.SCALE: "range",
        ItemType.YES_NO: f"select_one {YES_NO_LIST}",
        ItemType.SINGLE_CHOICE: f"select_one {item.id}",
        ItemType.MULTI_CHOICE: f"select_multiple {item.id}",
    }
    if item.type is ItemType.NUMBER:
        return item.number_kind.value
    return simple[item.type]


def choice_rows(q: Questionnaire) -> Iterator[dict[str, str]]:
    yes_no = {"en": ("Yes", "No"), "fr": ("Oui", "Non")}
    for index, name in enumerate(("yes", "no")):
        labels = {column("label", code): yes_no[code][index] for code in q.languages}
        yield {"list_name": YES_NO_LIST, "name": name, **labels}
    for item in q.items:
        for choice in item.choices:
            row = {"list_name": item.id, "name": choice.id}
            row |= texts(choice.label, "label", q.languages)
            row |= {"other": "yes"} if choice.other else {}
            row |= {"exclusive": "yes"} if choice.exclusive else {}
            yield row


def settings_row(q: Questionnaire) -> dict[str, str]:
    language = q.default_language
    row = {
        "form_id": q.id,
        "version": q.version,
        "default_language": f"{LANGUAGE_NAMES.get(language, language)} ({language})",
        **texts(q.title, "form_title", q.languages),
        **texts(q.consent, "consent", q.languages),
        "consent_version": q.consent_version,
        **texts(q.closing, "closing", q.languages),
        "nudge_after_days": str(q.nudges.after_days),
        "nudge_max_count": str(q.nudges.max_count),
    }
    if q.estimated_minutes is not None:
        row["estimated_minutes"] = str(q.estimated_minutes)
    if q.on_withdraw is not WithdrawMode.DELETE:
        row["on_withdraw"] = q.on_withdraw.value
    return row


def write_sheet(book: Workbook, title: str, rows: list[dict[str, str]]) -> None:
    sheet = book.create_sheet(title)
    headers = list(dict.fromkeys(key for row in rows for key in row))
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers])


def main() -> None:
    source = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples/settlement-data-needs.yaml"
    )
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else source.with_suffix(".xlsx")
    q = load_questionnaire(source)
    book = Workbook()
    book.remove(book.active)
    write_sheet(book, "survey", list(survey_rows(q)))
    write_sheet(book, "choices", list(choice_rows(q)))
    write_sheet(book, "settings", [settings_row(q)])
    book.save(target)
    print(f"{target}: written from {source}")


if __name__ == "__main__":
    main()
