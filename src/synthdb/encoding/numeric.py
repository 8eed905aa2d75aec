"""Numbers and datetimes as tokens, without losing continuity.

A column with few distinct values (ages, counts, ratings) gets one token per exact value.
Otherwise values that carry a large share of the rows (the zeros of ``capital_gain``) keep an
exact token and the rest fall into quantile bins; a second token places the value within its
bin on a finer uniform grid. Decoding draws uniformly inside that grid cell, so generated
numbers are continuous, not bin centres, and stay inside the observed range.

Under differential privacy (:meth:`NumericEncoder.fit_private`) the same layout comes from
noisy counts: a range from power-of-two buckets (skipped when the user declares bounds
public), then counts on a fixed grid over that range (one cell per integer when the range
holds at most :data:`MAX_EXACT_VALUES` integers, which then all get an exact token), from
which bin edges, the range and the NULL-replacing mean follow; point masses come from a
thresholded histogram of the exact values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnStatistics, SubColumn
from synthdb.encoding.private import (
    Declared,
    NoisyCounts,
    PrivateFit,
    bin_mass,
    denoised,
    grid_cumulative,
    grid_quantiles,
)
from synthdb.schema.table import ColumnSchema

#: Up to this many distinct values every value is its own token.
MAX_EXACT_VALUES = 150
#: Number of quantile bins for continuous columns (before de-duplication of edges).
BINS = 64
#: Positions within a bin.
FINE = 16
#: A value held by at least this share of rows keeps its own token (point masses).
POINT_MASS_SHARE = 0.01
#: Cells of the grid that a continuous column's bin edges are read from under DP.
GRID_CELLS = 256


@dataclass
class NumericEncoder:
    column: str
    integer: bool
    minimum: float
    maximum: float
    has_null: bool
    exact: list[float]
    edges: list[float]
    kind: str = "numeric"

    @classmethod
    def fit(cls, column: str, values: pd.Series, *, integer: bool) -> NumericEncoder:
        numbers = np.asarray(values, dtype=np.float64)
        has_null = bool(np.isnan(numbers).any())
        numbers = numbers[~np.isnan(numbers)]
        if numbers.size == 0:
            return cls(column, integer, 0.0, 0.0, has_null, [], [])
        distinct, counts = np.unique(numbers, return_counts=True)
        if distinct.size <= MAX_EXACT_VALUES:
            exact, edges = distinct, np.empty(0)
        else:
            exact, edges = _layout(numbers, distinct, counts)
            if edges.size < 2:
                exact, edges = distinct, np.empty(0)
        return cls(
            column=column,
            integer=integer,
            minimum=float(numbers.min()),
            maximum=float(numbers.max()),
            has_null=has_null,
            exact=[float(v) for v in exact],
            edges=[float(v) for v in edges],
        )

    @classmethod
    def from_summary(
        cls,
        column: str,
        *,
        integer: bool,
        minimum: float,
        maximum: float,
        has_null: bool,
        distinct: np.ndarray | None,
        sample: np.ndarray,
    ) -> NumericEncoder:
        """The encoder of a column streamed in chunks: its exact range, NULLs and (when at
        most :data:`MAX_EXACT_VALUES`) distinct values, and a uniform ``sample`` of its
        non-NULL values for the rest.

        With few distinct values this is :meth:`fit`'s encoder exactly. Otherwise the point
        masses and the quantile edges are read off the sample, a sampling sketch: a quantile
        of n sampled values is within about 1/sqrt(n) in rank of the true one (the DKW
        inequality: 0.3% for 200,000 values, below the 1/64 width of a bin), and a point
        mass's share within about the same. The outer edges are the exact range, so every
        value of the table falls inside a bin.
        """
        if distinct is not None and distinct.size <= MAX_EXACT_VALUES:
            exact, edges = np.sort(distinct), np.empty(0)
        elif sample.size == 0:
            exact, edges = np.empty(0), np.empty(0)
        else:
            values, counts = np.unique(sample, return_counts=True)
            exact, edges = _layout(sample, values, counts)
            if edges.size < 2:
                exact, edges = values, np.empty(0)
            else:
                edges[0], edges[-1] = min(edges[0], minimum), max(edges[-1], maximum)
        return cls(
            column=column,
            integer=integer,
            minimum=minimum,
            maximum=maximum,
            has_null=has_null,
            exact=[float(v) for v in exact],
            edges=[float(v) for v in edges],
        )

    @classmethod
    def fit_private(
        cls,
        column: ColumnSchema,
        values: pd.Series,
        counts: NoisyCounts,
        rows: float,
        *,
        keep_nulls: bool,
        declared: Declared | None = None,
    ) -> PrivateFit:
        """The encoder from noisy counts of ``values`` (``rows`` is the DP row count); NULL
        gets a token of its own only with ``keep_nulls`` and a NULL count above the noise."""
        numbers = np.asarray(values, dtype=np.float64)
        is_null = np.isnan(numbers)
        present = numbers[~is_null]
        integer = column.integer or column.kind == "datetime"
        sigma = counts.sigma
        if declared is not None and declared.bounds is not None:
            bounds: tuple[float, float] | None = (
                float(declared.bounds[0]),
                float(declared.bounds[1]),
            )
        else:
            bounds = counts.bounds(f"{column.name}: range", present)
        if bounds is None:
            empty = cls(column.name, integer, 0.0, 0.0, keep_nulls, [], [], column.kind)
            return PrivateFit(empty, [None] * len(empty.sub_columns), ColumnStatistics(0.0))
        low, high = bounds
        if integer:
            low, high = float(np.floor(low)), float(np.ceil(high))
        small = integer and high - low + 1 <= MAX_EXACT_VALUES
        if small:
            grid = np.arange(low - 0.5, high + 1.0, 1.0)
        else:
            grid = np.linspace(low, high, GRID_CELLS + 1)
        released, nulls = counts.grid(
            f"{column.name}: grid of {grid.size - 1} + NULLs", present, grid, int(is_null.sum())
        )
        has_null = keep_nulls and nulls > counts.empty_below()
        # The range stays the bucket range (at most twice too wide): trimming cells by their
        # noisy counts cuts real tails (ages past 51 at epsilon 1), and the network learns
        # empty cells. Seeding the network with the clipped noisy counts would give every
        # empty cell of a range up to twice too wide the mass of its noise (ages of 91-128
        # for 1% of rows at epsilon 4).
        seeded = denoised(released, sigma)
        centres = (grid[:-1] + grid[1:]) / 2
        # The NULL-replacing mean weighs each cell by its share of the running-maximum CDF, as
        # the bin masses do: counts clipped at zero put about 0.4 sigma in every empty cell of
        # a range up to twice too wide, which pulled the mean of 2,000 ages 18-79 up by 13
        # years at epsilon 1 (4-5 this way; the raw counts are unbiased but swing by 9).
        mass = np.diff(grid_cumulative(released))
        mean = float((centres * mass).sum() / mass.sum()) if mass.sum() > 0 else None
        if mean is not None and integer:
            mean = float(np.round(mean))
        statistics = ColumnStatistics(nulls, mean)
        null_part = [np.array([max(nulls, 0.0)])] if has_null else []
        if small:
            encoder = cls(
                column.name,
                integer,
                float(centres[0]),
                float(centres[-1]),
                has_null,
                [float(v) for v in centres],
                [],
                column.kind,
            )
            return PrivateFit(encoder, [np.concatenate([*null_part, seeded])], statistics)

        minimum, maximum = float(grid[0]), float(grid[-1])
        share = max(POINT_MASS_SHARE * rows, counts.threshold)
        points = counts.frequent(f"{column.name}: point masses", present, share)
        exact_values: list[float] = sorted(
            float(v)  # type: ignore[arg-type]
            for v in points
            if minimum <= float(v) <= maximum  # type: ignore[arg-type]
        )
        rest = released.copy()
        for value in exact_values:
            cell = int(np.clip(np.searchsorted(grid, value, side="right") - 1, 0, rest.size - 1))
            rest[cell] -= points[value]
        # Raw, unclipped counts: see grid_cumulative (clipping spent bins on nothing).
        edges = np.unique(grid_quantiles(rest, grid, np.linspace(0.0, 1.0, BINS + 1)))
        edges = np.unique(np.clip(edges, minimum, maximum))
        if edges.size < 2:
            edges = np.array([minimum, maximum]) if maximum > minimum else np.empty(0)
        edges[0], edges[-1] = minimum, maximum
        encoder = cls(
            column.name,
            integer,
            minimum,
            maximum,
            has_null,
            exact_values,
            [float(v) for v in edges],
            column.kind,
        )
        bins = max(edges.size - 1, 0)
        point_counts = np.array([max(points[v], 0.0) for v in exact_values])
        rest_mass = max(rows - point_counts.sum() - max(nulls, 0.0), 0.0)
        first_counts = np.concatenate(
            [*null_part, point_counts, bin_mass(rest, grid, edges, rest_mass)]
        )
        fine: list[np.ndarray | None] = [np.ones(FINE)] if bins else []
        return PrivateFit(encoder, [first_counts, *fine], statistics)

    @staticmethod
    def private_releases(column: ColumnSchema, declared: Declared | None) -> tuple[int, int]:
        """(thresholded, all) histograms :meth:`fit_private` releases at most: the range
        unless declared, the grid, and the thresholded point masses."""
        bounds = declared is None or declared.bounds is None
        return 1, (2 if bounds else 1) + 1

    @staticmethod
    def statistics(column: ColumnSchema, values: pd.Series) -> ColumnStatistics:
        """Exact NULL count and mean (rounded for integers and instants): what ``--nulls
        replace`` reads without DP. None when nothing is to be replaced, or nothing averaged."""
        nulls = int(values.isna().sum())
        if nulls == 0 or nulls == len(values):
            return ColumnStatistics(nulls)
        mean = float(np.nanmean(np.asarray(values, dtype=np.float64)))
        if column.integer or column.kind == "datetime":
            mean = float(np.round(mean))
        return ColumnStatistics(nulls, mean)

    @property
    def _offset(self) -> int:
        return 1 if self.has_null else 0

    @property
    def _bins(self) -> int:
        return max(len(self.edges) - 1, 0)

    @property
    def sub_columns(self) -> list[SubColumn]:
        first = SubColumn(self.column, max(self._offset + len(self.exact) + self._bins, 1))
        if self._bins:
            return [first, SubColumn(f"{self.column}#fine", FINE, context=False)]
        return [first]

    def encode(self, values: pd.Series) -> np.ndarray:
        numbers = np.asarray(values, dtype=np.float64)
        nulls = np.isnan(numbers)
        filled = np.where(nulls, self.minimum, numbers)
        tokens = np.zeros((numbers.size, len(self.sub_columns)), dtype=np.int64)
        exact = np.asarray(self.exact)
        is_exact = np.zeros(numbers.size, dtype=bool)
        if exact.size:
            position = np.clip(np.searchsorted(exact, filled), 0, exact.size - 1)
            nearest = np.where(
                (position > 0)
                & (np.abs(exact[position - 1] - filled) < np.abs(exact[position] - filled)),
                position - 1,
                position,
            )
            is_exact = exact[nearest] == filled if self._bins else np.ones_like(nulls)
            tokens[:, 0] = np.where(is_exact, self._offset + nearest, 0)
        if self._bins:
            edges = np.asarray(self.edges)
            clipped = np.clip(filled, edges[0], edges[-1])
            bin_index = np.clip(
                np.searchsorted(edges, clipped, side="right") - 1, 0, self._bins - 1
            )
            low, high = edges[bin_index], edges[bin_index + 1]
            fraction = (clipped - low) / np.maximum(high - low, 1e-300)
            fine = np.clip((fraction * FINE).astype(np.int64), 0, FINE - 1)
            binned = ~is_exact
            tokens[binned, 0] = self._offset + len(self.exact) + bin_index[binned]
            tokens[binned, 1] = fine[binned]
        tokens[nulls, 0] = 0
        if self._bins:
            tokens[nulls, 1] = 0
        return tokens

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        first = tokens[:, 0]
        out = np.full(first.size, np.nan)
        exact = np.asarray(self.exact)
        exact_index = first - self._offset
        is_exact = (exact_index >= 0) & (exact_index < exact.size)
        out[is_exact] = exact[exact_index[is_exact]]
        if self._bins:
            edges = np.asarray(self.edges)
            bin_index = first - self._offset - exact.size
            binned = (bin_index >= 0) & (bin_index < self._bins)
            b = bin_index[binned]
            low, high = edges[b], edges[b + 1]
            position = (tokens[binned, 1] + rng.random(b.size)) / FINE
            values = low + position * (high - low)
            if self.integer:
                values = np.clip(np.round(values), np.ceil(low), np.floor(high))
            out[binned] = values
        if self.integer:
            out = np.round(out)
        out = np.clip(out, self.minimum, self.maximum)
        return pd.Series(out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _layout(
    numbers: np.ndarray, distinct: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Point masses (values held by :data:`POINT_MASS_SHARE` of ``numbers`` or more) and the
    quantile edges of the other values."""
    exact = distinct[counts >= POINT_MASS_SHARE * numbers.size]
    rest = numbers[~np.isin(numbers, exact)]
    if rest.size == 0:
        return exact, np.empty(0)
    return exact, np.unique(np.quantile(rest, np.linspace(0.0, 1.0, BINS + 1)))
