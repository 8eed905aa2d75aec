"""Which parent row a foreign key refers to, matching keys as text.

Keys are compared as text (``1``, ``1.0`` and ``"1"`` are the same key) because the same key
can arrive as an integer from one table and as text or a float (a nullable integer column)
from another, depending on the source. Used to train related tables and to score them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def key_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One string per row naming its key (NULL when any part is NULL)."""
    parts = []
    missing = np.zeros(len(frame), dtype=bool)
    for name in columns:
        values = frame[name]
        missing |= values.isna().to_numpy()
        parts.append(values.map(_one_key))
    if not parts:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = (
        parts[0]
        if len(parts) == 1
        else pd.Series(["\x1f".join(row) for row in zip(*parts, strict=True)], index=frame.index)
    )
    return text.where(~missing, None)


def _one_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def parent_positions(
    child: pd.DataFrame,
    columns: Sequence[str],
    parent: pd.DataFrame,
    parent_columns: Sequence[str],
) -> np.ndarray:
    """For each child row, the position of its parent row; -1 for NULL or dangling keys."""
    index = pd.Index(key_text(parent, parent_columns))
    if not index.is_unique:
        index = index.drop_duplicates()  # a broken primary key: the first row wins
    keys = key_text(child, columns)
    positions = index.get_indexer(keys.fillna("\x00null"))
    return np.where(keys.isna().to_numpy(), -1, positions).astype(np.int64)


def children_per_parent(positions: np.ndarray, parents: int) -> np.ndarray:
    """How many child rows point at each parent row (dangling and NULL keys left out)."""
    return np.bincount(positions[positions >= 0], minlength=parents).astype(np.int64)
