"""The three NULL policies and an exact account of what each one did.

- ``replace``: numeric NULL -> column mean (rounded for integer columns), datetime NULL -> the
  mean instant, categorical and boolean NULL -> the most frequent value (ties: the value that
  sorts first). A column that is entirely NULL has no average: it stays NULL, with a warning.
- ``drop``: every row holding at least one NULL, in any column, is removed.
- ``keep``: nothing changes; NULL is modelled as a value of its own and reappears at its rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthdb.errors import InputError
from synthdb.schema.table import TableSchema

NullPolicy = Literal["replace", "drop", "keep"]


@dataclass
class NullReport:
    policy: str
    rows_before: int
    rows_after: int
    rows_dropped: int = 0
    cells_replaced: dict[str, int] = field(default_factory=dict)
    replaced_with: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: the counts are DP estimates (a DP model): ``rows_dropped`` and the cell counts that a
    #: DP release did not cover are not known, and must not be shown as exact
    estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_null_policy(
    typed: pd.DataFrame, schema: TableSchema, policy: NullPolicy
) -> tuple[pd.DataFrame, NullReport]:
    """Apply ``policy`` to the typed view; the report counts rows and cells exactly."""
    report = NullReport(policy=policy, rows_before=len(typed), rows_after=len(typed))
    if policy == "keep":
        return typed, report
    if policy == "drop":
        null_rows = typed.isna().any(axis=1)
        if len(typed) and null_rows.all():
            empty = [c for c in typed.columns if typed[c].isna().all()]
            if empty:
                cause = f"column {empty[0]!r} is entirely NULL"
                fix = f"use --nulls keep or --nulls replace, or remove column {empty[0]!r}"
            else:
                cause = "every row has a NULL somewhere"
                fix = "use --nulls keep or --nulls replace"
            raise InputError(f"--nulls drop would remove every row: {cause}", hint=fix)
        kept = typed.loc[~null_rows].reset_index(drop=True)
        report.rows_after = len(kept)
        report.rows_dropped = int(null_rows.sum())
        return kept, report
    if policy != "replace":
        raise ValueError(policy)
    out = typed.copy()
    for column in schema.columns:
        values = out[column.name]
        missing = values.isna()
        count = int(missing.sum())
        if count == 0:
            continue
        if count == len(values):
            report.warnings.append(
                f"column {column.name!r} is entirely NULL: nothing to average, it stays NULL"
            )
            continue
        if column.kind in ("numeric", "datetime"):
            mean = float(np.nanmean(np.asarray(values, dtype=np.float64)))
            if column.integer or column.kind == "datetime":
                mean = float(np.round(mean))
            out[column.name] = values.fillna(mean)
            report.replaced_with[column.name] = mean
        elif column.kind in ("categorical", "boolean"):
            counts = values.dropna().value_counts()
            top = counts[counts == counts.max()].index
            mode = sorted(str(v) for v in top)[0]
            out[column.name] = values.where(~missing, mode).astype(object)
            report.replaced_with[column.name] = mode
        else:
            continue
        report.cells_replaced[column.name] = count
    return out, report
