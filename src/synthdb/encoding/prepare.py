"""One preparation for exact and private training: the NULL policy, then the encoders.

Without differential privacy the statistics are exact: the NULL policy reads each column's
average off the rows, and the encoders are fitted on the rows it leaves. Under DP
(``counts`` given) the encoders' private fits release noisy counts first, and the NULL policy
reads its averages from those. Either way the same code drops and replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthdb.encoding.nulls import (
    DP_ESTIMATES,
    NullPolicy,
    NullReport,
    apply_null_policy,
    drop_null_rows,
    replace_nulls,
)
from synthdb.encoding.private import Declared, NoisyCounts
from synthdb.encoding.table import MODELLED_KINDS, TableEncoder
from synthdb.schema.table import TableSchema


@dataclass
class PreparedTable:
    """What training reads: the rows after the NULL policy, their encoder, and the report."""

    frame: pd.DataFrame
    encoder: TableEncoder
    nulls: NullReport
    #: rows to learn from: exact, or the DP row count
    rows: float
    #: under DP, per sub-column, the noisy token counts that seed the heads (None: unknown);
    #: None without DP (the training rows' own counts are used)
    token_counts: list[np.ndarray | None] | None = None


def prepare_table(
    typed: pd.DataFrame,
    schema: TableSchema,
    policy: NullPolicy,
    counts: NoisyCounts | None = None,
    declared: Mapping[str, Declared] | None = None,
    fit_rows: np.ndarray | None = None,
) -> PreparedTable:
    """Apply ``policy`` to the typed view and fit the encoders: from exact statistics, or
    with ``counts`` from noisy ones (``declared`` columns' bounds and categories as given).

    ``fit_rows`` (positions) are the rows the noisy fit reads, when it must read fewer than
    the model learns from: one row per subject of a database's table, which keeps every
    histogram's sensitivity at 1 however many rows a subject holds."""
    if counts is None:
        typed, report = apply_null_policy(typed, schema, policy)
        return PreparedTable(typed, TableEncoder.fit(typed, schema), report, float(len(typed)))

    if policy == "drop":
        if fit_rows is not None:  # dropping rows would move the positions
            raise ValueError("`fit_rows` needs the NULL policy keep or replace, not drop")
        modelled = [c.name for c in schema.columns if c.kind in MODELLED_KINDS]
        typed = drop_null_rows(typed, modelled, explain=False)
    read = typed if fit_rows is None else typed.iloc[fit_rows]
    fitted = TableEncoder.fit_private(
        read, schema, counts, keep_nulls=policy == "keep", declared=declared
    )
    rows = round(fitted.rows)
    report = NullReport(
        policy=policy, rows_before=rows, rows_after=rows, warnings=[DP_ESTIMATES], estimated=True
    )
    if policy == "replace":
        typed = replace_nulls(typed, fitted.statistics, report)
    return PreparedTable(typed, fitted.encoder, report, fitted.rows, fitted.token_counts)
