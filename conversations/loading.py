"""YAML → Questionnaire, with every problem reported as `file:line: field: reason`.

Parsing is pure (text in, definition out). `load_questionnaire_file` is the one place
that reads a file, and it runs at start-up or from the CLI, never inside a step.
The parsed mapping is kept as the definition's canonical form: the database stores it,
and a run pinned to an old version is rebuilt from it with the same code path.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from conversations.conditions import Condition, ConditionError, parse_condition
from conversations.defaults import default_problem
from conversations.errors import LoadError, QuestionnaireError
from conversations.questionnaire import (
    SPEC_VERSION,
    Choice,
    Item,
    ItemType,
    Localized,
    NudgeSettings,
    NumberKind,
    Questionnaire,
    Section,
    WithdrawMode,
)

__all__ = [
    "LoadedQuestionnaire",
    "definition_checksum",
    "load_definition",
    "load_questionnaire",
    "load_questionnaire_file",
    "parse_questionnaire",
    "questionnaire_from_definition",
]

_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""Ids are short so a button can carry item and choice ids within Telegram's 64 bytes."""
_QUESTIONNAIRE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CHOICE_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,23}$")
_RULES = {
    _ID.pattern: "use lower-case letters, digits and _, at most 32 characters",
    _CHOICE_ID.pattern: "use lower-case letters, digits and _, at most 24 characters",
    _QUESTIONNAIRE_ID.pattern: "use lower-case letters, digits, _ and -, at most 64 characters",
}
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_CHOICE_TYPES = (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE)

_TOP_KEYS = {
    "spec_version", "id", "version", "title", "languages", "default_language",
    "estimated_minutes", "consent", "closing", "nudges", "sections", "on_withdraw",
}  # fmt: skip
_SECTION_KEYS = {"id", "title", "intro", "items"}
_COMMON_ITEM_KEYS = {
    "id", "type", "label", "help", "required", "allow_skip", "relevant", "constraint",
    "constraint_message", "quotable", "segment", "required_message", "default",
}  # fmt: skip
_TYPE_KEYS: dict[ItemType, set[str]] = {
    ItemType.SINGLE_CHOICE: {"choices"},
    ItemType.MULTI_CHOICE: {"choices", "min_selections", "max_selections"},
    ItemType.SCALE: {"min", "max", "min_label", "max_label"},
    ItemType.YES_NO: set(),
    ItemType.NUMBER: {"kind", "min", "max", "unit"},
    ItemType.TEXT: {"max_length"},
    ItemType.DATE: set(),
    ItemType.NOTE: set(),
}
_CHOICE_KEYS = {"id", "label", "other", "exclusive", "relevant"}
_RESERVED = {"and", "or", "not", "in", "true", "false", "consent"}
"""Words conditions reserve, and the consent pseudo-item: not usable as item ids."""


@dataclass(frozen=True)
class LoadedQuestionnaire:
    questionnaire: Questionnaire
    definition: Mapping[str, Any]
    """The JSON-safe mapping the questionnaire was built from: what the database stores."""
    checksum: str
    warnings: tuple[LoadError, ...]


def load_questionnaire_file(path: str | Path) -> LoadedQuestionnaire:
    """Read and parse a YAML questionnaire file; raises QuestionnaireError (one line per
    problem). Any supported format, XLSForm workbooks included: `forms.load_any_file`."""
    origin = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError([LoadError(origin, None, "", f"cannot read file: {exc}")]) from exc
    return parse_questionnaire(text, origin)


def load_questionnaire(path: str | Path) -> Questionnaire:
    return load_questionnaire_file(path).questionnaire


def parse_questionnaire(text: str, origin: str) -> LoadedQuestionnaire:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError([LoadError(origin, line, "", f"invalid YAML: {reason}")]) from exc
    lines = _line_numbers(node) if node is not None else {}
    return _build(_jsonable(data), origin, lines)


def questionnaire_from_definition(definition: Mapping[str, Any], origin: str) -> Questionnaire:
    """Rebuild a questionnaire stored in the database (no line numbers to report)."""
    return _build(_jsonable(definition), origin, {}).questionnaire


def load_definition(definition: Mapping[str, Any], origin: str) -> LoadedQuestionnaire:
    """Build from a mapping made by another reader (an XLSForm); errors name field paths."""
    return _build(_jsonable(definition), origin, {})


def definition_checksum(definition: Mapping[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _build(data: Any, origin: str, lines: Mapping[str, int]) -> LoadedQuestionnaire:
    builder = _Builder(origin, lines)
    questionnaire = builder.questionnaire(data)
    if builder.errors or questionnaire is None:
        errors = sorted(builder.errors, key=lambda e: (e.line or 0, e.field))
        raise QuestionnaireError(errors or [LoadError(origin, None, "", "empty questionnaire")])
    return LoadedQuestionnaire(
        questionnaire=questionnaire,
        definition=data,
        checksum=definition_checksum(data),
        warnings=tuple(builder.warnings),
    )


def _line_numbers(node: yaml.Node, path: str = "") -> dict[str, int]:
    """Map each field path (`sections[0].items[3].id`) to its line in the file."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = f"{path}.{key_node.value}" if path else str(key_node.value)
            lines.update(_line_numbers(value_node, sub))
            lines[sub] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            lines.update(_line_numbers(child, f"{path}[{index}]"))
    return lines


def _jsonable(value: Any) -> Any:
    """YAML may produce dates and non-string keys; the stored definition is plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


class _Builder:
    """Walks the mapping once, collecting every error instead of stopping at the first."""

    def __init__(self, origin: str, lines: Mapping[str, int]) -> None:
        self.origin = origin
        self.lines = lines
        self.errors: list[LoadError] = []
        self.warnings: list[LoadError] = []
        self.languages: tuple[str, ...] = ("en",)
        self.default_language = "en"
        self.seen_items: dict[str, Item] = {}

    # --- reporting ----------------------------------------------------------------------

    def error(self, path: str, reason: str) -> None:
        self.errors.append(LoadError(self.origin, self._line(path), path, reason))

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(LoadError(self.origin, self._line(path), path, reason))

    def _line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor present in the file."""
        while path not in self.lines:
            parent = re.sub(r"(\.?[^.\[]*|\[\d+\])$", "", path)
            if parent == path:
                break
            path = parent
        return self.lines.get(path, self.lines.get(""))

    def unknown_keys(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(_join(path, key), f"unknown field '{key}' (expected one of: {expected})")

    # --- top level ----------------------------------------------------------------------

    def questionnaire(self, data: Any) -> Questionnaire | None:
        if not isinstance(data, Mapping):
            self.error("", "a questionnaire must be a mapping with id, version, sections, …")
            return None
        self.unknown_keys(data, _TOP_KEYS, "")
        spec = data.get("spec_version", SPEC_VERSION)
        if spec != SPEC_VERSION:
            self.error("spec_version", f"unsupported spec_version {spec!r} (expected 1)")
        qid = self.string(data, "id", "", pattern=_QUESTIONNAIRE_ID)
        version = data.get("version")
        if not isinstance(version, (str, int, float)) or isinstance(version, bool):
            self.error("version", 'required: a version such as "1" or "2026-11"')
        self.read_languages(data)
        title = self.text(data.get("title"), "title")
        consent, consent_version = self.consent(data.get("consent"))
        closing = self.text(data.get("closing"), "closing")
        sections = self.sections(data.get("sections"))
        minutes = self.optional_int(data, "estimated_minutes", "", minimum=1)
        nudges = self.nudges(data.get("nudges"))
        on_withdraw = self.withdraw_mode(data.get("on_withdraw", WithdrawMode.DELETE.value))
        if None in (qid, title, consent, closing) or not sections or self.errors:
            return None
        assert qid is not None and title and consent and closing
        return Questionnaire(
            id=qid,
            version=str(version),
            title=title,
            languages=self.languages,
            default_language=self.default_language,
            consent=consent,
            consent_version=consent_version,
            closing=closing,
            sections=sections,
            estimated_minutes=minutes,
            nudges=nudges,
            on_withdraw=on_withdraw,
        )

    def read_languages(self, data: Mapping[str, Any]) -> None:
        languages = data.get("languages", ["en"])
        if not isinstance(languages, list) or not languages:
            self.error("languages", "must be a list of language codes, e.g. [en, fr]")
            return
        for index, code in enumerate(languages):
            if not isinstance(code, str) or not _LANGUAGE.match(code):
                self.error(f"languages[{index}]", f"not a language code: {code!r}")
        self.languages = tuple(str(code) for code in languages)
        default = data.get("default_language", self.languages[0])
        if default not in self.languages:
            self.error("default_language", f"'{default}' is not one of languages {list(languages)}")
        else:
            self.default_language = default

    def consent(self, data: Any) -> tuple[Localized | None, str]:
        if not isinstance(data, Mapping):
            self.error("consent", "required: a mapping with version and text")
            return None, "1"
        self.unknown_keys(data, {"version", "text"}, "consent")
        return self.text(data.get("text"), "consent.text"), self.consent_version(data)

    def consent_version(self, data: Mapping[str, Any]) -> str:
        """A whole number, bumped when the text changes: the consent ledger stores it (#7)."""
        version = data.get("version", "1")
        text = str(version).strip()
        if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
            self.error("consent.version", f"must be a whole number such as 1 or 2, not {version!r}")
            return "1"
        return str(int(text))

    def withdraw_mode(self, value: Any) -> WithdrawMode:
        """`on_withdraw`: what a withdrawal does to the answers (erased by default)."""
        try:
            return WithdrawMode(value)
        except ValueError:
            modes = " or ".join(mode.value for mode in WithdrawMode)
            self.error("on_withdraw", f"must be {modes}, not {value!r}")
            return WithdrawMode.DELETE

    def nudges(self, data: Any) -> NudgeSettings:
        if data is None:
            return NudgeSettings()
        if not isinstance(data, Mapping):
            self.error("nudges", "must be a mapping with after_days and max_count")
            return NudgeSettings()
        self.unknown_keys(data, {"after_days", "max_count"}, "nudges")
        after = self.optional_int(data, "after_days", "nudges", minimum=1)
        count = self.optional_int(data, "max_count", "nudges", minimum=0)
        return NudgeSettings(after_days=after or 3, max_count=2 if count is None else count)

    # --- sections and items -------------------------------------------------------------

    def sections(self, data: Any) -> tuple[Section, ...]:
        if not isinstance(data, list) or not data:
            self.error("sections", "required: a non-empty list of sections")
            return ()
        sections: list[Section] = []
        seen: set[str] = set()
        for index, raw in enumerate(data):
            path = f"sections[{index}]"
            if not isinstance(raw, Mapping):
                self.error(path, "a section must be a mapping with id, title and items")
                continue
            self.unknown_keys(raw, _SECTION_KEYS, path)
            section_id = self.string(raw, "id", path, pattern=_ID)
            if section_id in seen:
                self.error(f"{path}.id", f"duplicate section id '{section_id}'")
            seen.add(section_id or "")
            title = self.text(raw.get("title"), f"{path}.title")
            intro = self.text(raw.get("intro"), f"{path}.intro", required=False)
            items = self.items(raw.get("items"), f"{path}.items", section_id or "")
            if section_id and title:
                sections.append(Section(section_id, title, intro, items))
        return tuple(sections)

    def items(self, data: Any, path: str, section_id: str) -> tuple[Item, ...]:
        if not isinstance(data, list) or not data:
            self.error(path, "required: a non-empty list of items")
            return ()
        items = []
        for index, raw in enumerate(data):
            item = self.item(raw, f"{path}[{index}]", section_id)
            if item is not None:
                items.append(item)
                self.seen_items[item.id] = item
        return tuple(items)

    def item(self, raw: Any, path: str, section_id: str) -> Item | None:
        if not isinstance(raw, Mapping):
            self.error(path, "an item must be a mapping with id, type and label")
            return None
        item_id = self.string(raw, "id", path, pattern=_ID)
        if item_id in _RESERVED:
            self.error(f"{path}.id", f"'{item_id}' is a word of the condition language")
            item_id = None
        if item_id is not None and item_id in self.seen_items:
            self.error(f"{path}.id", f"duplicate item id '{item_id}'")
            item_id = None
        kind = self.item_type(raw, path)
        label = self.text(raw.get("label"), f"{path}.label")
        if kind is None:
            return None
        self.unknown_keys(raw, _COMMON_ITEM_KEYS | _TYPE_KEYS[kind], path)
        choices = self.choices(raw, path, kind)
        fields = self.type_fields(raw, path, kind, len(choices))
        relevant = self.condition(raw, "relevant", path, choices, allow_current=False)
        constraint = self.condition(raw, "constraint", path, choices, allow_current=True)
        if item_id is None or label is None:
            return None
        item = Item(
            id=item_id,
            type=kind,
            label=label,
            section_id=section_id,
            help=self.text(raw.get("help"), f"{path}.help", required=False),
            required=self.flag(raw, "required", path, default=kind is not ItemType.NOTE),
            allow_skip=self.flag(raw, "allow_skip", path, default=False),
            relevant=relevant,
            constraint=constraint,
            constraint_message=self.text(
                raw.get("constraint_message"), f"{path}.constraint_message", required=False
            ),
            choices=choices,
            quotable=self.flag(raw, "quotable", path, default=False),
            segment=self.flag(raw, "segment", path, default=False),
            required_message=self.required_message(raw, path),
            **fields,
        )
        return self.with_default(raw, path, item)

    def required_message(self, raw: Mapping[str, Any], path: str) -> Localized | None:
        message = self.text(raw.get("required_message"), f"{path}.required_message", required=False)
        if message is not None and raw.get("required") is False:
            self.warn(f"{path}.required_message", "never said: the item is not required")
        return message

    def with_default(self, raw: Mapping[str, Any], path: str, item: Item) -> Item:
        """`default`: a suggested answer, checked like a reply to this very item."""
        if "default" not in raw:
            return item
        value = raw["default"]
        problem = default_problem(item, value, self.default_language)
        if problem is not None:
            self.error(f"{path}.default", problem)
            return item
        return replace(item, default=value)

    def item_type(self, raw: Mapping[str, Any], path: str) -> ItemType | None:
        value = raw.get("type")
        try:
            return ItemType(str(value))
        except ValueError:
            expected = ", ".join(t.value for t in ItemType)
            reason = f"unknown item type {value!r} (expected one of: {expected})"
            self.error(f"{path}.type", reason if value is not None else "required")
            return None

    def choices(self, raw: Mapping[str, Any], path: str, kind: ItemType) -> tuple[Choice, ...]:
        if kind not in _CHOICE_TYPES:
            return ()
        data = raw.get("choices")
        if not isinstance(data, list) or len(data) < 2:
            self.error(f"{path}.choices", "required: a list of at least 2 choices")
            return ()
        choices: list[Choice] = []
        for index, entry in enumerate(data):
            choice = self.choice(entry, f"{path}.choices[{index}]", kind)
            if choice is None:
                continue
            if any(c.id == choice.id for c in choices):
                self.error(f"{path}.choices[{index}].id", f"duplicate id '{choice.id}'")
                continue
            choices.append(choice)
        if sum(c.other for c in choices) > 1:
            self.error(f"{path}.choices", "at most one choice can be 'other: true'")
        return tuple(choices)

    def choice(self, entry: Any, path: str, kind: ItemType) -> Choice | None:
        if not isinstance(entry, Mapping):
            self.error(path, "a choice must be a mapping with id and label")
            return None
        self.unknown_keys(entry, _CHOICE_KEYS, path)
        choice_id = self.string(entry, "id", path, pattern=_CHOICE_ID)
        label = self.text(entry.get("label"), f"{path}.label")
        exclusive = self.flag(entry, "exclusive", path, default=False)
        if exclusive and kind is not ItemType.MULTI_CHOICE:
            self.error(f"{path}.exclusive", "only multi_choice items have exclusive choices")
        if choice_id is None or label is None:
            return None
        other = self.flag(entry, "other", path, default=False)
        relevant = self.condition(entry, "relevant", path, (), allow_current=False)
        return Choice(choice_id, label, other=other, exclusive=exclusive, relevant=relevant)

    def type_fields(
        self, raw: Mapping[str, Any], path: str, kind: ItemType, choice_count: int
    ) -> dict[str, Any]:
        if kind is ItemType.MULTI_CHOICE:
            return self.selection_limits(raw, path, choice_count)
        if kind is ItemType.SCALE:
            return self.scale(raw, path)
        if kind is ItemType.NUMBER:
            return self.number(raw, path)
        if kind is ItemType.TEXT:
            length = self.optional_int(raw, "max_length", path, minimum=1)
            return {"max_length": length} if length else {}
        return {}

    def selection_limits(self, raw: Mapping[str, Any], path: str, count: int) -> dict[str, Any]:
        low = self.optional_int(raw, "min_selections", path, minimum=0)
        high = self.optional_int(raw, "max_selections", path, minimum=1)
        if high is not None and count and high > count:
            self.error(f"{path}.max_selections", f"{high} is more than the {count} choices")
        if low is not None and high is not None and low > high:
            self.error(f"{path}.min_selections", f"{low} is more than max_selections {high}")
        return {"min_selections": low, "max_selections": high}

    def scale(self, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
        low = self.optional_int(raw, "min", path)
        high = self.optional_int(raw, "max", path)
        low = 1 if low is None else low
        high = 5 if high is None else high
        if low >= high:
            self.error(f"{path}.max", f"max ({high}) must be greater than min ({low})")
        if high - low > 10:
            self.error(f"{path}.max", "a scale has at most 11 points")
        return {
            "scale_min": low,
            "scale_max": high,
            "min_label": self.text(raw.get("min_label"), f"{path}.min_label", required=False),
            "max_label": self.text(raw.get("max_label"), f"{path}.max_label", required=False),
        }

    def number(self, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
        kind_text = raw.get("kind", "integer")
        try:
            kind = NumberKind(kind_text)
        except ValueError:
            self.error(f"{path}.kind", f"unknown number kind {kind_text!r} (integer or decimal)")
            kind = NumberKind.INTEGER
        low = self.optional_number(raw, "min", path)
        high = self.optional_number(raw, "max", path)
        if low is not None and high is not None and low > high:
            self.error(f"{path}.min", f"min ({low}) is greater than max ({high})")
        unit = self.text(raw.get("unit"), f"{path}.unit", required=False)
        return {"number_kind": kind, "minimum": low, "maximum": high, "unit": unit}

    def condition(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        choices: tuple[Choice, ...],
        *,
        allow_current: bool,
    ) -> Condition | None:
        source = raw.get(key)
        if source is None:
            return None
        where = f"{path}.{key}"
        if not isinstance(source, str):
            self.error(where, 'must be a condition written as text, e.g. "org_size >= 5"')
            return None
        try:
            condition = parse_condition(source)
        except ConditionError as exc:
            self.error(where, str(exc))
            return None
        if condition.uses_current and not allow_current:
            self.error(where, "'.' (the answer itself) can only be used in a constraint")
        for name in sorted(condition.references):
            if name not in self.seen_items:
                self.error(where, f"refers to '{name}', which is not an earlier item")
            elif not self.seen_items[name].is_question:
                self.error(where, f"refers to '{name}', which is a note and has no answer")
        for name, literal in condition.choice_references:
            self.check_choice_reference(where, name, literal, choices)
        return condition

    def check_choice_reference(
        self, where: str, name: str, literal: str, own: tuple[Choice, ...]
    ) -> None:
        """A string compared with a choice item must be one of its choice ids."""
        target = self.seen_items.get(name)
        choices = own if name == "." else (target.choices if target else ())
        if choices and all(c.id != literal for c in choices):
            self.error(where, f"'{literal}' is not a choice id of '{name}'")

    # --- scalars ------------------------------------------------------------------------

    def text(self, value: Any, path: str, *, required: bool = True) -> Localized | None:
        if value is None:
            if required:
                self.error(path, "required")
            return None
        if isinstance(value, str):
            texts = {self.default_language: value}
        elif isinstance(value, Mapping):
            texts = {}
            for code, text in value.items():
                if code not in self.languages:
                    self.error(_join(path, code), f"'{code}' is not one of languages")
                elif not isinstance(text, str) or not text.strip():
                    self.error(_join(path, code), "must be non-empty text")
                else:
                    texts[code] = text
        else:
            self.error(path, "must be text, or a mapping of language to text")
            return None
        if self.default_language not in texts:
            self.error(path, f"missing the default language '{self.default_language}'")
            return None
        for code in self.languages:
            if code not in texts:
                fallback = self.default_language
                self.warn(path, f"missing translation '{code}' (falls back to '{fallback}')")
        return Localized(texts, self.default_language)

    def string(
        self, data: Mapping[str, Any], key: str, path: str, *, pattern: re.Pattern[str]
    ) -> str | None:
        value = data.get(key)
        where = _join(path, key)
        if value is None:
            self.error(where, "required")
            return None
        if not isinstance(value, str) or not pattern.match(value):
            self.error(where, f"invalid id {value!r} ({_RULES[pattern.pattern]})")
            return None
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(_join(path, key), f"must be true or false, not {value!r}")
            return default
        return value

    def optional_int(
        self, data: Mapping[str, Any], key: str, path: str, *, minimum: int | None = None
    ) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(_join(path, key), f"must be a whole number, not {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.error(_join(path, key), f"must be at least {minimum}")
            return None
        return value

    def optional_number(self, data: Mapping[str, Any], key: str, path: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.error(_join(path, key), f"must be a number, not {value!r}")
            return None
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
