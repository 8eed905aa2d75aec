from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

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


# ------------------------------------------------------------------ keys in the source's shapes
def _tailnums(count: int = 400, seed: int = 0) -> list[str]:
    """Registrations as the FAA writes them: N + 3 digits + 2 letters, most ending in AA for
    one airline; N + 5 digits for others."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        if index % 4 == 0:
            out.append("N" + "".join(rng.choice(list("0123456789"), 5)))
        else:
            out.append("N" + "".join(rng.choice(list("0123456789"), 3)) + "AA")
    return out


def test_key_shapes_keep_shared_characters_and_the_shares_of_each_shape() -> None:
    from synthdb.encoding.keys import key_shapes

    shapes = key_shapes(_tailnums())

    assert shapes is not None
    by_pattern = {pattern: share for pattern, share in shapes}
    assert set(by_pattern) == {"\\N999\\A\\A", "\\N99999"}
    distinct = pd.Series(sorted(set(_tailnums())))
    share = distinct.str.fullmatch(r"N\d{3}AA").mean()  # of distinct values, as keys are
    assert by_pattern["\\N999\\A\\A"] == pytest.approx(share)


def test_free_text_has_no_shapes() -> None:
    from synthdb.encoding.keys import key_shapes

    assert key_shapes(["alpha", "b", "gamma ray", "x-1"]) is None


def test_pattern_keys_have_the_source_shapes_and_never_repeat_across_batches() -> None:
    from synthdb.encoding.keys import key_shapes

    source = _tailnums()
    column = ColumnSchema("tailnum", "key", key_format="pattern", key_shapes=key_shapes(source))

    keys = _batches(column, [300, 500, 200])

    assert keys.is_unique
    assert keys.str.fullmatch(r"N\d{3}AA|N\d{5}").all()
    share = pd.Series(sorted(set(source))).str.fullmatch(r"N\d{3}AA").mean()
    assert keys.str.fullmatch(r"N\d{3}AA").mean() == pytest.approx(share, abs=0.03)
    # deterministic: the same indexes give the same keys whatever the batches
    assert keys.tolist() == _batches(column, [1000]).tolist()


def test_pattern_keys_past_a_shape_s_capacity_stay_unique_and_longer() -> None:
    column = ColumnSchema("code", "key", key_format="pattern", key_shapes=[["\\X99", 1.0]])

    keys = generate_keys(column, 0, 250, np.random.default_rng(0))

    assert keys.is_unique
    assert keys[:100].str.fullmatch(r"X\d\d").all()
    assert keys[100:].str.len().min() > 3 and keys[100:].str.startswith("X").all()
