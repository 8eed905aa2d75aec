"""Streams of frames: generation yields rows in batches, and every sink writes them as they come."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd

from synthdb.errors import UsageError


def uniform(batches: Iterable[pd.DataFrame], location: str) -> Iterator[pd.DataFrame]:
    """Pass batches through, insisting that all share the first one's columns.

    Writers take the header (CSV), schema (Parquet) or table definition (SQL) from the first
    batch; a later batch with other columns would silently shift values under the wrong names.
    """
    columns: list[object] | None = None
    for frame in batches:
        if columns is None:
            columns = list(frame.columns)
        elif list(frame.columns) != columns:
            raise ValueError(f"batch columns {list(frame.columns)} differ from the first {columns}")
        yield frame
    if columns is None:
        raise UsageError(f"no rows to write to {location}", hint="ask for at least one row")
