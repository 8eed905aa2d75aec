"""Drawing references among synthetic parents (matching real keys: schema/references.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def draw_matching_references(
    weights: np.ndarray,
    children: np.ndarray,
    parents: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A parent position per child, among the parents whose code matches the child's.

    ``children`` and ``parents`` are codes of the values a child copies from its parent (a
    line's price, which is its track's): each child is drawn among the parents holding its
    value, by their ``weights`` as in :func:`draw_references`, or among all parents when
    none holds it. A key drawn by popularity alone would put a 1.99 video in a line drawn
    as a 0.99 song, and the copy would then overwrite the line's price.
    """
    out = np.empty(len(children), dtype=np.int64)
    for code in np.unique(children):
        mine = np.flatnonzero(children == code)
        theirs = np.flatnonzero(parents == code)
        if len(theirs) == 0:
            out[mine] = draw_references(weights, len(mine), rng)
        else:
            out[mine] = theirs[draw_references(weights[theirs], len(mine), rng)]
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


def public_positions(
    drawn: pd.Series, keys: pd.Series, null_share: float, rng: np.random.Generator
) -> np.ndarray:
    """Under differential privacy, the public parent each drawn key names (positions in
    ``keys``; -1: NULL). The key was learned as a category over the public keys, so the model
    may also draw its rare or NULL token, which its DP-SGD noise gives a little mass even when
    no source row holds it: about ``null_share`` (a released count) of the rows stay NULL,
    preferring those drawn NULL, and the rest get a key drawn from the valid keys the model
    drew, in their drawn proportions. Only the model's output and public keys are read, so
    this is post-processing; keys are compared as text, as the categories were learned."""
    lookup = pd.Index(keys.map(str).to_numpy(), dtype=object)
    missing = drawn.isna().to_numpy()
    text = drawn.map(str).to_numpy(dtype=object)
    positions = lookup.get_indexer(text).astype(np.int64)
    positions[missing] = -1
    invalid = np.flatnonzero(positions < 0)
    if not len(invalid) or not len(keys):
        return positions
    # the rows drawn NULL first, then the others, each in random order
    ranked = invalid[np.lexsort((rng.random(len(invalid)), ~missing[invalid]))]
    stay = min(round(null_share * len(drawn)), len(ranked))
    redraw = ranked[stay:]
    valid = positions[positions >= 0]
    pool = valid if len(valid) else np.arange(len(keys))
    positions[redraw] = pool[rng.integers(0, len(pool), len(redraw))]
    return positions
