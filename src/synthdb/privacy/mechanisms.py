"""Gaussian count mechanisms: noisy histograms, stability thresholds, DP bounds and quantiles.

Every function here releases noisy counts of a histogram in which each row falls into exactly
one cell, so adding or removing a row changes one count by one: L2 sensitivity 1, and the
Gaussian mechanism with standard deviation ``sigma`` is an RDP mechanism with noise multiplier
``sigma`` (Mironov 2017), composed in the ledger with everything else. Anything computed from
the noisy counts afterwards (bounds, quantiles, means, modes) is post-processing and free.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from statistics import NormalDist

import numpy as np
import pandas as pd

#: Exponents of the power-of-two buckets used to find a column's range without a prior one.
LOW_EXPONENT, HIGH_EXPONENT = -32, 96
_POSITIVE = np.arange(LOW_EXPONENT, HIGH_EXPONENT + 1)


def noisy(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(counts, dtype=np.float64) + rng.normal(0.0, sigma, size=np.shape(counts))


def stability_threshold(sigma: float, delta_per_key: float) -> float:
    """Count above which a key is released, so that a key held by one row passes with
    probability at most ``delta_per_key`` (Korolova et al. 2009; Wilson et al. 2020, section 3,
    for Gaussian noise): ``1 + sigma * z`` with ``P(N(0,1) > z) = delta_per_key``.
    """
    return 1.0 - sigma * NormalDist().inv_cdf(delta_per_key)


def utility_threshold(sigma: float, cells: int = 1) -> float:
    """Below this a noisy count of one of ``cells`` fixed (data-independent) cells is treated
    as empty: noise alone pushes any of them over it with probability about 1e-4."""
    return -sigma * NormalDist().inv_cdf(1e-4 / max(cells, 1))


def stable_histogram(
    values: Iterable[Hashable], sigma: float, threshold: float, rng: np.random.Generator
) -> dict[Hashable, float]:
    """Noisy counts of the observed keys that clear ``threshold``, largest first.

    The keys are data (a category, an exact number), so unlike a fixed grid they may only be
    released above the stability threshold: a value held by one row almost never appears.
    """
    counts = pd.Series(list(values), dtype=object).value_counts(sort=False)
    if counts.empty:
        return {}
    released = noisy(counts.to_numpy(), sigma, rng)
    keep = released > threshold
    kept = sorted(
        zip(counts.index[keep], released[keep], strict=True), key=lambda kv: (-kv[1], str(kv[0]))
    )
    return dict(kept)


def bucket_index(numbers: np.ndarray) -> np.ndarray:
    """Fixed buckets: 0 for zero, then (-2^(k+1), -2^k] and [2^k, 2^(k+1)) for each k."""
    count = _POSITIVE.size
    magnitude = np.abs(numbers)
    exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    exponent = np.clip(exponent, LOW_EXPONENT, HIGH_EXPONENT).astype(np.int64) - LOW_EXPONENT
    return np.where(
        numbers == 0, count, np.where(numbers > 0, count + 1 + exponent, count - 1 - exponent)
    )


def bucket_edges(index: int) -> tuple[float, float]:
    count = _POSITIVE.size
    if index == count:
        return 0.0, 0.0
    if index > count:
        k = float(_POSITIVE[index - count - 1])
        return 2.0**k, 2.0 ** (k + 1)
    k = float(_POSITIVE[count - 1 - index])
    return -(2.0 ** (k + 1)), -(2.0**k)


def dp_bounds(
    numbers: np.ndarray, sigma: float, rng: np.random.Generator
) -> tuple[float, float] | None:
    """A range holding all but the sparsest tails, from noisy counts of power-of-two buckets.

    At most a factor two too wide on each side; None when no bucket clears the noise.
    """
    buckets = 2 * _POSITIVE.size + 1
    released = noisy(np.bincount(bucket_index(numbers), minlength=buckets), sigma, rng)
    kept = np.nonzero(released > utility_threshold(sigma, buckets))[0]
    if kept.size == 0:
        return None
    low, _ = bucket_edges(int(kept[0]))
    _, high = bucket_edges(int(kept[-1]))
    return low, high


def grid_counts(
    numbers: np.ndarray, edges: np.ndarray, sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """Noisy counts of a fixed grid (values outside are clamped into the end cells)."""
    cells = edges.size - 1
    index = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, cells - 1)
    return noisy(np.bincount(index, minlength=cells), sigma, rng)


def gaussian_sigma_for(epsilon: float, delta: float, releases: int) -> float:
    """Noise for ``releases`` sensitivity-1 Gaussian counts to cost ``epsilon`` together."""
    from synthdb.privacy import accounting

    sigma = accounting.calibrate_noise(epsilon, delta, 1.0, releases)
    return sigma if math.isfinite(sigma) else accounting.MAX_NOISE
