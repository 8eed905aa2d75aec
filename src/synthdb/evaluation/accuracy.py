"""Accuracy of a synthetic table: one minus the total variation distance of binned distributions.

Every column is cut into a few bins fitted on the real data, and the synthetic data is judged by
how much probability mass it puts in the wrong bins, alone (univariate), in pairs (bivariate)
and in triples (trivariate). ``overall`` is the mean of univariate and bivariate accuracy
(DESIGN.md section 5); it is cheap enough to compute after every training epoch, so the trainer
can stop early on it.

The measure copies the accuracy of mostlyai-qa, the external referee our numbers are quoted
against, so that what we optimise is what we are judged by. References are to files of the
repository ``mostly-ai/mostlyai-qa``.

Where we follow it:

* Numbers (``bin_numeric`` in ``mostlyai/qa/_accuracy.py``): a column with at most 10 distinct
  values gets one bin per value. Otherwise ``search_bin_boundaries`` takes 10, 11, 12, ...
  evenly spaced order statistics (minimum and maximum included) until 11 distinct values
  appear, and uses them as edges. This is how duplicate quantile edges are handled: a point
  mass such as the 92% zeros of Adult's ``capital_gain`` becomes one bin and the remaining
  bins spread over the other 8%, instead of 10 identical edges collapsing into one bin.
  Edges (all but the last) are then floored to the fewest decimals that keep them distinct,
  which moves them slightly; we floor identically because it changes which bin a value is in.
* Datetimes (``bin_datetime``): the same edge search, no flooring; a single distinct value
  gets the bin ``[value, value + 1 day)``.
* Bins are closed on the left, open on the right (``pd.cut(right=False)``), and values outside
  the real range are clipped into the outer bins.
* Categories (``bin_categorical``): the 10 most frequent values, NULL and the empty string
  taking part in that ranking, each need at least 5 occurrences (``MIN_RARE_CAT_PROTECTION``
  in ``mostlyai/qa/_common.py``); NULL and ``""`` always have their own bins; everything else,
  including categories the real data never had, falls into one "other" bin. Values are
  compared by their text, as its ``astype("string[pyarrow]")`` does.
* NULL is its own bin for every kind (``NA_BIN``).
* ``calculate_accuracy_cnts``: accuracy is ``1 - L1 / 2`` between the relative bin frequencies,
  bins missing on one side counting as zero. Univariate and bivariate figures are plain means
  over columns and over all unordered column pairs (``_calculate_metrics`` in
  ``mostlyai/qa/reporting.py``; it lists each pair in both orders, which leaves the mean
  unchanged). Triples are all combinations, capped at 10,000 sampled ones
  (``calculate_trivariate_columns``, ``MAX_TRIVARIATES``).

Checked against mostlyai-qa 1.10.11 itself (its ``bin_data`` and ``calculate_*variates`` on two
halves of Adult, and on a frame with NULLs, empty strings, a point mass, dates and a single-date
column): every per-column and per-pair accuracy agreed to within its 5-decimal rounding.

Where we differ, and why:

* ``overall`` leaves trivariate accuracy out, as DESIGN.md section 5 specifies; mostlyai-qa's
  overall averages univariate, bivariate and trivariate (and coherence, for sequences), so its
  figure is usually a little lower. ``trivariate`` is reported so that it can be rebuilt as
  ``(univariate + bivariate + trivariate) / 3``.
* Holdout: mostlyai-qa fits the bins on, and compares against, training and holdout rows
  together (``ori = pd.concat([trn, hol])`` in ``reporting.py``), and its ceiling
  (``overall_max``) is an analytic estimate of sampling noise. Here the bins come from the real
  (training) data alone, because the reference is fitted while training and must not depend on
  rows the model may not see, and the ceiling is measured: the same accuracy for a holdout
  sample against the real data.
* Booleans are categorical here; mostlyai-qa sees ``bool`` as a number (``is_numeric_dtype``)
  and gives each value a bin. With two values and NULL, both are the same partition.
* Free text: mostlyai-qa replaces string columns with more than 5% unique values by one random
  token of each value (``is_text_heuristic`` and ``sample_text_tokens`` in ``_sampling.py``).
  We bin them like any category (top 10 + other): we ship no tokenizer, and the random token
  would add noise to an early-stopping signal.
* Sample sizes: mostlyai-qa shuffles and truncates training, holdout and synthetic data to
  ``max_sample_size_accuracy`` rows without a seed, and keeps at most 300 columns
  (``ACCURACY_MAX_COLUMNS``). We subsample only the real reference (``max_rows``, seeded), score
  the synthetic sample the caller passes in full, and keep all columns. Triples are sampled
  with a fixed seed, so epochs are compared on the same triples.
* mostlyai-qa rounds every accuracy to 5 decimals; we do not, so identical data scores exactly
  1.0 and small gains between epochs stay visible.
* Special bins are kept by code, not by label: a literal value ``"(n/a)"`` or ``"(other)"`` is an
  ordinary category here, while mostlyai-qa merges it with its special bin. There is no
  ``_RARE_`` bin (MOSTLY AI's engine's token for rare categories, which our generator never
  emits). Categories tied in frequency at the 10th place are ranked by first occurrence.
* Datetimes are compared at microsecond resolution (mostlyai-qa: nanoseconds), so that dates
  outside 1677-2262 do not overflow; time zones are converted to UTC.

Speed: each column is mapped once to small integer codes, and a joint distribution is one
``np.bincount`` over ``code_a * n_b + code_b``. The real side is binned and counted once in
:meth:`AccuracyReference.fit`; :meth:`AccuracyReference.score` only encodes and counts the
synthetic rows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

ColumnKind = Literal["numeric", "datetime", "categorical"]

#: Bins per number or datetime column, and categories kept per categorical column.
N_BINS = 10
#: A category needs this many real rows to get its own bin (mostlyai-qa's rare-category floor).
MIN_CATEGORY_COUNT = 5
#: Triples scored at most; beyond this many, a fixed-seed sample of them.
MAX_TRIVARIATES = 10_000
#: The edge search of mostlyai-qa stops at this many order statistics.
_MAX_EDGE_SEARCH = 1000
#: Joint distributions with more cells than this are counted sparsely instead of densely.
_DENSE_CELLS = 1 << 22

_MICROSECONDS_PER_DAY = 86_400_000_000
#: Edges when a column has no value at all, as in mostlyai-qa.
_EMPTY_NUMERIC_EDGES = np.array([-1e10, 1e10])
_EMPTY_DATETIME_EDGES = np.array(
    [np.datetime64("1700-01-01", "us"), np.datetime64("2200-01-01", "us")]
).view(np.int64)

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracies in [0, 1]; 1.0 means the binned distributions are identical.

    ``bivariate`` is NaN for a single column (there is no pair); ``overall`` is then the
    univariate figure, as mostlyai-qa leaves missing parts out of its mean. ``trivariate`` is
    None unless it was asked for and there are at least three columns.
    """

    overall: float
    univariate: float
    bivariate: float
    trivariate: float | None
    per_column: dict[str, float]
    per_pair: dict[str, float]
    holdout: AccuracyReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; NaN becomes None because JSON has no NaN."""
        return {
            "overall": _json_float(self.overall),
            "univariate": _json_float(self.univariate),
            "bivariate": _json_float(self.bivariate),
            "trivariate": _json_float(self.trivariate),
            "per_column": {k: _json_float(v) for k, v in self.per_column.items()},
            "per_pair": {k: _json_float(v) for k, v in self.per_pair.items()},
            "holdout": self.holdout.to_dict() if self.holdout is not None else None,
        }


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


# --------------------------------------------------------------------------------------------
# Binning one column


class _Bins(Protocol):
    """How one column is cut; codes run from 0 to ``n_codes - 1``, NULL included."""

    @property
    def n_codes(self) -> int: ...

    def encode(self, series: pd.Series) -> IntArray: ...


@dataclass(frozen=True)
class _IntervalBins:
    """Numbers or datetimes: intervals ``[e_i, e_i+1)`` between inner edges, then NULL."""

    kind: ColumnKind
    inner_edges: npt.NDArray[Any]

    @property
    def n_codes(self) -> int:
        return len(self.inner_edges) + 2

    def encode(self, series: pd.Series) -> IntArray:
        values, null = _datetime_values(series) if self.kind == "datetime" else _numbers(series)
        # searchsorted on unclipped values equals mostlyai-qa's clip-then-cut, because every
        # inner edge lies strictly between the outer ones.
        codes = np.searchsorted(self.inner_edges, values, side="right").astype(np.intp)
        codes[null] = self.n_codes - 1
        return codes


@dataclass(frozen=True)
class _CategoryBins:
    """Top categories by text, then ``""``, other and NULL."""

    codes_by_text: dict[str, int]

    @property
    def empty_code(self) -> int:
        return len(self.codes_by_text)

    @property
    def other_code(self) -> int:
        return len(self.codes_by_text) + 1

    @property
    def n_codes(self) -> int:
        return len(self.codes_by_text) + 3

    def encode(self, series: pd.Series) -> IntArray:
        # Only the distinct values are turned into text: a few dozen str() calls instead of
        # one per row.
        raw_codes, uniques = pd.factorize(series, use_na_sentinel=True)
        table = np.empty(len(uniques) + 1, dtype=np.intp)
        for i, value in enumerate(uniques):
            table[i] = self._code_of(str(value))
        table[-1] = self.n_codes - 1  # the NULL sentinel -1 indexes the last entry
        return table[np.asarray(raw_codes, dtype=np.intp)]

    def _code_of(self, text: str) -> int:
        if text == "":
            return self.empty_code
        return self.codes_by_text.get(text, self.other_code)


def _numbers(series: pd.Series) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    if not pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series.astype(object), errors="coerce")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, np.isnan(values)


def _datetime_values(series: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = pd.to_datetime(series.astype(object), errors="coerce", utc=True, format="mixed")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(None)
    stamps = series.to_numpy(dtype="datetime64[us]")
    return stamps.view(np.int64), np.isnat(stamps)


def _search_edges(sorted_values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """mostlyai-qa's ``search_bin_boundaries``: more order statistics until 11 distinct."""
    n = len(sorted_values)
    edges = sorted_values[:0]
    for points in range(N_BINS, max(N_BINS + 1, min(_MAX_EDGE_SEARCH, n + 1))):
        positions = np.linspace(0, n - 1, points).astype(int)
        edges = np.unique(sorted_values[positions])
        if len(edges) >= N_BINS + 1:
            break
    return edges


def _floor_edges(edges: FloatArray) -> FloatArray:
    """Round edges down to the fewest decimals that keep them distinct (mostlyai-qa's labels)."""
    for precision in range(20):
        scale = float(10**precision)
        floored = np.floor(edges * scale) / scale
        if len(np.unique(floored)) == len(edges):
            return np.append(floored[:-1], edges[-1])
    return edges


def _fit_numeric(series: pd.Series) -> _IntervalBins:
    values, null = _numbers(series)
    present = np.sort(values[~null])
    distinct = np.unique(present)
    if len(distinct) == 0:
        edges = _EMPTY_NUMERIC_EDGES
    elif len(distinct) <= N_BINS:
        edges = np.unique(np.append(distinct, distinct[-1] + 1))
    else:
        edges = _search_edges(present)
    return _IntervalBins("numeric", _floor_edges(edges)[1:-1])


def _fit_datetime(series: pd.Series) -> _IntervalBins:
    values, null = _datetime_values(series)
    present = np.sort(values[~null])
    distinct = np.unique(present)
    if len(distinct) == 0:
        edges = _EMPTY_DATETIME_EDGES
    elif len(distinct) == 1:
        edges = np.append(distinct, distinct[0] + _MICROSECONDS_PER_DAY)
    else:
        edges = _search_edges(present)
    return _IntervalBins("datetime", edges[1:-1])


def _fit_categorical(series: pd.Series) -> _CategoryBins:
    raw_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    raw_codes = np.asarray(raw_codes, dtype=np.intp)
    counts = np.bincount(raw_codes[raw_codes >= 0], minlength=len(uniques))
    # Values with the same text (1 and "1" in an object column) are one category, as in
    # mostlyai-qa, which casts to string first. None stands for NULL in the ranking.
    count_by_text: dict[str | None, int] = {}
    for value, count in zip(uniques, counts, strict=True):
        text = str(value)
        count_by_text[text] = count_by_text.get(text, 0) + int(count)
    null_count = int(np.count_nonzero(raw_codes < 0))
    if null_count:
        count_by_text[None] = null_count
    ranked = sorted(count_by_text.items(), key=lambda item: -item[1])[:N_BINS]
    top = sorted(
        text
        for text, count in ranked
        if count >= MIN_CATEGORY_COUNT and text is not None and text != ""
    )
    return _CategoryBins({text: code for code, text in enumerate(top)})


_FITTERS: dict[str, Callable[[pd.Series], _Bins]] = {
    "numeric": _fit_numeric,
    "datetime": _fit_datetime,
    "categorical": _fit_categorical,
}


def _infer_kind(series: pd.Series) -> ColumnKind:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "numeric"
    return "categorical"


# --------------------------------------------------------------------------------------------
# Joint distributions


@dataclass(frozen=True)
class _Marginal:
    """The real distribution over a few columns, kept only where it has mass."""

    columns: tuple[int, ...]
    n_cells: int
    cells: IntArray  # sorted cell indices with real mass
    probabilities: FloatArray


def _cell_index(
    codes: Sequence[npt.NDArray[Any]], sizes: Sequence[int], columns: Sequence[int]
) -> IntArray:
    cell: IntArray = codes[columns[0]].astype(np.intp)
    for column in columns[1:]:
        cell = cell * sizes[column] + codes[column]
    return cell


def _cell_counts(
    cell: IntArray, n_cells: int, at: IntArray | None = None
) -> tuple[IntArray, IntArray]:
    """Occupied cells and their counts; with ``at``, the counts of exactly those cells."""
    if n_cells <= _DENSE_CELLS:
        counts = np.bincount(cell, minlength=n_cells)
        if at is None:
            occupied = np.flatnonzero(counts)
            return occupied, counts[occupied]
        return at, counts[at]
    occupied, counts = np.unique(cell, return_counts=True)
    if at is None:
        return occupied, counts
    position = np.minimum(np.searchsorted(occupied, at), len(occupied) - 1)
    return at, np.where(occupied[position] == at, counts[position], 0)


# --------------------------------------------------------------------------------------------
# Reference


class AccuracyReference:
    """Real data binned once; scores any number of synthetic samples cheaply."""

    def __init__(
        self,
        columns: Sequence[Hashable],
        bins: Sequence[_Bins],
        real_codes: Sequence[npt.NDArray[Any]],
        *,
        seed: int = 0,
    ) -> None:
        self._columns = list(columns)
        self._names = [str(column) for column in self._columns]
        self._bins = list(bins)
        self._sizes = [b.n_codes for b in self._bins]
        self._real_codes = list(real_codes)
        self._n_real = len(self._real_codes[0])
        self._seed = seed
        n = len(self._columns)
        self._univariate = [self._real_marginal((i,)) for i in range(n)]
        self._bivariate = [
            self._real_marginal(pair) for pair in itertools.combinations(range(n), 2)
        ]
        self._trivariate: list[_Marginal] | None = None  # on first request; can be large

    @classmethod
    def fit(
        cls,
        real: pd.DataFrame,
        kinds: Mapping[str, ColumnKind] | None = None,
        *,
        max_rows: int | None = None,
        seed: int = 0,
    ) -> AccuracyReference:
        """Fit bins on ``real`` (a seeded sample of ``max_rows`` rows when it is larger).

        Columns missing from ``kinds`` have their kind inferred from the dtype.
        """
        if real.columns.has_duplicates:
            duplicated = sorted({str(c) for c in real.columns[real.columns.duplicated()]})
            raise ValueError(f"real data has duplicate column names: {duplicated}")
        if real.shape[1] == 0 or len(real) == 0:
            raise ValueError(f"real data must have rows and columns, got shape {real.shape}")
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        kinds = dict(kinds or {})
        unknown_columns = sorted(str(c) for c in kinds if c not in real.columns)
        if unknown_columns:
            raise ValueError(f"kinds names columns not in the real data: {unknown_columns}")
        unknown_kinds = sorted({k for k in kinds.values() if k not in get_args(ColumnKind)})
        if unknown_kinds:
            raise ValueError(f"unknown column kinds {unknown_kinds}; use {get_args(ColumnKind)}")
        if max_rows is not None and len(real) > max_rows:
            real = real.sample(n=max_rows, random_state=seed)

        columns = list(real.columns)
        bins: list[_Bins] = []
        codes: list[npt.NDArray[Any]] = []
        for column in columns:
            series = real[column]
            kind = kinds.get(column) or _infer_kind(series)
            column_bins: _Bins = _FITTERS[kind](series)
            bins.append(column_bins)
            # int16 keeps the real codes small while they wait for trivariate requests.
            codes.append(column_bins.encode(series).astype(np.int16))
        return cls(columns, bins, codes, seed=seed)

    @property
    def names(self) -> list[str]:
        """Column names, as the per-column and per-pair figures key them."""
        return list(self._names)

    @property
    def sizes(self) -> list[int]:
        """Bins per column (NULL and "other" included), in column order."""
        return list(self._sizes)

    @property
    def real_codes(self) -> list[IntArray]:
        """The real rows' bin codes per column, as fitted (after any ``max_rows`` sample)."""
        return [codes.astype(np.intp) for codes in self._real_codes]

    def encode(self, frame: pd.DataFrame) -> list[IntArray]:
        """Bin codes per column of any frame with the real columns, on the real data's bins.

        The report builds its association matrices from these, so they describe the same
        binned view that the accuracy figures judge.
        """
        return [b.encode(frame[c]) for c, b in zip(self._columns, self._bins, strict=True)]

    def score(self, synthetic: pd.DataFrame, *, trivariate: bool = False) -> AccuracyReport:
        """Accuracy of ``synthetic`` against the real data; columns are matched by name."""
        missing = [str(c) for c in self._columns if c not in synthetic.columns]
        if missing:
            raise ValueError(f"synthetic data lacks columns of the real data: {missing}")
        n_synthetic = len(synthetic)
        if n_synthetic == 0:
            raise ValueError("synthetic data has no rows")
        codes = self.encode(synthetic)

        per_column = {
            name: self._accuracy(marginal, codes, n_synthetic)
            for name, marginal in zip(self._names, self._univariate, strict=True)
        }
        per_pair = {
            f"{self._names[m.columns[0]]}|{self._names[m.columns[1]]}": self._accuracy(
                m, codes, n_synthetic
            )
            for m in self._bivariate
        }
        univariate = _mean(per_column.values())
        bivariate = _mean(per_pair.values()) if per_pair else math.nan
        overall = univariate if math.isnan(bivariate) else (univariate + bivariate) / 2
        trivariate_accuracy = None
        if trivariate and len(self._columns) >= 3:
            trivariate_accuracy = _mean(
                self._accuracy(m, codes, n_synthetic) for m in self._triples()
            )
        return AccuracyReport(
            overall=overall,
            univariate=univariate,
            bivariate=bivariate,
            trivariate=trivariate_accuracy,
            per_column=per_column,
            per_pair=per_pair,
        )

    def _real_marginal(self, columns: tuple[int, ...]) -> _Marginal:
        n_cells = math.prod(self._sizes[c] for c in columns)
        cell = _cell_index(self._real_codes, self._sizes, columns)
        occupied, counts = _cell_counts(cell, n_cells)
        return _Marginal(columns, n_cells, occupied, counts / self._n_real)

    def _accuracy(self, real: _Marginal, codes: Sequence[IntArray], n: int) -> float:
        cell = _cell_index(codes, self._sizes, real.columns)
        _, matched = _cell_counts(cell, real.n_cells, at=real.cells)
        # Mass outside the real cells is counted from integers, so identical data gives exactly 0.
        outside = (n - int(matched.sum())) / n
        tvd = 0.5 * (float(np.abs(real.probabilities - matched / n).sum()) + outside)
        return 1.0 - tvd

    def _triples(self) -> list[_Marginal]:
        if self._trivariate is None:
            triples = _choose_triples(len(self._columns), MAX_TRIVARIATES, self._seed)
            self._trivariate = [self._real_marginal(t) for t in triples]
        return self._trivariate


def _choose_triples(n_columns: int, limit: int, seed: int) -> list[tuple[int, int, int]]:
    """All column triples, or a seeded uniform sample of ``limit`` of them."""
    if math.comb(n_columns, 3) <= limit:
        return list(itertools.combinations(range(n_columns), 3))
    # Enumerating millions of triples to sample from them would cost more than drawing: the
    # sorted rows of three distinct columns are uniform over triples, duplicates are dropped.
    rng = np.random.default_rng(seed)
    chosen: dict[tuple[int, int, int], None] = {}
    while len(chosen) < limit:
        draws = np.sort(rng.integers(0, n_columns, size=(2 * limit, 3)), axis=1)
        distinct = (draws[:, 0] < draws[:, 1]) & (draws[:, 1] < draws[:, 2])
        for a, b, c in draws[distinct].tolist():
            chosen[(a, b, c)] = None
            if len(chosen) == limit:
                break
    return sorted(chosen)


def _mean(values: Any) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def accuracy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
) -> AccuracyReport:
    """Full report, trivariate included; with a holdout, its accuracy is the ceiling."""
    reference = AccuracyReference.fit(real, kinds)
    report = reference.score(synthetic, trivariate=True)
    if holdout is None:
        return report
    return replace(report, holdout=reference.score(holdout, trivariate=True))
