"""Recognising a typed reply as an answer to one item, in English or French.

People answer in chat the way they would answer a person: "ont" for Ontario, "1 et 3",
"about 12", "26 novembre 2026". Everything here is lenient about form and strict about
meaning: a reply that could mean two things is `Rejected`, never guessed, and every
rejection says what *is* accepted so the re-prompt is useful on its own.

Only type-level rules live here (ranges, selection limits, lengths). An item's
`constraint` depends on other answers, so the engine checks it with `conditions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Final

from conversations.catalog import translate
from conversations.questionnaire import Choice, Item, ItemType, Localized, NumberKind
from conversations.run import AnswerValue
from conversations.text import fold

__all__ = [
    "Accepted",
    "Rejected",
    "accept_value",
    "accepted_hint",
    "check_selection",
    "explain",
    "is_missing",
    "parse_answer",
]


@dataclass(frozen=True)
class Accepted:
    """A usable answer: `value` is stored and exported, `display` is shown back."""

    value: AnswerValue
    display: str


@dataclass(frozen=True)
class Rejected:
    """A reply that is not an answer; `reason` is a catalog key, `params` fill it in.

    Params are already in the answering language (they embed hints and labels), so
    render with `explain` in the language the reply was parsed in.
    """

    reason: str
    params: Mapping[str, str] = field(default_factory=dict)


def explain(rejected: Rejected, language: str) -> str:
    """The re-prompt for a rejected reply."""
    return translate(rejected.reason, language, **rejected.params)


_MISSING: Final = frozenset({"answer.text_empty", "answer.none_selected"})
"""Rejections that mean "no answer at all", where an item's `required_message` is said."""


def is_missing(rejected: Rejected) -> bool:
    return rejected.reason in _MISSING


def _reject(reason: str, **params: object) -> Rejected:
    return Rejected(reason, {name: str(value) for name, value in params.items()})


_EDGES: Final = " .!?;:,\"'«»“”‘’()[]"
"""Punctuation people wrap short replies in ("2.", "(b)", "Yes!")."""


@lru_cache(maxsize=4096)
def _clean(text: str) -> str:
    """Cached: every reply to a choice folds each choice's labels in every language to
    compare, the same few hundred strings turn after turn."""
    return fold(text).strip(_EDGES)


# --- choices --------------------------------------------------------------------------

_INDEX: Final = re.compile(r"[0-9]{1,9}")
_INDEX_LIST: Final = re.compile(r"[0-9]{1,9}(?: [0-9]{1,9})+")
_CONJUNCTION: Final = re.compile(r" (?:and|et) |\s*[&+]\s*")
_SEPARATORS: Final = re.compile(r"[,;]")


def _names(choice: Choice) -> frozenset[str]:
    """Every way to name a choice: its label in any language and its id."""
    labels = {_clean(text) for text in choice.label.all_texts()}
    return frozenset({*labels, choice.id, choice.id.replace("_", " ")} - {""})


def _by_number(item: Item, text: str) -> Choice | None:
    if _INDEX.fullmatch(text) and 1 <= int(text) <= len(item.choices):
        return item.choices[int(text) - 1]
    return None


def _exact(item: Item, text: str, language: str) -> list[Choice]:
    matches = [c for c in item.choices if text in _names(c)]
    if len(matches) > 1:
        own = [c for c in matches if _clean(c.label.get(language)) == text]
        return own or matches
    return matches


def _prefixed(item: Item, text: str) -> list[Choice]:
    return [c for c in item.choices if any(name.startswith(text) for name in _names(c))]


def _ambiguous(item: Item, text: str, matches: Sequence[Choice], language: str) -> Rejected:
    numbers = {c.id: n for n, c in enumerate(item.choices, start=1)}
    candidates = ", ".join(f"{c.label.get(language)} ({numbers[c.id]})" for c in matches)
    return _reject("answer.choice_ambiguous", text=text, candidates=candidates)


def _find(item: Item, text: str, language: str, hint: str) -> Choice | Rejected | None:
    """The one choice `text` names, a rejection if it names several, None if none."""
    found = _by_number(item, text)
    if found is not None:
        return found
    for matches in (_exact(item, text, language), _prefixed(item, text) if text else []):
        if len(matches) == 1:
            return matches[0]
        if matches:
            return _ambiguous(item, text, matches, language)
    if _INDEX.fullmatch(text):
        return _reject("answer.no_such_option", number=int(text), hint=hint)
    return None


def _parse_single(item: Item, raw: str, language: str) -> Accepted | Rejected:
    hint = accepted_hint(item, language)
    found = _find(item, _clean(raw), language, hint)
    if found is None:
        return _reject("answer.choice_unknown", hint=hint)
    if isinstance(found, Rejected):
        return found
    return Accepted(found.id, found.label.get(language))


def _typed_hint(item: Item, language: str) -> str:
    return translate("hint.multi_typed", language, count=len(item.choices))


def _find_part(item: Item, part: str, language: str) -> list[Choice] | Rejected:
    """Choices named by one comma-separated part: "2", "1 3", "ontario", "1 and 3"."""
    hint = _typed_hint(item, language)
    whole = _find(item, part, language, hint)
    if isinstance(whole, Choice):
        return [whole]
    words = _split_part(part)
    if words == [part]:
        return whole or _reject("answer.multi_unknown", text=part, hint=hint)
    chosen: list[Choice] = []
    for word in words:
        match = _find(item, word, language, hint)
        if not isinstance(match, Choice):
            return match or _reject("answer.multi_unknown", text=word, hint=hint)
        chosen.append(match)
    return chosen


def _split_part(part: str) -> list[str]:
    """Split "1 3 and ontario" into "1", "3", "ontario"; tried only when the part is no name."""
    pieces = (piece.strip(_EDGES) for piece in _CONJUNCTION.split(part))
    return [
        word
        for piece in pieces
        if piece
        for word in (piece.split(" ") if _INDEX_LIST.fullmatch(piece) else [piece])
    ]


def _parse_multi(item: Item, raw: str, language: str) -> Accepted | Rejected:
    text = _clean(raw)
    whole = _exact(item, text, language) if text else []
    if len(whole) == 1:
        return check_selection(item, [whole[0].id], language)
    chosen: list[str] = []
    for part in (p.strip(_EDGES) for p in _SEPARATORS.split(text)):
        if not part:
            continue
        found = _find_part(item, part, language)
        if isinstance(found, Rejected):
            return found
        chosen.extend(c.id for c in found)
    return check_selection(item, chosen, language)


def _selection_limits(item: Item) -> tuple[int, int | None]:
    """(fewest, most) choices; a `max_selections` covering every choice is no limit."""
    if item.type is ItemType.SINGLE_CHOICE:
        return 1, 1
    fewest = 1 if item.min_selections is None else item.min_selections
    most = item.max_selections
    if most is not None and most >= len(item.choices) and fewest < most:
        most = None
    return fewest, most


def check_selection(item: Item, choice_ids: Sequence[str], language: str) -> Accepted | Rejected:
    """Validate ticked choices (buttons, or a typed list) against the item's limits.

    Duplicates are dropped and the value follows questionnaire order, so the stored
    answer does not depend on the order things were ticked in.
    """
    if item.type not in (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE):
        raise ValueError(f"check_selection on a {item.type} item ({item.id})")
    if any(item.choice(choice_id) is None for choice_id in choice_ids):
        return _reject("answer.choice_unknown", hint=accepted_hint(item, language))
    chosen = [c for c in item.choices if c.id in set(choice_ids)]
    problem = _selection_problem(item, chosen, language)
    if problem is not None:
        return problem
    labels = ", ".join(c.label.get(language) for c in chosen)
    if item.type is ItemType.SINGLE_CHOICE:
        return Accepted(chosen[0].id, labels)
    return Accepted(
        [c.id for c in chosen], labels or translate("answer.nothing_selected", language)
    )


def _selection_problem(item: Item, chosen: Sequence[Choice], language: str) -> Rejected | None:
    exclusive = next((c for c in chosen if c.exclusive), None)
    if exclusive is not None:
        if len(chosen) == 1:
            return None
        return _reject("answer.exclusive", choice=exclusive.label.get(language))
    fewest, most = _selection_limits(item)
    if len(chosen) < fewest:
        if fewest == 1:
            return _reject("answer.none_selected")
        return _reject("answer.too_few", count=len(chosen), min=fewest)
    if most is not None and len(chosen) > most:
        return _reject("answer.too_many", count=len(chosen), max=most)
    return None


# --- scale and yes/no -----------------------------------------------------------------

_WHOLE: Final = re.compile(r"[-+]?[0-9]{1,9}")
_FRACTION: Final = re.compile(r"[-+]?[0-9]+[.,][0-9]+")


def _parse_scale(item: Item, raw: str, language: str) -> Accepted | Rejected:
    text = _clean(raw)
    hint = accepted_hint(item, language)
    value = _scale_value(item, text)
    if value is None:
        if _WHOLE.fullmatch(text):
            return _reject("answer.scale_out_of_range", value=int(text), hint=hint)
        if _FRACTION.fullmatch(text):
            return _reject("answer.scale_not_whole", hint=hint)
        return _reject("answer.unrecognised", hint=hint)
    return Accepted(value, _scale_display(item, value, language))


def _scale_value(item: Item, text: str) -> int | None:
    if _WHOLE.fullmatch(text):
        value = int(text)
        return value if item.scale_min <= value <= item.scale_max else None
    for label, value in ((item.min_label, item.scale_min), (item.max_label, item.scale_max)):
        if label is not None and text in {_clean(t) for t in label.all_texts()}:
            return value
    return None


def _scale_display(item: Item, value: int, language: str) -> str:
    label = {item.scale_min: item.min_label, item.scale_max: item.max_label}.get(value)
    return f"{value} ({label.get(language)})" if label is not None else str(value)


_YES: Final = frozenset({"yes", "y", "oui", "o", "true", "1"})
_NO: Final = frozenset({"no", "n", "non", "false", "2"})


def _parse_yes_no(item: Item, raw: str, language: str) -> Accepted | Rejected:
    text = _clean(raw)
    if text in _YES:
        return Accepted(True, translate("answer.yes", language))
    if text in _NO:
        return Accepted(False, translate("answer.no", language))
    return _reject("answer.unrecognised", hint=accepted_hint(item, language))


# --- numbers --------------------------------------------------------------------------

_SPACES: Final = re.compile(r"[\u00a0\u2007\u2009\u202f]")
_NUMBER: Final = re.compile(
    r"""
    (?<!\w)(?<![0-9][.,])                       # not inside a word or another number
    (?P<sign>[-\u2212])?
    (?:
        (?P<commas>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?)          # 1,200  1,200.5
      | (?P<spaces>[0-9]{1,3}(?:\ [0-9]{3})+(?:\.[0-9]+|,[0-9]+)?) # 1 200  1 200,5
      | (?P<plain>[0-9]+(?:\.[0-9]+|,[0-9]{1,2}|,[0-9]{4,})?)      # 12  12.5  12,5
      | (?P<point>\.[0-9]+)                                        # .5
    )
    (?!\w)(?![.,][0-9])
    """,
    re.VERBOSE,
)
_MAX_DIGITS: Final = 15
"""Larger numbers are out of any sensible range and would lose precision as floats."""


def _numbers(raw: str) -> list[Decimal]:
    """Every number written in `raw`, with thousands separators and decimal commas read."""
    return [_decimal(match) for match in _NUMBER.finditer(_SPACES.sub(" ", raw))]


def _decimal(match: re.Match[str]) -> Decimal:
    if match["commas"]:
        digits = match["commas"].replace(",", "")
    elif match["spaces"]:
        digits = match["spaces"].replace(" ", "").replace(",", ".")
    else:
        digits = (match["plain"] or match["point"]).replace(",", ".")
    return Decimal(f"-{digits}" if match["sign"] else digits)


def _parse_number(item: Item, raw: str, language: str) -> Accepted | Rejected:
    hint = accepted_hint(item, language)
    found = _numbers(raw)
    if not found:
        return _reject("answer.number_unrecognised", hint=hint)
    if len(found) > 1:
        return _reject("answer.number_several", hint=hint)
    number = found[0]
    if number.adjusted() >= _MAX_DIGITS:
        return _reject(
            "answer.number_out_of_range", value=_format_number(number, language), hint=hint
        )
    if item.number_kind is NumberKind.INTEGER and number != number.to_integral_value():
        return _reject("answer.number_not_whole", hint=hint)
    value: int | float = int(number) if item.number_kind is NumberKind.INTEGER else float(number)
    if not _within(value, item.minimum, item.maximum):
        return _reject(
            "answer.number_out_of_range", value=_format_number(number, language), hint=hint
        )
    return Accepted(value, _with_unit(_format_number(value, language), item.unit, language))


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _format_number(value: float | Decimal, language: str) -> str:
    """Plain digits, grouped from 10,000 up (not years), with the language's decimal mark."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if number == number.to_integral_value():
        number = abs(number) if number.is_zero() else number.to_integral_value()
    text = f"{number:,f}" if abs(number) >= 10_000 else f"{number:f}"
    if language == "fr":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def _with_unit(number: str, unit: Localized | None, language: str) -> str:
    return f"{number} {unit.get(language)}" if unit is not None else number


# --- text -----------------------------------------------------------------------------


def _parse_text(item: Item, raw: str, language: str) -> Accepted | Rejected:
    text = raw.strip()
    if not text:
        return _reject("answer.text_empty", hint=accepted_hint(item, language))
    if len(text) > item.max_length:
        return _reject("answer.text_too_long", length=len(text), max=item.max_length)
    return Accepted(text, text)


# --- dates ----------------------------------------------------------------------------

_MONTHS: Final[Mapping[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            "january jan janvier janv",
            "february feb fevrier fevr fev",
            "march mar mars",
            "april apr avril avr",
            "may mai",
            "june jun juin",
            "july jul juillet juil",
            "august aug aout",
            "september sep sept septembre",
            "october oct octobre",
            "november nov novembre",
            "december dec decembre",
        ),
        start=1,
    )
    for name in names.split()
}
_WEEKDAYS: Final = frozenset(
    {
        *("monday", "mon", "tuesday", "tue", "tues", "wednesday", "wed", "thursday", "thu"),
        *("thur", "thurs", "friday", "fri", "saturday", "sat", "sunday", "sun"),
        *("lundi", "lun", "mardi", "mercredi", "mer", "jeudi", "jeu", "vendredi", "ven"),
        *("samedi", "sam", "dimanche", "dim"),
    }
)
"""Dropped before a date ("Thu Nov 26 2026"); "mar" is left out: it is March too."""
_FILLERS: Final = frozenset({"the", "of", "on", "le"})
_YEAR_FIRST: Final = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_YEAR_LAST: Final = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4})")
_DAY: Final = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th|er|re|e)?")
_YEAR: Final = re.compile(r"[0-9]{4}")


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _parse_date(item: Item, raw: str, language: str) -> Accepted | Rejected:
    hint = accepted_hint(item, language)
    text = _clean(raw)
    readings = _date_readings(text)
    if readings is None:
        return _reject("answer.date_unrecognised", hint=hint)
    valid = {found for found in (_valid_date(*r) for r in readings) if found is not None}
    if not valid:
        return _reject("answer.date_invalid", hint=hint)
    if len(valid) > 1:
        return _reject("answer.date_ambiguous")
    iso = valid.pop().isoformat()
    return Accepted(iso, iso)


def _date_readings(text: str) -> list[tuple[int, int, int]] | None:
    """The (year, month, day) triples `text` could mean; None when it is not a date."""
    if match := _YEAR_FIRST.fullmatch(text):
        return [(int(match[1]), int(match[3]), int(match[4]))]
    if match := _YEAR_LAST.fullmatch(text):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        return [(year, second, first), (year, first, second)]
    return _worded_date(text)


def _worded_date(text: str) -> list[tuple[int, int, int]] | None:
    """ "November 26, 2026", "Thu Nov 26 2026", "26th of November 2026", "1er mars 2026"."""
    words = [w for w in re.split(r"[\s,.]+", text) if w and w not in _FILLERS]
    if len(words) == 4 and words[0] in _WEEKDAYS:
        words = words[1:]
    if len(words) != 3 or not _YEAR.fullmatch(words[2]):
        return None
    year = int(words[2])
    for month_word, day_word in ((words[0], words[1]), (words[1], words[0])):
        day = _DAY.fullmatch(day_word)
        if month_word in _MONTHS and day:
            return [(year, _MONTHS[month_word], int(day[1]))]
    return None


# --- hints ----------------------------------------------------------------------------


def _single_hint(item: Item, language: str) -> str:
    return translate("hint.single_choice", language, count=len(item.choices))


def _multi_hint(item: Item, language: str) -> str:
    fewest, most = _selection_limits(item)
    if most is not None and fewest == most:
        return translate("hint.multi_choice_exactly", language, count=most)
    if fewest <= 1:
        if most is None:
            return translate("hint.multi_choice", language)
        return translate("hint.multi_choice_up_to", language, max=most)
    if most is None:
        return translate("hint.multi_choice_at_least", language, min=fewest)
    return translate("hint.multi_choice_between", language, min=fewest, max=most)


def _scale_hint(item: Item, language: str) -> str:
    if item.min_label is None or item.max_label is None:
        return translate("hint.scale", language, min=item.scale_min, max=item.scale_max)
    return translate(
        "hint.scale_labelled",
        language,
        min=item.scale_min,
        max=item.scale_max,
        min_label=item.min_label.get(language),
        max_label=item.max_label.get(language),
    )


def _number_hint(item: Item, language: str) -> str:
    kind = "number.whole" if item.number_kind is NumberKind.INTEGER else "number.any"
    what = translate(kind, language)
    low = None if item.minimum is None else _format_number(item.minimum, language)
    high = None if item.maximum is None else _format_number(item.maximum, language)
    if low is not None and high is not None:
        what = translate("number.between", language, what=what, min=low, max=high)
    elif low is not None:
        what = translate("number.at_least", language, what=what, min=low)
    elif high is not None:
        what = translate("number.at_most", language, what=what, max=high)
    if item.unit is not None:
        what = translate("number.with_unit", language, what=what, unit=item.unit.get(language))
    return translate("hint.number", language, what=what)


_DEFAULT_MAX_LENGTH: Final = 2000


def _text_hint(item: Item, language: str) -> str:
    if item.max_length < _DEFAULT_MAX_LENGTH:
        return translate("hint.text_limited", language, max=item.max_length)
    return translate("hint.text", language)


def _yes_no_hint(item: Item, language: str) -> str:
    return translate("hint.yes_no", language)


def _date_hint(item: Item, language: str) -> str:
    return translate("hint.date", language)


_Handler = Callable[[Item, str, str], Accepted | Rejected]

_PARSERS: Final[Mapping[ItemType, _Handler]] = {
    ItemType.SINGLE_CHOICE: _parse_single,
    ItemType.MULTI_CHOICE: _parse_multi,
    ItemType.SCALE: _parse_scale,
    ItemType.YES_NO: _parse_yes_no,
    ItemType.NUMBER: _parse_number,
    ItemType.TEXT: _parse_text,
    ItemType.DATE: _parse_date,
}

_HINTS: Final[Mapping[ItemType, Callable[[Item, str], str]]] = {
    ItemType.SINGLE_CHOICE: _single_hint,
    ItemType.MULTI_CHOICE: _multi_hint,
    ItemType.SCALE: _scale_hint,
    ItemType.YES_NO: _yes_no_hint,
    ItemType.NUMBER: _number_hint,
    ItemType.TEXT: _text_hint,
    ItemType.DATE: _date_hint,
}


def parse_answer(item: Item, raw: str, language: str) -> Accepted | Rejected:
    """Read `raw` as an answer to `item`; a NOTE takes no answer, so asking is a bug."""
    parser = _PARSERS.get(item.type)
    if parser is None:
        raise ValueError(f"{item.type} items take no answer ({item.id})")
    return parser(item, raw, language)


def accept_value(item: Item, value: AnswerValue, language: str) -> Accepted | Rejected:
    """A value in stored form (a `default`) as an answer: checked by the type's rules.

    The same checks as a typed reply, so a default can never be an answer a person could
    not have given; `display` is in `language`, as if they had typed it.
    """
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE):
        ids = [value] if isinstance(value, str) else value
        if not isinstance(ids, list) or (item.type is ItemType.SINGLE_CHOICE and len(ids) != 1):
            return _reject("answer.choice_unknown", hint=accepted_hint(item, language))
        return check_selection(item, ids, language)
    if item.type is ItemType.YES_NO and isinstance(value, bool):
        return Accepted(value, translate("answer.yes" if value else "answer.no", language))
    if item.type is ItemType.SCALE and isinstance(value, int) and not isinstance(value, bool):
        return _parse_scale(item, str(value), language)
    if item.type is ItemType.NUMBER and _is_number(value):
        text = f"{value:f}" if isinstance(value, float) else str(value)
        return _parse_number(item, text, language)
    if item.type is ItemType.TEXT and isinstance(value, str):
        return _parse_text(item, value, language)
    if item.type is ItemType.DATE and isinstance(value, str) and _YEAR_FIRST.fullmatch(value):
        return _parse_date(item, value, language)
    return _reject("answer.unrecognised", hint=accepted_hint(item, language))


def _is_number(value: AnswerValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def accepted_hint(item: Item, language: str) -> str:
    """One sentence saying what `item` accepts; empty for a NOTE, which accepts nothing."""
    hint = _HINTS.get(item.type)
    return hint(item, language) if hint is not None else ""
