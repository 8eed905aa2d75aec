"""Privacy risk of a synthetic table: how close its rows come to the real rows it learned from.

Three measures (DESIGN.md section 5), each judged against real rows the model never saw (the
holdout), because real data is close to itself too: a new real person often resembles someone
in the training data, and no generator should be blamed for that.

* **DCR share**: the share of synthetic rows whose closest training row is nearer than their
  closest holdout row (ties count half). A generator that learned the distribution, not the
  rows, is as close to unseen real rows as to training rows: 0.5. Near 1 means it copies or
  hugs training rows. Training and holdout reference sets have the same number of rows, or the
  larger set would be closer by its size alone (mostlyai-qa samples them equal for the same
  reason). With more training than holdout rows, a copied row counts fully only when its
  original is in the training sample; the exact-match share below catches copies on all rows.
* **Exact-match share**: synthetic rows identical, in every compared column, to some training
  row, counted on all rows by hashing. Real data has duplicates too (Adult: a few dozen people
  share every attribute), so the reference is the holdout's own rate.
* **NNDR**: the median over synthetic rows of distance to the nearest training row divided by
  distance to the second nearest. A row much closer to one person than to the next (ratio near
  0) singles that person out; the holdout's own median is the reference.

Distance: a mixed-type Euclidean distance in which every column weighs at most 1. A number
becomes its mid-rank in the real (training) values, in [0, 1], so outliers and units do not
dominate; a NULL number sits at 0.5 with an indicator that adds 1. A category is one-hot with
weight 1/sqrt(2), so two different categories (NULL and "other" included) add exactly 1 to the
squared distance. Nearest neighbours are found by brute force (one matrix product per block),
which on a few dozen dimensions beats tree indexes; rows beyond ``max_rows`` are sampled with a
fixed seed, and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthdb.evaluation._values import floats, texts
from synthdb.evaluation.accuracy import ColumnKind

#: Synthetic rows, and training and holdout rows each, in the nearest-neighbour measures.
MAX_ROWS = 10_000
#: Categories per column that get their own dimension; the rest share "other".
MAX_CATEGORIES = 50
#: Distances are rounded before comparing, so that floating-point noise of the matrix product
#: (about 1e-8 for identical rows) does not break ties between equal distances.
_DECIMALS = 6
_ONE_HOT = 1 / math.sqrt(2)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PrivacyReport:
    """Distances of synthetic rows to real ones; holdout figures are the real data's own."""

    #: share of synthetic rows equal to some training row (all rows, exact)
    exact_match_share: float
    #: share of holdout rows equal to some training row: what real data does by itself
    exact_match_share_holdout: float | None
    #: share of synthetic rows closer to a training row than to a holdout row (0.5 ideal)
    dcr_share: float | None
    #: median distance of a synthetic row to its closest training row
    dcr_synthetic: float
    #: median distance of a holdout row to its closest training row
    dcr_holdout: float | None
    #: median ratio of nearest to second-nearest training distance, synthetic rows
    nndr_synthetic: float | None
    #: the same for holdout rows
    nndr_holdout: float | None
    #: synthetic rows in the nearest-neighbour measures (a sample when the table is larger)
    synthetic_rows: int
    #: training rows searched, and as many holdout rows when there is a holdout
    reference_rows: int
    #: True when any of the three tables was sampled for the nearest-neighbour measures
    sampled: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact_match_share": self.exact_match_share,
            "exact_match_share_holdout": self.exact_match_share_holdout,
            "dcr_share": self.dcr_share,
            "dcr_synthetic": self.dcr_synthetic,
            "dcr_holdout": self.dcr_holdout,
            "nndr_synthetic": self.nndr_synthetic,
            "nndr_holdout": self.nndr_holdout,
            "synthetic_rows": self.synthetic_rows,
            "reference_rows": self.reference_rows,
            "sampled": self.sampled,
        }


def privacy(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: Mapping[str, ColumnKind],
    *,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> PrivacyReport:
    """Privacy measures of ``synthetic`` against ``train`` (typed frames, same columns).

    ``kinds`` says which columns are compared and how; numbers and datetimes (as numbers) are
    ranked, everything else is a category.
    """
    columns = list(kinds)
    if not columns:
        raise ValueError("no columns to compare")
    if len(train) == 0 or len(synthetic) == 0:
        raise ValueError("privacy measures need training and synthetic rows")
    rng = np.random.default_rng(seed)
    exact = _match_share(train[columns], synthetic[columns])
    exact_holdout = _match_share(train[columns], holdout[columns]) if holdout is not None else None

    reference_rows = min(len(train), max_rows)
    if holdout is not None:
        reference_rows = min(reference_rows, len(holdout))
    train_ref = _sample(train, reference_rows, rng)
    synthetic_sample = _sample(synthetic, min(len(synthetic), max_rows), rng)
    holdout_ref = _sample(holdout, reference_rows, rng) if holdout is not None else None
    sampled = (
        len(train_ref) < len(train)
        or len(synthetic_sample) < len(synthetic)
        or (holdout is not None and holdout_ref is not None and len(holdout_ref) < len(holdout))
    )

    encoder = _DistanceEncoder.fit(train, kinds)
    train_points = encoder.encode(train_ref)
    synthetic_points = encoder.encode(synthetic_sample)
    to_train = _nearest(train_points, synthetic_points, k=2)
    dcr_share = dcr_holdout = nndr_holdout = None
    if holdout_ref is not None:
        holdout_points = encoder.encode(holdout_ref)
        to_holdout = _nearest(holdout_points, synthetic_points, k=1)
        closer = to_train[:, 0] < to_holdout[:, 0]
        tied = to_train[:, 0] == to_holdout[:, 0]
        dcr_share = float(np.mean(closer) + 0.5 * np.mean(tied))
        holdout_to_train = _nearest(train_points, holdout_points, k=2)
        dcr_holdout = float(np.median(holdout_to_train[:, 0]))
        nndr_holdout = _nndr(holdout_to_train)
    return PrivacyReport(
        exact_match_share=exact,
        exact_match_share_holdout=exact_holdout,
        dcr_share=dcr_share,
        dcr_synthetic=float(np.median(to_train[:, 0])),
        dcr_holdout=dcr_holdout,
        nndr_synthetic=_nndr(to_train),
        nndr_holdout=nndr_holdout,
        synthetic_rows=len(synthetic_sample),
        reference_rows=len(train_ref),
        sampled=bool(sampled),
    )


def _match_share(train: pd.DataFrame, other: pd.DataFrame) -> float:
    """Share of ``other``'s rows that equal some row of ``train``, compared by row hashes."""
    if len(other) == 0:
        return math.nan
    seen = pd.util.hash_pandas_object(train, index=False).to_numpy()
    hashes = pd.util.hash_pandas_object(other, index=False).to_numpy()
    return float(np.isin(hashes, seen).mean())


def _sample(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if rows >= len(frame):
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=rows, replace=False))]


def _nearest(points: FloatArray, queries: FloatArray, *, k: int) -> FloatArray:
    """Distances of each query to its ``k`` nearest points, rounded (see ``_DECIMALS``)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(points))
    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(points)
    distances, _ = index.kneighbors(queries)
    rounded: FloatArray = np.round(distances, _DECIMALS)
    return rounded


def _nndr(distances: FloatArray) -> float | None:
    """Median nearest / second-nearest ratio; a row tied with two identical rows counts as 1."""
    if distances.shape[1] < 2:
        return None
    first, second = distances[:, 0], distances[:, 1]
    ratio = np.divide(first, second, out=np.ones_like(first), where=second > 0)
    return float(np.median(ratio))


@dataclass(frozen=True)
class _DistanceEncoder:
    """Turns typed rows into points whose Euclidean distance is the mixed-type one above."""

    numbers: dict[str, FloatArray]  # sorted real values per numeric column
    categories: dict[str, dict[str, int]]  # kept categories per categorical column

    @classmethod
    def fit(cls, real: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> _DistanceEncoder:
        numbers: dict[str, FloatArray] = {}
        categories: dict[str, dict[str, int]] = {}
        for column, kind in kinds.items():
            if kind == "categorical":
                counts = texts(real[column]).value_counts(dropna=True)
                kept = sorted(str(v) for v in counts.index[:MAX_CATEGORIES])
                categories[column] = {text: i for i, text in enumerate(kept)}
            else:
                values = floats(real[column])
                numbers[column] = np.sort(values[~np.isnan(values)])
        return cls(numbers, categories)

    def encode(self, frame: pd.DataFrame) -> FloatArray:
        parts: list[FloatArray] = []
        for column, sorted_values in self.numbers.items():
            values = floats(frame[column])
            null = np.isnan(values)
            if len(sorted_values):
                below = np.searchsorted(sorted_values, values, side="left")
                upto = np.searchsorted(sorted_values, values, side="right")
                rank = (below + upto) / (2.0 * len(sorted_values))
            else:
                rank = np.full(len(values), 0.5)
            parts.append(np.where(null, 0.5, rank)[:, None])
            parts.append(null.astype(np.float64)[:, None])
        for column, codes_by_text in self.categories.items():
            text = texts(frame[column])
            other, null_code = len(codes_by_text), len(codes_by_text) + 1
            codes = text.map(codes_by_text).fillna(other).to_numpy(dtype=np.intp, copy=True)
            codes[text.isna().to_numpy()] = null_code
            one_hot = np.zeros((len(frame), null_code + 1))
            one_hot[np.arange(len(frame)), codes] = _ONE_HOT
            parts.append(one_hot)
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))
