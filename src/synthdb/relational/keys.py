"""Matching foreign keys to parent rows, and drawing references among synthetic parents.

Keys are compared as text (``1``, ``1.0`` and ``"1"`` are the same key) because the same key
can arrive as an integer from one table and as text or a float (a nullable integer column)
from another, depending on the source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def key_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One string per row naming its key (NULL when any part is NULL)."""
    parts = []
    missing = np.zeros(len(frame), dtype=bool)
    for name in columns:
        values = frame[name]
        missing |= values.isna().to_numpy()
        parts.append(values.map(_one_key))
    if not parts:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = (
        parts[0]
        if len(parts) == 1
        else pd.Series(["\x1f".join(row) for row in zip(*parts, strict=True)], index=frame.index)
    )
    return text.where(~missing, None)


def _one_key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def parent_positions(
    child: pd.DataFrame,
    columns: Sequence[str],
    parent: pd.DataFrame,
    parent_columns: Sequence[str],
) -> np.ndarray:
    """For each child row, the position of its parent row; -1 for NULL or dangling keys."""
    index = pd.Index(key_text(parent, parent_columns))
    if not index.is_unique:
        index = index.drop_duplicates()  # a broken primary key: the first row wins
    keys = key_text(child, columns)
    positions = index.get_indexer(keys.fillna("\x00null"))
    return np.where(keys.isna().to_numpy(), -1, positions).astype(np.int64)


def children_per_parent(positions: np.ndarray, parents: int) -> np.ndarray:
    """How many child rows point at each parent row (dangling and NULL keys left out)."""
    return np.bincount(positions[positions >= 0], minlength=parents).astype(np.int64)


def draw_references(
    weights: np.ndarray,
    count: int,
    rng: np.random.Generator,
    *,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """``count`` parent positions, each parent's share following ``weights``.

    Each parent appears about ``weights[p]`` times: first every parent exactly as many times as
    its weight (shuffled), then, if more references are needed, draws in proportion to the
    weights. With ``groups`` (one label per reference), no parent is drawn twice within a group,
    as a primary key made of two foreign keys requires; a group larger than the number of
    parents gets -1 for the excess.
    """
    parents = len(weights)
    if parents == 0:
        return np.full(count, -1, dtype=np.int64)
    weights = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    total = weights.sum()
    probabilities = weights / total if total > 0 else np.full(parents, 1.0 / parents)
    if groups is not None:
        return _distinct_per_group(probabilities, groups, rng)
    pool = np.repeat(np.arange(parents), np.round(weights).astype(np.int64))
    rng.shuffle(pool)
    if len(pool) >= count:
        return pool[:count].astype(np.int64)
    extra = rng.choice(parents, size=count - len(pool), p=probabilities)
    out = np.concatenate([pool, extra]).astype(np.int64)
    rng.shuffle(out)
    return out


def _distinct_per_group(
    probabilities: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    out = np.full(len(groups), -1, dtype=np.int64)
    parents = len(probabilities)
    nonzero = int((probabilities > 0).sum())
    order = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends, strict=True):
        size = min(end - start, parents)
        p = probabilities if size <= nonzero else np.full(parents, 1.0 / parents)
        out[order[start : start + size]] = rng.choice(parents, size=size, replace=False, p=p)
    return out
