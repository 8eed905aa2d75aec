from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from synthdb.encoding.keys import generate_keys
from synthdb.schema.table import ColumnSchema


def _batches(column: ColumnSchema, sizes: list[int], seed: int = 0) -> pd.Series:
    """Keys generated the way the synthesizer does: batch after batch, one rng per batch."""
    parts, start = [], 0
    for index, size in enumerate(sizes):
        parts.append(generate_keys(column, start, size, np.random.default_rng([seed, index])))
        start += size
    return pd.concat(parts, ignore_index=True)


def test_integer_keys_count_up_from_the_source_minimum_across_batches() -> None:
    column = ColumnSchema("order_id", "key", storage="text", key_format="integer", minimum=1000)

    keys = _batches(column, [3, 4])

    assert keys.tolist() == [str(n) for n in range(1000, 1007)]


def test_integer_keys_of_a_typed_source_are_integers() -> None:
    column = ColumnSchema("order_id", "key", storage="int64", key_format="integer", minimum=1)

    keys = _batches(column, [2, 2])

    assert keys.dtype == np.int64
    assert keys.tolist() == [1, 2, 3, 4]


def test_uuid_keys_are_valid_version_4_and_unique() -> None:
    column = ColumnSchema("ref", "key", key_format="uuid")

    keys = _batches(column, [500, 500])

    assert keys.is_unique
    parsed = [uuid.UUID(k) for k in keys]
    assert all(u.version == 4 and str(u) == k for u, k in zip(parsed, keys, strict=True))


def test_uuid_keys_are_reproducible_for_the_same_seed() -> None:
    column = ColumnSchema("ref", "key", key_format="uuid")

    assert _batches(column, [5], seed=1).equals(_batches(column, [5], seed=1))
    assert not _batches(column, [5], seed=1).equals(_batches(column, [5], seed=2))


def test_string_keys_are_unique_and_name_their_column() -> None:
    column = ColumnSchema("full_name", "key", key_format="string")

    keys = _batches(column, [10, 10])

    assert keys.is_unique
    assert all(k.startswith("full_name_") for k in keys)
