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
that chose this design: given Adult's holdout ``income`` and ``sex``, the rows score as
those of a model trained with those two columns first (the best that any-order training can
reach for this condition: 0.979 / 0.963 against 0.978 / 0.965), and above mostlyai-engine's,
which trains on random orders (0.972 / 0.952).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from synthdb.model.sampler import CHUNK_ROWS, Sampler

#: Copies per row. On Adult given the holdout's income and sex, accuracy of the rich rows
#: grows from 0.80 (1 copy: the forced draw) and levels off near 64 (BENCHMARKS.md).
PARTICLES = 64
#: A row's copies are resampled when their effective sample size falls below this share.
RESAMPLE_BELOW = 0.5
#: Copies per row of the pilot run that estimates how rare each row's condition is.
PILOT = 16
#: Copies expected to meet a row's condition: a row whose condition has probability p under
#: the model gets HITS / p copies (a power of two times PARTICLES, at most MAX_PARTICLES).
#: With a fixed 64 copies, 500 rows given Armed-Forces were 44% Federal-gov; the exact
#: conditional of the same model is about 60% (BENCHMARKS.md).
HITS = 8.0
#: The most copies a row is drawn with.
MAX_PARTICLES = 4096


@torch.inference_mode()
def sample_given(
    sampler: Sampler,
    given: Tensor,
    known: Tensor,
    generator: torch.Generator,
    particles: int = PARTICLES,
    not_null: Tensor | None = None,
    adaptive: bool = True,
) -> Tensor:
    """Token rows (long, rows x sub-columns) keeping ``given``'s tokens where ``known``.

    ``given`` holds every cell's token (any value where not known) and ``known`` (bool, same
    shape) says which cells are fixed. A conditional model's context sub-columns (the first
    ``sampler.context``) are always taken from ``given``. ``not_null`` (bool, same shape)
    marks unknown cells that must not be drawn as token 0, a NULL: the condition "not NULL"
    weighs the copy by p(x_j != NULL | x_<j), as a given cell does.

    Rows are drawn in chunks of about :data:`CHUNK_ROWS` copies, so memory stays flat in
    the number of rows. With ``adaptive``, a row gets at least ``particles`` copies and more
    when its condition is rare (:data:`HITS`). Without, every row gets ``particles``: for
    imputation, where the condition is most of a row, its probability is tiny for every row
    (it is the row's likelihood) and would give each row the most copies (2,000 Adult rows
    with a fifth of their cells NULL took 58 s instead of 1 s) without a rare condition to
    reach.
    """
    if given.shape != known.shape or given.ndim != 2:
        raise ValueError(f"given {tuple(given.shape)} and known {tuple(known.shape)} differ")
    if particles < 1:
        raise ValueError(f"particles must be at least 1 (got {particles})")
    given, known = given.long(), known.bool()
    banned = torch.zeros_like(known) if not_null is None else not_null.bool() & ~known
    rows = given.shape[0]
    out = torch.empty_like(given)
    if not adaptive:
        _chunks(sampler, given, known, banned, generator, particles, torch.arange(rows), out, None)
        return out
    # A pilot run estimates how likely each row's condition is under the model; the row is
    # then drawn afresh with enough copies to expect HITS of them to meet it. Choosing the
    # copies from the draw itself would bias it: a row whose few copies all missed a rare
    # condition's likely prefixes looks healthy (its weights are even) and would be kept.
    evidence = torch.empty(rows, dtype=torch.float64)
    _chunks(sampler, given, known, banned, generator, PILOT, torch.arange(rows), None, evidence)
    wanted = (HITS / evidence.exp()).clamp(min=particles, max=MAX_PARTICLES)
    copies = particles * 2 ** torch.ceil(torch.log2(wanted / particles)).long()
    for count in torch.unique(copies).tolist():
        todo = (copies == count).nonzero().squeeze(1)
        _chunks(sampler, given, known, banned, generator, int(count), todo, out, None)
    return out


def _chunks(
    sampler: Sampler,
    given: Tensor,
    known: Tensor,
    banned: Tensor,
    generator: torch.Generator,
    copies: int,
    rows: Tensor,
    out: Tensor | None,
    evidence: Tensor | None,
) -> None:
    """Draw ``rows`` with ``copies`` copies each, in chunks of about :data:`CHUNK_ROWS`."""
    step = max(1, CHUNK_ROWS // copies)
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        drawn, log_evidence = _chunk(
            sampler, given[part], known[part], banned[part], generator, copies
        )
        if out is not None:
            out[part] = drawn
        if evidence is not None:
            evidence[part] = log_evidence


def _chunk(
    sampler: Sampler,
    given: Tensor,
    known: Tensor,
    banned: Tensor,
    generator: torch.Generator,
    particles: int,
) -> tuple[Tensor, Tensor]:
    """The rows, and the log of each row's estimated probability of its condition (the
    particle filter's estimate of the evidence: the product over resamplings of the copies'
    mean weight)."""
    rows, columns = given.shape
    context = sampler.context
    known = known.clone()
    known[:, :context] = True
    later = (known | banned)[:, context:].nonzero()
    # the last sub-column any row of the chunk is given at: beyond it one copy per row
    last = int(later[:, 1].max()) + context if len(later) else context - 1
    copies = particles if last >= context else 1
    tokens = given.repeat_interleave(copies, dim=0)
    fixed = known.repeat_interleave(copies, dim=0)
    nonnull = banned.repeat_interleave(copies, dim=0)
    weights = torch.zeros(rows, copies, dtype=torch.float64)
    evidence = torch.zeros(rows, dtype=torch.float64)
    draws = torch.rand(rows * copies, columns, generator=generator)
    for j in range(context, columns):
        if j == last + 1 and copies > 1:
            tokens, draws = _pick_one(tokens, draws, weights, evidence, generator)
            fixed, nonnull = fixed[::copies], nonnull[::copies]
            copies = 1
        log_probs = sampler.log_probs(j, tokens)
        here, avoid = fixed[:, j], nonnull[:, j]
        score = torch.zeros(len(tokens), dtype=torch.float64)
        if bool(avoid.any()):
            score = torch.where(avoid, torch.logsumexp(log_probs[:, 1:], dim=1).double(), 0.0)
            log_probs[avoid, 0] = -torch.inf
        cumulative = log_probs.exp().cumsum_(dim=1)
        threshold = draws[:, j : j + 1] * cumulative[:, -1:]
        drawn = torch.searchsorted(cumulative, threshold, right=True).squeeze_(1)
        drawn.clamp_(max=log_probs.shape[1] - 1)
        tokens[:, j] = torch.where(here, tokens[:, j], drawn)
        if copies > 1 and bool((here | avoid).any()):
            scored = log_probs.gather(1, tokens[:, j : j + 1].clamp(max=log_probs.shape[1] - 1))
            score = torch.where(here, scored.squeeze(1).double(), score)
            weights += score.view(rows, copies)
            tokens, weights = _resample(tokens, weights, evidence, generator)
    if copies > 1:  # given at the very last sub-column
        tokens, _ = _pick_one(tokens, draws, weights, evidence, generator)
    return tokens, evidence


def _pick_one(
    tokens: Tensor, draws: Tensor, weights: Tensor, evidence: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """One copy per row, drawn by weight; the copies' mean weight joins ``evidence``."""
    rows, copies = weights.shape
    share = torch.softmax(weights, dim=1)
    evidence += torch.logsumexp(weights, dim=1) - math.log(copies)
    pick = torch.multinomial(share, 1, generator=generator).squeeze(1)
    keep = torch.arange(rows) * copies + pick
    return tokens[keep], draws[keep]


def _resample(
    tokens: Tensor, weights: Tensor, evidence: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Resample the copies of the rows whose effective sample size fell below the threshold;
    their mean weight joins ``evidence`` and their weights start again."""
    rows, copies = weights.shape
    share = torch.softmax(weights, dim=1)
    effective = 1.0 / share.square().sum(dim=1)
    low = (effective < RESAMPLE_BELOW * copies).nonzero().squeeze(1)
    if len(low) == 0:
        return tokens, weights
    evidence[low] += torch.logsumexp(weights[low], dim=1) - math.log(copies)
    picks = torch.multinomial(share[low], copies, replacement=True, generator=generator)
    source = torch.arange(rows * copies).view(rows, copies)
    source[low] = low[:, None] * copies + picks
    weights = weights.clone()
    weights[low] = 0.0
    return tokens[source.reshape(-1)], weights
