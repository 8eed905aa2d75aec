"""``evaluate``: how close a synthetic table is to the real one, and how private (DESIGN.md
section 5).

Both tables are read with the real table's inferred schema, so a CSV of synthetic strings is
compared value for value with the real data's numbers, dates and categories. The result holds
every figure of the report page (``synthdb report``), which is drawn from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import pandas as pd

from synthdb.errors import InputError
from synthdb.evaluation.columns import display_kinds
from synthdb.evaluation.privacy import MAX_ROWS
from synthdb.evaluation.quality import Progress, QualityReport, assess
from synthdb.evaluation.utility import check_target
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
    target: str | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    progress: Progress | None = None,
) -> QualityReport:
    """Accuracy, privacy and (with ``target``) ML utility of ``synthetic`` against ``real``.

    With ``holdout`` (real rows the model never saw) the accuracy ceiling, the DCR share and
    the privacy references are measured too; ML utility needs it to test on. ``max_rows``
    caps the rows of the nearest-neighbour search (seeded samples beyond). The result is an
    :class:`~synthdb.evaluation.accuracy.AccuracyReport` with more fields.
    """
    real_frame = _frame(real, table)
    synthetic_frame = _frame(synthetic, table)
    holdout_frame = _frame(holdout, table) if holdout is not None else None
    schema = infer_schema(real_frame, "real")
    kinds = display_kinds(schema)
    if target is not None:
        check_target(target, schema.names, {c: "categorical" for c in kinds})
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

    return assess(
        typed(real_frame),
        typed(synthetic_frame),
        typed(holdout_frame) if holdout_frame is not None else None,
        kinds,
        target=target,
        max_rows=max_rows,
        seed=seed,
        progress=progress,
    )


def _frame(data: Table, table: str | None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return read_table(data, table)
