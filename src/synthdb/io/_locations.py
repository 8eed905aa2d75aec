"""Turning a location string into something we know how to open.

A location is either a database URL or a file path; the file suffix alone decides the format, so
a user can predict what will happen from the name they typed. Readers and writers share this
table so that every format we read we can also write, and the error text lists the same choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synthdb.errors import InputError, UsageError

# Two or more letters before "://" so that a Windows drive ("C://data.csv") stays a path.
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")

_TEXT_FORMATS = {".csv": ",", ".tsv": "\t"}
_PARQUET_SUFFIXES = (".parquet", ".pq")
# Suffix -> the name pandas uses for the codec.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}

SUPPORTED = (
    "supported: .csv, .tsv, either compressed as .gz, .bz2, .xz or .zst; .parquet, .pq; "
    "or a database URL like sqlite:///data.db"
)

# A listing of hundreds of tables would drown the one-line message it is part of.
_MAX_LISTED = 20


@dataclass(frozen=True)
class FileFormat:
    """What the suffixes of a file name promise about its content."""

    kind: str  # "csv" (also for tab-separated) or "parquet"
    separator: str = ","
    compression: str | None = None


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and _URL_SCHEME.match(location) is not None


def shown(location: str | Path) -> str:
    """A location fit for messages and pages: a database URL without its password."""
    if not is_url(location):
        return str(location)
    from synthdb.errors import InputError
    from synthdb.io._sql import display, parse_url

    return display(parse_url(str(location), InputError))


def file_format(path: Path) -> FileFormat | None:
    """Read the format from the suffixes; None when we do not support them."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if not suffixes:
        return None
    compression = COMPRESSIONS.get(suffixes[-1])
    if compression is not None:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    last = suffixes[-1]
    if last in _TEXT_FORMATS:
        return FileFormat("csv", separator=_TEXT_FORMATS[last], compression=compression)
    if last in _PARQUET_SUFFIXES and compression is None:
        return FileFormat("parquet")
    return None


def unsupported(path: Path, shown: str) -> str:
    """The message for a name whose suffix we cannot map to a format."""
    if not path.suffix:
        return f"{shown} has no file extension to tell its format"
    return f"{shown}: unsupported file type '{path.suffix}'"


def table_name(path: Path) -> str:
    """The table a single file holds, named so a folder of files maps to a database later."""
    name = path.name
    for suffixes in (tuple(COMPRESSIONS), (*_TEXT_FORMATS, *_PARQUET_SUFFIXES)):
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and f".{suffix.lower()}" in suffixes:
            name = stem
    return name


def listing(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    extra = len(names) - _MAX_LISTED
    return f"{shown} and {extra} more" if extra > 0 else shown


def choose_table(
    requested: str | None,
    tables: list[str],
    location: str,
    *,
    also_readable: list[str] | None = None,
) -> str:
    """Resolve the table to read, so every source answers a wrong --table the same way."""
    if requested is None:
        if len(tables) == 1:
            return tables[0]
        if not tables:
            raise InputError(
                f"{location} has no tables", hint="point to a database that holds your data"
            )
        raise UsageError(
            f"{location} holds {len(tables)} tables: {listing(tables)}",
            hint="pick one with --table NAME",
        )
    if requested in tables or requested in (also_readable or []):
        return requested
    if not tables:
        raise InputError(
            f"no table '{requested}' in {location}, which has no tables",
            hint="point to a database that holds your data",
        )
    raise InputError(
        f"no table '{requested}' in {location} (tables: {listing(tables)})",
        hint="pass one of those names to --table",
    )


def one_line(text: object) -> str:
    """First line of a library's message; ours must fit on one line."""
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else ""
