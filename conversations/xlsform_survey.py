"""The survey sheet → Parley sections: groups become sections, rows become items.

Every definition field written here is recorded with the workbook place it came from
(`Form.places`), so an error the questionnaire loader finds later in the built mapping
is still reported as `survey row 14: relevant: …`. Items keep the XLSForm `name` as
their id and choice names as choice ids, so exports use the form's own codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from conversations.xlsform_conditions import Kind, translate
from conversations.xlsform_expressions import Expr, ExpressionError, parse_expression
from conversations.xlsform_items import ItemBuilder, ItemRow
from conversations.xlsform_sheets import Columns, Place, Row, Sheet, XlsformError

__all__ = ["SURVEY_COLUMNS", "Form", "translate_survey"]

SURVEY_COLUMNS: Final = frozenset(
    {
        "type", "name", "label", "hint", "required", "required_message", "relevant",
        "constraint", "constraint_message", "choice_filter", "default", "appearance",
        "parameters", "quotable", "segment", "allow_skip", "max_length", "unit",
        "min_label", "max_label",
    }
)  # fmt: skip
"""Columns Parley reads: XLSForm's own, then Parley's (quotable … max_label)."""

_REFUSED_COLUMNS: Final = frozenset(
    {
        "calculation", "read_only", "readonly", "repeat_count", "jr:count", "trigger",
        "image", "big-image", "audio", "video", "guidance_hint", "autoplay", "body",
        "save_to", "media::image", "media::audio", "media::video",
    }
)  # fmt: skip
"""XLSForm columns with a meaning Parley cannot honour: a filled cell refuses the form."""

_METADATA: Final = frozenset(
    {
        "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber",
        "username", "email", "audit", "start-geopoint", "background-audio",
    }
)  # fmt: skip
"""Values ODK collects by itself; Parley records its own times and ignores these rows."""

_GROUP_COLUMNS: Final = frozenset({"type", "name", "label", "hint", "relevant", "appearance"})


@dataclass
class Form:
    """What the survey sheet gives: sections (definition mappings) and where each came from."""

    sections: list[dict[str, Any]] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    errors: list[XlsformError] = field(default_factory=list)
    warnings: list[XlsformError] = field(default_factory=list)


@dataclass
class _Group:
    row: Row
    section: dict[str, Any] | None
    relevant: Expr | None


def translate_survey(
    sheet: Sheet,
    columns: Columns,
    choice_lists: Mapping[str, list[tuple[Row, dict[str, Any]]]],
    default_language: str,
    form_title: dict[str, str],
) -> Form:
    walker = _Walker(sheet, columns, choice_lists, default_language, form_title)
    walker.walk()
    return walker.form


class _Walker:
    def __init__(
        self,
        sheet: Sheet,
        columns: Columns,
        choice_lists: Mapping[str, list[tuple[Row, dict[str, Any]]]],
        default_language: str,
        form_title: dict[str, str],
    ) -> None:
        self.sheet = sheet
        self.columns = columns
        self.language = default_language
        self.form_title = form_title
        self.form = Form()
        self.kinds: dict[str, Kind] = {}
        self.items = ItemBuilder(columns, choice_lists, default_language, self.kinds)
        self.group: _Group | None = None
        self.loose: dict[str, Any] | None = None
        """The section collecting items outside any group, if one is open."""

    def place(self, row: Row, column: str) -> Place:
        return Place(self.sheet.name, row.number, column)

    def walk(self) -> None:
        self.check_columns()
        for row in self.sheet.rows:
            try:
                self.row(row)
            except XlsformError as exc:
                self.form.errors.append(exc)
        if self.group is not None:
            reason = "begin_group has no end_group"
            self.form.errors.append(XlsformError(self.place(self.group.row, "type"), reason))

    def check_columns(self) -> None:
        for required in ("type", "name", "label"):
            if not self.columns.has(required):
                place = Place(self.sheet.name, 1, required)
                self.form.errors.append(XlsformError(place, "column missing"))
        for header in self.columns.headers:
            if header.name not in SURVEY_COLUMNS and header.name not in _REFUSED_COLUMNS:
                place = Place(self.sheet.name, 1, header.text)
                reason = "not an XLSForm column Parley reads; ignored"
                self.form.warnings.append(XlsformError(place, reason))

    def row(self, row: Row) -> None:
        words = _type_words(row.get("type"))
        if not words:
            if any(row.cells.values()):
                raise XlsformError(self.place(row, "type"), "required")
            return
        self.refuse_columns(row)
        if words[0] == "begin_group":
            self.begin_group(row)
        elif words[0] == "end_group":
            self.end_group(row)
        elif words[0] in _METADATA:
            reason = f"'{words[0]}' is collected by ODK itself; Parley ignores this row"
            self.form.warnings.append(XlsformError(self.place(row, "type"), reason))
        else:
            self.item(row, words)

    def refuse_columns(self, row: Row) -> None:
        for header in self.columns.headers:
            if header.name in _REFUSED_COLUMNS and row.get(header.text):
                reason = f"column '{header.text}' is not supported"
                raise XlsformError(self.place(row, header.text), reason)

    # --- groups -------------------------------------------------------------------------

    def begin_group(self, row: Row) -> None:
        if self.group is not None:
            reason = "a group inside a group is not supported (Parley sections do not nest)"
            raise XlsformError(self.place(row, "type"), reason)
        for header in self.columns.headers:
            if header.name not in _GROUP_COLUMNS and row.get(header.text):
                reason = f"column '{header.text}' is not supported on a group"
                raise XlsformError(self.place(row, header.text), reason)
        relevant = self.condition(row, "relevant") if row.get("relevant") else None
        title = self.columns.localized(row, "label", self.language)
        intro = self.columns.localized(row, "hint", self.language)
        section = self.new_section(row, row.get("name"), title or dict(self.form_title), intro)
        self.group = _Group(row, section, relevant)
        self.loose = None

    def end_group(self, row: Row) -> None:
        if self.group is None:
            raise XlsformError(self.place(row, "type"), "end_group without begin_group")
        self.group = None

    def new_section(
        self, row: Row, name: str, title: dict[str, str], intro: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A group's section, or one for rows outside groups (titled like the form)."""
        path = f"sections[{len(self.form.sections)}]"
        section: dict[str, Any] = {"id": name, "title": title, "items": []}
        if intro:
            section["intro"] = intro
        self.form.sections.append(section)
        self.form.places[path] = self.place(row, "name")
        for key, column in (("id", "name"), ("title", "label"), ("intro", "hint")):
            self.form.places[f"{path}.{key}"] = self.place(row, column)
        self.form.places[f"{path}.items"] = self.place(row, "type")
        return section

    def condition(self, row: Row, column: str) -> Expr:
        try:
            return translate(parse_expression(row.get(column)), self.kinds, "")
        except ExpressionError as exc:
            raise XlsformError(self.place(row, column), exc.reason) from None

    # --- items --------------------------------------------------------------------------

    def item(self, row: Row, words: list[str]) -> None:
        section = self.section_for(row)
        path = f"sections[{len(self.form.sections) - 1}].items[{len(section['items'])}]"
        group_relevant = self.group.relevant if self.group else None
        built = self.items.build(ItemRow(row, self.sheet.name, words), group_relevant)
        section["items"].append(built.definition)
        for key, place in built.places.items():
            self.form.places[f"{path}{key}"] = place
        self.form.warnings.extend(built.warnings)

    def section_for(self, row: Row) -> dict[str, Any]:
        if self.group is not None and self.group.section is not None:
            return self.group.section
        if self.loose is None:
            name = f"part_{len(self.form.sections) + 1}"
            self.loose = self.new_section(row, name, dict(self.form_title))
            path = f"sections[{len(self.form.sections) - 1}]"
            self.form.places[f"{path}.title"] = Place("settings", None, "form_title")
        return self.loose


_SPACED: Final = (
    ("begin group", "begin_group"),
    ("end group", "end_group"),
    ("select one ", "select_one "),
    ("select multiple ", "select_multiple "),
)


def _type_words(text: str) -> list[str]:
    """`select one  list` and `Begin Group` are spelled the XLSForm way before reading."""
    folded = " ".join(text.split())
    lowered = folded.lower()
    for spaced, joined in _SPACED:
        if lowered.startswith(spaced):
            folded = joined + folded[len(spaced) :]
            lowered = folded.lower()
    words = folded.split()
    return [words[0].lower(), *words[1:]] if words else []
