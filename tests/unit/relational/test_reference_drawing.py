from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.relational.keys import draw_references
from synthdb.relational.model import calibrate
from synthdb.schema.references import children_per_parent, key_text, parent_positions


def test_keys_match_across_integer_float_and_text_spellings() -> None:
    parent = pd.DataFrame({"id": [1, 2, 3]})
    child = pd.DataFrame({"pid": ["2", None, "7", "1"], "other": [2.0, 1.0, np.nan, 3.0]})

    positions = parent_positions(child, ["pid"], parent, ["id"])
    by_float = parent_positions(child, ["other"], parent, ["id"])

    assert positions.tolist() == [1, -1, -1, 0]  # NULL and dangling (7) have no parent
    assert by_float.tolist() == [1, 0, -1, 2]


def test_composite_keys_match_on_every_part() -> None:
    parent = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]})
    child = pd.DataFrame({"a": [1, 2, 2, 1], "b": ["y", "x", "y", None]})

    assert parent_positions(child, ["a", "b"], parent, ["a", "b"]).tolist() == [1, 2, -1, -1]
    assert key_text(child, ["a", "b"]).isna().tolist() == [False, False, False, True]


def test_children_per_parent_counts_zero_and_ignores_missing_parents() -> None:
    assert children_per_parent(np.array([0, 0, 2, -1]), 4).tolist() == [2, 0, 1, 0]


def test_references_follow_the_weights_exactly_when_they_add_up() -> None:
    weights = np.array([5, 0, 3, 2])

    drawn = draw_references(weights, 10, np.random.default_rng(0))

    assert np.bincount(drawn, minlength=4).tolist() == [5, 0, 3, 2]


def test_extra_references_are_drawn_in_proportion_to_the_weights() -> None:
    weights = np.array([3, 1])

    drawn = draw_references(weights, 40_004, np.random.default_rng(1))

    share = np.bincount(drawn, minlength=2) / len(drawn)
    assert share[0] == pytest.approx(0.75, abs=0.01)  # SE 0.002


def test_references_within_a_group_are_distinct() -> None:
    # Setup: three groups of sizes 4, 2 and 7 among 5 parents
    groups = np.array([0] * 4 + [1] * 2 + [2] * 7)
    weights = np.array([10, 1, 1, 1, 1])

    drawn = draw_references(weights, len(groups), np.random.default_rng(2), groups=groups)

    for group in (0, 1):
        chosen = drawn[groups == group]
        assert len(set(chosen.tolist())) == len(chosen)
    # a group larger than the parents gets every parent once and -1 for the rest
    last = drawn[groups == 2]
    assert sorted(last[last >= 0].tolist()) == [0, 1, 2, 3, 4]
    assert (last < 0).sum() == 2


def test_calibrated_counts_hit_the_target_and_keep_proportions() -> None:
    counts = np.array([10, 0, 5, 5])

    scaled = calibrate(counts, 40, np.random.default_rng(0))

    assert scaled.tolist() == [20, 0, 10, 10]
    assert calibrate(counts, 7, np.random.default_rng(0)).sum() == 7
    assert calibrate(np.zeros(4), 8, np.random.default_rng(0)).tolist() == [2, 2, 2, 2]


def test_count_accuracy_tells_a_constant_from_a_spread_with_the_same_mean() -> None:
    from synthdb.evaluation.relations import count_accuracy

    twos = np.full(100, 2)
    spread = np.array([0, 4] * 50)

    assert count_accuracy(twos, twos) == 1.0
    assert count_accuracy(twos, spread) == pytest.approx(0.0)
    assert count_accuracy(spread, np.array([0, 4, 4, 4] * 25)) == pytest.approx(0.75)


def test_count_accuracy_bins_large_counts_as_numbers() -> None:
    from synthdb.evaluation.relations import count_accuracy

    # 16 parents with tens of thousands of children each, none equal: close, not disjoint
    real = np.arange(16) * 3_000 + 10_000
    synthetic = real + 7

    assert count_accuracy(real, synthetic) > 0.8


def test_counts_near_their_target_keep_their_shape_and_no_parent_loses_its_last_child() -> None:
    rng = np.random.default_rng(3)
    counts = rng.choice([1, 2, 5], 4_000, p=[0.5, 0.3, 0.2])  # 10,000 children
    target = int(counts.sum() * 0.97)  # the model drew 3% too many

    out = calibrate(counts, target, np.random.default_rng(0))

    assert out.sum() == target
    assert (out >= 1).all()  # removed from parents with more than one child
    assert (out <= counts).all()
    # the tail stays: rescaling every count turned most 5s into 4s
    assert (out == 5).sum() >= 0.7 * (counts == 5).sum()  # thinning each child: 0.97**5 = 0.86
    rescaled = np.floor(counts * 0.97)
    assert (rescaled == 5).sum() == 0
