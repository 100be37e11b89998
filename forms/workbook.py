"""Read an .xlsx workbook into plain cells (`conversations.xlsform_sheets.Sheet`).

openpyxl in read-only mode streams rows without loading styles or formulas' results
into memory twice. Cells become text the way pyxform does it (whole floats lose their
`.0`, booleans become `TRUE`/`FALSE`, dates ISO), empty rows keep their numbers so
errors point at the right line, and reading stops after a long run of empty rows
(a stray formatted cell at row 1,048,576 is not a form).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Final

from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

from conversations.errors import LoadError, QuestionnaireError
from conversations.xlsform_sheets import Row, Sheet

__all__ = ["read_workbook"]

_EMPTY_RUN: Final = 60
"""Consecutive empty rows after which a sheet is taken to have ended (pyxform's rule)."""
_MAX_COLUMNS: Final = 1000


def read_workbook(path: str | Path) -> dict[str, Sheet]:
    """Every sheet's header row and data rows; QuestionnaireError when it is no workbook."""
    origin = str(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        reason = f"cannot read the workbook ({_why(exc)}): is it an .xlsx file?"
        raise QuestionnaireError([LoadError(origin, None, "", reason)]) from exc
    try:
        return {
            name: _sheet(name, book[name].iter_rows(values_only=True)) for name in book.sheetnames
        }
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        reason = f"cannot read the workbook ({_why(exc)})"
        raise QuestionnaireError([LoadError(origin, None, "", reason)]) from exc
    finally:
        book.close()


def _sheet(name: str, rows: Iterator[tuple[object, ...]]) -> Sheet:
    first = next(rows, ())
    headers = [_text(value) for value in first[:_MAX_COLUMNS]]
    while headers and not headers[-1]:
        headers.pop()
    return Sheet(name, tuple(headers), tuple(_rows(headers, rows)))


def _rows(headers: list[str], rows: Iterable[tuple[object, ...]]) -> Iterator[Row]:
    pending: list[Row] = []
    for number, values in enumerate(rows, start=2):
        cells = {
            header: text
            for header, value in zip(headers, values, strict=False)
            if header and (text := _text(value))
        }
        pending.append(Row(number, cells))
        if cells:
            yield from pending
            pending.clear()
        elif len(pending) >= _EMPTY_RUN:
            return


def _text(value: object) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return (
        " ".join(str(value).replace("\u00a0", " ").split())
        if "\n" not in str(value)
        else str(value).strip()
    )


def _why(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
