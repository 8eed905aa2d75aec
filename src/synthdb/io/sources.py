"""Where training data comes from.

Every source is a set of named tables, even a single file (its table is named after the file),
so that a folder of files or a whole database can later be read through the same two calls.
Problems the user can fix surface as one-line :class:`~synthdb.errors.InputError` at the moment
the source is opened or read, never as a pandas or driver traceback.

Column types: CSV columns are always text (Python ``str``, NULL as ``NaN``, pandas' default string
dtype) so the schema step decides types in one place; Parquet and databases keep the types they
declare.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pandas as pd

from synthdb.errors import InputError, UsageError
from synthdb.io._csv import count_csv_rows, read_csv, read_csv_chunks
from synthdb.io._locations import (
    SUPPORTED,
    FileFormat,
    file_format,
    is_url,
    table_name,
    unsupported,
)
from synthdb.io._parquet import parquet_rows, read_parquet, read_parquet_chunks

#: Rows per chunk for chunked reads (the SQL reader's figure; kept here so that reading a file
#: does not import SQLAlchemy).
READ_CHUNK_ROWS = 50_000
#: A CSV file this large on disk (a quarter of it compressed) has its rows counted before it
#: is read, so that one too large for memory is streamed as a Parquet file is. Below it the
#: file is read whole as before: a table of more than a million rows takes more bytes than
#: this unless it has a column or two, and then it fits in memory anyway.
CSV_COUNT_BYTES = 16 * 2**20

__all__ = ["Source", "open_source", "read_table"]


class Source(Protocol):
    """Named tables that can be read one at a time."""

    location: str
    """Where the data is, fit for messages: a database URL never shows its password."""

    def tables(self) -> list[str]: ...

    def read(self, table: str | None = None) -> pd.DataFrame:
        """The whole table; ``None`` means the table chosen at open time, or the only one."""
        ...

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """The table in frames of at most ``rows`` rows, so memory holds one chunk, not the
        table; at least one frame, empty for an empty table."""
        ...


class FileSource:
    """One file holding one table, named after the file (``adult.csv.gz`` -> ``adult``).

    Any table name selects that table: the CLI's ``--table`` may be naming the output table
    (``run data.csv --table people -o sqlite:///out.db``), and a file has nothing else to pick.
    """

    def __init__(self, path: Path, fmt: FileFormat, *, location: str, encoding: str) -> None:
        self.location = location
        self._path = path
        self._format = fmt
        self._encoding = encoding

    def tables(self) -> list[str]:
        return [table_name(self._path)]

    def read(self, table: str | None = None) -> pd.DataFrame:
        if self._path.stat().st_size == 0:
            raise InputError(
                f"{self.location} is empty (0 bytes)", hint="export the data to it again"
            )
        if self._format.kind == "parquet":
            return read_parquet(self._path, name=self.location)
        return read_csv(self._path, self._format, encoding=self._encoding, name=self.location)

    def count_rows(self, table: str | None = None) -> int | None:
        """The row count of a Parquet file, from its footer; of a text file of at least
        :data:`CSV_COUNT_BYTES`, from a pass over it; None for a smaller text file (read
        whole: counting would cost a pass for nothing)."""
        size = self._path.stat().st_size
        if size == 0:
            return None
        if self._format.kind == "parquet":
            return parquet_rows(self._path, name=self.location)
        scale = 4 if self._format.compression is not None else 1
        if size * scale < CSV_COUNT_BYTES:
            return None
        return count_csv_rows(self._path, self._format, encoding=self._encoding, name=self.location)

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        size = rows if rows is not None else READ_CHUNK_ROWS
        if size < 1:
            raise UsageError(f"chunks need at least 1 row (got {size})")
        if self._path.stat().st_size == 0:
            raise InputError(
                f"{self.location} is empty (0 bytes)", hint="export the data to it again"
            )
        if self._format.kind == "parquet":
            return read_parquet_chunks(self._path, name=self.location, rows=size)
        return read_csv_chunks(
            self._path, self._format, encoding=self._encoding, name=self.location, rows=size
        )


def open_source(
    location: str | Path, *, table: str | None = None, encoding: str = "utf-8"
) -> Source:
    """Check that ``location`` can be read and say which tables it holds, without reading them.

    ``encoding`` applies to CSV files only. For a database, ``table`` is checked now and becomes
    the default for :meth:`Source.read`; a file's one table is read whatever name is given.
    """
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise UsageError(
            f"unknown encoding '{encoding}'", hint="use a name such as utf-8, latin-1 or cp1252"
        ) from exc
    if is_url(location):
        from synthdb.io._sql import SqlSource, parse_url  # SQLAlchemy only when a URL is used

        return SqlSource(parse_url(str(location), InputError), table=table)
    path = Path(location)
    shown = str(location)
    if path.is_dir():
        raise InputError(
            f"{shown} is a folder",
            hint="point to one file; folders of tables are not supported yet",
        )
    if not path.exists():
        start = "" if path.is_absolute() else f"; relative paths start at {Path.cwd()}"
        raise InputError(f"{shown} does not exist", hint=f"check the path{start}")
    fmt = file_format(path)
    if fmt is None:
        raise InputError(unsupported(path, shown), hint=SUPPORTED)
    return FileSource(path, fmt, location=shown, encoding=encoding)


def read_table(
    location: str | Path, table: str | None = None, *, encoding: str = "utf-8"
) -> pd.DataFrame:
    """Read the one table to train on; a table without rows is an error since nothing can be
    learned from it (use :func:`open_source` to read possibly empty tables)."""
    source = open_source(location, table=table, encoding=encoding)
    frame = source.read(table)
    if len(frame) == 0:
        where = (
            f"table '{table}' in {source.location}"
            if table and is_url(location)
            else source.location
        )
        raise InputError(f"{where} has no rows", hint="point to data that has at least one row")
    return frame
