"""The Gaussian count mechanisms: noise of the stated scale, thresholds that hold their delta,
ranges and grids that follow the data."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from synthdb.privacy import accounting, mechanisms


def test_noisy_counts_carry_unbiased_noise_of_the_stated_scale() -> None:
    rng = np.random.default_rng(0)
    counts = np.full(20_000, 50.0)

    released = mechanisms.noisy(counts, 4.0, rng)

    assert released.mean() == pytest.approx(50.0, abs=0.1)  # 4 / sqrt(20,000) = 0.03
    assert released.std() == pytest.approx(4.0, rel=0.02)


def test_the_stability_threshold_lets_a_one_row_key_pass_with_probability_delta() -> None:
    sigma, delta = 10.0, 1e-3
    threshold = mechanisms.stability_threshold(sigma, delta)

    # a key held by one row passes when 1 + noise > threshold
    assert 1.0 - NormalDist(1.0, sigma).cdf(threshold) == pytest.approx(delta, rel=1e-6)
    passed = (1.0 + np.random.default_rng(1).normal(0.0, sigma, 400_000)) > threshold
    assert passed.mean() == pytest.approx(delta, rel=0.15)  # 400 expected


def test_a_stable_histogram_releases_common_keys_largest_first_and_never_a_singleton() -> None:
    values = ["a"] * 500 + ["b"] * 300 + ["lonely"]
    threshold = mechanisms.stability_threshold(5.0, 1e-6)

    kept = [
        mechanisms.stable_histogram(values, 5.0, threshold, np.random.default_rng(seed))
        for seed in range(200)
    ]

    assert all(list(k) == ["a", "b"] for k in kept)
    assert np.mean([k["a"] for k in kept]) == pytest.approx(500, abs=1.5)
    assert mechanisms.stable_histogram([], 5.0, threshold, np.random.default_rng(0)) == {}


def test_buckets_are_fixed_powers_of_two_on_either_side_of_zero() -> None:
    numbers = np.array([0.0, 1.0, 1.5, 2.0, 3.9, -1.0, -2.5, 1e40])
    index = mechanisms.bucket_index(numbers)

    edges = [mechanisms.bucket_edges(int(i)) for i in index]

    assert edges[0] == (0.0, 0.0)
    assert edges[1] == edges[2] == (1.0, 2.0) and edges[3] == edges[4] == (2.0, 4.0)
    assert edges[5] == (-2.0, -1.0) and edges[6] == (-4.0, -2.0)  # (-2^(k+1), -2^k]
    assert edges[7][0] == 2.0**mechanisms.HIGH_EXPONENT  # clamped to the last bucket


def test_dp_bounds_hold_the_data_within_a_factor_two_and_refuse_noise_alone() -> None:
    ages = np.random.default_rng(2).integers(17, 91, 5_000).astype(float)

    low, high = mechanisms.dp_bounds(ages, 2.0, np.random.default_rng(3))  # type: ignore[misc]

    assert low <= 17 < 2 * low and high / 2 <= 90 < high  # 16 .. 128
    assert mechanisms.dp_bounds(np.empty(0), 2.0, np.random.default_rng(4)) is None


def test_grid_counts_put_values_outside_the_grid_into_its_end_cells() -> None:
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    numbers = np.array([-5.0, 0.0, 9.9, 10.0, 29.0, 30.0, 99.0])

    released = mechanisms.grid_counts(numbers, edges, 1e-9, np.random.default_rng(0))

    assert released.round().tolist() == [3.0, 1.0, 3.0]


def test_the_utility_threshold_is_passed_by_pure_noise_one_time_in_ten_thousand() -> None:
    sigma = 3.0
    floor = mechanisms.utility_threshold(sigma)

    assert 1.0 - NormalDist(0.0, sigma).cdf(floor) == pytest.approx(1e-4, rel=1e-6)
    assert mechanisms.utility_threshold(sigma, cells=100) > floor  # more cells, higher bar


def test_the_histograms_noise_spends_their_epsilon_together() -> None:
    sigma = mechanisms.gaussian_sigma_for(0.25, 1e-5, releases=30)

    spent = accounting.epsilon([(sigma, 1.0, 30)], 1e-5)

    assert spent == pytest.approx(0.25, rel=1e-3)
    assert mechanisms.gaussian_sigma_for(0.25, 1e-5, releases=60) > sigma
