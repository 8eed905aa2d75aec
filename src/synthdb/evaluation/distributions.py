"""What the report draws: each column's real and synthetic distribution, and how strongly
columns go together.

The accuracy bins (10 per column) judge; they are too coarse to show a shape. So the pictures
get their own bins: one bar per value for numbers with few values, otherwise 30 equal-width bins
over the middle 99% of the real values (the few values beyond fall into the outer bins, so a
far outlier does not squash the picture); for categories the 20 most frequent real values and
"(other)". Shares are of all rows, so the bars plus the NULL share add up to 1.

Associations are bias-corrected Cramér's V (Bergsma 2013, "A bias-correction for Cramér's V
and Tschuprow's T", J. Korean Stat. Soc. 42) between the accuracy bins of two columns: one
measure for any pair of kinds, 0 for independence and 1 when either column determines the
other. The correction matters because an uncorrected V of two independent columns drifts above
0 as the number of bins grows relative to the rows, which a holdout of a few thousand rows would
show as structure that is not there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthdb.evaluation._values import floats, texts

DisplayKind = Literal["numeric", "datetime", "categorical"]
#: Bars per number or datetime column; numbers with at most this many values get one bar each.
HISTOGRAM_BINS = 30
#: Categories drawn per column; the rest are "(other)".
TOP_CATEGORIES = 20
OTHER = "(other)"
#: The share of real values that sets a histogram's range: the middle 99%.
_RANGE = (0.005, 0.995)


@dataclass(frozen=True)
class ColumnDistribution:
    """Bar heights of one column, as shares of all rows; NULL apart."""

    kind: DisplayKind
    labels: list[str]
    #: bin edges for numbers and datetimes (datetimes as seconds since 1970); None for bars
    #: that are single values or categories
    edges: list[float] | None
    real: list[float]
    synthetic: list[float]
    null_real: float
    null_synthetic: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def column_distribution(
    real: pd.Series, synthetic: pd.Series, kind: DisplayKind
) -> ColumnDistribution:
    """Bars for one typed column (datetimes as seconds since 1970, as the typed view has them)."""
    if kind == "categorical":
        return _categorical(real, synthetic)
    return _numeric(real, synthetic, kind)


def _shares(codes: npt.NDArray[np.intp], n_bins: int, rows: int) -> list[float]:
    if rows == 0:
        return [0.0] * n_bins
    return [float(x) for x in np.bincount(codes, minlength=n_bins)[:n_bins] / rows]


def _null_share(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def _categorical(real: pd.Series, synthetic: pd.Series) -> ColumnDistribution:
    real_text, synthetic_text = texts(real), texts(synthetic)
    counts = real_text.value_counts(dropna=True)
    top = [str(v) for v in counts.index[:TOP_CATEGORIES]]
    code_of = {text: i for i, text in enumerate(top)}

    def codes(values: pd.Series) -> npt.NDArray[np.intp]:
        present = values[values.notna()]
        mapped = present.map(code_of).fillna(len(top))
        return mapped.to_numpy(dtype=np.intp)

    real_codes, synthetic_codes = codes(real_text), codes(synthetic_text)
    labels = list(top)
    n_bins = len(top)
    if (real_codes == len(top)).any() or (synthetic_codes == len(top)).any():
        labels.append(OTHER)
        n_bins += 1
    return ColumnDistribution(
        kind="categorical",
        labels=labels,
        edges=None,
        real=_shares(real_codes, n_bins, len(real)),
        synthetic=_shares(synthetic_codes, n_bins, len(synthetic)),
        null_real=_null_share(real_text),
        null_synthetic=_null_share(synthetic_text),
    )


def _numeric(real: pd.Series, synthetic: pd.Series, kind: DisplayKind) -> ColumnDistribution:
    real_values, synthetic_values = floats(real), floats(synthetic)
    present = real_values[~np.isnan(real_values)]
    distinct = np.unique(present)
    null_real = float(np.isnan(real_values).mean()) if len(real_values) else 0.0
    null_synthetic = float(np.isnan(synthetic_values).mean()) if len(synthetic_values) else 0.0
    if len(distinct) == 0:
        return ColumnDistribution(kind, [], [], [], [], null_real, null_synthetic)
    if len(distinct) <= HISTOGRAM_BINS:
        # One bar per real value; a synthetic value between them goes to the nearest bar.
        def value_codes(values: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
            values = values[~np.isnan(values)]
            last = len(distinct) - 1
            position = np.searchsorted(distinct, values)
            lower = np.clip(position - 1, 0, last)
            upper = np.clip(position, 0, last)
            closer_below = np.abs(values - distinct[lower]) <= np.abs(distinct[upper] - values)
            return np.where(closer_below, lower, upper).astype(np.intp)

        n_bins = len(distinct)
        return ColumnDistribution(
            kind=kind,
            labels=[_label(v, kind) for v in distinct],
            edges=None,
            real=_shares(value_codes(real_values), n_bins, len(real_values)),
            synthetic=_shares(value_codes(synthetic_values), n_bins, len(synthetic_values)),
            null_real=null_real,
            null_synthetic=null_synthetic,
        )
    low, high = (float(q) for q in np.quantile(present, _RANGE))
    if not high > low:
        low, high = float(distinct[0]), float(distinct[-1])
    whole = kind == "numeric" and bool(np.all(present == np.round(present)))
    if whole:
        # Whole numbers get whole-number bins, labelled by the values they hold ("20-24").
        width = max(1, math.ceil((math.floor(high) - math.ceil(low) + 1) / HISTOGRAM_BINS))
        start = math.ceil(low)
        count = math.ceil((math.floor(high) - start + 1) / width)
        edges = start + width * np.arange(count + 1, dtype=np.float64)
        labels = [
            f"{int(a)}" if width == 1 else f"{int(a)}-{int(a) + width - 1}" for a in edges[:-1]
        ]
    else:
        edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
        labels = [f"{_label(a, kind)} to {_label(b, kind)}" for a, b in itertools.pairwise(edges)]
    n_bins = len(edges) - 1

    def bin_codes(values: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        values = values[~np.isnan(values)]
        return np.searchsorted(edges[1:-1], values, side="right").astype(np.intp)

    return ColumnDistribution(
        kind=kind,
        labels=labels,
        edges=[float(e) for e in edges],
        real=_shares(bin_codes(real_values), n_bins, len(real_values)),
        synthetic=_shares(bin_codes(synthetic_values), n_bins, len(synthetic_values)),
        null_real=null_real,
        null_synthetic=null_synthetic,
    )


def _label(value: float, kind: DisplayKind) -> str:
    if kind == "datetime":
        stamp = pd.Timestamp(round(value * 1e6), unit="us")
        if stamp == stamp.normalize():
            return stamp.strftime("%Y-%m-%d")
        return stamp.strftime("%Y-%m-%d %H:%M")
    return f"{value:.4g}"


# --------------------------------------------------------------------------------------------
# Associations


@dataclass(frozen=True)
class Associations:
    """Symmetric matrices over ``columns``; ``difference`` is synthetic minus real."""

    columns: list[str]
    real: list[list[float]]
    synthetic: list[list[float]]
    measure: str = "bias-corrected Cramér's V between the accuracy bins of two columns"

    @property
    def difference(self) -> list[list[float]]:
        return [
            [s - r for r, s in zip(real_row, synthetic_row, strict=True)]
            for real_row, synthetic_row in zip(self.real, self.synthetic, strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "columns": self.columns,
            "real": self.real,
            "synthetic": self.synthetic,
            "difference": self.difference,
        }


def associations(
    columns: Sequence[str],
    sizes: Sequence[int],
    real_codes: Sequence[npt.NDArray[np.intp]],
    synthetic_codes: Sequence[npt.NDArray[np.intp]],
) -> Associations:
    """Cramér's V matrices of real and synthetic rows from their per-column bin codes."""
    return Associations(
        columns=list(columns),
        real=_matrix(sizes, real_codes),
        synthetic=_matrix(sizes, synthetic_codes),
    )


def _matrix(sizes: Sequence[int], codes: Sequence[npt.NDArray[np.intp]]) -> list[list[float]]:
    n = len(codes)
    matrix = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            cell = codes[i].astype(np.intp) * sizes[j] + codes[j]
            table = np.bincount(cell, minlength=sizes[i] * sizes[j]).reshape(sizes[i], sizes[j])
            matrix[i, j] = matrix[j, i] = cramers_v(table)
    return [[round(float(v), 6) for v in row] for row in matrix]


def cramers_v(table: npt.NDArray[np.int64]) -> float:
    """Bias-corrected Cramér's V of a contingency table; 0 when either side is constant."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    rows, cols = table.shape
    n = int(table.sum())
    if rows < 2 or cols < 2 or n < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (rows - 1) * (cols - 1) / (n - 1))
    rows_corrected = rows - (rows - 1) ** 2 / (n - 1)
    cols_corrected = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_corrected - 1, cols_corrected - 1)
    if denominator <= 0:
        return 0.0
    return min(1.0, math.sqrt(phi2 / denominator))


def column_distributions(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, DisplayKind],
) -> dict[str, ColumnDistribution]:
    return {c: column_distribution(real[c], synthetic[c], kind) for c, kind in kinds.items()}
