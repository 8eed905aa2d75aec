"""Accuracy measure: exact values on constructed data, tolerances on random samples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb.evaluation import accuracy as accuracy_module
from synthdb.evaluation.accuracy import AccuracyReference, AccuracyReport, accuracy

ADULT = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "adult.csv"


def mixed_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Correlated numbers, a point mass, categories with NULLs, dates and booleans."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) + shift
    y = 2 * x + rng.normal(scale=0.3, size=n)
    group = np.where(x > 0, "high", "low")
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "group": pd.Series(group, dtype=object),
            "count": rng.poisson(3, n),
            "city": pd.Series(rng.choice([f"c{i}" for i in range(15)], n), dtype=object).where(
                rng.random(n) > 0.1
            ),
            "day": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1000, n) + int(shift * 300), unit="D"),
            "flag": rng.random(n) < 0.3,
        }
    )


# --- exact values ---------------------------------------------------------------------------


def test_identical_data_scores_exactly_one() -> None:
    real = mixed_frame(5_000, seed=0)

    report = accuracy(real, real.copy())

    assert report.overall == 1.0
    assert report.univariate == 1.0
    assert report.bivariate == 1.0
    assert report.trivariate == 1.0
    assert set(report.per_column.values()) == {1.0}
    assert len(report.per_pair) == 7 * 6 // 2


def test_permuting_one_column_keeps_univariate_and_breaks_bivariate() -> None:
    real = mixed_frame(20_000, seed=0)
    synthetic = real.copy()
    synthetic["y"] = np.random.default_rng(1).permutation(synthetic["y"].to_numpy())

    report = AccuracyReference.fit(real).score(synthetic)

    assert report.univariate == 1.0
    assert report.per_pair["x|y"] < 0.6  # y = 2x + noise: the joint bins are nearly diagonal
    assert report.per_pair["x|group"] == 1.0  # pairs without y are untouched
    assert report.bivariate < 0.95


def test_row_order_and_extra_columns_do_not_matter() -> None:
    real = mixed_frame(2_000, seed=0)
    synthetic = real.sample(frac=1.0, random_state=3)[list(reversed(real.columns))]
    synthetic["extra"] = 1

    assert AccuracyReference.fit(real).score(synthetic).overall == 1.0


# --- sampling noise and real differences ----------------------------------------------------


def test_independent_samples_score_high_and_shifted_sample_lower() -> None:
    reference = AccuracyReference.fit(mixed_frame(20_000, seed=0))

    same = reference.score(mixed_frame(20_000, seed=1))
    shifted = reference.score(mixed_frame(20_000, seed=2, shift=0.5))

    assert same.overall > 0.95
    assert same.univariate > 0.98
    assert shifted.overall < same.overall - 0.05
    assert shifted.per_column["x"] < 0.85


# --- NULLs, categories, point masses, dates -------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(np.arange(10_000) % 97, dtype="float64"),
        pd.Series([f"v{i % 7}" for i in range(10_000)], dtype=object),
        pd.Series(pd.date_range("2000-01-01", periods=10_000, freq="h")),
    ],
    ids=["numeric", "categorical", "datetime"],
)
def test_null_is_its_own_bin(values: pd.Series) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"v": values.where(rng.random(len(values)) >= 0.3)})
    synthetic = pd.DataFrame({"v": values})  # same values, no NULLs

    score = AccuracyReference.fit(real).score(synthetic).per_column["v"]

    assert score == pytest.approx(0.7, abs=0.02)


def test_categories_beyond_top_ten_share_one_other_bin() -> None:
    top = [f"top{i}" for i in range(10) for _ in range(100)]
    real = pd.DataFrame({"c": top + [f"rare{i}" for i in range(5) for _ in range(20)]})
    unseen = pd.DataFrame({"c": top + [f"new{i}" for i in range(5) for _ in range(20)]})
    moved = pd.DataFrame({"c": top[:-100] + ["top0"] * 100 + ["rare0"] * 100})

    reference = AccuracyReference.fit(real)

    # Rare and never-seen categories fall into the same "other" bin.
    assert reference.score(unseen).per_column["c"] == 1.0
    # Mass taken from top9 (100 rows of 1100) and given to top0: TVD 100/1100.
    assert reference.score(moved).per_column["c"] == pytest.approx(1 - 100 / 1100)


def test_category_needs_five_rows_and_empty_string_is_its_own_bin() -> None:
    real = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 4 + ["c"] * 4 + [""] * 10})
    swapped = pd.DataFrame({"c": ["a"] * 50 + ["c"] * 4 + ["b"] * 4 + [""] * 10})
    no_empty = pd.DataFrame({"c": ["a"] * 60 + ["b"] * 4 + ["c"] * 4})

    reference = AccuracyReference.fit(real)

    assert reference.score(swapped).per_column["c"] == 1.0  # b and c are both "other"
    assert reference.score(no_empty).per_column["c"] == pytest.approx(1 - 10 / 68)


def test_heavy_point_mass_at_zero() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    gain = np.where(rng.random(n) < 0.92, 0, rng.integers(100, 99_999, n))
    real = pd.DataFrame({"capital_gain": gain, "age": rng.integers(17, 90, n)})
    half_zero = real.assign(
        capital_gain=np.where(rng.random(n) < 0.5, 0, rng.choice(gain[gain > 0], n))
    )

    reference = AccuracyReference.fit(real)

    assert reference.score(real).overall == 1.0
    # Zero is one bin holding 92% of the real rows; the synthetic one holds about 50%.
    assert reference.score(half_zero).per_column["capital_gain"] == pytest.approx(0.58, abs=0.02)


def test_values_outside_the_real_range_fall_into_the_outer_bins() -> None:
    real = pd.DataFrame({"u": np.linspace(0.0, 1.0, 10_001)})
    above = pd.DataFrame({"u": np.full(1_000, 5.0)})
    below = pd.DataFrame({"u": np.full(1_000, -5.0)})

    reference = AccuracyReference.fit(real)

    assert reference.score(above).per_column["u"] == pytest.approx(0.1, abs=0.01)
    assert reference.score(below).per_column["u"] == pytest.approx(0.1, abs=0.01)


def test_datetime_columns_including_time_zones() -> None:
    rng = np.random.default_rng(0)
    stamps = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, 5_000), unit="D")
    real = pd.DataFrame({"d": stamps, "d_tz": stamps.tz_localize("Europe/Vienna")})
    later = real + pd.Timedelta(days=500)

    reference = AccuracyReference.fit(real)

    assert reference.score(real).overall == 1.0
    assert reference.score(later).per_column["d"] < 0.8
    assert reference.score(later).per_column["d_tz"] < 0.8


def test_kinds_override_inference() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"code": rng.integers(0, 50, 5_000)})
    nudged = pd.DataFrame({"code": real["code"] + 0.25})

    as_number = AccuracyReference.fit(real).score(nudged).per_column["code"]
    as_category = (
        AccuracyReference.fit(real, {"code": "categorical"}).score(nudged).per_column["code"]
    )

    assert as_number == 1.0  # 3.25 lies in the same interval as 3
    assert as_category == pytest.approx(0.8, abs=0.03)  # "3.25" is not "3": all "other"


# --- report shape ---------------------------------------------------------------------------


def test_holdout_report_is_filled_and_serialisable() -> None:
    real = mixed_frame(5_000, seed=0)

    with_holdout = accuracy(real, mixed_frame(5_000, seed=1), holdout=mixed_frame(5_000, seed=2))
    without = accuracy(real, mixed_frame(5_000, seed=1))

    assert without.holdout is None
    assert isinstance(with_holdout.holdout, AccuracyReport)
    assert 0.9 < with_holdout.holdout.overall <= 1.0
    as_dict = json.loads(json.dumps(with_holdout.to_dict(), allow_nan=False))
    assert as_dict["holdout"]["per_column"].keys() == with_holdout.per_column.keys()
    assert as_dict["overall"] == with_holdout.overall


def test_overall_is_the_mean_of_univariate_and_bivariate() -> None:
    reference = AccuracyReference.fit(mixed_frame(5_000, seed=0))

    report = reference.score(mixed_frame(5_000, seed=4, shift=0.2), trivariate=True)

    assert report.overall == pytest.approx((report.univariate + report.bivariate) / 2)
    assert report.univariate == pytest.approx(np.mean(list(report.per_column.values())))
    assert report.bivariate == pytest.approx(np.mean(list(report.per_pair.values())))
    assert report.trivariate is not None and report.trivariate < report.bivariate
    assert reference.score(mixed_frame(5_000, seed=4)).trivariate is None


def test_single_column_has_no_bivariate() -> None:
    real = pd.DataFrame({"a": np.arange(100)})

    report = accuracy(real, real)

    assert math.isnan(report.bivariate)
    assert report.overall == report.univariate == 1.0
    assert report.trivariate is None
    assert report.to_dict()["bivariate"] is None


def test_trivariate_sample_is_capped_and_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accuracy_module, "MAX_TRIVARIATES", 5)
    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"c{i}": rng.integers(0, 3, 500) for i in range(8)})
    synthetic = pd.DataFrame({f"c{i}": rng.integers(0, 3, 500) for i in range(8)})

    first = AccuracyReference.fit(real, seed=7).score(synthetic, trivariate=True)
    second = AccuracyReference.fit(real, seed=7).score(synthetic, trivariate=True)

    assert first.trivariate == second.trivariate
    triples = accuracy_module._choose_triples(8, 5, seed=7)
    assert len(set(triples)) == 5
    assert all(a < b < c for a, b, c in triples)


def test_max_rows_subsamples_the_reference() -> None:
    real = mixed_frame(10_000, seed=0)

    report = AccuracyReference.fit(real, max_rows=2_000, seed=1).score(real)

    assert 0.9 < report.overall < 1.0


def test_missing_synthetic_column_is_a_clear_error() -> None:
    real = mixed_frame(100, seed=0)

    with pytest.raises(ValueError, match="city"):
        AccuracyReference.fit(real).score(real.drop(columns=["city"]))


# --- real data ------------------------------------------------------------------------------


@pytest.mark.skipif(not ADULT.exists(), reason="shared/datasets/adult.csv not present")
def test_two_halves_of_adult_agree() -> None:
    adult = pd.read_csv(ADULT)
    order = np.random.default_rng(0).permutation(len(adult))
    half = len(adult) // 2

    report = accuracy(adult.iloc[order[:half]], adult.iloc[order[half:]])

    assert report.overall > 0.97
