"""A database as a folder of files: one CSV or Parquet file per table.

Files declare no keys, so relations come from a job file (:class:`TableDeclaration`). A folder
is written the way a single file is: into a temporary folder beside the target, renamed into
place only once every table is complete, so a failed run leaves the target as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdb.errors import InputError, OutputError, UsageError
from synthdb.io._csv import read_csv_header, write_csv
from synthdb.io._locations import SUPPORTED, file_format, listing, one_line, table_name
from synthdb.io._parquet import write_parquet
from synthdb.schema.relations import (
    ColumnDef,
    DatabaseSchema,
    SkippedColumn,
    SqlType,
    TableDeclaration,
    TableDef,
    apply_declaration,
)


def table_files(
    folder: Path | None, declared: Mapping[str, TableDeclaration], location: str
) -> dict[str, Path]:
    """Table name -> file: every data file in ``folder``, plus each declared ``path``."""
    files: dict[str, Path] = {}
    if folder is not None:
        if not folder.is_dir():
            raise InputError(f"{location} is not a folder", hint="check the path")
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not path.is_file() or file_format(path) is None:
                continue
            name = table_name(path)
            if name in files:
                raise InputError(
                    f"{location} holds two files for table '{name}': {files[name].name} "
                    f"and {path.name}",
                    hint="keep one file per table",
                )
            files[name] = path
    for entry in declared.values():
        if entry.path is not None:
            if not entry.path.is_file():
                raise InputError(
                    f"tables.{entry.name}.path: {entry.path} does not exist",
                    hint="paths in a job file are relative to the job file's folder",
                )
            if file_format(entry.path) is None:
                raise InputError(f"tables.{entry.name}.path: {entry.path}", hint=SUPPORTED)
            files[entry.name] = entry.path
        elif entry.name not in files:
            where = f"in {location}" if folder is not None else "(no input folder given)"
            raise InputError(
                f"no file for table '{entry.name}' {where}",
                hint=f"set tables.{entry.name}.path in the job file",
            )
    if not files:
        raise InputError(
            f"{location} holds no CSV or Parquet files", hint="point to a folder of tables"
        )
    return files


def folder_schema(
    files: Mapping[str, Path],
    declared: Mapping[str, TableDeclaration],
    *,
    tables: Sequence[str] | None,
    encoding: str,
    location: str,
) -> DatabaseSchema:
    """Columns from each file's header (CSV: no types; Parquet: its own), keys as declared."""
    selected = list(tables) if tables is not None else list(files)
    for name in selected:
        if name not in files:
            raise InputError(
                f"no table '{name}' in {location} (tables: {listing(sorted(files))})",
                hint="check the name in --tables or the job file",
            )
    found = []
    kinds = set()
    for name in selected:
        path = files[name]
        fmt = file_format(path)
        assert fmt is not None
        kinds.add(fmt.kind)
        if fmt.kind == "parquet":
            table = _parquet_table(name, path)
        else:
            header = read_csv_header(path, fmt, encoding=encoding, name=str(path))
            table = TableDef(name, [ColumnDef(column) for column in header], path=path)
        if name in declared:
            table = apply_declaration(table, declared[name])
        found.append(table)
    dialect = kinds.pop() if len(kinds) == 1 else "files"
    return DatabaseSchema.build(found, dialect=dialect, location=location)


def _parquet_table(name: str, path: Path) -> TableDef:
    try:
        metadata = pq.read_metadata(path)
        arrow = metadata.schema.to_arrow_schema()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{path} is not a readable Parquet file ({one_line(exc)})",
            hint="it may be truncated or another format; export it again",
        ) from exc
    columns = []
    skipped = []
    for field in arrow:
        kind = _arrow_type(field.type)
        if kind is None:
            skipped.append(SkippedColumn(field.name, str(field.type)))
        else:
            columns.append(ColumnDef(field.name, kind, nullable=field.nullable))
    return TableDef(name, columns, rows=metadata.num_rows, skipped=skipped, path=path)


def _arrow_type(kind: pa.DataType) -> SqlType | None:
    if pa.types.is_boolean(kind):
        return SqlType("boolean")
    if pa.types.is_int8(kind) or pa.types.is_int16(kind) or pa.types.is_uint8(kind):
        return SqlType("smallint")
    if pa.types.is_int32(kind) or pa.types.is_uint16(kind):
        return SqlType("integer")
    if pa.types.is_integer(kind):
        return SqlType("bigint")
    if pa.types.is_float16(kind) or pa.types.is_float32(kind):
        return SqlType("real")
    if pa.types.is_float64(kind):
        return SqlType("double")
    if pa.types.is_decimal(kind):
        return SqlType("numeric", precision=kind.precision, scale=kind.scale)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return SqlType("text")
    if pa.types.is_dictionary(kind):
        return _arrow_type(kind.value_type)
    if pa.types.is_timestamp(kind):
        return SqlType("datetime", timezone=kind.tz is not None)
    if pa.types.is_date(kind):
        return SqlType("date")
    if pa.types.is_time(kind):
        return SqlType("time")
    return None


# --- writing --------------------------------------------------------------------------------


def check_folder_output(folder: Path, *, overwrite: bool, suffix: str) -> None:
    """Raise OutputError now if writing tables into ``folder`` would be refused."""
    fmt = file_format(Path(f"table{suffix}"))
    if fmt is None:
        raise UsageError(f"cannot write tables as '{suffix}' files", hint=SUPPORTED)
    if not folder.parent.is_dir():
        raise OutputError(
            f"folder {folder.parent} does not exist",
            hint=f"create it first: mkdir -p {folder.parent}",
        )
    if not os.access(folder.parent, os.W_OK):
        raise OutputError(
            f"folder {folder.parent} is not writable",
            hint="choose another folder or fix its permissions",
        )
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder} is a file", hint="name a folder for the tables")
    entries = list(folder.iterdir())
    if not entries:
        return
    if not overwrite:
        raise OutputError(
            f"folder {folder} is not empty",
            hint="pass --overwrite to replace it, or name a new folder",
        )
    strangers = [e.name for e in entries if not e.is_file() or file_format(e) is None]
    if strangers:
        # --overwrite replaces the whole folder; it must not take the user's other files along.
        raise OutputError(
            f"folder {folder} holds more than tables ({listing(sorted(strangers))})",
            hint="name a new folder, or move those out first",
        )


def write_folder(
    folder: Path,
    schema: DatabaseSchema,
    frames: Mapping[str, Iterator[pd.DataFrame]],
    *,
    overwrite: bool,
    suffix: str,
) -> dict[str, int]:
    """One ``<table><suffix>`` file per table, published together by renaming the folder."""
    check_folder_output(folder, overwrite=overwrite, suffix=suffix)
    fmt = file_format(Path(f"table{suffix}"))
    assert fmt is not None
    token = secrets.token_hex(4)
    temporary = folder.with_name(f".{folder.name}.{token}.tmp")
    rows: dict[str, int] = {}
    try:
        temporary.mkdir()
        for name, table in schema.tables.items():
            path = temporary / f"{name}{suffix}"
            batches = _ordered(frames[name], table)
            if fmt.kind == "parquet":
                rows[name] = write_parquet(batches, path)
            else:
                rows[name] = write_csv(batches, path, fmt)
        if folder.exists():
            # rename() cannot replace a non-empty folder: move the old one aside first.
            old = folder.with_name(f".{folder.name}.{token}.old")
            os.rename(folder, old)
            os.rename(temporary, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(temporary, folder)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise OutputError(
            f"cannot write {folder}: {exc.strerror or one_line(exc)}",
            hint="check free disk space and the folder's permissions",
        ) from exc
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return rows


def _ordered(frames: Iterator[pd.DataFrame], table: TableDef) -> Iterator[pd.DataFrame]:
    """The schema's column order in every frame; an empty table still gets its header."""
    given = False
    for frame in frames:
        if set(frame.columns) != set(table.names):
            raise ValueError(
                f"rows for table '{table.name}' have columns {list(frame.columns)}, "
                f"the schema has {table.names}"
            )
        given = True
        yield frame[table.names]
    if not given:
        yield pd.DataFrame({name: pd.Series(dtype=object) for name in table.names})
