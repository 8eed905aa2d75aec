"""What a parent row learns about its children as a whole: hidden summary columns.

A child row is drawn given its parent's row (and, in a sequence, the two rows before it), so
what the children share as a group is lost when nothing in the parent says it: Chinook's
invoices hold 0.99 tracks except 13 that hold only 1.99 videos and 17 that mix both; drawn
line by line under invoices that do not know which kind they are, the twin spread the videos
over 85 invoices, so every customer's mean invoice total moved. A summary of the children,
learned with the parent's own columns and its children count, tells each child which kind of
parent it is under:

- for a category column of the children, its most frequent value under the parent and that
  value's share (:data:`MODE_PREFIX`, :data:`SHARE_PREFIX`);
- for a number column, its mean under the parent (:data:`MEAN_PREFIX`).

The summaries are hidden: learned and drawn with the parent, seen by its children as part of
the parent's tokens, never written out, never shown with the rules.

Under differential privacy they are off. They could be accounted where parent and children
belong to one subject (computed on the bounded children, a summary is that subject's data, and
the parent's DP-SGD clips per subject while its statistics read one row per subject), but that
is neither tested nor measured, and under a row-level parent the children of one parent are
other subjects' rows, so a summary would carry them uncharged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthdb.schema.inference import infer_column

#: Hidden parent columns that summarise a category column of the children: its most frequent
#: value under the parent and that value's share of the parent's children.
MODE_PREFIX = "__mode__"
SHARE_PREFIX = "__share__"
#: Hidden parent column that holds a number column's mean over the parent's children.
MEAN_PREFIX = "__mean__"
#: Category columns with more distinct values than this get no summary (a free-text column's
#: most frequent value says little about the rest of its group).
MAX_SUMMARY_CATEGORIES = 1_000
#: At most this many child columns are summarised per relation, in the table's order: each
#: adds one or two columns to the parent's model, whose cost grows with its width.
MAX_SUMMARISED = 8


def summary_candidates(
    frame: pd.DataFrame, skip: Sequence[str], *, numbers: bool = False
) -> list[str]:
    """The columns of ``frame`` worth a per-group summary: category columns with two to
    :data:`MAX_SUMMARY_CATEGORIES` distinct values, each seen twice on average (the most
    frequent first name of a group says nothing of the rest) and, with ``numbers``, number
    columns with two or more (dates and free text get none)."""
    out = []
    for column in frame.columns:
        if column in skip:
            continue
        values = frame[column]
        distinct = values.nunique()
        if distinct < 2:
            continue
        kind = infer_column(str(column), values).kind
        repeats = distinct <= values.notna().sum() / 2
        if (kind == "categorical" and distinct <= MAX_SUMMARY_CATEGORIES and repeats) or (
            numbers and kind == "numeric"
        ):
            out.append(str(column))
    return out


def group_summaries(frame: pd.DataFrame, key: str, columns: Sequence[str]) -> pd.DataFrame:
    """Per value of ``key``, each column's most frequent value (NULL counts as a value; ties
    go to the value seen first) and its share of the group's rows."""
    out = {}
    sizes = frame.groupby(key, sort=False).size()
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        counts = (
            pd.DataFrame({key: frame[key].to_numpy(), "code": codes})
            .groupby([key, "code"], sort=False)
            .size()
            .rename("n")
            .reset_index()
        )
        # stable sort: among equal counts the first seen stays first
        top = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates(key)
        top = top.set_index(key)
        values = pd.Series(
            np.asarray(uniques, dtype=object)[top["code"].to_numpy()], index=top.index
        )
        out[MODE_PREFIX + column] = values.reindex(sizes.index)
        out[SHARE_PREFIX + column] = (top["n"] / sizes.reindex(top.index)).reindex(sizes.index)
    return pd.DataFrame(out, index=sizes.index)


def children_summaries(
    children: pd.DataFrame,
    pointing: np.ndarray,
    parents: int,
    child: str,
    categories: Sequence[str],
    numbers: Sequence[str],
) -> pd.DataFrame:
    """One row per parent (``parents`` rows, in order): the summaries of its children, whose
    parent positions ``pointing`` gives (-1: none). Parents without children get NULLs.
    Columns are named ``__mode__Child.column`` and so on."""
    has = pointing >= 0
    rows = children.loc[has].reset_index(drop=True)
    key = "__parent__"
    grouped = rows.assign(**{key: pointing[has]})
    out = pd.DataFrame(index=pd.RangeIndex(parents))
    if categories:
        modes = group_summaries(grouped, key, list(categories))
        modes.columns = [_named(c, child) for c in modes.columns]
        out = out.join(modes)
    for column in numbers:
        values = pd.to_numeric(grouped[column], errors="coerce")
        means = values.groupby(grouped[key], sort=False).mean()
        out[MEAN_PREFIX + f"{child}.{column}"] = means.reindex(out.index)
    return out


def _named(column: str, child: str) -> str:
    for prefix in (MODE_PREFIX, SHARE_PREFIX):
        if column.startswith(prefix):
            return f"{prefix}{child}.{column[len(prefix) :]}"
    return column


def hidden_column(column: str | None) -> bool:
    """A summary column: learned with the parent (or a sequence's entity), never shown."""
    return column is not None and column.startswith((MODE_PREFIX, SHARE_PREFIX, MEAN_PREFIX))


def summary_text(column: str) -> str:
    """A hidden summary column in words: ``most frequent Line.kind``, ``mean Line.price``."""
    for prefix, words in (
        (MODE_PREFIX, "most frequent"),
        (SHARE_PREFIX, "share of the most frequent"),
        (MEAN_PREFIX, "mean"),
    ):
        if column.startswith(prefix):
            return f"{words} {column[len(prefix) :]}"
    return column
