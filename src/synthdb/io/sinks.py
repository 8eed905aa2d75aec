"""Where synthetic data goes.

A run may train for hours before it writes, so :func:`check_output` (also run by
:func:`open_sink`) finds a missing folder or an existing output up front. Writes are all or
nothing: a file appears under its final name only once complete, a database table only when its
transaction commits, so an interrupted run never leaves a half-written output that looks finished.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pandas as pd

from synthdb.errors import OutputError, UsageError
from synthdb.io._batches import Batch, Packed, pack, uniform
from synthdb.io._csv import write_csv, zstd_available
from synthdb.io._fastcsv import preformat
from synthdb.io._locations import (
    SUPPORTED,
    FileFormat,
    file_format,
    is_url,
    one_line,
    table_name,
    unsupported,
)
from synthdb.io._parquet import write_parquet

__all__ = [
    "Batch",
    "Packed",
    "Sink",
    "atomic_path",
    "check_output",
    "open_sink",
    "pack",
    "write_batches",
    "write_table",
]


class Sink(Protocol):
    """Accepts tables by name; a file holds one table, a database many."""

    location: str
    """Where the data goes, fit for messages: a database URL never shows its password."""

    packing: FileFormat | None
    """What another process :func:`pack`-s batches for, to be written here: the file's
    format, or None for a database."""

    def write(self, table: str, frame: pd.DataFrame) -> None: ...

    def write_batches(self, table: str, batches: Iterable[Batch]) -> int:
        """Write a table that arrives in pieces (frames, or batches packed for this sink), all
        or nothing; return the number of rows."""
        ...

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Work on a batch that may run on any thread before ``write_batches`` gets it
        (CSV files format their rows here); returns the batch."""
        ...


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; publish it as ``path`` only if the body succeeds.

    Beside, not in /tmp, so the final rename stays on one filesystem and is atomic. The temporary
    name starts with a dot so file browsers and globs like ``*.csv`` skip it while it grows.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:  # Ctrl-C included: nothing half-written may stay behind
        temporary.unlink(missing_ok=True)
        raise


def check_output(
    location: str | Path, *, table: str | None = None, overwrite: bool = False
) -> None:
    """Raise OutputError now if writing to ``location`` would fail at the end of a long run.

    For a database it connects, and with ``table`` checks that the table is absent, empty, or
    ``overwrite`` is set. For a file, ``table`` says a table is what will be written, so the
    suffix must name a format we write; without it any file passes (model files use this too).
    """
    if is_url(location):
        from synthdb.io._sql import check_sql_output, parse_url  # SQLAlchemy only for URLs

        check_sql_output(parse_url(str(location), OutputError), table=table, overwrite=overwrite)
        return
    path = Path(location)
    shown = str(location)
    if table is not None:
        _check_compression(_file_format(path, shown), shown)
    _check_file_output(path, shown, overwrite=overwrite)


def open_sink(location: str | Path, *, table: str | None = None, overwrite: bool = False) -> Sink:
    """Check ``location`` (see :func:`check_output`) and return a sink for it."""
    check_output(location, table=table, overwrite=overwrite)
    if is_url(location):
        from synthdb.io._sql import SqlSink, parse_url

        return SqlSink(parse_url(str(location), OutputError), overwrite=overwrite)
    path = Path(location)
    fmt = _file_format(path, str(location))
    _check_compression(fmt, str(location))
    return FileSink(path, fmt, location=str(location), overwrite=overwrite)


def write_table(
    frame: pd.DataFrame,
    location: str | Path,
    *,
    table: str | None = None,
    overwrite: bool = False,
) -> None:
    """Write one table; a database needs ``table``, a file is named by its path alone."""
    write_batches([frame], location, table=table, overwrite=overwrite)


def write_batches(
    batches: Iterable[pd.DataFrame],
    location: str | Path,
    *,
    table: str | None = None,
    overwrite: bool = False,
) -> int:
    """Write a table generated in batches as they come; return the number of rows written.

    All batches must have the same columns. If the iterator raises (or Ctrl-C arrives) part-way,
    nothing is left behind, exactly as for a failed write.
    """
    if table is None and is_url(location):
        raise UsageError(
            f"writing to {_display(str(location))} needs a table name",
            hint="pass --table NAME",
        )
    sink = open_sink(location, table=table, overwrite=overwrite)
    return sink.write_batches(table if table is not None else table_name(Path(location)), batches)


class FileSink:
    """One file, one table."""

    def __init__(self, path: Path, fmt: FileFormat, *, location: str, overwrite: bool) -> None:
        self.location = location
        self.packing: FileFormat | None = fmt
        self._path = path
        self._format = fmt
        self._overwrite = overwrite
        self._written: str | None = None

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.write_batches(table, [frame])

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self._format.kind == "parquet":
            return frame
        return preformat(frame, self._format.separator)

    def write_batches(self, table: str, batches: Iterable[Batch]) -> int:
        if self._written is not None and table != self._written:
            raise UsageError(
                f"{self.location} holds one table and already has '{self._written}'",
                hint="write each table to its own file",
            )
        # Again, right before writing: the file may have appeared since open_sink checked.
        _check_file_output(self._path, self.location, overwrite=self._overwrite)
        checked = uniform(batches, self.location)
        try:
            with atomic_path(self._path) as temporary:
                if self._format.kind == "parquet":
                    rows = write_parquet(checked, temporary)
                else:
                    rows = write_csv(checked, temporary, self._format)
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.location}: {exc.strerror or one_line(exc)}",
                hint="check free disk space and the folder's permissions",
            ) from exc
        self._written = table
        return rows


def _file_format(path: Path, location: str) -> FileFormat:
    fmt = file_format(path)
    if fmt is None:
        raise OutputError(unsupported(path, location), hint=SUPPORTED)
    return fmt


def _check_compression(fmt: FileFormat, location: str) -> None:
    if fmt.compression == "zstd" and not zstd_available():
        raise OutputError(
            f"writing {location} needs the zstandard package", hint="pip install zstandard"
        )


def _check_file_output(path: Path, location: str, *, overwrite: bool) -> None:
    parent = path.parent
    if path.is_dir():
        raise OutputError(f"{location} is a folder", hint="name a file, such as out.csv")
    if not parent.is_dir():
        raise OutputError(
            f"folder {parent} does not exist", hint=f"create it first: mkdir -p {parent}"
        )
    if not os.access(parent, os.W_OK):
        raise OutputError(
            f"folder {parent} is not writable", hint="choose another folder or fix its permissions"
        )
    if path.exists() and not overwrite:
        raise OutputError(
            f"{location} already exists",
            hint="pass --overwrite to replace it, or choose another name",
        )


def _display(location: str) -> str:
    from synthdb.io._sql import display, parse_url

    return display(parse_url(location, OutputError))
