"""``evaluate``: how close a synthetic table is to the real one (DESIGN.md section 5).

Both tables are read with the real table's inferred schema, so a CSV of synthetic strings is
compared value for value with the real data's numbers, dates and categories.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import pandas as pd

from synthdb.errors import InputError
from synthdb.evaluation.accuracy import AccuracyReport, accuracy
from synthdb.evaluation.columns import accuracy_kinds
from synthdb.io.sources import read_table
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed

Table: TypeAlias = pd.DataFrame | str | Path


def evaluate(
    real: Table,
    synthetic: Table,
    holdout: Table | None = None,
    *,
    table: str | None = None,
) -> AccuracyReport:
    """Accuracy of ``synthetic`` against ``real``; with ``holdout``, also the ceiling."""
    real_frame = _frame(real, table)
    synthetic_frame = _frame(synthetic, table)
    holdout_frame = _frame(holdout, table) if holdout is not None else None
    schema = infer_schema(real_frame, "real")
    kinds = accuracy_kinds(schema)
    for name, frame in (("synthetic", synthetic_frame), ("holdout", holdout_frame)):
        if frame is None:
            continue
        missing = [c for c in schema.names if c not in frame.columns]
        if missing:
            raise InputError(
                f"the {name} table lacks columns of the real one: {', '.join(missing)}",
                hint="compare tables with the same columns",
            )
    columns = list(kinds)

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        return to_typed(frame[schema.names], schema)[columns]

    return accuracy(
        typed(real_frame),
        typed(synthetic_frame),
        typed(holdout_frame) if holdout_frame is not None else None,
        kinds=kinds,
    )


def _frame(data: Table, table: str | None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return read_table(data, table)
