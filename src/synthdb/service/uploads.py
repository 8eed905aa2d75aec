"""Uploaded files and registered databases become datasets: checked, then described.

An upload is streamed to a temporary file under a generated name (the name the browser sends
is kept only as a label), refused past the size limit, and its format is *sniffed from its
bytes*: SQLite's header, Parquet's ``PAR1`` at both ends, gzip's magic (then the inside must
be text), or UTF-8 text without NUL bytes, read as CSV. Anything else is refused before a
parser sees it, and nothing is ever unpickled. The file is then read by the library's own
readers, so a broken CSV fails with the CLI's message, and moved into the dataset's folder
only once it is known good: a refused upload leaves nothing behind.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from synthdb.errors import InputError, SynthdbError, UsageError

#: How much of a file the sniffer reads.
SNIFF = 64 * 1024
#: Tables of a database whose schema is inferred for the schema view (the rest are listed).
MAX_TABLES_DESCRIBED = 30

SQLITE_MAGIC = b"SQLite format 3\x00"
PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"


class UploadError(Exception):
    """An upload refused, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def receive(stream: BinaryIO, target: Path, limit: int) -> int:
    """Copy an upload to ``target`` in chunks; refuse it past ``limit`` bytes."""
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise UploadError(
                    413, f"the file is larger than the limit of {limit / 1e6:,.0f} MB"
                )
            out.write(chunk)
    if size == 0:
        raise UploadError(400, "the file is empty (0 bytes)")
    return size


def sniff(path: Path) -> str:
    """csv, csv.gz, parquet or sqlite, from the file's bytes; :class:`UploadError` otherwise."""
    with path.open("rb") as stream:
        head = stream.read(SNIFF)
        if head.startswith(SQLITE_MAGIC):
            return "sqlite"
        if head.startswith(PARQUET_MAGIC):
            stream.seek(-4, os.SEEK_END)
            if stream.read(4) == PARQUET_MAGIC:
                return "parquet"
            raise UploadError(400, "the file starts as Parquet but is cut short")
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as packed:
                inner = packed.read(SNIFF)
        except (OSError, EOFError, zlib.error):
            raise UploadError(400, "the file is gzip-compressed but damaged") from None
        if not _is_text(inner):
            raise UploadError(
                415,
                "the gzip-compressed file does not hold CSV text; upload CSV, Parquet or SQLite",
            )
        return "csv.gz"
    if not _is_text(head):
        raise UploadError(
            415,
            "the file is binary, not CSV text, Parquet or SQLite (the formats accepted)",
        )
    return "csv"


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sniffed block is still text
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def label(filename: str | None) -> str:
    """A display name from the browser's file name: its last part, tame characters only."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:100]
    return base or "upload"


def location_of(folder: Path, fmt: str) -> tuple[str, str]:
    """(file name inside the dataset's folder, what the library reads) for a format."""
    name = {"csv": "data.csv", "csv.gz": "data.csv.gz", "parquet": "data.parquet"}.get(
        fmt, "data.sqlite"
    )
    path = (folder / name).resolve()
    return name, (f"sqlite:///{path}" if fmt == "sqlite" else str(path))


def describe(
    location: str, table: str | None, shown: str, hide: Callable[[str], str] = lambda s: s
) -> dict[str, Any]:
    """The schema view of a dataset: its tables, and for each (or the one chosen) the inferred
    kinds, keys and rules as ``synthdb inspect`` finds them. Raises :class:`UploadError` with
    the library's one-line message when the data cannot be read."""
    from synthdb.io._locations import is_url

    try:
        if not is_url(location):
            from synthdb.io._locations import table_name

            named = table_name(Path(shown)) or "table"
            return {"tables": [_table_view(location, None, named)], "database": False}
        from synthdb.io.database import open_database

        database = open_database(location)
        names = database.tables()
        if not names:
            raise InputError(f"{shown} holds no tables", hint="upload a database with a table")
        if table is not None and table not in names:
            raise UsageError(f"{shown} has no table {table!r}; its tables: {', '.join(names)}")
        chosen = [table] if table is not None else names
        relations = database.schema(chosen)
        views = []
        for position, name in enumerate(relations.order):
            keys = relations.table(name)
            view = (
                _table_view(location, name, name)
                if position < MAX_TABLES_DESCRIBED
                else {"name": name, "columns": [], "rules": []}
            )
            view["primary_key"] = list(keys.primary_key)
            view["foreign_keys"] = [key.describe(name) for key in keys.foreign_keys]
            views.append(view)
        return {"tables": views, "database": len(chosen) > 1}
    except SynthdbError as exc:
        raise UploadError(400, hide(str(exc))) from None
    except (ValueError, OSError, MemoryError) as exc:  # a reader's own complaint
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UploadError(400, hide(f"{shown} cannot be read: {first}")) from None


def _table_view(location: str, table: str | None, name: str) -> dict[str, Any]:
    from synthdb.io.sources import open_source, read_table
    from synthdb.rules.table import discover_table_rules
    from synthdb.schema.inference import infer_schema
    from synthdb.schema.values import to_typed

    if table is None:
        frame = read_table(location)  # one file: no rows is an error
    else:
        frame = open_source(location, table=table).read(table)
        if len(frame) == 0:  # a database's empty table is listed, not refused
            return {"name": name, "rows": 0, "columns": [], "rules": []}
    schema = infer_schema(frame, name)
    rules = [r.text for r in discover_table_rules(to_typed(frame, schema), schema)]
    return {
        "name": name,
        "rows": len(frame),
        "columns": [
            {
                "name": c.name,
                "kind": c.kind,
                "details": details(c),
                "distinct": c.distinct,
                "nulls": c.null_count,
            }
            for c in schema.columns
        ],
        "rules": rules,
    }


def details(column: Any) -> str:
    """What ``inspect`` shows beside a column's kind, in short."""
    parts: list[str] = []
    if column.kind == "numeric":
        parts.append(
            "integer"
            if column.integer
            else (f"{column.decimals} decimals" if column.decimals is not None else "decimal")
        )
        if column.minimum is not None and column.maximum is not None:
            parts.append(f"{column.minimum:g} .. {column.maximum:g}")
    elif column.kind == "datetime" and column.datetime_format:
        parts.append(column.datetime_format)
    elif column.kind == "boolean" and column.boolean_tokens:
        parts.append("/".join(column.boolean_tokens))
    elif column.kind == "key":
        parts.append(f"{column.key_format}, regenerated unique")
    elif column.kind == "constant":
        parts.append(f"always {column.constant!r}")
    if column.storage != "text":
        parts.append(f"stored as {column.storage}")
    return ", ".join(parts)


def install(temporary: Path, folder: Path, name: str) -> None:
    """Move a checked upload into its dataset's folder."""
    folder.mkdir(parents=True, exist_ok=False)
    shutil.move(str(temporary), folder / name)
