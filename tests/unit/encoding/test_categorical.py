from __future__ import annotations

import numpy as np
import pandas as pd

from synthdb.encoding.categorical import MAX_CATEGORIES, CategoricalEncoder


def _column(counts: dict[str | None, int]) -> pd.Series:
    values: list[str | None] = []
    for value, count in counts.items():
        values += [value] * count
    return pd.Series(values, dtype=object)


def test_values_seen_fewer_than_three_times_share_one_rare_token() -> None:
    # Setup
    values = _column({"a": 10, "b": 5, "c": 3, "d": 2, "e": 1, "f": 1})

    # Run
    encoder = CategoricalEncoder.fit("colour", values)
    tokens = encoder.encode(values)[:, 0]

    # Assert
    assert encoder.categories == ["a", "b", "c"]
    assert encoder.rare_values == ["d", "e", "f"]
    assert encoder.rare_counts == [2, 1, 1]
    assert encoder.sub_columns[0].cardinality == 4
    rare = values.isin(["d", "e", "f"]).to_numpy()
    assert len(set(tokens[rare])) == 1
    assert set(tokens[~rare]).isdisjoint(tokens[rare])


def test_common_values_decode_to_themselves() -> None:
    values = _column({"x": 4, "y": 3, "z": 7})
    encoder = CategoricalEncoder.fit("c", values)

    decoded = encoder.decode(encoder.encode(values), np.random.default_rng(0))

    assert decoded.tolist() == values.tolist()


def test_the_rare_token_draws_pooled_values_in_proportion_to_their_counts() -> None:
    # Setup
    values = _column({"a": 50, "d": 2, "e": 1, "f": 1})
    encoder = CategoricalEncoder.fit("c", values)
    rare_token = encoder.encode(pd.Series(["d"], dtype=object))[0, 0]
    draws = 20_000

    # Run
    decoded = encoder.decode(np.full((draws, 1), rare_token), np.random.default_rng(0))

    # Assert: shares 1/2, 1/4, 1/4; the binomial standard error is <= 0.0036, so 0.02 is > 5 SE
    shares = decoded.value_counts(normalize=True)
    assert set(shares.index) == {"d", "e", "f"}
    assert abs(shares["d"] - 0.5) < 0.02
    assert abs(shares["e"] - 0.25) < 0.02
    assert abs(shares["f"] - 0.25) < 0.02


def test_a_value_never_seen_in_training_encodes_as_rare() -> None:
    encoder = CategoricalEncoder.fit("c", _column({"a": 5, "b": 1}))

    tokens = encoder.encode(pd.Series(["b", "never seen"], dtype=object))

    assert tokens[0, 0] == tokens[1, 0]


def test_null_has_token_zero_and_round_trips() -> None:
    values = _column({"a": 5, None: 4, "b": 3})
    encoder = CategoricalEncoder.fit("c", values)

    tokens = encoder.encode(values)
    decoded = encoder.decode(tokens, np.random.default_rng(0))

    assert encoder.has_null
    assert (tokens[values.isna().to_numpy(), 0] == 0).all()
    assert (tokens[values.notna().to_numpy(), 0] > 0).all()
    assert decoded.tolist() == values.tolist()
    assert decoded.isna().sum() == 4


def test_an_all_null_column_decodes_to_null() -> None:
    values = _column({None: 3})
    encoder = CategoricalEncoder.fit("c", values)

    decoded = encoder.decode(encoder.encode(values), np.random.default_rng(0))

    assert encoder.sub_columns[0].cardinality == 1
    assert decoded.isna().all()


def test_only_rare_values_still_decode_to_real_values() -> None:
    values = pd.Series([f"name {i}" for i in range(10)], dtype=object)
    encoder = CategoricalEncoder.fit("c", values)

    decoded = encoder.decode(encoder.encode(values), np.random.default_rng(0))

    assert encoder.categories == []
    assert set(decoded).issubset(set(values))


def test_the_category_list_is_capped_and_the_tail_pooled() -> None:
    counts = {f"v{i:04d}": 3 + (i < 10) for i in range(MAX_CATEGORIES + 200)}
    encoder = CategoricalEncoder.fit("c", _column(counts))

    assert len(encoder.categories) == MAX_CATEGORIES
    assert encoder.categories[:10] == [f"v{i:04d}" for i in range(10)]  # most frequent first
    assert len(encoder.rare_values) == 200
    assert encoder.sub_columns[0].cardinality == MAX_CATEGORIES + 1


def test_category_order_is_deterministic_for_ties() -> None:
    first = CategoricalEncoder.fit("c", _column({"b": 3, "a": 3, "c": 5}))
    again = CategoricalEncoder.fit("c", _column({"c": 5, "a": 3, "b": 3}))

    assert first.categories == again.categories == ["c", "a", "b"]
