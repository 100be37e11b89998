"""Frames as CSV text, the bytes `DataFrame.to_csv(index=False)` writes, at twice its speed.

Why not `to_csv`: a million-answer long export is 18 million fields, and pandas (like
the `csv` module it drives) decides quoting field by field. Here a categorical column
(most of the export's: respondent, item, state, versions...) is quoted once per category
and taken by code; other values once per distinct object (`analytics.distinct`); each
row is one `",".join`.

The dialect is `to_csv`'s default: comma, `"` doubled inside quotes, a field quoted only
when it holds a comma, a quote or a line break, missing values empty, lines ending in
`\n`. One deliberate difference: a field holding a carriage return alone is quoted too
(the `csv` module quotes only its line terminator's characters), so no reader takes it
for the end of a row.

A frame with a column of another kind (floats, times: their text is pandas' formatting)
is written by `to_csv` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from analytics.distinct import map_distinct

__all__ = ["csv_field", "csv_header", "csv_rows", "encodable"]


def encodable(frame: pd.DataFrame) -> bool:
    """Whether every column is text, categorical, integer or boolean (see the docstring),
    and there are two or more (`to_csv` quotes an empty field alone on its line)."""
    return len(frame.columns) > 1 and all(_encodable(dtype) for dtype in frame.dtypes)


def csv_header(frame: pd.DataFrame) -> str:
    return ",".join(csv_field(name) for name in frame.columns) + "\n"


def csv_rows(frame: pd.DataFrame, chunk_rows: int) -> Iterator[tuple[int, str]]:
    """The frame's rows as CSV text, `chunk_rows` at a time: (rows, text) per chunk.

    A categorical's categories are quoted once for the whole frame, not once per chunk."""
    columns = [_Column(frame[name]) for name in frame.columns]
    for start in range(0, len(frame), chunk_rows):
        stop = min(start + chunk_rows, len(frame))
        fields = [column.fields(start, stop) for column in columns]
        yield stop - start, "\n".join(map(",".join, zip(*fields, strict=True))) + "\n"


def csv_field(value: Any) -> str:
    """One value as a CSV field: None as empty, quoted when it must be."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class _Column:
    """One column's fields, a slice of rows at a time."""

    def __init__(self, column: pd.Series) -> None:
        self._quoted: np.ndarray | None = None
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = [csv_field(c) for c in column.cat.categories]
            self._quoted = np.array([*categories, ""], dtype=object)  # code -1: the last
            self._values = column.cat.codes.to_numpy()
        else:
            self._values = column.to_numpy(dtype=object, na_value=None)

    def fields(self, start: int, stop: int) -> np.ndarray:
        if self._quoted is not None:
            return self._quoted[self._values[start:stop]]  # type: ignore[no-any-return]
        return map_distinct(csv_field, self._values[start:stop])


def _encodable(dtype: Any) -> bool:
    if isinstance(dtype, pd.CategoricalDtype):
        return _encodable(dtype.categories.dtype)
    types = pd.api.types
    return (
        types.is_object_dtype(dtype) or types.is_integer_dtype(dtype) or types.is_bool_dtype(dtype)
    )
