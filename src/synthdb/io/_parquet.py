"""Parquet files, through pyarrow so the column types the file declares survive."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdb.errors import InputError
from synthdb.io._batches import Batch, Packed, rows_of
from synthdb.io._locations import one_line


def read_parquet(path: Path, *, name: str) -> pd.DataFrame:
    try:
        # Checked on the schema: pyarrow refuses to read a file with duplicate names at all.
        duplicates = [
            column for column, count in Counter(pq.read_schema(path).names).items() if count > 1
        ]
        if duplicates:
            raise InputError(
                f"{name} has duplicate column names: {', '.join(duplicates)}",
                hint="rename the columns so each name is unique",
            )
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{name} is not a readable Parquet file ({one_line(exc)})",
            hint="it may be truncated or another format; export it again",
        ) from exc
    # self_destruct frees each Arrow column as soon as it is converted, halving peak memory.
    return table.to_pandas(split_blocks=True, self_destruct=True)


def parquet_rows(path: Path, *, name: str) -> int:
    """The file's row count, read from its footer."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{name} is not a readable Parquet file ({one_line(exc)})",
            hint="it may be truncated or another format; export it again",
        ) from exc


def read_parquet_chunks(path: Path, *, name: str, rows: int) -> Iterator[pd.DataFrame]:
    """Frames of at most ``rows`` rows; pyarrow reads one batch at a time."""
    try:
        reader = pq.ParquetFile(path)
        batches = reader.iter_batches(batch_size=rows)
        empty = True
        for batch in batches:
            empty = False
            yield batch.to_pandas(split_blocks=True, self_destruct=True)
        if empty:
            yield reader.schema_arrow.empty_table().to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{name} is not a readable Parquet file ({one_line(exc)})",
            hint="it may be truncated or another format; export it again",
        ) from exc


def write_parquet(batches: Iterable[Batch], path: Path) -> int:
    """Stream batches into one file; the first batch fixes the schema (and pandas dtypes)."""
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for frame in batches:
            if isinstance(frame, Packed):
                if frame.arrow is None:
                    raise ValueError("this batch was not packed for Parquet")
                table = frame.arrow
            else:
                table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            elif not table.schema.equals(writer.schema, check_metadata=False):
                # e.g. a column that is all NULL in this batch was inferred as Arrow's null type
                table = table.cast(writer.schema)
            writer.write_table(table)
            rows += rows_of(frame)
    finally:
        if writer is not None:
            writer.close()
    return rows
