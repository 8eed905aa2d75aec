"""Reading and writing tables: CSV/TSV (plain or compressed), Parquet and SQL databases.

Locations are strings: a file path whose suffix names the format, or an SQLAlchemy URL such as
``sqlite:///data.db``. Every user-fixable problem is a one-line InputError (reading),
OutputError (writing) or UsageError (parameters) from :mod:`synthdb.errors`.
"""

from __future__ import annotations

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
    "Sink",
    "Source",
    "atomic_path",
    "check_output",
    "open_sink",
    "open_source",
    "read_table",
    "write_batches",
    "write_table",
]
