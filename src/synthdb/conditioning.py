"""Rows given some of their values: what ``given``, ``rebalance`` and ``impute`` turn into.

A user's frame is checked against the model once, up front, before a row is drawn: every
column must be one the model knows, every value one it can condition on (a category it saw, a
number in its learned range, a value of the column's type). The frame then becomes the
model's tokens plus a mask of the cells that are fixed (:mod:`synthdb.model.conditional` draws
the rest), and the cells written back exactly as the user gave them.

What each path does with a value the model cannot condition on, and why:

- ``given`` refuses it: the rows are a specification (test data for one case), and a typo in
  a category or an age of 200 would otherwise turn silently into rows of another case.
- ``impute`` keeps it in the output and does not condition on it (an unseen category) or
  conditions on the nearest learned value (a number out of range): the rows are real data,
  which may hold values the model never saw, and refusing them would make imputing a fresh
  table impossible.
- A NULL the model has no token for (it was trained with ``nulls`` replace or drop) is kept in
  a ``given`` output as NULL and conditions nothing; ``impute`` fills it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from synthdb.encoding.categorical import RARE, CategoricalEncoder
from synthdb.encoding.numeric import NumericEncoder
from synthdb.errors import UsageError
from synthdb.schema.table import ColumnSchema, TableSchema
from synthdb.schema.values import typed_column

if TYPE_CHECKING:
    from synthdb.encoding.base import ColumnEncoder
    from synthdb.encoding.table import TableEncoder

Mode = Literal["given", "impute"]

#: Shares that add up to at most 1 within this rounding slack are accepted.
SHARE_SLACK = 1e-9


@dataclass(frozen=True)
class Conditions:
    """The model's view of rows with fixed cells, and what to write back as given."""

    #: every cell's token, rows x sub-columns (0 where not known)
    tokens: np.ndarray
    #: which of those tokens are fixed (the model draws the others given them)
    known: np.ndarray
    #: which unknown tokens must not be NULL (a NULL to impute, where the model has NULLs)
    not_null: np.ndarray
    #: the user's values of the model's columns it gave, as given (source representation)
    values: pd.DataFrame
    #: per column of ``values``: which of its cells are written back as they are
    kept: pd.DataFrame

    #: "given" rows get more copies where their condition is rare, imputed rows do not (see
    #: :func:`~synthdb.model.conditional.sample_given`)
    mode: Mode = "given"

    @property
    def rows(self) -> int:
        return int(self.tokens.shape[0])

    def slice(self, start: int, stop: int) -> Conditions:
        return Conditions(
            self.tokens[start:stop],
            self.known[start:stop],
            self.not_null[start:stop],
            self.values.iloc[start:stop].reset_index(drop=True),
            self.kept.iloc[start:stop].reset_index(drop=True),
            self.mode,
        )


def conditions(
    frame: pd.DataFrame, schema: TableSchema, table_encoder: TableEncoder, mode: Mode
) -> Conditions:
    """Check ``frame`` against the model (schema and encoder) and encode it.

    ``mode`` "given": every cell of the frame's columns is kept, NULL included. "impute":
    only its non-NULL cells; NULLs are drawn.
    """
    param = "given" if mode == "given" else "data"
    names = set(schema.names)
    unknown = [str(c) for c in frame.columns if c not in names]
    if unknown:
        raise UsageError(
            f"`{param}` has column {_list(unknown)} that the model does not know",
            hint=f"its columns are {_list(schema.names, 12)}",
        )
    if frame.columns.duplicated().any():
        doubled = [str(c) for c in frame.columns[frame.columns.duplicated()]]
        raise UsageError(f"`{param}` has column {_list(doubled)} more than once")
    rows = len(frame)
    frame = frame.reset_index(drop=True)
    by_name = {c.name: c for c in schema.columns}
    typed: dict[str, pd.Series] = {}
    conditioned: dict[str, np.ndarray] = {}
    for encoder in table_encoder.encoders:
        column = by_name[encoder.column]
        if encoder.column not in frame.columns:
            typed[encoder.column] = pd.Series([None] * rows, dtype=object)
            conditioned[encoder.column] = np.zeros(rows, dtype=bool)
            continue
        values = _typed(frame[encoder.column], column, param)
        typed[encoder.column], conditioned[encoder.column] = _conditionable(
            values, encoder, mode, param
        )
    table = pd.DataFrame(typed)
    tokens = table_encoder.encode(table)
    known = np.zeros(tokens.shape, dtype=bool)
    not_null = np.zeros(tokens.shape, dtype=bool)
    start = 0
    for column_encoder in table_encoder.encoders:
        name = column_encoder.column
        width = len(column_encoder.sub_columns)
        known[:, start : start + width] = conditioned[name][:, None]
        if (
            mode == "impute"
            and name in frame.columns
            and getattr(column_encoder, "has_null", False)
        ):
            # the NULL token is the first of the column's first sub-column
            not_null[:, start] = frame[name].isna().to_numpy()
        start += width
    tokens = np.where(known, tokens, 0)
    given = [c for c in schema.names if c in frame.columns]
    values = frame[given]
    kept = (
        pd.DataFrame(True, index=values.index, columns=given) if mode == "given" else values.notna()
    )
    return Conditions(tokens, known, not_null, values, kept, mode)


def _typed(values: pd.Series, column: ColumnSchema, param: str) -> pd.Series:
    """The typed view of a given column; a value of the wrong type is refused."""
    present = values.notna().to_numpy()
    if column.kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce")
        _refuse_unparsed(values, present & numbers.isna().to_numpy(), column, "a number", param)
        return typed_column(numbers.astype(np.float64), column)
    if column.kind == "datetime":
        try:
            typed = typed_column(values, column)
        except (TypeError, ValueError):
            typed = pd.Series(np.nan, index=values.index)
        broken = present & np.isnan(np.asarray(typed, dtype=np.float64))
        _refuse_unparsed(values, broken, column, "a date or time", param)
        return typed
    return typed_column(values, column)


def _refuse_unparsed(
    values: pd.Series, broken: np.ndarray, column: ColumnSchema, kind: str, param: str
) -> None:
    if broken.any():
        row = int(np.flatnonzero(broken)[0])
        raise UsageError(
            f"`{param}` column '{column.name}' holds {values.iloc[row]!r} (row {row + 1}), "
            f"not {kind}: the model learned it as {column.kind}",
            hint=f"{int(broken.sum())} such value(s); fix or remove them",
        )


def _conditionable(
    values: pd.Series, encoder: ColumnEncoder, mode: Mode, param: str
) -> tuple[pd.Series, np.ndarray]:
    """The values to encode and which of them condition the draw (see the module docstring)."""
    nulls = values.isna().to_numpy()
    has_null = bool(getattr(encoder, "has_null", False))
    usable = ~nulls if mode == "impute" or not has_null else np.ones(len(values), dtype=bool)
    if isinstance(encoder, CategoricalEncoder):
        seen = set(encoder.categories) | set(encoder.rare_values)
        # under DP the rare values were never read: any other value may be one of them
        pooled = encoder.rare_values == [RARE]
        unseen = ~nulls & ~values.map(lambda v: v in seen).to_numpy(dtype=bool)
        if unseen.any() and not pooled:
            if mode == "given":
                row = int(np.flatnonzero(unseen)[0])
                raise UsageError(
                    f"`{param}` column '{encoder.column}' holds {values.iloc[row]!r} "
                    f"(row {row + 1}), a category the model never saw",
                    hint=f"known values include {_list(encoder.categories, 8)}",
                )
            usable = usable & ~unseen
    elif isinstance(encoder, NumericEncoder):
        numbers = np.asarray(values, dtype=np.float64)
        outside = ~nulls & ((numbers < encoder.minimum) | (numbers > encoder.maximum))
        if outside.any() and mode == "given":
            row = int(np.flatnonzero(outside)[0])
            raise UsageError(
                f"`{param}` column '{encoder.column}' holds {numbers[row]:g} (row {row + 1}), "
                f"outside the range the model learned, {encoder.minimum:g} to "
                f"{encoder.maximum:g}",
                hint="the model cannot say what such rows look like; give a value in range",
            )
    return values, usable


def rebalanced(
    rebalance: Mapping[str, Mapping[str, float]],
    rows: int,
    schema: TableSchema,
    encoder: TableEncoder,
    drawn: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The given columns of ``rows`` rebalanced rows: each listed value on its share of the
    rows (exact counts, largest remainders), the other rows on the column's other values in
    the proportions of ``drawn`` (unconditional rows of the model), shuffled.

    Columns are assigned independently of each other; everything not listed follows the
    model given them.
    """
    check_shares(rebalance)
    by_name = {c.name: c for c in schema.columns}
    encoders = {e.column: e for e in encoder.encoders}
    out: dict[str, np.ndarray] = {}
    for name, shares in rebalance.items():
        column = by_name.get(name)
        if column is None:
            raise UsageError(
                f"`rebalance` names column '{name}', which the model does not know",
                hint=f"its columns are {_list(schema.names, 12)}",
            )
        categorical = encoders.get(name)
        if not isinstance(categorical, CategoricalEncoder):
            raise UsageError(
                f"`rebalance` needs a categorical or boolean column; '{name}' is {column.kind}",
                hint="give such rows with `given` instead",
            )
        seen = set(categorical.categories) | set(categorical.rare_values)
        for value in shares:
            if value not in seen:
                raise UsageError(
                    f"`rebalance` asks for {value!r} in '{name}', a category the model never saw",
                    hint=f"known values include {_list(categorical.categories, 8)}",
                )
        total = math.fsum(shares.values())
        counts = _largest_remainders([shares[v] * rows for v in shares], rows, total)
        listed = np.repeat(np.array(list(shares), dtype=object), counts)
        pool = drawn[name].to_numpy(dtype=object)
        others = pool[~pd.Series(pool).isin(list(shares)).to_numpy()]
        rest = rows - len(listed)
        if rest and len(others) == 0:
            raise UsageError(
                f"`rebalance` shares of '{name}' add up to {total:g}, but the model draws no "
                "other value to fill the rest",
                hint="list shares that add up to 1",
            )
        filler = rng.choice(others, size=rest) if rest else np.empty(0, dtype=object)
        column_values = np.concatenate([listed, filler])
        out[name] = column_values[rng.permutation(rows)]
    return pd.DataFrame(out)


def check_shares(rebalance: Mapping[str, Mapping[str, float]]) -> None:
    """Each share between 0 and 1 and each column's shares adding up to 1 at most: checked
    before a model is loaded."""
    for name, shares in rebalance.items():
        for value, share in shares.items():
            if not (math.isfinite(share) and 0.0 <= share <= 1.0):
                raise UsageError(
                    f"`rebalance` share of {value!r} in '{name}' must be between 0 and 1 "
                    f"(got {share:g})"
                )
        total = math.fsum(shares.values())
        if total > 1.0 + SHARE_SLACK:
            raise UsageError(
                f"`rebalance` shares of '{name}' add up to {total:g}, more than 1",
                hint="the shares are of all rows; lower them so they sum to 1 at most",
            )


def _largest_remainders(wanted: Sequence[float], rows: int, total: float) -> list[int]:
    """Whole counts for ``wanted`` fractional counts: the floors, then one more for the largest
    remainders while the rounded total allows (so shares of 1 fill every row)."""
    floors = [math.floor(w) for w in wanted]
    target = min(rows, round(total * rows))
    order = sorted(range(len(wanted)), key=lambda i: wanted[i] - floors[i], reverse=True)
    for i in order[: max(0, target - sum(floors))]:
        floors[i] += 1
    return floors


def parse_rebalance(items: Sequence[str]) -> dict[str, dict[str, float]]:
    """``COLUMN=VALUE:SHARE`` strings (the CLI's form) as ``{column: {value: share}}``; the
    column ends at the first ``=``, the share starts after the last ``:``."""
    out: dict[str, dict[str, float]] = {}
    for item in items:
        column, equals, rest = item.partition("=")
        value, colon, share = rest.rpartition(":")
        if not equals or not colon or not column:
            raise UsageError(
                f"`rebalance` {item!r} is not COLUMN=VALUE:SHARE",
                hint="for example income=>50K:0.5",
            )
        try:
            number = float(share)
        except ValueError:
            raise UsageError(
                f"`rebalance` {item!r}: the share {share!r} is not a number",
                hint="for example income=>50K:0.5",
            ) from None
        values = out.setdefault(column.strip(), {})
        if value in values:
            raise UsageError(f"`rebalance` lists {value!r} of '{column}' twice")
        values[value] = number
    return out


def merged(drawn: pd.DataFrame, given: Conditions) -> pd.DataFrame:
    """The drawn rows with the given cells put back exactly as the user wrote them."""
    out = drawn.copy()
    for name in given.values.columns:
        keep = given.kept[name].to_numpy()
        if keep.all():
            out[name] = given.values[name].to_numpy()
        elif keep.any():
            column = out[name].to_numpy(dtype=object, copy=True)
            column[keep] = given.values[name].to_numpy(dtype=object)[keep]
            out[name] = pd.Series(column, index=out.index).infer_objects()
    return out


def _list(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
