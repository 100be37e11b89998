"""The cells of an XLSForm workbook as plain data, and how its column headers are read.

The workbook reader (`forms.workbook`, which does the I/O) hands the translator these
values, so everything after opening the file is pure and testable without a spreadsheet.
Rows keep their spreadsheet numbers (the header is row 1) because every error a
researcher sees names the sheet, the row and the column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from conversations.errors import LoadError

__all__ = [
    "Columns",
    "Header",
    "Place",
    "Row",
    "Sheet",
    "XlsformError",
    "flag",
    "language_code",
    "parse_header",
    "read_columns",
]

_CODE_IN_BRACKETS = re.compile(r"\(([A-Za-z]{2,3})\)\s*$")
_BARE_CODE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Place:
    """Where something is in the workbook: printed as `survey row 14: relevant`."""

    sheet: str
    row: int | None = None
    column: str = ""

    def error(self, origin: str, reason: str) -> LoadError:
        where = self.sheet if self.row is None else f"{self.sheet} row {self.row}"
        field_name = f"{where}: {self.column}" if self.column else where
        return LoadError(origin, None, field_name, reason)


class XlsformError(Exception):
    """One problem found while translating, at a place; collected, never raised to users."""

    def __init__(self, place: Place, reason: str) -> None:
        super().__init__(reason)
        self.place = place
        self.reason = reason


@dataclass(frozen=True)
class Header:
    """`label::English (en)` is Header("label", "en", "label::English (en)")."""

    name: str
    language: str | None
    text: str


@dataclass(frozen=True)
class Row:
    number: int
    cells: Mapping[str, str]
    """Non-empty cells by header text, already stripped and turned into text."""

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...] = field(default=())

    def has_column(self, column: str) -> bool:
        return column in self.headers


def language_code(text: str) -> str | None:
    """`English (en)` → `en`, `fr` → `fr`; anything else names no language code."""
    found = _CODE_IN_BRACKETS.search(text)
    if found:
        return found.group(1).lower()
    bare = text.strip()
    return bare if _BARE_CODE.match(bare) else None


def parse_header(text: str, place: Place, translatable: frozenset[str]) -> Header:
    """Split `column::Language (xx)`; a translation must name its language code.

    Other `a::b` headers (`bind::…`, `media::image`) are kept whole, as unknown columns.
    """
    name, separator, language = text.partition("::")
    base = name.strip().lower()
    if not separator:
        return Header(base, None, text)
    if base not in translatable:
        return Header(text.strip().lower(), None, text)
    code = language_code(language)
    if code is None:
        reason = f"column '{text}' names no language code: write e.g. '{base}::English (en)'"
        raise XlsformError(place, reason)
    return Header(base, code, text)


_TRUE = frozenset({"yes", "true", "true()", "1"})
_FALSE = frozenset({"no", "false", "false()", "0", ""})


def flag(text: str) -> bool | None:
    """XLSForm's yes/no cells (`yes`, `TRUE`, `true()`, …); None when it is neither."""
    folded = text.strip().lower()
    if folded in _TRUE:
        return True
    return False if folded in _FALSE else None


@dataclass(frozen=True)
class Columns:
    """A sheet's headers, parsed once, looked up by base name."""

    headers: tuple[Header, ...]

    def of(self, name: str) -> tuple[Header, ...]:
        return tuple(header for header in self.headers if header.name == name)

    def has(self, name: str) -> bool:
        return any(header.name == name for header in self.headers)

    def languages(self) -> tuple[str, ...]:
        codes = (header.language for header in self.headers if header.language)
        return tuple(dict.fromkeys(code for code in codes if code))

    def localized(self, row: Row, name: str, default: str) -> dict[str, str] | None:
        """The cell of `name` in every language present on this row, or None."""
        texts = {
            header.language or default: row.get(header.text)
            for header in self.of(name)
            if row.get(header.text)
        }
        return texts or None


def read_columns(sheet: Sheet, translatable: frozenset[str], errors: list[XlsformError]) -> Columns:
    """Parse the header row, reporting bad language suffixes and duplicate columns."""
    headers: list[Header] = []
    seen: set[tuple[str, str | None]] = set()
    for text in sheet.headers:
        place = Place(sheet.name, 1, text)
        try:
            header = parse_header(text, place, translatable)
        except XlsformError as exc:
            errors.append(exc)
            continue
        key = (header.name, header.language)
        if key in seen:
            errors.append(XlsformError(place, "the same column appears twice"))
            continue
        seen.add(key)
        headers.append(header)
    return Columns(tuple(headers))
