"""Reading and writing tables: CSV/TSV (plain or compressed), Parquet and SQL databases.

Locations are strings: a file path whose suffix names the format, or an SQLAlchemy URL such as
``sqlite:///data.db``. Whole databases (or folders of files, one per table) are read with
:func:`open_database` and written with :func:`write_database`. Every user-fixable problem is a
one-line InputError (reading), OutputError (writing) or UsageError (parameters) from
:mod:`synthdb.errors`.

Names are imported on first use, so reading or writing a file never imports SQLAlchemy (a
third of a second of every command's start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthdb.io.database import (
        DatabaseSource,
        check_database_output,
        open_database,
        write_database,
    )
    from synthdb.io.sinks import (
        Sink,
        atomic_path,
        check_output,
        open_sink,
        write_batches,
        write_table,
    )
    from synthdb.io.sources import Source, open_source, read_table

_HOMES = {
    "DatabaseSource": "database",
    "check_database_output": "database",
    "open_database": "database",
    "write_database": "database",
    "Sink": "sinks",
    "atomic_path": "sinks",
    "check_output": "sinks",
    "open_sink": "sinks",
    "write_batches": "sinks",
    "write_table": "sinks",
    "Source": "sources",
    "open_source": "sources",
    "read_table": "sources",
}

__all__ = [
    "DatabaseSource",
    "Sink",
    "Source",
    "atomic_path",
    "check_database_output",
    "check_output",
    "open_database",
    "open_sink",
    "open_source",
    "read_table",
    "write_batches",
    "write_database",
    "write_table",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'synthdb.io' has no attribute {name!r}")
    return getattr(importlib.import_module(f"synthdb.io.{home}"), name)
