"""Our accountant's figures against an independent one, and the calibration's promises."""

from __future__ import annotations

import dp_accounting
import pytest
from dp_accounting import rdp

from synthdb.privacy import accounting


def independent_epsilon(mechanisms: list[tuple[float, float, int]], delta: float) -> float:
    """Google's dp-accounting RDP accountant, at the same Renyi orders."""
    accountant = rdp.RdpAccountant(orders=accounting.orders())
    for noise, rate, steps in mechanisms:
        event = dp_accounting.GaussianDpEvent(noise)
        if rate < 1.0:
            event = dp_accounting.PoissonSampledDpEvent(rate, event)
        accountant.compose(event, steps)
    return float(accountant.get_epsilon(delta))


@pytest.mark.parametrize(
    "mechanisms",
    [
        [(1.1, 0.02, 1_000)],
        [(0.8, 0.005, 20_000)],
        [(180.0, 1.0, 30), (1.4, 0.05, 700)],  # preprocessing histograms, then DP-SGD
    ],
)
def test_epsilon_matches_an_independent_accountant(mechanisms) -> None:
    ours = accounting.epsilon(mechanisms, 1e-5)
    theirs = independent_epsilon(mechanisms, 1e-5)
    assert ours == pytest.approx(theirs, rel=0.01)


def test_calibrated_noise_spends_the_budget() -> None:
    prior = [(200.0, 1.0, 25)]
    noise = accounting.calibrate_noise(1.0, 1e-5, 0.04, 900, prior)
    spent = accounting.epsilon([*prior, (noise, 0.04, 900)], 1e-5)
    assert 0.99 < spent <= 1.0
    assert accounting.epsilon([*prior, (noise * 0.97, 0.04, 900)], 1e-5) > 1.0


def test_affordable_steps_stop_at_the_budget() -> None:
    steps = accounting.affordable_steps(1.0, 1e-5, 0.9, 0.04, [])
    assert accounting.epsilon([(0.9, 0.04, steps)], 1e-5) <= 1.0
    assert accounting.epsilon([(0.9, 0.04, steps + 1)], 1e-5) > 1.0
