"""Coherence of sequences: do a twin's ordered children behave like the source's, in order?

Per-table accuracy compares rows one by one and cannot see order or memory: a twin whose
customers' invoices are shuffled, or whose values jump at random from one event to the next,
scores as well as one that follows the source. These figures look along each parent's
sequence (its children sorted by the table's ``order_by``):

- ``in_order``: share of sequences whose order column never decreases in the rows' written
  order (the source's own share beside it);
- ``length``: 1 - total variation distance (TVD) of the sequence lengths;
- ``gaps``: 1 - TVD of the gaps between consecutive elements' order values;
- per number column, ``lag1``: the lag-1 autocorrelation (consecutive elements of one
  sequence), real and synthetic, scored as 1 - |difference| / 2;
- per category column, ``transitions``: 1 - TVD of the (previous, next) category pairs, and
  ``distinct``: 1 - TVD of the number of distinct categories per sequence.

``coherence`` is the mean of every score. Distributions are binned as our accuracy measure bins
numbers (up to 10 quantile bins of the real values) and categories (the 10 most common real
ones, the rest as one). The definitions are ours: mostlyai-qa's coherence (for its sequential
reports) also looks at categories per sequence and at consecutive pairs, but bins and weights
them its own way, so the figures are not interchangeable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.schema.inference import infer_column
from synthdb.schema.values import typed_column

#: Bins of a number's distribution, categories kept by name (the rest pooled).
BINS = 10
TOP_CATEGORIES = 10


@dataclass(frozen=True)
class OrderedTable:
    """A child table whose rows are sequences under a parent: by which key, in which order."""

    table: str
    parent: str
    key_columns: list[str]
    order_by: list[str]
    #: found in the data (its one date column) rather than set in the job file
    inferred: bool = False


@dataclass
class SequenceCoherence:
    """The figures of one ordered table (see the module docstring)."""

    table: str
    parent: str
    order_by: list[str]
    real_sequences: int
    synthetic_sequences: int
    in_order_real: float | None
    in_order_synthetic: float | None
    length: float | None
    gaps: float | None
    lag1: dict[str, dict[str, float | None]] = field(default_factory=dict)
    transitions: dict[str, float] = field(default_factory=dict)
    distinct: dict[str, float] = field(default_factory=dict)

    @property
    def coherence(self) -> float | None:
        scores = [s for s in (self.length, self.gaps) if s is not None]
        scores += [v["score"] for v in self.lag1.values() if v.get("score") is not None]  # type: ignore[misc]
        scores += list(self.transitions.values()) + list(self.distinct.values())
        return float(np.mean(scores)) if scores else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "coherence": self.coherence}


def sequence_coherence(
    ordered: OrderedTable,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    gaps: bool = True,
) -> SequenceCoherence:
    """Figures for one ordered child table; ``kinds`` maps the columns to compare (not keys)
    to ``numeric``, ``datetime`` or ``categorical``. ``gaps=False`` for an order by a key,
    whose gaps are not data (the twin numbers its rows anew)."""
    table, parent = ordered.table, ordered.parent
    parent_columns, order_by = ordered.key_columns, ordered.order_by
    order_column = infer_column(order_by[0], real[order_by[0]]) if order_by else None
    real_seq = _sequences(real, parent_columns, order_by, order_column)
    synthetic_seq = _sequences(synthetic, parent_columns, order_by, order_column)
    result = SequenceCoherence(
        table=table,
        parent=parent,
        order_by=list(order_by),
        real_sequences=real_seq.groups,
        synthetic_sequences=synthetic_seq.groups,
        in_order_real=_in_order(real, parent_columns, order_by, order_column),
        in_order_synthetic=_in_order(synthetic, parent_columns, order_by, order_column),
        length=_numbers_score(real_seq.lengths, synthetic_seq.lengths),
        gaps=_numbers_score(real_seq.gaps(), synthetic_seq.gaps()) if gaps else None,
    )
    for column, kind in kinds.items():
        if column in order_by or column not in real or column not in synthetic:
            continue
        if kind in ("numeric", "datetime"):
            a, b = real_seq.lag1(column), synthetic_seq.lag1(column)
            score = None if a is None or b is None else 1.0 - abs(a - b) / 2.0
            result.lag1[column] = {"real": a, "synthetic": b, "score": score}
        else:
            top = real[column].astype(object).value_counts().index[:TOP_CATEGORIES]
            pairs_real, pairs_synthetic = (
                real_seq.pairs(column, top),
                synthetic_seq.pairs(column, top),
            )
            if len(pairs_real) and len(pairs_synthetic):
                result.transitions[column] = _tvd_score(pairs_real, pairs_synthetic)
            distinct_real, distinct_synthetic = (
                real_seq.distinct(column),
                synthetic_seq.distinct(column),
            )
            if len(distinct_real) and len(distinct_synthetic):
                result.distinct[column] = _numbers_score(distinct_real, distinct_synthetic) or 0.0
    return result


def value_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """``numeric`` (numbers, dates), ``categorical``, or nothing (free text, constants) per
    column, as synthdb infers them on up to 20,000 rows."""
    sample = frame.iloc[:: max(1, len(frame) // 20_000)]
    kinds = {}
    for name in sample.columns:
        kind = infer_column(str(name), sample[name]).kind
        if kind in ("numeric", "datetime"):
            kinds[str(name)] = "numeric"
        elif kind in ("categorical", "boolean"):
            kinds[str(name)] = "categorical"
    return kinds


@dataclass
class _Sorted:
    """A table's rows sorted into sequences (rows without a parent left out)."""

    frame: pd.DataFrame
    group: np.ndarray
    order_values: np.ndarray

    @property
    def groups(self) -> int:
        return len(np.unique(self.group))

    @property
    def lengths(self) -> np.ndarray:
        return np.unique(self.group, return_counts=True)[1].astype(np.float64)

    def _consecutive(self) -> np.ndarray:
        """Rows whose previous row belongs to the same sequence."""
        same = np.zeros(len(self.group), dtype=bool)
        same[1:] = self.group[1:] == self.group[:-1]
        return same

    def gaps(self) -> np.ndarray:
        later = self._consecutive()
        values = self.order_values
        gaps = values[later] - values[np.flatnonzero(later) - 1]
        return gaps[np.isfinite(gaps)]

    def lag1(self, column: str) -> float | None:
        values = self.frame[column]
        typed = typed_column(values, infer_column(column, values))
        numbers = pd.to_numeric(typed, errors="coerce").to_numpy(dtype=np.float64)
        later = np.flatnonzero(self._consecutive())
        x, y = numbers[later - 1], numbers[later]
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
            return None
        return float(np.corrcoef(x[keep], y[keep])[0, 1])

    def pairs(self, column: str, top: pd.Index) -> pd.Series:
        values = self.frame[column].astype(object)
        named = values.where(values.isin(top), "(other)").where(values.notna(), "(null)")
        later = np.flatnonzero(self._consecutive())
        text = named.astype(str).to_numpy()
        return pd.Series(text[later - 1]) + " -> " + pd.Series(text[later])

    def distinct(self, column: str) -> np.ndarray:
        counts = pd.Series(self.frame[column].to_numpy(), index=self.group).groupby(level=0)
        return counts.nunique().to_numpy(dtype=np.float64)


def _group_codes(frame: pd.DataFrame, parent_columns: Sequence[str]) -> np.ndarray:
    keys = frame[list(parent_columns)]
    codes = (
        keys.astype(str).agg("\x1f".join, axis=1) if len(parent_columns) > 1 else keys.iloc[:, 0]
    )
    group, _ = pd.factorize(codes)
    group[keys.isna().any(axis=1).to_numpy()] = -1
    return group.astype(np.int64)


def _sequences(
    frame: pd.DataFrame, parent_columns: Sequence[str], order_by: Sequence[str], column: Any
) -> _Sorted:
    group = _group_codes(frame, parent_columns)
    if order_by:
        order_values = np.asarray(typed_column(frame[order_by[0]], column), dtype=np.float64)
    else:  # the rows' own order: no gaps to compare
        order_values = np.full(len(frame), np.nan)
    sort = pd.DataFrame({"g": group, "o": order_values, "r": np.arange(len(frame))})
    sort = sort[sort["g"] >= 0].sort_values(["g", "o", "r"], kind="stable", na_position="last")
    rows = sort["r"].to_numpy()
    return _Sorted(
        frame.iloc[rows].reset_index(drop=True), sort["g"].to_numpy(), order_values[rows]
    )


def _in_order(
    frame: pd.DataFrame, parent_columns: Sequence[str], order_by: Sequence[str], column: Any
) -> float | None:
    """Share of sequences whose order values never decrease in the rows' written order (None
    for sequences in the rows' own order, which always holds)."""
    if not order_by:
        return None
    group = _group_codes(frame, parent_columns)
    values = np.asarray(typed_column(frame[order_by[0]], column), dtype=np.float64)
    keep = group >= 0
    if not keep.any():
        return None
    data = pd.DataFrame({"g": group[keep], "v": values[keep]})
    steady = data.groupby("g", sort=False)["v"].apply(
        lambda v: bool(v.dropna().is_monotonic_increasing)
    )
    return float(steady.mean())


def _numbers_score(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """1 - TVD of two samples of numbers on up to :data:`BINS` quantile bins of the real."""
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if not len(real) or not len(synthetic):
        return None
    distinct = np.unique(real)
    if len(distinct) <= BINS:
        edges = distinct  # one bin per real value, and one below the lowest
    else:
        edges = np.unique(np.quantile(real, np.linspace(0, 1, BINS + 1))[1:-1])
    a = np.bincount(np.searchsorted(edges, real, side="right"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, synthetic, side="right"), minlength=len(edges) + 1)
    return 1.0 - 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


def _tvd_score(real: pd.Series, synthetic: pd.Series) -> float:
    a = real.value_counts(normalize=True)
    b = synthetic.value_counts(normalize=True)
    both = a.index.union(b.index)
    return 1.0 - 0.5 * float(
        (a.reindex(both, fill_value=0) - b.reindex(both, fill_value=0)).abs().sum()
    )


#: Sequences each side shows on the report page, and the rows of each shown as a table.
SHOWN_SEQUENCES = 3
SHOWN_ROWS = 8


def sequence_views(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    key_columns: Sequence[str],
    order_by: Sequence[str],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """What the report draws of one table's sequences: the histogram of their lengths (real
    and synthetic on the same bins) and a few sequences of each, drawn at random (``seed``)
    among those at least as long as the real median: their first rows, and one number column
    along the sequence."""
    key_columns = list(key_columns)
    column = infer_column(order_by[0], real[order_by[0]]) if order_by else None
    sides = {
        "real": _sequences(real, key_columns, order_by, column),
        "synthetic": _sequences(synthetic, key_columns, order_by, column),
    }
    longest = max(float(s.lengths.max(initial=1)) for s in sides.values())
    edges = (
        np.arange(1, longest + 2)
        if longest <= 30
        else np.unique(np.round(np.geomspace(1, longest + 1, 25)))
    )
    kinds = value_kinds(real.drop(columns=key_columns))
    numbers = [c for c, k in kinds.items() if k == "numeric" and c not in order_by]
    along = numbers[0] if numbers else None
    shown = [c for c in real.columns if c not in key_columns][:6]
    median = float(np.median(sides["real"].lengths)) if sides["real"].groups else 1.0
    out: dict[str, Any] = {
        "key": key_columns,
        "order_by": list(order_by),
        "length_edges": [float(e) for e in edges],
        "columns": shown,
        "along": along,
    }
    rng = np.random.default_rng(seed)
    for side, sorted_rows in sides.items():
        counts, _ = np.histogram(sorted_rows.lengths, bins=edges)
        out[f"{side}_lengths"] = [int(c) for c in counts]
        groups, sizes = np.unique(sorted_rows.group, return_counts=True)
        candidates = groups[sizes >= median] if (sizes >= median).any() else groups
        picked = rng.choice(candidates, min(SHOWN_SEQUENCES, len(candidates)), replace=False)
        examples = []
        for group in picked:
            rows = sorted_rows.frame[sorted_rows.group == group]
            values = None
            if along is not None:
                typed = typed_column(rows[along], infer_column(along, real[along]))
                values = [
                    None if not np.isfinite(v) else float(v)
                    for v in pd.to_numeric(typed, errors="coerce").to_numpy(dtype=np.float64)
                ]
            examples.append(
                {
                    "length": len(rows),
                    "rows": rows[shown]
                    .head(SHOWN_ROWS)
                    .astype(object)
                    .where(rows[shown].head(SHOWN_ROWS).notna(), None)
                    .astype(str)
                    .values.tolist(),
                    "along": values,
                }
            )
        out[f"{side}_examples"] = examples
    return out
