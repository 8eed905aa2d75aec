from __future__ import annotations

import numpy as np
import pandas as pd

from synthdb.encoding.numeric import FINE, MAX_EXACT_VALUES, NumericEncoder


def _round_trip(encoder: NumericEncoder, values: pd.Series, seed: int = 1) -> pd.Series:
    return encoder.decode(encoder.encode(values), np.random.default_rng(seed))


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs (two-sample Kolmogorov-Smirnov statistic)."""
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(cdf_a - cdf_b).max())


def _tokens_fit(encoder: NumericEncoder, tokens: np.ndarray) -> bool:
    cardinalities = np.array([s.cardinality for s in encoder.sub_columns])
    return bool(((tokens >= 0) & (tokens < cardinalities)).all())


def test_continuous_column_decodes_to_many_distinct_values_inside_the_range() -> None:
    # Setup
    values = pd.Series(np.random.default_rng(0).lognormal(3.0, 1.0, 5_000))
    encoder = NumericEncoder.fit("income", values, integer=False)

    # Run
    tokens = encoder.encode(values)
    decoded = encoder.decode(tokens, np.random.default_rng(1))

    # Assert
    assert [s.cardinality for s in encoder.sub_columns][1] == FINE
    assert _tokens_fit(encoder, tokens)
    assert decoded.between(values.min(), values.max()).all()
    # not cell centres: decoding to those would give at most 64 bins x FINE = 1,024 values
    assert decoded.nunique() > 2_000
    # the distribution survives: with 5,000 draws a KS distance of 0.02 is far beyond noise
    assert _ks_distance(decoded.to_numpy(), values.to_numpy()) < 0.02


def test_decoding_is_reproducible_for_the_same_rng_seed() -> None:
    values = pd.Series(np.random.default_rng(0).normal(0.0, 1.0, 1_000))
    encoder = NumericEncoder.fit("x", values, integer=False)
    tokens = encoder.encode(values)

    first = encoder.decode(tokens, np.random.default_rng(5))
    again = encoder.decode(tokens, np.random.default_rng(5))
    other = encoder.decode(tokens, np.random.default_rng(6))

    assert first.equals(again)
    assert not first.equals(other)


def test_integer_column_with_many_values_decodes_to_whole_numbers_in_range() -> None:
    values = pd.Series(np.random.default_rng(2).integers(10, 1_000_000, 5_000).astype(float))
    encoder = NumericEncoder.fit("fnlwgt", values, integer=True)

    decoded = _round_trip(encoder, values)

    assert len(encoder.edges) > 2  # binned, not exact
    assert (decoded % 1 == 0).all()
    assert decoded.between(values.min(), values.max()).all()
    assert decoded.nunique() > 1_000


def test_few_distinct_values_each_get_a_token_and_decode_exactly() -> None:
    values = pd.Series(np.random.default_rng(3).integers(17, 91, 2_000).astype(float))
    encoder = NumericEncoder.fit("age", values, integer=True)

    decoded = _round_trip(encoder, values)

    assert values.nunique() <= MAX_EXACT_VALUES
    assert encoder.edges == []
    assert len(encoder.sub_columns) == 1
    assert decoded.tolist() == values.tolist()


def test_point_mass_of_zeros_decodes_exactly_and_the_rest_never_becomes_zero() -> None:
    # Setup: capital_gain-like, 92% zeros and a long tail
    rng = np.random.default_rng(4)
    tail = rng.gamma(2.0, 1_000.0, 5_000).round() + 1
    values = pd.Series(np.where(rng.random(5_000) < 0.92, 0.0, tail))
    encoder = NumericEncoder.fit("capital_gain", values, integer=True)

    # Run
    decoded = _round_trip(encoder, values)

    # Assert
    assert 0.0 in encoder.exact
    assert ((decoded == 0) == (values == 0)).all()
    assert (decoded % 1 == 0).all()
    assert decoded.between(values.min(), values.max()).all()


def test_null_has_its_own_token_and_comes_back_as_null() -> None:
    values = pd.Series([1.0, np.nan, 2.5, np.nan, 4.0] * 40 + list(np.linspace(0, 9, 200)))
    encoder = NumericEncoder.fit("x", values, integer=False)

    tokens = encoder.encode(values)
    decoded = encoder.decode(tokens, np.random.default_rng(0))

    assert encoder.has_null
    assert (tokens[values.isna().to_numpy(), 0] == 0).all()
    assert (tokens[values.notna().to_numpy(), 0] != 0).all()
    assert decoded.isna().tolist() == values.isna().tolist()


def test_an_all_null_column_encodes_to_one_token_and_decodes_to_null() -> None:
    values = pd.Series([np.nan, np.nan, np.nan])
    encoder = NumericEncoder.fit("x", values, integer=False)

    decoded = _round_trip(encoder, values)

    assert [s.cardinality for s in encoder.sub_columns] == [1]
    assert decoded.isna().all()


def test_decode_clips_to_the_observed_range_even_for_extreme_tokens() -> None:
    values = pd.Series(np.random.default_rng(5).normal(100.0, 15.0, 3_000))
    encoder = NumericEncoder.fit("x", values, integer=False)
    last_bin = encoder.sub_columns[0].cardinality - 1
    tokens = np.array([[0, 0], [last_bin, FINE - 1]] * 500)

    decoded = encoder.decode(tokens, np.random.default_rng(0))

    assert decoded.min() >= values.min()
    assert decoded.max() <= values.max()
