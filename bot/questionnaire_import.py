"""`parley questionnaire import form.xlsx -o form.yaml`: an XLSForm written out as Parley YAML.

The YAML is the very mapping the workbook was translated into, so `parley questionnaire
validate form.yaml` accepts it and it loads to the same questionnaire: a researcher can
keep editing the form in a spreadsheet, or switch to YAML and keep its names and codes.
Nothing is written when the form has an error (exit code 2, one line per problem).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from conversations.errors import QuestionnaireError

__all__ = ["import_questionnaire", "to_yaml"]

EXIT_INVALID = 2


def import_questionnaire(
    file: Annotated[Path, typer.Argument(help="The XLSForm workbook (.xlsx).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="YAML file to write (default: print).")
    ] = None,
) -> None:
    """Translate an XLSForm (.xlsx) into a Parley questionnaire YAML file."""
    from forms import is_xlsform, load_xlsform_file

    if not is_xlsform(file):
        typer.echo(f"{file}: not an XLSForm workbook (expected .xlsx)", err=True)
        raise typer.Exit(EXIT_INVALID)
    try:
        loaded = load_xlsform_file(file)
    except QuestionnaireError as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_INVALID) from None
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    text = to_yaml(loaded.definition, file)
    if output is None:
        typer.echo(text, nl=False)
        return
    _write(output, text)
    q = loaded.questionnaire
    typer.echo(f"{output}: written from {file}: {q.id} v{q.version}, {len(q.items)} items")


def to_yaml(definition: Any, source: Path) -> str:
    header = f"# Imported from {source.name} by `parley questionnaire import`.\n"
    body = yaml.safe_dump(
        definition, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    return header + body


def _write(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failed write leaves no half file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        typer.echo(f"{path}: cannot write: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
