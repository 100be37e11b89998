"""An XLSForm workbook (as cells) → the questionnaire mapping the YAML loader builds from.

Pure: `forms.workbook` reads the file, this module translates. The result is the same
JSON-safe mapping a YAML file parses to, so one loader checks both, the database stores
both alike, and `parley questionnaire import` writes it out as YAML that loads to the
same `Questionnaire`. Errors name the sheet, the row and the column:
`form.xlsx: survey row 14: relevant: function 'pulldata' is not supported`.

Parley needs a few things ODK forms do not have; they are extra columns of the
`settings` sheet (consent, consent_version, closing, on_withdraw, estimated_minutes,
nudge_after_days, nudge_max_count) and of the `survey` and `choices` sheets (see docs/xlsform.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Final

from conversations.errors import LoadError, QuestionnaireError
from conversations.xlsform_sheets import (
    Columns,
    Place,
    Row,
    Sheet,
    XlsformError,
    flag,
    language_code,
    read_columns,
)
from conversations.xlsform_survey import Form, translate_survey

__all__ = ["Translation", "locate", "translate_xlsform"]

_TRANSLATABLE: Final = frozenset(
    {
        "label", "hint", "constraint_message", "required_message", "guidance_hint", "image",
        "audio", "video", "big-image", "unit", "min_label", "max_label", "form_title",
        "consent", "closing",
    }
)  # fmt: skip
_SETTINGS: Final = frozenset(
    {
        "form_title", "form_id", "version", "default_language", "consent", "consent_version",
        "closing", "estimated_minutes", "nudge_after_days", "nudge_max_count", "on_withdraw",
    }
)  # fmt: skip
_CHOICE_COLUMNS: Final = frozenset({"list_name", "name", "label", "other", "exclusive"})
_CHOICE_MEDIA: Final = frozenset({"image", "big-image", "audio", "video", "media::image"})
_ALIASES: Final = {"list name": "list_name", "value": "name"}
_ORDER: Final = (
    "spec_version", "id", "version", "title", "languages", "default_language",
    "estimated_minutes", "consent", "on_withdraw", "closing", "nudges", "sections",
)  # fmt: skip
"""The order of a hand-written questionnaire file, so an imported YAML reads the same."""


@dataclass(frozen=True)
class Translation:
    definition: dict[str, Any]
    places: Mapping[str, Place]
    """Definition paths (`sections[0].items[3].relevant`) → where they came from."""
    warnings: tuple[LoadError, ...]


def translate_xlsform(sheets: Mapping[str, Sheet], origin: str) -> Translation:
    """Translate the workbook's cells; raises QuestionnaireError with every problem found."""
    return _Translator(sheets, origin).translate()


def locate(error: LoadError, places: Mapping[str, Place]) -> LoadError:
    """Re-address a loader error (`sections[0].items[3].label`) to its workbook place."""
    path = error.field
    while path not in places:
        parent = re.sub(r"(\.?[^.\[]*|\[\d+\])$", "", path)
        if parent == path:
            return LoadError(error.file, None, "", error.reason)
        path = parent
    return places[path].error(error.file, error.reason)


class _Translator:
    def __init__(self, sheets: Mapping[str, Sheet], origin: str) -> None:
        self.sheets = {name.strip().lower(): sheet for name, sheet in sheets.items()}
        self.origin = origin
        self.errors: list[XlsformError] = []
        self.warnings: list[XlsformError] = []
        self.places: dict[str, Place] = {"": Place("settings")}

    def translate(self) -> Translation:
        survey = self.sheets.get("survey")
        if survey is None:
            self.errors.append(XlsformError(Place("survey"), "sheet missing"))
            self.fail()
        assert survey is not None
        columns = read_columns(survey, _TRANSLATABLE, self.errors)
        settings_columns, settings_row = self.settings()
        choice_columns = self.choice_columns()
        language = self.default_language(columns, settings_columns, settings_row)
        lists = self.choice_lists(choice_columns, language) if choice_columns else {}
        title = self.title(settings_columns, settings_row, language)
        form = translate_survey(survey, columns, lists, language, title)
        self.errors.extend(form.errors)
        self.warnings.extend(form.warnings)
        self.places.update(form.places)
        languages = [language, *self.languages(columns, choice_columns, settings_columns)]
        definition = self.definition(form, settings_columns, settings_row, language, title)
        definition = {"languages": list(dict.fromkeys(languages)), **definition}
        definition = {key: definition[key] for key in _ORDER if key in definition}
        if self.errors:
            self.fail()
        warnings = tuple(w.place.error(self.origin, w.reason) for w in self.warnings)
        return Translation(definition, self.places, warnings)

    def fail(self) -> None:
        lines = [e.place.error(self.origin, e.reason) for e in self.errors]
        raise QuestionnaireError(sorted(lines, key=_order))

    # --- settings -----------------------------------------------------------------------

    def settings(self) -> tuple[Columns, Row]:
        sheet = self.sheets.get("settings")
        if sheet is None:
            return Columns(()), Row(2, {})
        columns = read_columns(sheet, _TRANSLATABLE, self.errors)
        for header in columns.headers:
            if header.name not in _SETTINGS:
                reason = "not used in chat; ignored"
                self.warnings.append(XlsformError(Place(sheet.name, 1, header.text), reason))
        rows = [row for row in sheet.rows if row.cells]
        return columns, rows[0] if rows else Row(2, {})

    def default_language(self, survey: Columns, settings: Columns, row: Row) -> str:
        written = row.get("default_language")
        if written:
            code = language_code(written)
            if code is None:
                place = Place("settings", row.number, "default_language")
                reason = f"'{written}' names no language code: write e.g. 'English (en)'"
                self.errors.append(XlsformError(place, reason))
            return code or "en"
        labelled = [h.language for h in survey.of("label") if h.language]
        plain = any(h.language is None for h in survey.of("label"))
        return labelled[0] if labelled and not plain else "en"

    def languages(self, *all_columns: Columns | None) -> list[str]:
        return [code for columns in all_columns if columns for code in columns.languages()]

    def title(self, columns: Columns, row: Row, language: str) -> dict[str, str]:
        title = columns.localized(row, "form_title", language)
        return title or {language: row.get("form_id") or self.stem()}

    def stem(self) -> str:
        return PurePath(self.origin).stem.lower()

    def definition(
        self, form: Form, columns: Columns, row: Row, language: str, title: dict[str, str]
    ) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "spec_version": 1,
            "id": row.get("form_id") or self.stem(),
            "version": row.get("version") or "1",
            "title": title,
            "default_language": language,
        }
        self.place_settings(row, ("id", "form_id"), ("version", "version"))
        self.place_settings(row, ("title", "form_title"), ("default_language", "default_language"))
        self.place_settings(row, ("languages", "default_language"))
        self.whole(definition, row, "estimated_minutes", "estimated_minutes")
        self.consent(definition, columns, row, language)
        if row.get("on_withdraw"):
            definition["on_withdraw"] = row.get("on_withdraw")
            self.place_settings(row, ("on_withdraw", "on_withdraw"))
        self.nudges(definition, row)
        definition["sections"] = form.sections
        return definition

    def consent(
        self, definition: dict[str, Any], columns: Columns, row: Row, language: str
    ) -> None:
        for key in ("consent", "closing"):
            text = columns.localized(row, key, language)
            if text is None:
                place = Place("settings", row.number, key)
                reason = "required: Parley says it before the first question / after the last"
                if key == "consent":
                    reason = "required: the consent text Parley asks people to agree to"
                self.errors.append(XlsformError(place, reason))
            definition[key] = {"version": row.get("consent_version") or "1", "text": text}
            self.place_settings(row, (key, key), (f"{key}.text", key))
        definition["closing"] = definition["closing"]["text"]
        self.place_settings(row, ("consent.version", "consent_version"))

    def nudges(self, definition: dict[str, Any], row: Row) -> None:
        nudges: dict[str, Any] = {}
        self.whole(nudges, row, "after_days", "nudge_after_days")
        self.whole(nudges, row, "max_count", "nudge_max_count")
        if nudges:
            definition["nudges"] = nudges
            self.place_settings(row, ("nudges", "nudge_after_days"))

    def whole(self, target: dict[str, Any], row: Row, key: str, column: str) -> None:
        text = row.get(column)
        if not text:
            return
        place = Place("settings", row.number, column)
        if not re.fullmatch(r"\d+", text):
            self.errors.append(XlsformError(place, f"'{text}' is not a whole number"))
            return
        target[key] = int(text)
        self.places[f"nudges.{key}" if column.startswith("nudge") else key] = place

    def place_settings(self, row: Row, *pairs: tuple[str, str]) -> None:
        for path, column in pairs:
            self.places[path] = Place("settings", row.number, column)

    # --- choices ------------------------------------------------------------------------

    def choice_columns(self) -> Columns | None:
        sheet = self.sheets.get("choices")
        if sheet is None:
            return None
        headers = tuple(_ALIASES.get(h.strip().lower(), h) for h in sheet.headers)
        renamed = Sheet(sheet.name, headers, sheet.rows)
        columns = read_columns(renamed, _TRANSLATABLE, self.errors)
        for required in ("list_name", "name", "label"):
            if not columns.has(required):
                self.errors.append(XlsformError(Place("choices", 1, required), "column missing"))
        return columns

    def choice_lists(
        self, columns: Columns, language: str
    ) -> dict[str, list[tuple[Row, dict[str, Any]]]]:
        sheet = self.sheets["choices"]
        aliases = {h: _ALIASES.get(h.strip().lower(), h) for h in sheet.headers}
        lists: dict[str, list[tuple[Row, dict[str, Any]]]] = {}
        seen: dict[tuple[str, str], int] = {}
        for raw in sheet.rows:
            row = Row(raw.number, {aliases.get(k, k): v for k, v in raw.cells.items()})
            try:
                entry = self.choice(row, columns, language, seen)
            except XlsformError as exc:
                self.errors.append(exc)
                continue
            if entry is not None:
                lists.setdefault(row.get("list_name"), []).append((row, entry))
        return lists

    def choice(
        self, row: Row, columns: Columns, language: str, seen: dict[tuple[str, str], int]
    ) -> dict[str, Any] | None:
        if not row.cells:
            return None
        for header in columns.headers:
            if header.name in _CHOICE_MEDIA and row.get(header.text):
                reason = f"column '{header.text}' is not supported"
                raise XlsformError(Place("choices", row.number, header.text), reason)
        list_name, name = row.get("list_name"), row.get("name")
        for column, value in (("list_name", list_name), ("name", name)):
            if not value:
                raise XlsformError(Place("choices", row.number, column), "required")
        if (list_name, name) in seen:
            earlier = seen[(list_name, name)]
            reason = f"duplicate name '{name}' in list '{list_name}' (also row {earlier})"
            raise XlsformError(Place("choices", row.number, "name"), reason)
        seen[(list_name, name)] = row.number
        label = columns.localized(row, "label", language)
        if label is None:
            raise XlsformError(Place("choices", row.number, "label"), "required")
        entry: dict[str, Any] = {"id": name, "label": label}
        for key in ("other", "exclusive"):
            ticked = flag(row.get(key))
            if ticked is None:
                reason = f"'{row.get(key)}' is not yes or no"
                raise XlsformError(Place("choices", row.number, key), reason)
            if ticked:
                entry[key] = True
        return entry


def _order(error: LoadError) -> tuple[int, int, str]:
    sheets = {"settings": 0, "survey": 1, "choices": 2}
    sheet, _, rest = error.field.partition(" row ")
    number = rest.split(":")[0]
    return sheets.get(sheet.split(":")[0], 3), int(number) if number.isdigit() else 0, rest
