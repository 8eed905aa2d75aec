"""Bars of the report's pictures and the association measure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.evaluation.distributions import (
    HISTOGRAM_BINS,
    OTHER,
    column_distribution,
    cramers_v,
)


def test_category_bars_are_shares_of_all_rows_with_null_apart() -> None:
    real = pd.Series(["a", "a", "b", None], dtype=object)
    synthetic = pd.Series(["a", "b", "b", "zzz"], dtype=object)

    bars = column_distribution(real, synthetic, "categorical")

    assert bars.labels == ["a", "b", OTHER]  # "zzz" is no real category
    assert bars.real == [0.5, 0.25, 0.0]
    assert bars.synthetic == [0.25, 0.5, 0.25]
    assert (bars.null_real, bars.null_synthetic) == (0.25, 0.0)


def test_few_numbers_get_one_bar_each_and_stray_values_the_nearest() -> None:
    real = pd.Series([1.0, 2.0, 2.0, 5.0])
    synthetic = pd.Series([1.0, 1.9, 4.9, np.nan])

    bars = column_distribution(real, synthetic, "numeric")

    assert bars.labels == ["1", "2", "5"] and bars.edges is None
    assert bars.synthetic == [0.25, 0.25, 0.25]
    assert bars.null_synthetic == 0.25


def test_many_whole_numbers_get_whole_number_bins_that_hold_every_value() -> None:
    rng = np.random.default_rng(0)
    real = pd.Series(rng.integers(17, 91, 5_000).astype(float))

    bars = column_distribution(real, real, "numeric")

    assert bars.edges is not None and len(bars.real) <= HISTOGRAM_BINS
    assert all(float(e).is_integer() for e in bars.edges)
    assert bars.labels[0] == f"{int(bars.edges[0])}-{int(bars.edges[1]) - 1}"
    assert sum(bars.real) == pytest.approx(1.0)  # outliers fall into the outer bins
    assert bars.real == bars.synthetic


def test_dates_are_labelled_as_dates() -> None:
    days = pd.Series(pd.date_range("2020-01-01", periods=400, freq="D"))
    seconds = (days - pd.Timestamp("1970-01-01")).dt.total_seconds()

    bars = column_distribution(seconds, seconds, "datetime")

    assert bars.kind == "datetime"
    assert bars.labels[0].startswith("2020-01-0")


def test_cramers_v_is_one_for_a_function_and_near_zero_for_independence() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 20_000)
    b = rng.integers(0, 4, 20_000)

    def table(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.bincount(x * 4 + y, minlength=16).reshape(4, 4)

    assert cramers_v(table(a, a)) == pytest.approx(1.0, abs=1e-3)
    assert cramers_v(table(a, b)) < 0.02
    assert cramers_v(np.array([[10, 0], [0, 0]])) == 0.0  # one value: no association
