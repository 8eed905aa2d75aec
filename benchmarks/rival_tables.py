"""The hand-over between benchmarks/rival_rules.py and the multi-table rivals' runners.

The driver writes each source database as a *bundle*: one CSV file per table (empty field =
NULL) and ``schema.json`` with the tables in dependency order, their keys, the foreign key each
table is generated under in synthdb (its context), and each column's kind. A runner in a rival's
virtual environment reads it back with the same types (this module needs only pandas, which
every venv has), trains, and writes its twin as one CSV file per table. Runners are started as
``python benchmarks/run_X.py`` and find this module beside themselves.

``schema.json``::

    {"order": ["Customer", "Invoice"],
     "tables": {"Invoice": {"primary_key": ["InvoiceId"],
                            "foreign_keys": [{"columns": ["CustomerId"], "parent": "Customer",
                                              "parent_columns": ["CustomerId"]}],
                            "context": 0,                  # index into foreign_keys, or null
                            "columns": {"InvoiceId": "integer", "InvoiceDate": "datetime", ...},
                            "rows": 412}}}

Kinds: ``integer``, ``float``, ``boolean``, ``datetime``, ``string``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA_FILE = "schema.json"


def kind_of(series: pd.Series) -> str:
    """The bundle kind of a column, from its pandas dtype."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(series.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "string"


def read_bundle(folder: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The schema and every table of a bundle, typed by the schema's kinds.

    Integers without NULLs are int64, integers with NULLs float64 (what both rivals take
    without complaint); strings are object columns with NaN for NULL."""
    schema = json.loads((folder / SCHEMA_FILE).read_text())
    frames = {}
    for name in schema["order"]:
        kinds: dict[str, str] = schema["tables"][name]["columns"]
        raw = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
        frame = pd.DataFrame(index=raw.index)
        for column, kind in kinds.items():
            values = raw[column]
            if kind == "integer":
                numbers = pd.to_numeric(values)
                frame[column] = numbers.astype("int64") if numbers.notna().all() else numbers
            elif kind == "float":
                frame[column] = pd.to_numeric(values).astype("float64")
            elif kind == "boolean":
                frame[column] = values.map(
                    {
                        "True": True,
                        "False": False,
                        "true": True,
                        "false": False,
                        "1": True,
                        "0": False,
                    }
                )
            elif kind == "datetime":
                frame[column] = pd.to_datetime(values, format="ISO8601")
            else:
                frame[column] = values.astype(object)
        frames[name] = frame
    return schema, frames


def write_twin(frames: dict[str, pd.DataFrame], folder: Path) -> dict[str, int]:
    """Write each synthetic table as ``folder/<table>.csv``; return the rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, na_rep="")
        rows[name] = len(frame)
    return rows


def single_key(columns: list[str]) -> str | None:
    """The one column of a single-column key (neither rival takes composite keys)."""
    return columns[0] if len(columns) == 1 else None


class Clock:
    """Wall seconds of named steps, for the runners' result files."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = 0.0

    def start(self) -> None:
        self._started = time.perf_counter()

    def stop(self, name: str) -> float:
        self.seconds[name] = round(time.perf_counter() - self._started, 1)
        return self.seconds[name]
