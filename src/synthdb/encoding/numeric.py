"""Numbers and datetimes as tokens, without losing continuity.

A column with few distinct values (ages, counts, ratings) gets one token per exact value.
Otherwise values that carry a large share of the rows (the zeros of ``capital_gain``) keep an
exact token and the rest fall into quantile bins; a second token places the value within its
bin on a finer uniform grid. Decoding draws uniformly inside that grid cell, so generated
numbers are continuous, not bin centres, and stay inside the observed range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import SubColumn

#: Up to this many distinct values every value is its own token.
MAX_EXACT_VALUES = 150
#: Number of quantile bins for continuous columns (before de-duplication of edges).
BINS = 64
#: Positions within a bin.
FINE = 16
#: A value held by at least this share of rows keeps its own token (point masses).
POINT_MASS_SHARE = 0.01


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
            exact = distinct[counts >= POINT_MASS_SHARE * numbers.size]
            rest = numbers[~np.isin(numbers, exact)]
            edges = np.unique(np.quantile(rest, np.linspace(0.0, 1.0, BINS + 1)))
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
