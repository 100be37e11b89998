"""XLSForm workbooks (ODK / KoboToolbox) as Parley questionnaires.

`workbook` reads the file (openpyxl, read-only: the I/O); the translation into a
questionnaire is pure and lives in `conversations.xlsform`.
"""

from forms.loader import XLSFORM_SUFFIXES, is_xlsform, load_any_file, load_xlsform_file

__all__ = ["XLSFORM_SUFFIXES", "is_xlsform", "load_any_file", "load_xlsform_file"]
