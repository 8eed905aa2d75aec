"""Privacy accounting for Gaussian mechanisms, by Opacus' Renyi-DP accountant.

Why Opacus' RDP accountant (Mironov 2017; Mironov, Talwar, Zhang 2019 for the Poisson-subsampled
Gaussian): it is maintained, it is what most DP-SGD papers report, and every mechanism we run is
a (subsampled) Gaussian, so the whole pipeline composes in one RDP curve: the preprocessing
histograms are Gaussian mechanisms with sampling rate 1, DP-SGD is T steps of the subsampled
Gaussian. Composition in RDP is tighter than adding up epsilons.

A mechanism is described by ``(noise_multiplier, sample_rate, steps)``: Gaussian noise with
standard deviation ``noise_multiplier`` times the L2 sensitivity, applied ``steps`` times to a
Poisson sample of rate ``sample_rate`` (1.0: the whole table).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

#: Name recorded in the ledger, so a reader knows which accountant produced each figure.
ACCOUNTANT = "opacus-rdp"
#: Largest noise multiplier the calibration will consider.
MAX_NOISE = 1e4

Mechanism = tuple[float, float, int]


#: Orders beyond Opacus' default 63: small epsilons (the preprocessing share) need large ones.
EXTRA_ORDERS = (80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 4096)


def orders() -> list[float]:
    """The Renyi orders at which curves are evaluated (recorded in the ledger's doc)."""
    from opacus.accountants import RDPAccountant

    return [*RDPAccountant.DEFAULT_ALPHAS, *(float(a) for a in EXTRA_ORDERS)]


def rdp_curve(mechanisms: Sequence[Mechanism]) -> np.ndarray:
    """Renyi divergence at every order of :func:`_orders`, summed over ``mechanisms``."""
    from opacus.accountants.analysis.rdp import compute_rdp

    grid = orders()
    total = np.zeros(len(grid))
    for noise, rate, steps in mechanisms:
        if steps <= 0:
            continue
        total += np.asarray(compute_rdp(q=rate, noise_multiplier=noise, steps=steps, orders=grid))
    return total


def epsilon_of_curve(curve: np.ndarray, delta: float) -> float:
    from opacus.accountants.analysis.rdp import get_privacy_spent

    if not np.any(curve):
        return 0.0
    with warnings.catch_warnings():  # "optimal order is the largest alpha": epsilon is then loose
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = get_privacy_spent(orders=orders(), rdp=curve, delta=delta)
    return float(eps)


def epsilon(mechanisms: Sequence[Mechanism], delta: float) -> float:
    """The (epsilon, ``delta``)-DP guarantee of all ``mechanisms`` composed."""
    return epsilon_of_curve(rdp_curve(mechanisms), delta)


def calibrate_noise(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    prior: Sequence[Mechanism] = (),
) -> float:
    """The smallest noise multiplier for which ``prior`` plus ``steps`` steps stay within budget.

    Returns ``math.inf`` when the ``prior`` mechanisms alone exceed ``target_epsilon``.
    """
    base = rdp_curve(prior)
    if epsilon_of_curve(base, delta) >= target_epsilon:
        return math.inf
    from opacus.accountants.analysis.rdp import compute_rdp

    grid = orders()

    def spent(noise: float) -> float:
        step = np.asarray(
            compute_rdp(q=sample_rate, noise_multiplier=noise, steps=steps, orders=grid)
        )
        return epsilon_of_curve(base + step, delta)

    return _least_noise(spent, target_epsilon)


def affordable_steps(
    target_epsilon: float,
    delta: float,
    noise_multiplier: float,
    sample_rate: float,
    prior: Sequence[Mechanism] = (),
    limit: int = 10**9,
) -> int:
    """How many subsampled-Gaussian steps fit in the budget after ``prior`` (at most ``limit``)."""
    from opacus.accountants.analysis.rdp import compute_rdp

    grid = orders()
    base = rdp_curve(prior)
    one = np.asarray(
        compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1, orders=grid)
    )

    def fits(steps: int) -> bool:
        return epsilon_of_curve(base + steps * one, delta) <= target_epsilon

    if not fits(0) or not fits(1):
        return 0
    low, high = 1, 2
    while fits(high):
        low, high = high, high * 2
        if high > limit:
            return limit if fits(limit) else _search(fits, low, limit)
    return _search(fits, low, high)


def _search(fits: Callable[[int], bool], low: int, high: int) -> int:
    """Largest ``n`` in [low, high) with ``fits(n)``, given ``fits(low)`` and not ``fits(high)``."""
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def calibrate_shared(
    target_epsilon: float,
    delta: float,
    samplings: Sequence[tuple[float, int]],
    prior: Sequence[Mechanism] = (),
) -> float:
    """The smallest noise multiplier that, given to every ``(sample_rate, steps)`` of
    ``samplings`` (one per table of a database), keeps ``prior`` plus all of them within
    ``target_epsilon``; ``math.inf`` when ``prior`` alone exceeds it."""
    from opacus.accountants.analysis.rdp import compute_rdp

    base = rdp_curve(prior)
    if epsilon_of_curve(base, delta) >= target_epsilon:
        return math.inf
    grid = orders()

    def spent(noise: float) -> float:
        curve = base.copy()
        for rate, steps in samplings:
            curve += np.asarray(
                compute_rdp(q=rate, noise_multiplier=noise, steps=steps, orders=grid)
            )
        return epsilon_of_curve(curve, delta)

    return _least_noise(spent, target_epsilon)


def _least_noise(spent: Callable[[float], float], target_epsilon: float) -> float:
    """The smallest noise multiplier whose ``spent(noise)`` is within ``target_epsilon``
    (bisection to a millionth; ``inf`` when even :data:`MAX_NOISE` spends more)."""
    low, high = 0.05, 1.0
    while spent(high) > target_epsilon:
        low, high = high, high * 2
        if high > MAX_NOISE:
            return math.inf
    for _ in range(60):
        middle = (low + high) / 2
        if spent(middle) > target_epsilon:
            low = middle
        else:
            high = middle
        if high - low < 1e-6 * high:
            break
    return high
