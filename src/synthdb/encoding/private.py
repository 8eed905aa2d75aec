"""What an encoder's private fit may ask of the data, and how it reads the answers.

Every encoder has two fits: ``fit`` reads exact facts off the rows (categories, ranges, bin
edges, point masses), ``fit_private`` learns the same facts from noisy counts only, each one
charged to the model's epsilon ledger. The counts come through :class:`NoisyCounts`, a small
interface that :mod:`synthdb.privacy.preprocessing` implements with the Gaussian mechanisms of
:mod:`synthdb.privacy.mechanisms`. The interface lives here, beside the encoders that call it,
so that ``encoding/`` never imports ``privacy/``: imports point from privacy down to encoding,
as from every package above it, and the encoders stay usable (and testable) without the
ledger.

What a fit does with a noisy count afterwards (bin edges, means, modes, the counts that seed
the network's heads) is post-processing, free under differential privacy; the helpers for it
are below, next to the interface.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from synthdb.encoding.base import ColumnEncoder, ColumnStatistics

#: The noisy counts of an integer column's cells seed the network soft-thresholded by this
#: many noise standard deviations (post-processing, free): a cell with no rows then seeds
#: about 0.01 sigma of mass instead of 0.4 sigma, while cells of many rows barely change.
SOFT_THRESHOLD_SIGMAS = 2.0
#: ... and a cell left with a count while both its neighbours have none must clear this many
#: sigmas on its own: the largest noise among the 80-odd empty cells of Adult's too-wide
#: integer ranges passes 2 sigma in most releases (2.3% a cell) and put a cluster of
#: impossible values (``education_num`` 17-31, ages above 90) into most twins; 3.5 sigma
#: passes 0.02% a cell. A real value held alone by fewer rows than that is dropped with them.
ISOLATED_SIGMAS = 3.5


class NoisyCounts(Protocol):
    """Noisy counts of the rows, each release charged to the model's ledger by the
    implementation (:class:`synthdb.privacy.preprocessing.ChargedCounts`).

    Every count has Gaussian noise of standard deviation :attr:`sigma`; a row falls into one
    cell of each histogram (its NULL cell when it is NULL), so each release has sensitivity 1.
    ``target`` names the release in the ledger.
    """

    @property
    def sigma(self) -> float:
        """Noise standard deviation of every count (denoising reads it: post-processing)."""
        ...

    @property
    def threshold(self) -> float:
        """The stability threshold above which an observed key (a category) is released."""
        ...

    def rows(self, count: int) -> float:
        """The table's row count, released once (at least 1)."""
        ...

    def cells(self, target: str, counts: np.ndarray) -> np.ndarray:
        """Noisy counts of fixed, data-independent cells (a boolean's values and NULL)."""
        ...

    def vocabulary(
        self, target: str, values: Iterable[Hashable], nulls: int
    ) -> tuple[dict[Hashable, float], float]:
        """Noisy counts of the observed keys above :attr:`threshold`, largest first, and of
        the NULL cell: one histogram."""
        ...

    def frequent(
        self, target: str, values: Iterable[Hashable], threshold: float
    ) -> dict[Hashable, float]:
        """Noisy counts of the observed keys above ``threshold`` (at least :attr:`threshold`):
        a number's point masses."""
        ...

    def bounds(self, target: str, numbers: np.ndarray) -> tuple[float, float] | None:
        """A range holding all but the sparsest tails (power-of-two buckets), or None."""
        ...

    def grid(
        self, target: str, numbers: np.ndarray, edges: np.ndarray, nulls: int
    ) -> tuple[np.ndarray, float]:
        """Noisy counts of a fixed grid (values outside in the end cells) and of NULL."""
        ...

    def empty_below(self) -> float:
        """A noisy count of a fixed cell below this is read as empty (noise alone passes it
        with probability about 1e-4)."""
        ...


class Declared(Protocol):
    """What the user declares public about a column (``config.PublicColumn``): used as given,
    never charged."""

    @property
    def bounds(self) -> tuple[float, float] | None: ...

    @property
    def categories(self) -> list[str] | None: ...


@dataclass
class PrivateFit:
    """An encoder fitted on noisy counts, with what the rest of the pipeline reads from them."""

    encoder: ColumnEncoder
    #: per sub-column, the noisy token counts that seed the network's heads (None: unknown)
    token_counts: list[np.ndarray | None]
    #: what the NULL policy reads (DP estimates): NULL cells and the replacing average
    statistics: ColumnStatistics


def denoised(released: np.ndarray, sigma: float) -> np.ndarray:
    """An integer grid's noisy counts as the heads see them: soft-thresholded by
    :data:`SOFT_THRESHOLD_SIGMAS`, and an isolated survivor kept only above
    :data:`ISOLATED_SIGMAS` (post-processing, free)."""
    seeded = np.clip(released - SOFT_THRESHOLD_SIGMAS * sigma, 0.0, None)
    alive = seeded > 0
    neighbour = np.zeros_like(alive)
    neighbour[1:] |= alive[:-1]
    neighbour[:-1] |= alive[1:]
    weak = alive & ~neighbour & (released < ISOLATED_SIGMAS * sigma)
    seeded[weak] = 0.0
    return seeded


def grid_cumulative(released: np.ndarray) -> np.ndarray:
    """The running count up to each grid edge of a noisy histogram (one more entry than cells).

    The running sum of the raw noisy counts is unbiased; taking its running maximum makes it a
    distribution function. Clipping each count at zero instead would add the positive half of
    the noise of every empty cell.
    """
    return np.maximum.accumulate(np.concatenate([[0.0], np.cumsum(released)]))


def grid_quantiles(released: np.ndarray, edges: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of a noisy grid histogram (:func:`grid_cumulative`), interpolating linearly
    within cells. Where noise dominates, the edges come out about evenly spaced."""
    cumulative = grid_cumulative(released)
    total = cumulative[-1]
    if total <= 0:
        return edges[0] + probs * (edges[-1] - edges[0])
    position = np.interp(probs * total, cumulative, np.arange(edges.size, dtype=np.float64))
    return np.interp(position, np.arange(edges.size, dtype=np.float64), edges)


def bin_mass(cells: np.ndarray, grid: np.ndarray, edges: np.ndarray, total: float) -> np.ndarray:
    """Mass of each bin between ``edges``, read off the noisy histogram ``cells`` on ``grid``
    the same way the edges were (:func:`grid_cumulative`) and scaled to ``total``: quantile
    bins hold about equal shares, except a last bin stretched over an empty top of the range,
    which gets (almost) none."""
    bins = max(edges.size - 1, 0)
    if bins == 0:
        return np.empty(0)
    at_edges = np.interp(edges, grid, grid_cumulative(cells))
    mass = np.clip(np.diff(at_edges), 0.0, None)
    if mass.sum() <= 0:
        return np.full(bins, total / bins)
    return mass * (total / mass.sum())
