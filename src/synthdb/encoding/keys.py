"""New unique keys in the source's format; keys are identifiers, so they are never learned.

Formats: an integer sequence from the source's smallest key, UUIDs, a prefixed counter
(``name_00000001``), or a *pattern*: the shapes of the source's values (``N14228`` and
``N3ALAA``: an ``N`` then five digits, an ``N``, a digit and four capitals), each drawn in the
source's share, its varying characters filled from the row's index so that every key is unique
without remembering the keys already made (batches of one run stay disjoint). A pattern keeps
a value's length and the characters every value of its shape shares (a prefix, a dash); the
varying ones are new, so no source key is copied, though a new key may equal a real one by
chance, as any random identifier in the same format may.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from synthdb.schema.table import ColumnSchema


def generate_keys(
    column: ColumnSchema, start: int, count: int, rng: np.random.Generator
) -> pd.Series:
    """Keys for rows ``start .. start + count``: unique across all batches of one run."""
    index = np.arange(start, start + count, dtype=np.int64)
    if column.key_format == "integer":
        first = int(column.minimum) if column.minimum is not None else 1
        numbers = index + first
        if column.storage == "text":
            return pd.Series(numbers.astype(str), dtype=object)
        return pd.Series(numbers)
    if column.key_format == "uuid":
        raw = rng.integers(0, 2**63, size=(count, 2), dtype=np.int64, endpoint=False)
        return pd.Series(
            [str(uuid.UUID(int=(int(a) << 64 | int(b)), version=4)) for a, b in raw], dtype=object
        )
    if column.key_format == "pattern" and column.key_shapes:
        return pd.Series(_pattern_keys(column, index), dtype=object)
    width = max(len(str(start + count)), 8)
    return pd.Series([f"{column.name}_{i:0{width}d}" for i in index], dtype=object)


#: Character classes of a pattern: capitals, small letters, digits.
_CLASSES = {"A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz", "9": "0123456789"}
#: A shape needs this many distinct values before a character they all share is kept as it
#: is (fewer would copy a rare value's characters); at most this many shapes are kept.
_LITERAL_MIN = 10
#: ... and the share of them that must share it (a registration's country letter: N on 99%
#: of the planes is an N on all of them).
_LITERAL_SHARE = 0.98
_MAX_SHAPES = 20
_GOLDEN = 0.6180339887498949


def _shape(value: str) -> str:
    return "".join(
        "A"
        if c.isascii() and c.isupper()
        else "a"
        if c.isascii() and c.islower()
        else "9"
        if c.isascii() and c.isdigit()
        else c
        for c in value
    )


def key_shapes(values: Iterable[str]) -> list[list[Any]] | None:
    """The shapes of text keys as ``[pattern, share]`` pairs, or None when no shape repeats
    (free text: the prefixed counter is as good). A pattern writes ``A``, ``a``, ``9`` for a
    capital, a small letter, a digit, and a backslash before a character kept as it is."""
    distinct = sorted({str(v) for v in values})
    by_shape: dict[str, list[str]] = {}
    for value in distinct:
        by_shape.setdefault(_shape(value), []).append(value)
    counts = Counter({shape: len(members) for shape, members in by_shape.items()})
    kept = [(shape, n) for shape, n in counts.most_common(_MAX_SHAPES) if n >= 2]
    if not kept or sum(n for _, n in kept) < 0.9 * len(distinct):
        return None
    total = sum(n for _, n in kept)
    out: list[list[Any]] = []
    for shape, n in kept:
        members = by_shape[shape]
        pattern = []
        for position, kind in enumerate(shape):
            common, times = Counter(m[position] for m in members).most_common(1)[0]
            if kind not in _CLASSES:
                pattern.append("\\" + kind)
            elif times >= _LITERAL_SHARE * n and n >= _LITERAL_MIN:
                pattern.append("\\" + common)
            else:
                pattern.append(kind)
        out.append(["".join(pattern), n / total])
    return out


def _parse(pattern: str) -> list[str]:
    """A pattern as one entry per character: a class letter, or ``\\`` + the literal."""
    parts, position = [], 0
    while position < len(pattern):
        if pattern[position] == "\\":
            parts.append(pattern[position : position + 2])
            position += 2
        else:
            parts.append(pattern[position])
            position += 1
    return parts


def _pattern_keys(column: ColumnSchema, index: np.ndarray) -> list[str]:
    shapes = column.key_shapes or []
    parsed = [_parse(str(pattern)) for pattern, _ in shapes]
    edges = np.cumsum([float(share) for _, share in shapes])
    edges /= edges[-1]
    capacity = [
        int(np.prod([len(_CLASSES[p]) for p in parts if p in _CLASSES], dtype=object))
        for parts in parsed
    ]
    # consecutive indexes land far apart: a multiplier near capacity x 0.618 and coprime with
    # it, so index -> value is one-to-one below the capacity
    spread = []
    for size in capacity:
        step = max(1, int(size * _GOLDEN)) | 1
        while math.gcd(step, size) != 1:
            step += 2
        spread.append(step)
    out = []
    for i in index.tolist():
        choice = int(np.searchsorted(edges, ((i + 1) * _GOLDEN) % 1.0, side="right"))
        choice = min(choice, len(parsed) - 1)
        parts = parsed[choice]
        if i >= capacity[choice]:
            # the shape has no more new values: its literal prefix and the index, one
            # character longer than the shape, so never equal to one of its values
            prefix = "".join(p[1] for p in itertools.takewhile(lambda p: len(p) == 2, parts))
            out.append(prefix + str(i).zfill(len(parts) - len(prefix) + 1))
            continue
        number = (i * spread[choice] + capacity[choice] // 3) % capacity[choice]
        chars = []
        for part in reversed(parts):
            if part in _CLASSES:
                alphabet = _CLASSES[part]
                number, digit = divmod(number, len(alphabet))
                chars.append(alphabet[digit])
            else:
                chars.append(part[1])
        out.append("".join(reversed(chars)))
    return out
