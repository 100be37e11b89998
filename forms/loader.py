"""An XLSForm file → `LoadedQuestionnaire`, like a YAML file, with workbook-addressed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from conversations.errors import QuestionnaireError
from conversations.loading import LoadedQuestionnaire, load_definition, load_questionnaire_file
from conversations.xlsform import locate, translate_xlsform
from forms.workbook import read_workbook

__all__ = ["XLSFORM_SUFFIXES", "is_xlsform", "load_any_file", "load_xlsform_file"]

XLSFORM_SUFFIXES: Final = frozenset({".xlsx", ".xlsm"})


def is_xlsform(path: str | Path) -> bool:
    return Path(path).suffix.lower() in XLSFORM_SUFFIXES


def load_any_file(path: str | Path) -> LoadedQuestionnaire:
    """A questionnaire from a YAML file or an XLSForm workbook, by its suffix.

    The dispatch lives here, outside the pure core: `conversations` never imports the
    workbook reader (openpyxl) nor decides where files come from.
    """
    return load_xlsform_file(path) if is_xlsform(path) else load_questionnaire_file(path)


def load_xlsform_file(path: str | Path) -> LoadedQuestionnaire:
    """Read, translate and check a workbook; QuestionnaireError lines name sheet, row, column."""
    origin = str(path)
    translation = translate_xlsform(read_workbook(path), origin)
    try:
        loaded = load_definition(translation.definition, origin)
    except QuestionnaireError as exc:
        errors = [locate(error, translation.places) for error in exc.errors]
        raise QuestionnaireError(list(dict.fromkeys(errors))) from None
    located = (locate(warning, translation.places) for warning in loaded.warnings)
    warnings = (*translation.warnings, *located)
    return LoadedQuestionnaire(
        questionnaire=loaded.questionnaire,
        definition=loaded.definition,
        checksum=loaded.checksum,
        warnings=tuple(dict.fromkeys(warnings)),
    )
