"""Privacy measures on constructed cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.evaluation.accuracy import ColumnKind
from synthdb.evaluation.privacy import privacy

KINDS: dict[str, ColumnKind] = {
    "income": "numeric",
    "age": "numeric",
    "city": "categorical",
    "plan": "categorical",
}


def population(n: int, seed: int) -> pd.DataFrame:
    """Typed rows from one distribution: continuous numbers make every row distinct."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n).astype(np.float64)
    return pd.DataFrame(
        {
            "income": np.round(rng.lognormal(10, 0.6, n) + 300 * age, 2),
            "age": age,
            "city": pd.Series(rng.choice([f"city {i}" for i in range(12)], n), dtype=object),
            "plan": pd.Series(
                rng.choice(["basic", "plus", None], n, p=[0.6, 0.3, 0.1]), dtype=object
            ),
        }
    )


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return population(2_000, seed=1), population(2_000, seed=2)


def test_copies_of_training_rows_score_dcr_share_and_exact_matches_near_one(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = split
    copies = train.sample(2_000, replace=True, random_state=3).reset_index(drop=True)

    report = privacy(train, copies, holdout, KINDS, seed=0)

    assert report.exact_match_share == 1.0
    assert report.dcr_share is not None and report.dcr_share > 0.97
    assert report.dcr_synthetic == 0.0
    assert report.nndr_synthetic == 0.0  # each copy sits on one training row
    assert report.exact_match_share_holdout == 0.0  # the real data has no duplicates here
    assert not report.sampled


def test_an_independent_sample_scores_dcr_share_near_half_and_no_exact_matches(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = split
    fresh = population(2_000, seed=4)

    report = privacy(train, fresh, holdout, KINDS, seed=0)

    assert report.exact_match_share == 0.0
    assert report.dcr_share is not None and abs(report.dcr_share - 0.5) < 0.04
    # A new sample sits as far from the training rows as the holdout does.
    assert report.nndr_synthetic is not None and report.nndr_holdout is not None
    assert abs(report.nndr_synthetic - report.nndr_holdout) < 0.05
    assert report.dcr_holdout is not None
    assert report.dcr_synthetic == pytest.approx(report.dcr_holdout, rel=0.15)


def test_half_copied_rows_land_between_the_two_cases(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = split
    mixed = pd.concat([train.iloc[:1_000], population(1_000, seed=5)], ignore_index=True)

    report = privacy(train, mixed, holdout, KINDS, seed=0)

    assert report.exact_match_share == pytest.approx(0.5)
    assert report.dcr_share is not None and 0.7 < report.dcr_share < 0.8


def test_reference_sets_are_equal_sized_seeded_samples(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = split
    fresh = population(3_000, seed=6)

    first = privacy(train, fresh, holdout.iloc[:500], KINDS, max_rows=1_000, seed=9)
    again = privacy(train, fresh, holdout.iloc[:500], KINDS, max_rows=1_000, seed=9)

    assert first == again
    assert first.reference_rows == 500  # the holdout's size: a larger train set is closer by size
    assert first.synthetic_rows == 1_000
    assert first.sampled


def test_without_a_holdout_there_is_no_dcr_share_but_matches_are_counted(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = split
    half_copied = pd.concat([train.iloc[:100], population(300, seed=7)], ignore_index=True)

    report = privacy(train, half_copied, None, KINDS)

    assert report.dcr_share is None and report.dcr_holdout is None
    assert report.exact_match_share == pytest.approx(0.25)
    assert report.exact_match_share_holdout is None


def test_a_category_difference_weighs_as_much_as_the_widest_number_gap() -> None:
    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "a", "a"]})
    holdout = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["b", "b", "b", "b"]})
    synthetic = pd.DataFrame({"x": [0.0], "c": ["a"]})

    report = privacy(train, synthetic, holdout, {"x": "numeric", "c": "categorical"})

    # Identical to a training row, one category away (distance 1) from the holdout.
    assert report.dcr_share == 1.0
    assert report.dcr_holdout == pytest.approx(1.0)
