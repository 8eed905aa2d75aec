"""Balanced draws of small tables: each row a model row, the table's counts the model's own.

A table of 59 customers drawn from a model that knows the source's countries still comes out
with 5 customers in a country the source has 2 of, and 3 in one it has once: the counts of a
small sample swing far from their expectation, and an outside referee (SyntheRela's DDA)
tells such a twin from the source by little else. Balanced sampling (the cube method's idea,
Deville and Tillé 2004) keeps the sample's totals near their expectation while each unit is
still drawn at random: here every row slot gets several candidate rows, all drawn from the
model under the same parent, and one candidate per slot is chosen so that each column's
counts come close to the counts the whole pool of candidates expects. Only the model's output
is looked at, never the source's rows, so this is variance reduction, not copying.

Values the pool expects less than once in the table are counted together (a city of 53 that
appears once each is balanced as "some rare city"), and numbers and dates are balanced by the
model's own coarse bins: matching the expectation of a value that should appear 0.3 times
would otherwise push every rare value out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Passes over all slots; a third pass changed almost nothing on Chinook and Berka.
PASSES = 2


def balance_codes(
    pool: pd.DataFrame, tokens: np.ndarray, categorical: Sequence[str], binned: Sequence[int]
) -> np.ndarray:
    """One integer code per pool row and balanced feature, shape (features, pool rows).

    ``categorical`` names columns balanced by their values (NULL is a value), ``binned`` the
    token positions balanced by their token (a number's or date's coarse bin).
    """
    features: list[np.ndarray] = []
    for column in categorical:
        codes, _ = pd.factorize(pool[column], use_na_sentinel=False)
        features.append(codes.astype(np.int64))
    for position in binned:
        features.append(tokens[:, position].astype(np.int64))
    if not features:
        return np.zeros((0, len(pool)), dtype=np.int64)
    return np.stack(features)


def balanced_choice(codes: np.ndarray, slots: int, rng: np.random.Generator) -> np.ndarray:
    """For each of ``slots`` slots, which of its candidates to keep.

    ``codes`` has shape (features, candidates x slots), candidate ``r`` of slot ``i`` at
    column ``r * slots + i`` (the pool is the slots' context tiled ``candidates`` times).
    Returns the chosen pool positions, one per slot, in slot order. Starts from candidate 0
    of every slot (a plain draw) and moves a slot to another of its candidates whenever that
    lowers the squared distance between the features' counts and their expected counts.
    """
    features, size = codes.shape
    candidates = size // max(slots, 1)
    chosen = np.arange(slots, dtype=np.int64)
    if features == 0 or candidates < 2 or slots == 0:
        return chosen
    # one flat index space over (feature, code); rare codes of a feature share one bucket
    flat = np.empty_like(codes)
    expected_parts: list[np.ndarray] = []
    offset = 0
    for f in range(features):
        values, inverse = np.unique(codes[f], return_inverse=True)
        expected = np.bincount(inverse, minlength=len(values)) * (slots / size)
        rare = expected < 1.0
        bucket = np.where(rare, len(values), np.arange(len(values)))
        _, bucket = np.unique(bucket, return_inverse=True)
        merged = np.bincount(bucket, weights=expected)
        flat[f] = bucket[inverse] + offset
        expected_parts.append(merged)
        offset += len(merged)
    expected = np.concatenate(expected_parts)
    counts = np.bincount(flat[:, chosen].ravel(), minlength=offset).astype(np.float64)
    # candidate r of slot i, as (slot, candidate, feature) flat codes
    by_slot = flat.reshape(features, candidates, slots).transpose(2, 1, 0)
    for _ in range(PASSES):
        for slot in rng.permutation(slots):
            options = by_slot[slot]  # (candidates, features)
            current = options[(chosen[slot] - slot) // slots]
            # change in sum((counts - expected)^2) when the slot moves to each option:
            # each feature whose code changes gains one at the new code, loses one at the old
            moved = options != current
            gain = 2.0 * (counts[options] - expected[options]) + 1.0
            loss = -2.0 * (counts[current] - expected[current]) + 1.0
            change = np.where(moved, gain + loss, 0.0).sum(axis=1)
            best = int(np.argmin(change))
            if change[best] < -1e-9:
                np.subtract.at(counts, current, 1.0)
                np.add.at(counts, options[best], 1.0)
                chosen[slot] = best * slots + slot
    return chosen
