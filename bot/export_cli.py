"""`parley export`: the answers of a questionnaire as CSV or XLSX, with their codebook.

The options are checked before the database is read (one line naming the option, exit
2, no file written). The file appears only once complete (`analytics.export_files`); a
big export shows a progress bar on a terminal. The operator of the CLI is trusted as a
researcher, but names and organisations still need `--identified`, and such an export
is logged (stderr, `parley.export`).
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

if TYPE_CHECKING:  # pandas is imported by `parley export` only, not by every command
    from contextlib import AbstractContextManager

    from analytics.export import ExportRequest, ExportTables, FileFormat, Shape
    from analytics.export_files import Progress as ReportRows
    from bot.settings import Settings

__all__ = ["BIG_EXPORT_ROWS", "export", "write_with_progress"]

BIG_EXPORT_ROWS = 50_000
"""From this many rows, a terminal shows a progress bar while the files are written."""


def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: <questionnaire>-<shape>)."),
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or xlsx (default: from --output, or csv).")
    ] = None,
    shape: Annotated[
        str, typer.Option(help="long (a row per answer) or wide (a row per run).")
    ] = "long",
    questionnaire: Annotated[
        str | None, typer.Option(help="Questionnaire id (default: the only one stored).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Only this questionnaire version.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only answers given from 2027-01-15 (or '… 09:30').")
    ] = None,
    zone: Annotated[str | None, typer.Option(help="Zone of --since (default: setting).")] = None,
    identified: Annotated[
        bool, typer.Option("--identified", help="Add names and organisations (logged).")
    ] = False,
) -> None:
    """Export answers (long or wide, CSV or XLSX) with a codebook; pseudonymous by default."""
    from analytics.export import ExportError, ExportRequest
    from bot.cli import _fail, _settings, _unit_of_work
    from bot.exports import log_identified, parse_format, parse_shape, prepare_export
    from bot.exports import questionnaire_key as stored_key

    settings = _settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    try:
        chosen_shape = parse_shape(shape)
        chosen_format = parse_format(file_format, output)
        since_utc = _since(since, zone or settings.researcher_time_zone)
    except ExportError as error:
        raise _fail([str(error)]) from None
    with _unit_of_work(settings) as uow:
        try:
            key = stored_key(uow.session, questionnaire)
            request = ExportRequest(
                key, chosen_shape, version, since_utc, identified, researcher=True
            )
            path = _output(output, key, chosen_shape, chosen_format)
            with _reading():
                tables = prepare_export(uow.session, request, datetime.now(UTC))
        except ExportError as error:
            raise _fail([str(error)]) from None
        uow.commit()  # the pseudonym key, in the rare database that had none
    log_identified(request, f"cli:{getpass.getuser()}", path)
    try:
        written = write_with_progress(tables, path, chosen_format, _stderr())
    except ExportError as error:
        raise _fail([str(error)]) from None
    _audit(settings, request, written, tables)
    typer.echo(_summary(tables, written, chosen_shape))


def _audit(
    settings: Settings, request: ExportRequest, written: list[Path], tables: ExportTables
) -> None:
    """The export's audit row, once the file exists (a failed export is not "done"), in a
    transaction of its own: none is held open while a big file is written."""
    from bot.cli import _unit_of_work
    from bot.roles import cli_actor
    from storage import audit

    details = {
        "questionnaire": request.questionnaire,
        "shape": request.shape.value,
        "version": request.version,
        "since": request.since,
        "identified": request.identified,
        "files": [path.name for path in written],
        "respondents": tables.respondents,
    }
    with _unit_of_work(settings) as uow:
        audit.record(uow.session, cli_actor(), "export", details, "cli", datetime.now(UTC))
        uow.commit()


def _since(text: str | None, zone_name: str) -> datetime | None:
    from analytics.export import ExportError
    from bot.exports import parse_since
    from bot.timing import TimingError, parse_zone

    if text is None:
        return None
    try:
        zone = parse_zone(zone_name)
    except TimingError as error:
        raise ExportError(f"--zone: {error}") from None
    return parse_since(text, zone)


def _output(output: Path | None, key: str, shape: Shape, file_format: FileFormat) -> Path:
    from analytics.export import ExportError

    path = output or Path(f"{key}-{shape.value}.{file_format.value}")
    if not path.parent.is_dir():
        raise ExportError(f"--output: directory {path.parent} does not exist")
    if path.is_dir():
        raise ExportError(f"--output: {path} is a directory")
    return path


def _stderr() -> Console:
    return Console(stderr=True)


def _reading() -> AbstractContextManager[object]:
    console = _stderr()
    return console.status("reading answers…") if console.is_terminal else nullcontext()


def write_with_progress(
    tables: ExportTables, path: Path, file_format: FileFormat, console: Console
) -> list[Path]:
    """Write the export; a big one shows a progress bar when `console` is a terminal."""
    from analytics.export_files import write_export

    total = len(tables.data) + len(tables.codebook)
    if total < BIG_EXPORT_ROWS or not console.is_terminal:
        return write_export(tables, path, file_format)
    with _progress_bar(console, total, path) as advance:
        return write_export(tables, path, file_format, advance)


@contextmanager
def _progress_bar(console: Console, total: int, path: Path) -> Iterator[ReportRows]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"writing {path.name}", total=total)
        yield lambda rows: progress.advance(task, rows)


def _summary(tables: ExportTables, written: list[Path], shape: Shape) -> str:
    from analytics.export import Shape
    from analytics.export_files import codebook_path

    rows = len(tables.data)
    unit = "rows, one per answer" if shape is Shape.LONG else "rows, one per run"
    where = (
        f"{written[0]} (sheets data and codebook)"
        if len(written) == 1
        else f"{written[0]} and {codebook_path(written[0])}"
    )
    return f"{where}: {rows} {unit}; {tables.respondents} respondents, {tables.answers} answers"
