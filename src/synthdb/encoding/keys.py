"""New unique keys in the source's format; keys are identifiers, so they are never learned."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from synthdb.schema.table import ColumnSchema


def generate_keys(
    column: ColumnSchema, start: int, count: int, rng: np.random.Generator
) -> pd.Series:
    """Keys for rows ``start .. start + count``: unique across all batches of one run."""
    index = np.arange(start, start + count, dtype=np.int64)
    if column.key_format == "integer":
        first = int(column.minimum) if column.minimum is not None else 1
        numbers = index + first
        if column.storage == "text":
            return pd.Series(numbers.astype(str), dtype=object)
        return pd.Series(numbers)
    if column.key_format == "uuid":
        raw = rng.integers(0, 2**63, size=(count, 2), dtype=np.int64, endpoint=False)
        return pd.Series(
            [str(uuid.UUID(int=(int(a) << 64 | int(b)), version=4)) for a, b in raw], dtype=object
        )
    width = max(len(str(start + count)), 8)
    return pd.Series([f"{column.name}_{i:0{width}d}" for i in index], dtype=object)
