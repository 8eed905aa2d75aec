"""The one-run audit statistics (benchmarks/audit_stats.py) on inputs whose answer is known."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import audit_stats


def _all_correct_bound(r: int, beta: float) -> float:
    """Pure DP, every guess right: q^r = beta, so eps = log(q / (1 - q)), q = beta^(1/r)."""
    q = beta ** (1.0 / r)
    return math.log(q / (1.0 - q))


def test_p_value_without_delta_is_the_binomial_tail() -> None:
    q = 1.0 / (1.0 + math.exp(-2.0))
    assert audit_stats.p_value(100, 40, 30, 2.0, 0.0) == pytest.approx(stats.binom.sf(29, 40, q))
    assert audit_stats.p_value(100, 10, 10, 1.0, 0.0) == pytest.approx(q_pow(1.0, 10))


def q_pow(epsilon: float, r: int) -> float:
    return (math.exp(epsilon) / (1.0 + math.exp(epsilon))) ** r


def test_delta_only_adds_to_the_p_value() -> None:
    plain = audit_stats.p_value(1000, 100, 80, 1.0, 0.0)
    assert audit_stats.p_value(1000, 100, 80, 1.0, 1e-5) > plain
    assert audit_stats.p_value(1000, 100, 80, 1.0, 1.0) == 1.0


@pytest.mark.parametrize("r", [10, 50, 100, 500])
def test_all_correct_guesses_match_the_closed_form(r: int) -> None:
    bound = audit_stats.epsilon_lower_bound(1000, r, r, 0.0, 0.05)
    assert bound == pytest.approx(_all_correct_bound(r, 0.05), abs=2 * audit_stats.TOLERANCE)
    # a small delta can only lower it, and only slightly
    with_delta = audit_stats.epsilon_lower_bound(1000, r, r, 1e-5, 0.05)
    assert bound - 0.1 < with_delta <= bound


def test_the_bound_grows_with_the_number_of_correct_guesses() -> None:
    bounds = [audit_stats.epsilon_lower_bound(1000, r, r, 1e-5) for r in (10, 20, 50, 100, 1000)]
    assert bounds == sorted(bounds) and bounds[0] > 0.9 and bounds[-1] > 5.5
    # r = 10 all right is about 1.05 (0.741^10 = 0.05); r = 1000 all right about 5.8
    assert bounds[0] == pytest.approx(1.05, abs=0.05)


def test_coin_flip_accuracy_gives_no_bound() -> None:
    assert audit_stats.epsilon_lower_bound(1000, 100, 50, 1e-5) == 0.0
    assert audit_stats.epsilon_lower_bound(1000, 1000, 520, 1e-5) == 0.0
    assert audit_stats.epsilon_lower_bound(1000, 100, 0, 0.0) == 0.0


def test_90_of_100_right() -> None:
    # P[Bin(100, q) >= 90] = 0.05 at q = 0.836: log(0.836 / 0.164) = 1.63
    assert audit_stats.epsilon_lower_bound(1000, 100, 90, 0.0) == pytest.approx(1.63, abs=0.01)


def test_bound_exceeds_the_truth_at_most_beta_of_the_time() -> None:
    """Randomised response with epsilon 1 is exactly 1-DP: the guesser is right with
    probability e / (1 + e) per canary; the bound may exceed 1 in at most ~5% of audits."""
    rng = np.random.default_rng(7)
    q = math.e / (1 + math.e)
    trials, r = 400, 200
    correct = rng.binomial(r, q, size=trials)
    bounds = [audit_stats.epsilon_lower_bound(r, r, int(v), 0.0, 0.05) for v in correct]
    exceed = sum(b > 1.0 for b in bounds)
    assert exceed <= 0.05 * trials + 3 * math.sqrt(0.05 * 0.95 * trials)
    assert 0.3 < float(np.median(bounds)) < 1.0  # an audit that can also see something


def test_guesses_take_the_extremes_and_break_ties_at_random() -> None:
    scores = np.array([5.0, 0.0, 3.0, 0.0, 0.0, 9.0, 1.0, 0.0])
    rng = np.random.default_rng(0)
    guess = audit_stats.guesses(scores, 2, 3, rng)
    assert guess.tolist().count(1) == 2 and guess.tolist().count(-1) == 3
    assert guess[5] == 1 and guess[0] == 1
    assert set(np.flatnonzero(guess == -1)) <= {1, 3, 4, 7}
    picks = {
        tuple(np.flatnonzero(audit_stats.guesses(scores, 0, 3, np.random.default_rng(s)) == -1))
        for s in range(30)
    }
    assert len(picks) > 1  # four tied zeros, three picked: not always the same three
    with pytest.raises(ValueError):
        audit_stats.guesses(scores, 5, 4, rng)


def test_audit_bound_pools_runs_and_corrects_for_choices() -> None:
    rng = np.random.default_rng(1)
    runs = []
    for _ in range(4):
        included = rng.random(100) < 0.5
        runs.append((np.where(included, 10.0, 0.0) + rng.random(100), included))
    one = audit_stats.audit_bound(runs, [(10, 0)], 1e-5)
    assert (one.canaries, one.guesses, one.correct) == (400, 40, 40)
    assert one.epsilon_lower_bound == pytest.approx(
        audit_stats.epsilon_lower_bound(400, 40, 40, 1e-5, 0.05), abs=1e-9
    )
    several = audit_stats.audit_bound(runs, [(10, 0), (25, 25), (40, 40)], 1e-5)
    assert several.choices == 3 and several.guesses == 320 and several.correct == 320
    assert several.epsilon_lower_bound == pytest.approx(
        audit_stats.epsilon_lower_bound(400, 320, 320, 1e-5, 0.05 / 3), abs=1e-9
    )
    # scores that ignore membership give nothing
    blind = [(rng.random(100), inc) for _, inc in runs]
    assert audit_stats.audit_bound(blind, [(10, 0), (50, 50)], 1e-5).epsilon_lower_bound < 0.5
