"""ML utility on data with a known signal: copies keep it, noise loses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.errors import InputError, UsageError
from synthdb.evaluation.accuracy import ColumnKind
from synthdb.evaluation.utility import check_target, ml_utility

KINDS: dict[str, ColumnKind] = {"x": "numeric", "group": "categorical", "label": "categorical"}


def frame(n: int, seed: int, *, signal: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], n)
    score = x + (group == "a") * 1.5
    if not signal:
        rng.shuffle(score)
    label = np.where(score + rng.normal(scale=0.3, size=n) > 1.2, "yes", "no")
    return pd.DataFrame(
        {"x": x, "group": pd.Series(group, dtype=object), "label": pd.Series(label, dtype=object)}
    )


def test_a_copy_of_the_real_rows_matches_the_real_model_and_noise_does_not() -> None:
    train, holdout = frame(1_500, 1), frame(800, 2)

    same = ml_utility(train, train.copy(), holdout, "label", KINDS, seed=0)
    noise = ml_utility(train, frame(1_500, 3, signal=False), holdout, "label", KINDS, seed=0)

    assert same.task == "binary" and same.metric == "ROC AUC"
    assert same.positive == "yes"  # the rarer class
    assert same.real is not None and same.real > 0.9
    assert same.synthetic == pytest.approx(same.real)
    assert noise.synthetic is not None and noise.synthetic < 0.65
    assert noise.real == pytest.approx(same.real)


def test_more_than_two_classes_are_scored_by_accuracy() -> None:
    train, holdout = frame(1_000, 4), frame(500, 5)
    kinds: dict[str, ColumnKind] = {"x": "numeric", "label": "categorical", "group": "categorical"}

    report = ml_utility(train, train, holdout, "group", kinds, seed=0)

    assert report.task == "multiclass" and report.metric == "accuracy"
    assert report.classes == ["a", "b", "c"]
    assert report.real is not None and 0.33 < report.real <= 1.0


def test_a_numeric_target_is_scored_by_r2() -> None:
    train, holdout = frame(1_000, 6), frame(500, 7)

    report = ml_utility(train, train, holdout, "x", KINDS, seed=0)

    assert report.task == "regression" and report.metric == "R^2"
    assert report.real is not None and report.real > 0.3


def test_synthetic_rows_with_one_class_give_no_score_and_say_why() -> None:
    train, holdout = frame(1_000, 8), frame(500, 9)
    one_class = train[train["label"] == "no"]

    report = ml_utility(train, one_class, holdout, "label", KINDS, seed=0)

    assert report.synthetic is None and report.real is not None
    assert any("one target value" in note for note in report.notes)


def test_unusable_targets_fail_with_one_line() -> None:
    with pytest.raises(UsageError, match="'nope' is not in the real table"):
        check_target("nope", ["x", "label"], KINDS)
    with pytest.raises(UsageError, match="is a key"):
        check_target("id", ["id", "x", "label"], KINDS)
    constant = frame(200, 10).assign(label="same")
    with pytest.raises(InputError, match="one value"):
        ml_utility(constant, constant, constant, "label", KINDS)
