"""The three NULL policies and an exact account of what each one did.

- ``replace``: numeric NULL -> column mean (rounded for integer columns), datetime NULL -> the
  mean instant, categorical and boolean NULL -> the most frequent value (ties: the value that
  sorts first). A column that is entirely NULL has no average: it stays NULL, with a warning.
- ``drop``: every row holding at least one NULL, in any column, is removed.
- ``keep``: nothing changes; NULL is modelled as a value of its own and reappears at its rate.

The averages are column statistics (:class:`~synthdb.encoding.base.ColumnStatistics`) that
the encoders compute: exactly, or under differential privacy from the noisy counts their
private fit released. One implementation applies either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from synthdb.encoding.base import ColumnStatistics
from synthdb.encoding.table import TableEncoder
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


#: The first warning of a DP model's NULL report.
DP_ESTIMATES = (
    "differential privacy: row and cell counts here are DP estimates, exact counts are not recorded"
)


def drop_null_rows(
    typed: pd.DataFrame, columns: Sequence[str] | None = None, *, explain: bool = True
) -> pd.DataFrame:
    """``typed`` without the rows holding a NULL in ``columns`` (default: any column).

    With ``explain``, refusing to drop every row names the column to blame (an all-NULL
    one); under DP that would publish a fact about the data uncharged, so it is off there.
    """
    null_rows = (typed if columns is None else typed[list(columns)]).isna().any(axis=1)
    if explain and len(typed) and null_rows.all():
        empty = [c for c in typed.columns if typed[c].isna().all()]
        if empty:
            cause = f"column {empty[0]!r} is entirely NULL"
            fix = f"use --nulls keep or --nulls replace, or remove column {empty[0]!r}"
        else:
            cause = "every row has a NULL somewhere"
            fix = "use --nulls keep or --nulls replace"
        raise InputError(f"--nulls drop would remove every row: {cause}", hint=fix)
    return typed.loc[~null_rows].reset_index(drop=True)


def replace_nulls(
    typed: pd.DataFrame, statistics: Mapping[str, ColumnStatistics], report: NullReport
) -> pd.DataFrame:
    """Each column's NULLs filled with its average, from exact statistics or DP estimates
    (``report.estimated``), and what was done added to ``report``.

    Exact statistics name only the columns that have NULLs. DP estimates cannot say which
    columns have none, so every column gets its DP average: listing only the columns with
    NULLs would publish that fact exactly.
    """
    out = typed.copy()
    for name, column in statistics.items():
        if not report.estimated and column.nulls == 0:
            continue
        if column.average is None:
            report.warnings.append(
                f"column {name!r}: no DP average could be released, NULLs stay NULL"
                if report.estimated
                else f"column {name!r} is entirely NULL: nothing to average, it stays NULL"
            )
            continue
        values = out[name]
        filled = values.where(values.notna(), column.average)
        out[name] = filled.astype(object) if isinstance(column.average, str) else filled
        report.replaced_with[name] = column.average
        report.cells_replaced[name] = max(round(column.nulls), 0)
    return out


def apply_null_policy(
    typed: pd.DataFrame, schema: TableSchema, policy: NullPolicy
) -> tuple[pd.DataFrame, NullReport]:
    """Apply ``policy`` to the typed view with exact statistics; the report counts rows and
    cells exactly. (Training under DP reads DP estimates instead: :mod:`.prepare`.)"""
    report = NullReport(policy=policy, rows_before=len(typed), rows_after=len(typed))
    if policy == "keep":
        return typed, report
    if policy == "drop":
        kept = drop_null_rows(typed)
        report.rows_after = len(kept)
        report.rows_dropped = len(typed) - len(kept)
        return kept, report
    if policy != "replace":
        raise ValueError(policy)
    return replace_nulls(typed, TableEncoder.statistics(typed, schema), report), report
