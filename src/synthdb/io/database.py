"""Whole databases: every table of a source with its keys, and a twin written back in one go.

A location is an SQLAlchemy URL (``sqlite:///shop.db``, ``postgresql://user@host/db``,
``mysql+pymysql://user@host/db``) or a folder of CSV/Parquet files, one per table. Relations come
from the database itself, or for files from a job file's ``tables`` section
(:func:`synthdb.schema.relations.parse_declarations`).

::

    source = open_database("sqlite:///chinook.sqlite")
    schema = source.schema()                       # DatabaseSchema, tables in dependency order
    for chunk in source.read_chunks("Track", rows=10_000): ...
    write_database("sqlite:///twin.db", schema, {name: frames, ...}, overwrite=False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from synthdb.errors import InputError, OutputError
from synthdb.io._folder import check_folder_output, folder_schema, table_files, write_folder
from synthdb.io._locations import choose_table, file_format, is_url
from synthdb.io._sql import READ_CHUNK_ROWS, SqlSource, parse_url
from synthdb.io._sqlwrite import Frames, check_sql_database, write_sql_database
from synthdb.io.sources import FileSource
from synthdb.schema.relations import DatabaseSchema, TableDeclaration

__all__ = [
    "READ_CHUNK_ROWS",
    "DatabaseSource",
    "Frames",
    "check_database_output",
    "open_database",
    "write_database",
]


class DatabaseSource(Protocol):
    """Named tables with their relations, read whole or in chunks."""

    location: str
    """Where the data is, fit for messages: a database URL never shows its password."""

    def tables(self) -> list[str]: ...

    def schema(self, tables: Sequence[str] | None = None) -> DatabaseSchema:
        """Tables (all, or those named) in dependency order with types and keys."""
        ...

    def read(self, table: str | None = None) -> pd.DataFrame: ...

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]: ...


class _SqlDatabase:
    def __init__(self, source: SqlSource, declared: Mapping[str, TableDeclaration]) -> None:
        self._source = source
        self._declared = declared
        self.location = source.location

    def tables(self) -> list[str]:
        return self._source.tables()

    def schema(self, tables: Sequence[str] | None = None) -> DatabaseSchema:
        return self._source.schema(tables, declared=self._declared)

    def read(self, table: str | None = None) -> pd.DataFrame:
        return self._source.read(table)

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        return self._source.read_chunks(table, rows=rows)


class _FolderDatabase:
    """Files named after their tables, and files a job file names."""

    def __init__(
        self,
        folder: Path | None,
        declared: Mapping[str, TableDeclaration],
        *,
        encoding: str,
    ) -> None:
        self.location = str(folder) if folder is not None else "the job file's tables"
        self._declared = declared
        self._encoding = encoding
        self._files = table_files(folder, declared, self.location)

    def tables(self) -> list[str]:
        return sorted(self._files)

    def schema(self, tables: Sequence[str] | None = None) -> DatabaseSchema:
        return folder_schema(
            self._files,
            self._declared,
            tables=tables,
            encoding=self._encoding,
            location=self.location,
        )

    def read(self, table: str | None = None) -> pd.DataFrame:
        return self._file(table).read()

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        return self._file(table).read_chunks(rows=rows)

    def _file(self, table: str | None) -> FileSource:
        name = choose_table(table, self.tables(), self.location)
        path = self._files[name]
        fmt = file_format(path)
        assert fmt is not None
        return FileSource(path, fmt, location=str(path), encoding=self._encoding)


def open_database(
    location: str | Path | None,
    *,
    declared: Mapping[str, TableDeclaration] | None = None,
    encoding: str = "utf-8",
) -> DatabaseSource:
    """Connect to a database URL or list a folder's tables, without reading any rows.

    ``declared`` (a job file's ``tables``, see :func:`~synthdb.schema.relations.parse_declarations`)
    adds primary and foreign keys; for files it is the only source of keys, and its ``path``
    entries name files outside the folder. ``location`` may be None when every table has a path.
    Bad connections, missing files and the like raise a one-line InputError now.
    """
    declared = dict(declared or {})
    if location is not None and is_url(location):
        return _SqlDatabase(SqlSource(parse_url(str(location), InputError)), declared)
    folder = Path(location) if location is not None else None
    if folder is not None and not folder.exists():
        raise InputError(f"{location} does not exist", hint="check the path")
    if folder is not None and not folder.is_dir():
        raise InputError(
            f"{location} is a file, not a folder of tables",
            hint="point to a database URL or a folder with one CSV or Parquet file per table",
        )
    return _FolderDatabase(folder, declared, encoding=encoding)


def check_database_output(
    target: str | Path,
    schema: DatabaseSchema,
    *,
    overwrite: bool = False,
    suffix: str = ".csv",
) -> None:
    """Raise OutputError now if :func:`write_database` would refuse ``target`` after training.

    A database must not hold non-empty tables (or tables with other columns) of the schema's
    names unless ``overwrite``; a folder must be absent or empty unless ``overwrite``.
    """
    if is_url(target):
        check_sql_database(parse_url(str(target), OutputError), schema, overwrite=overwrite)
    else:
        check_folder_output(Path(target), overwrite=overwrite, suffix=suffix)


def write_database(
    target: str | Path,
    schema: DatabaseSchema,
    tables: Mapping[str, Frames],
    *,
    overwrite: bool = False,
    suffix: str = ".csv",
    warn: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write every table of ``schema``, all or nothing; return the rows written per table.

    ``tables`` maps each table of the schema to a frame or an iterable of frames with the
    table's columns (any order); iterables are consumed in the schema's dependency order, one
    frame in memory at a time. A database gets the schema's column types, primary keys and
    foreign keys, and every foreign key is checked before anything is committed. A folder gets
    one ``<table><suffix>`` file per table (``.csv``, ``.csv.gz``, ``.parquet``, ...).

    On any failure, Ctrl-C included, the target is left as it was; see
    :mod:`synthdb.io._sqlwrite` for how that is done on MariaDB, whose DDL cannot be rolled back.
    Only a killed process can leave MariaDB staging tables behind: the next write to the
    database removes them and tells ``warn`` (by default, a Python warning) which.
    """
    if is_url(target):
        return write_sql_database(
            parse_url(str(target), OutputError), schema, tables, overwrite=overwrite, warn=warn
        )
    missing = [name for name in schema.tables if name not in tables]
    extra = [name for name in tables if name not in schema.tables]
    if missing or extra:
        raise ValueError(f"tables given differ from the schema: missing {missing}, extra {extra}")
    frames = {
        name: iter([given]) if isinstance(given, pd.DataFrame) else iter(given)
        for name, given in tables.items()
    }
    return write_folder(Path(target), schema, frames, overwrite=overwrite, suffix=suffix)
