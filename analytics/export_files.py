"""Writing an export to disk: complete files or none, with progress for big ones.

Every file is written under a temporary name in its own directory (so the final rename
stays on one file system and is atomic), flushed to disk, and renamed only when complete.
Anything that interrupts the writing, an exception or Ctrl-C (`KeyboardInterrupt`)
alike, deletes the temporary file: a reader never sees a half-written export, and a
failed export leaves nothing behind. A CSV export is two files; the codebook is renamed
into place first, so a data file never exists without its codebook.

CSV is UTF-8 as typed (no spreadsheet escaping: it is for R, pandas, SPSS…). In XLSX
every text cell is stored as text, never as a formula, so an answer typed as
`=HYPERLINK(…)` stays a string; characters XLSX cannot hold (control characters) are
dropped there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from analytics.csv_text import csv_header, csv_rows, encodable
from analytics.export import ExportError, ExportTables, FileFormat

__all__ = [
    "CHUNK_ROWS",
    "XLSX_MAX_COLUMNS",
    "XLSX_MAX_ROWS",
    "Progress",
    "codebook_path",
    "write_export",
]

CHUNK_ROWS = 50_000
"""Rows written between two progress reports."""

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
"""What one Excel sheet holds, header row included."""

Progress = Callable[[int], None]
"""Told how many more rows were written; may raise to stop the export (nothing is kept)."""


def codebook_path(data_path: Path) -> Path:
    """Where a CSV export's codebook goes: `answers.csv` → `answers_codebook.csv`."""
    return data_path.with_name(f"{data_path.stem}_codebook{data_path.suffix}")


def write_export(
    tables: ExportTables, path: Path, file_format: FileFormat, progress: Progress | None = None
) -> list[Path]:
    """Write the export (XLSX: sheets `data` and `codebook`; CSV: two files); the paths.

    Raises `ExportError` before writing anything if the data does not fit an XLSX sheet.
    """
    report = progress or (lambda rows: None)
    if file_format is FileFormat.XLSX:
        _check_fits_a_sheet(tables.data)
        with _atomic(path) as temporary:
            _write_xlsx(tables, temporary, report)
        return [path]
    codebook = codebook_path(path)
    with _atomic(path) as data_file, _atomic(codebook) as codebook_file:
        _write_csv(tables.data, data_file, report)
        _write_csv(tables.codebook, codebook_file, report)
    return [path, codebook]


def _check_fits_a_sheet(frame: pd.DataFrame) -> None:
    rows, columns = len(frame) + 1, frame.shape[1]
    if rows > XLSX_MAX_ROWS or columns > XLSX_MAX_COLUMNS:
        raise ExportError(
            f"--format: an XLSX sheet holds {XLSX_MAX_ROWS - 1:,} rows and {XLSX_MAX_COLUMNS:,} "
            f"columns; this export has {rows - 1:,} rows and {columns:,} columns (use csv)"
        )


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it if the block completes, else removed."""
    temporary = _new_temporary(path)
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _new_temporary(path: Path) -> Path:
    """An empty new file `.<name>.<random>.part` beside `path`, with the permissions any new
    file gets (umask applies, unlike `tempfile.mkstemp`'s private 0600)."""
    for _ in range(10):
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name beside {path}")


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start : start + CHUNK_ROWS]


def _write_csv(frame: pd.DataFrame, path: Path, report: Progress) -> None:
    """The frame as `to_csv` writes it; by `analytics.csv_text` when it can (faster)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if encodable(frame):
            out.write(csv_header(frame))
            for rows, text in csv_rows(frame, CHUNK_ROWS):
                out.write(text)
                report(rows)
            return
        frame.iloc[:0].to_csv(out, index=False)
        for chunk in _chunks(frame):
            chunk.to_csv(out, index=False, header=False)
            report(len(chunk))


def _write_xlsx(tables: ExportTables, path: Path, report: Progress) -> None:
    book = Workbook(write_only=True)
    try:
        for title, frame in (("data", tables.data), ("codebook", tables.codebook)):
            sheet = book.create_sheet(title)
            sheet.append(list(frame.columns))
            for chunk in _chunks(frame):
                for row in chunk.itertuples(index=False):
                    sheet.append([_cell(sheet, value) for value in row])
                report(len(chunk))
    except BaseException:
        _discard(book)
        raise
    book.save(path)


def _discard(book: Workbook) -> None:
    """Close and delete the sheets' temporary files of an abandoned write-only workbook.

    openpyxl streams each sheet to a file in the temp directory and removes it on save
    (or at exit); a long-running process must not wait for exit. Private attributes,
    hence best effort.
    """
    for sheet in book.worksheets:
        writer = getattr(sheet, "_writer", None)
        with contextlib.suppress(Exception):
            rows = getattr(sheet, "_rows", None)
            if rows is not None:
                rows.close()
            if writer is not None:
                writer.close()
                writer.cleanup()


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A value as openpyxl should store it: text always as text, numbers as numbers."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        return cell
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value
