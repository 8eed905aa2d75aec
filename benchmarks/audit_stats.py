"""Statistics of the one-run privacy audit (Steinke, Nasr & Jagielski, NeurIPS 2023).

The auditor draws m canaries and includes each one in the training data independently with
probability 1/2 (the inclusion bits S). After training it looks only at the mechanism's output
and guesses "in" or "out" for r of the canaries, abstaining on the rest; v of the guesses are
right. Their Theorem 5.2 bounds what an (epsilon, delta)-DP mechanism lets any guesser achieve::

    P[v correct or more] <= P[Binomial(r, q) >= v] + 2 m delta alpha,
    q = e^eps / (1 + e^eps),
    alpha = max over i = 1..v of P[v - i <= Binomial(r, q) < v] / i.

The right-hand side is the p-value of the observed v under the hypothesis "the mechanism is
(eps, delta)-DP". It grows with eps, so the largest eps whose p-value is still below beta is a
lower bound on the mechanism's true epsilon at confidence 1 - beta: were the true epsilon at
most that large, a result as good as the observed one would happen less than beta of the time.

Two rules keep the bound honest, and :func:`audit_bound` applies both:

* the number of guesses must not be chosen after looking at which guesses were right. Here a
  short list of (k_in, k_out) choices is fixed in advance and each is tested at beta divided
  by the number of choices (Bonferroni), so reporting the best of them keeps confidence 1 - beta;
* independent runs pool: each canary lives in one run only, so the runs together are one
  (eps, delta)-DP mechanism of all their canaries (parallel composition), with m, r and v
  summed over the runs.

Plain Python plus :mod:`scipy.stats`; importable from tests and scripts alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

#: The bisection stops when the bracket is this narrow.
TOLERANCE = 1e-4


def p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Probability bound of ``v`` or more correct guesses out of ``r`` (``m`` canaries) under
    an (``epsilon``, ``delta``)-DP mechanism (Steinke et al. 2023, Theorem 5.2)."""
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= v <= r <= m (got m={m}, r={r}, v={v})")
    if epsilon < 0 or not 0 <= delta <= 1:
        raise ValueError(f"need epsilon >= 0 and 0 <= delta <= 1 (got {epsilon}, {delta})")
    q = 1.0 / (1.0 + math.exp(-epsilon))
    tail = float(stats.binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    alpha = 0.0
    if delta > 0 and v > 0:
        # P[v - i <= B < v] for i = 1..v, divided by i
        below = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q).cumsum()
        alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(1.0, tail + 2.0 * m * delta * alpha)


def epsilon_lower_bound(m: int, r: int, v: int, delta: float, beta: float = 0.05) -> float:
    """The largest epsilon that ``v`` correct out of ``r`` guesses rejects at level ``beta``
    (0 when even epsilon = 0 is not rejected). Rounded down to :data:`TOLERANCE`."""
    if not 0 < beta < 1:
        raise ValueError(f"beta must be in (0, 1) (got {beta})")
    if p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    low, high = 0.0, 1.0
    while p_value(m, r, v, high, delta) < beta:
        low, high = high, 2.0 * high
        if high > 1e3:  # unreachable for finite r, a guard against a broken p-value
            return low
    while high - low > TOLERANCE:
        middle = (low + high) / 2
        if p_value(m, r, v, middle, delta) < beta:
            low = middle
        else:
            high = middle
    return low


def guesses(scores: np.ndarray, k_in: int, k_out: int, rng: np.random.Generator) -> np.ndarray:
    """+1 ("in") for the ``k_in`` highest scores, -1 ("out") for the ``k_out`` lowest, 0 for
    the rest. Ties are broken at random by ``rng``, which must not know the inclusion bits."""
    scores = np.asarray(scores, dtype=np.float64)
    if k_in + k_out > scores.size:
        raise ValueError(f"{k_in} + {k_out} guesses for {scores.size} canaries")
    order = np.lexsort((rng.random(scores.size), -scores))  # highest first, random among ties
    out = np.zeros(scores.size, dtype=np.int64)
    out[order[:k_in]] = 1
    if k_out:
        out[order[scores.size - k_out :]] = -1
    return out


@dataclass(frozen=True)
class AuditBound:
    """One audit's result, pooled over runs: the figures a reader needs to check it."""

    epsilon_lower_bound: float
    canaries: int
    guesses: int
    correct: int
    k_in: int
    k_out: int
    delta: float
    confidence: float
    choices: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def audit_bound(
    runs: Sequence[tuple[np.ndarray, np.ndarray]],
    choices: Sequence[tuple[int, int]],
    delta: float,
    beta: float = 0.05,
    seed: int = 0,
) -> AuditBound:
    """The best bound over the pre-registered ``choices`` of (k_in, k_out) per run.

    ``runs`` holds one (scores, included) pair per independent run; each choice guesses
    k_in "in" and k_out "out" in every run and is tested at ``beta / len(choices)``, so the
    reported maximum holds at confidence 1 - ``beta``.
    """
    if not choices:
        raise ValueError("at least one (k_in, k_out) choice is needed")
    level = beta / len(choices)
    m = sum(len(scores) for scores, _ in runs)
    best: AuditBound | None = None
    for k_in, k_out in choices:
        rng = np.random.default_rng(seed)
        r = v = 0
        for scores, included in runs:
            guess = guesses(scores, k_in, k_out, rng)
            truth = np.where(np.asarray(included, dtype=bool), 1, -1)
            r += int(np.count_nonzero(guess))
            v += int(np.count_nonzero(guess == truth))
        bound = epsilon_lower_bound(m, r, v, delta, level)
        result = AuditBound(bound, m, r, v, k_in, k_out, delta, 1.0 - beta, len(choices))
        if best is None or bound > best.epsilon_lower_bound:
            best = result
    assert best is not None
    return best
