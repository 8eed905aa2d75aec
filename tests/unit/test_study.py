"""The study: least-squares fits recover known trends, values are checked, scoring is evaluate's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthdb import evaluate
from synthdb.errors import UsageError
from synthdb.study import (
    RunRecord,
    _Scorer,
    check_values,
    default_values,
    fit,
    fits_of,
    parse_values,
)


def test_a_log_trend_is_recovered_with_r2_one_on_exact_data() -> None:
    m = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
    result = fit("accuracy", "log", m, 0.8 + 0.02 * np.log(m))
    assert result.coefficients == pytest.approx({"a": 0.8, "b": 0.02})
    assert result.r2 == pytest.approx(1.0)
    assert result.points == 7
    assert result.equation("m") == "accuracy = 0.8 + 0.02 ln(m)"
    assert result.predict([math.e]) == pytest.approx([0.82])


def test_a_linear_trend_is_recovered() -> None:
    m = np.array([1, 2, 4, 8, 16], dtype=float)
    result = fit("seconds", "linear", m, 12.5 - 0.25 * m)
    assert result.coefficients == pytest.approx({"c": 12.5, "d": -0.25})
    assert result.r2 == pytest.approx(1.0)
    assert result.equation("m") == "seconds = 12.5 - 0.25 m"


def test_noisy_points_recover_the_trend_and_r2_drops_below_one() -> None:
    rng = np.random.default_rng(0)
    m = np.repeat(2.0 ** np.arange(8), 3)
    y = 0.7 + 0.03 * np.log(m) + rng.normal(0, 0.005, m.size)
    result = fit("accuracy", "log", m, y)
    assert result.coefficients["a"] == pytest.approx(0.7, abs=0.01)
    assert result.coefficients["b"] == pytest.approx(0.03, abs=0.003)
    assert 0.8 < result.r2 < 1.0


def test_a_log_quadratic_finds_an_optimum() -> None:
    lr = np.array([3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    y = 0.9 - 0.01 * (np.log(lr) - np.log(3e-3)) ** 2
    result = fit("accuracy", "log-quadratic", lr, y)
    assert result.r2 == pytest.approx(1.0)
    assert result.coefficients["q"] == pytest.approx(-0.01)
    peak = math.exp(-result.coefficients["b"] / (2 * result.coefficients["q"]))
    assert peak == pytest.approx(3e-3)


def test_constant_data_is_fitted_exactly() -> None:
    assert fit("seconds", "linear", [1, 2, 4], [5.0, 5.0, 5.0]).r2 == 1.0


def test_the_log_needs_positive_x() -> None:
    with pytest.raises(ValueError, match="x > 0"):
        fit("accuracy", "log", [0, 1, 2], [0.5, 0.6, 0.7])
    with pytest.raises(ValueError, match="x > 0"):
        fit("accuracy", "log", [-1, 1, 2], [0.5, 0.6, 0.7])


def test_a_fit_needs_enough_distinct_x() -> None:
    with pytest.raises(ValueError, match="distinct"):
        fit("accuracy", "log", [4, 4, 4], [0.5, 0.6, 0.7])
    with pytest.raises(ValueError, match="distinct"):
        fit("accuracy", "log-quadratic", [1, 2, 2], [0.5, 0.6, 0.7])


def test_refused_runs_are_left_out_of_the_fits() -> None:
    runs = [RunRecord(1.0, 0, refused="the noise would exceed the signal")] + [
        RunRecord(m, 0, accuracy=0.8 + 0.01 * math.log(m), seconds=10 + m) for m in (2.0, 4.0, 8.0)
    ]
    fits = {f.target: f for f in fits_of("microbatches", runs)}
    assert fits["accuracy"].points == 3
    assert fits["accuracy"].coefficients == pytest.approx({"a": 0.8, "b": 0.01})
    assert fits["seconds"].coefficients == pytest.approx({"c": 10.0, "d": 1.0})


def test_default_microbatches_are_powers_of_two_up_to_the_batch() -> None:
    values = default_values("microbatches", rows=1000, batch=64, epsilon=3, epochs=2)
    assert values == (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
    assert default_values("microbatches", rows=1000, batch=48, epsilon=3, epochs=2)[-1] == 48.0


def test_values_beyond_the_batch_size_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="more than the batch size 64"):
        check_values("microbatches", [1, 128], 64)
    with pytest.raises(UsageError, match="whole numbers"):
        check_values("microbatches", [1.5], 64)
    with pytest.raises(UsageError, match="> 0"):
        check_values("clip", [0.0], 64)
    with pytest.raises(UsageError, match="numbers separated by commas"):
        parse_values("1,two")
    assert check_values("noise", parse_values("2, 0.5,2"), 64) == (0.5, 2.0)


def test_the_study_scores_as_evaluate_does(adult: pd.DataFrame) -> None:
    real = adult.iloc[:600]
    other = adult.iloc[600:1200].reset_index(drop=True)
    scorer = _Scorer(real, "adult")
    assert scorer.score(other)[0] == pytest.approx(evaluate(real, other).overall)


def test_default_noise_values_stay_where_the_budget_binds() -> None:
    """Noise above ``auto`` would leave budget unspent (not the same epsilon): the defaults end
    near the planner's ``auto`` and start where the budget still buys at least one epoch."""
    from synthdb.config import Privacy
    from synthdb.privacy import accounting
    from synthdb.privacy.dpsgd import steps_per_epoch
    from synthdb.privacy.mechanisms import gaussian_sigma_for
    from synthdb.privacy.preprocessing import default_delta

    rows, batch, epsilon, epochs = 20_000, 1024, 3.0, 10
    values = default_values(
        "noise", rows=rows, batch=batch, epsilon=epsilon, epochs=epochs, columns=6
    )
    assert list(values) == sorted(values) and len(values) == 5
    # What training composes for 3 numeric and 3 categorical columns: 1 + 3 * 3 + 3 histograms.
    share = Privacy.model_fields["preprocessing_share"].default
    delta = default_delta(rows)
    histograms = (gaussian_sigma_for(share * epsilon, delta, 13), 1.0, 13)
    rate = batch / rows
    per_epoch = steps_per_epoch(rate)
    auto = accounting.calibrate_noise(epsilon, delta, rate, epochs * per_epoch, [histograms])
    assert values[-1] == pytest.approx(auto, rel=0.05)
    lowest = accounting.affordable_steps(
        epsilon, delta, values[0], rate, [histograms], epochs * per_epoch
    )
    assert per_epoch <= lowest < epochs * per_epoch
