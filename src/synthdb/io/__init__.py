"""Reading and writing tables: CSV/TSV (plain or compressed), Parquet and SQL databases.

Locations are strings: a file path whose suffix names the format, or an SQLAlchemy URL such as
``sqlite:///data.db``. Whole databases (or folders of files, one per table) are read with
:func:`open_database` and written with :func:`write_database`. Every user-fixable problem is a
one-line InputError (reading), OutputError (writing) or UsageError (parameters) from
:mod:`synthdb.errors`.
"""

from __future__ import annotations

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
