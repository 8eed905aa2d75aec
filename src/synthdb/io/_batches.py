"""Streams of frames: generation yields rows in batches, and every sink writes them as they come.

A batch is a frame, or a frame :func:`pack`-ed by another process (a Ray worker) into the form
its sink writes, so the rows cross the network once, already formatted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import pandas as pd
import pyarrow as pa

from synthdb.errors import UsageError
from synthdb.io._fastcsv import csv_bytes
from synthdb.io._locations import FileFormat


@dataclass(frozen=True)
class Packed:
    """A batch made ready for one kind of sink: CSV rows as bytes (no header), Parquet rows as
    an Arrow table, database rows as the frame itself. A sink writes it byte for byte as it
    would have written the frame it was packed from."""

    columns: tuple[str, ...]
    rows: int
    csv: tuple[str, bytes] | None = None  # (separator, rows)
    arrow: pa.Table | None = None
    frame: pd.DataFrame | None = None


Batch: TypeAlias = pd.DataFrame | Packed
B = TypeVar("B", bound=Batch)


def pack(frame: pd.DataFrame, fmt: FileFormat | None) -> Packed:
    """Pack ``frame`` for a file of format ``fmt``, or for a database when ``fmt`` is None."""
    columns = tuple(str(name) for name in frame.columns)
    if fmt is None:
        return Packed(columns, len(frame), frame=frame)
    if fmt.kind == "parquet":
        # the conversion write_parquet would make, made here
        return Packed(columns, len(frame), arrow=pa.Table.from_pandas(frame, preserve_index=False))
    body = csv_bytes(frame, separator=fmt.separator, header=False)
    return Packed(columns, len(frame), csv=(fmt.separator, body))


def rows_of(batch: Batch) -> int:
    return batch.rows if isinstance(batch, Packed) else len(batch)


def frame_of(batch: Batch) -> pd.DataFrame:
    """The frame of a batch packed for a database (or of a plain frame)."""
    if isinstance(batch, pd.DataFrame):
        return batch
    if batch.frame is None:
        raise ValueError("this batch was packed for a file, not for a database")
    return batch.frame


def uniform(batches: Iterable[B], location: str) -> Iterator[B]:
    """Pass batches through, insisting that all share the first one's columns.

    Writers take the header (CSV), schema (Parquet) or table definition (SQL) from the first
    batch; a later batch with other columns would silently shift values under the wrong names.
    """
    columns: list[object] | None = None
    for frame in batches:
        names: list[object] = list(frame.columns)
        if columns is None:
            columns = names
        elif names != columns:
            raise ValueError(f"batch columns {names} differ from the first {columns}")
        yield frame
    if columns is None:
        raise UsageError(f"no rows to write to {location}", hint="ask for at least one row")
