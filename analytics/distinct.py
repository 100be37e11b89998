"""Apply a function once per distinct object of a column, not once per row.

The long frame's values are shared: rows with the same stored JSON hold the same Python
object (`analytics.frames`), and categoricals taken to objects repeat their categories.
A per-row Python call over a million rows costs a second; a call per distinct object
costs what there are distinct objects. Objects are told apart by identity (`id`), never
by equality, so `1`, `1.0` and `True` stay three values with three results, and
unhashable values (lists) work too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["map_distinct"]


def map_distinct(function: Callable[[Any], Any], values: np.ndarray) -> np.ndarray:
    """`[function(v) for v in values]` as an object array, `function` called once per
    distinct object (it must depend on the object only)."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    if values.dtype != object:  # numbers would be new objects at each access: hold them
        values = values.astype(object)
    identities = np.fromiter(map(id, values), dtype=np.int64, count=len(values))
    codes, _ = pd.factorize(identities)  # in order of first appearance
    _, first = np.unique(codes, return_index=True)
    results = np.empty(len(first), dtype=object)
    for code, position in enumerate(first):
        results[code] = function(values[position])  # one by one: a list stays one element
    return results[codes]  # type: ignore[no-any-return]
