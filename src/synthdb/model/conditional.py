"""Drawing token rows given some of their cells, whatever the cells' place in the model's order.

The network learns p(x) = prod_j p(x_j | x_<j) in one fixed order, so a cell given before the
cells it depends on (Adult's ``income`` is its last column) cannot simply be fed in: drawing
the earlier cells from the model and then overwriting the given one keeps the earlier cells'
unconditional distribution (the naive "forced" draw, measured in BENCHMARKS.md: its rich rows
score 0.80 against the holdout's rich rows). The joint the network learned already holds every
conditional; what is missing is a way to draw from p(unknown cells | given cells).

This module draws from it by sequential Monte Carlo (a particle filter over the columns, as in
Doucet, de Freitas and Gordon, "Sequential Monte Carlo Methods in Practice", 2001): each row
gets ``particles`` copies; in the model's order, a copy's unknown cells are drawn from the
network and its given cells are set and weigh the copy by p(x_j = given | x_<j); when a row's
copies' effective sample size falls below half their number, they are resampled by weight.
After the last given cell one copy per row is kept, drawn by weight, and the rest of the row
is drawn as usual, which is exact. With enough copies the rows follow the exact conditional
of the trained model; no retraining, so the unconditional model (and its accuracy, and under
DP its guarantee) is untouched.

Why not train for every order instead (order-agnostic training, Uria et al. 2014; MOSTLY AI's
TabularARGN trains on random column orders for the same reason): the network would spread its
capacity over every order, DP-SGD's ghost clipping and the sampler's lookup tables assume one
fixed mask, and the conditional would be learned, not exact. BENCHMARKS.md has the figures
that chose this design: accuracy of the rows given Adult's holdout ``income`` and ``sex``
against a model trained with those two columns first (the best that any-order training can
reach for this condition).
"""

from __future__ import annotations

import torch
from torch import Tensor

from synthdb.model.sampler import CHUNK_ROWS, Sampler

#: Copies per row. On Adult given the holdout's income and sex, accuracy of the rich rows
#: grows from 0.80 (1 copy: the forced draw) and levels off near 64 (BENCHMARKS.md).
PARTICLES = 64
#: A row's copies are resampled when their effective sample size falls below this share.
RESAMPLE_BELOW = 0.5


@torch.inference_mode()
def sample_given(
    sampler: Sampler,
    given: Tensor,
    known: Tensor,
    generator: torch.Generator,
    particles: int = PARTICLES,
) -> Tensor:
    """Token rows (long, rows x sub-columns) keeping ``given``'s tokens where ``known``.

    ``given`` holds every cell's token (any value where not known) and ``known`` (bool, same
    shape) says which cells are fixed. A conditional model's context sub-columns (the first
    ``sampler.context``) are always taken from ``given``. Rows are drawn in chunks of
    ``particles`` copies each, so memory stays flat in the number of rows.
    """
    if given.shape != known.shape or given.ndim != 2:
        raise ValueError(f"given {tuple(given.shape)} and known {tuple(known.shape)} differ")
    if particles < 1:
        raise ValueError(f"particles must be at least 1 (got {particles})")
    rows = given.shape[0]
    out = torch.empty_like(given, dtype=torch.long)
    step = max(1, CHUNK_ROWS // particles)
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        out[start:stop] = _chunk(
            sampler, given[start:stop].long(), known[start:stop].bool(), generator, particles
        )
    return out


def _chunk(
    sampler: Sampler, given: Tensor, known: Tensor, generator: torch.Generator, particles: int
) -> Tensor:
    rows, columns = given.shape
    context = sampler.context
    known = known.clone()
    known[:, :context] = True
    later = known[:, context:].nonzero()
    # the last sub-column any row of the chunk is given at: beyond it one copy per row
    last = int(later[:, 1].max()) + context if len(later) else context - 1
    copies = particles if last >= context else 1
    tokens = given.repeat_interleave(copies, dim=0)
    fixed = known.repeat_interleave(copies, dim=0)
    weights = torch.zeros(rows, copies, dtype=torch.float64)
    draws = torch.rand(rows * copies, columns, generator=generator)
    for j in range(context, columns):
        if j == last + 1 and copies > 1:
            pick = torch.multinomial(_normalised(weights), 1, generator=generator).squeeze(1)
            keep = torch.arange(rows) * copies + pick
            tokens, fixed, draws = tokens[keep], fixed[keep], draws[keep]
            copies = 1
        log_probs = sampler.log_probs(j, tokens)
        cumulative = log_probs.exp().cumsum_(dim=1)
        threshold = draws[:, j : j + 1] * cumulative[:, -1:]
        drawn = torch.searchsorted(cumulative, threshold, right=True).squeeze_(1)
        drawn.clamp_(max=log_probs.shape[1] - 1)
        here = fixed[:, j]
        tokens[:, j] = torch.where(here, tokens[:, j], drawn)
        if copies > 1 and bool(here.any()):
            scored = log_probs.gather(1, tokens[:, j : j + 1].clamp(max=log_probs.shape[1] - 1))
            weights += torch.where(here, scored.squeeze(1).double(), 0.0).view(rows, copies)
            tokens, weights = _resample(tokens, weights, generator)
    if copies > 1:  # given at the very last sub-column
        pick = torch.multinomial(_normalised(weights), 1, generator=generator).squeeze(1)
        tokens = tokens[torch.arange(rows) * copies + pick]
    return tokens


def _normalised(weights: Tensor) -> Tensor:
    return torch.softmax(weights, dim=1)


def _resample(
    tokens: Tensor, weights: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Resample the copies of the rows whose effective sample size fell below the threshold."""
    rows, copies = weights.shape
    share = _normalised(weights)
    effective = 1.0 / share.square().sum(dim=1)
    low = (effective < RESAMPLE_BELOW * copies).nonzero().squeeze(1)
    if len(low) == 0:
        return tokens, weights
    picks = torch.multinomial(share[low], copies, replacement=True, generator=generator)
    source = torch.arange(rows * copies).view(rows, copies)
    source[low] = low[:, None] * copies + picks
    weights = weights.clone()
    weights[low] = 0.0
    return tokens[source.reshape(-1)], weights
