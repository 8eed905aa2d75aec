"""Statistics of a table read in chunks: what the encoders and the NULL policy need, with
memory that follows the chunk size and the columns, not the row count.

A table in memory fits its encoders on every value (:meth:`TableEncoder.fit`). A table too
large for memory is read chunk by chunk, and each chunk adds to per-column summaries:

- exact where cheap: rows, NULL counts, sums (the averages ``--nulls replace`` fills in),
  minimum and maximum, every category's count, and a number column's distinct values while
  there are at most :data:`~synthdb.encoding.numeric.MAX_EXACT_VALUES` of them;
- a uniform sample of rows (:class:`RowSample`) for what is not: quantile bin edges and point
  masses of a number column with many values, a marked date's layout. The sample is a
  sketch with a known error (see :meth:`NumericEncoder.from_summary`).

Categories and columns with few values therefore get exactly the encoders a table in memory
would; only the bin edges of continuous numbers move, by less than a bin's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnEncoder, ColumnStatistics
from synthdb.encoding.categorical import CategoricalEncoder
from synthdb.encoding.marked import MarkedDateEncoder, split_marks
from synthdb.encoding.nulls import NullPolicy, NullReport, drop_null_rows, replace_nulls
from synthdb.encoding.numeric import MAX_EXACT_VALUES, NumericEncoder
from synthdb.encoding.table import MODELLED_KINDS, TableEncoder, _is_marked
from synthdb.errors import InputError
from synthdb.schema.table import ColumnSchema, TableSchema

#: Rows kept in the uniform sample quantiles are read from: a quantile's rank error is about
#: 1/sqrt(200,000) = 0.2%, an eighth of a bin's 1/64; the sample of 19 columns takes ~50 MB.
SKETCH_ROWS = 200_000


class RowSample:
    """A uniform sample, without replacement, of at most ``size`` rows of a stream of frames.

    Each row gets a random key and the ``size`` smallest keys are kept (bottom-k sampling):
    every subset of ``size`` rows is equally likely, whatever the chunks' sizes, and a chunk
    costs one comparison per row once the sample is full.
    """

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self.frame: pd.DataFrame | None = None
        self.keys = np.empty(0)
        self.seen = 0

    def add(self, chunk: pd.DataFrame) -> None:
        keys = self.rng.random(len(chunk))
        self.seen += len(chunk)
        if self.frame is not None and len(self.keys) >= self.size:
            below = keys < self.keys.max()
            if not below.any():
                return
            chunk, keys = chunk[below], keys[below]
        chunk = chunk.reset_index(drop=True)
        frame = chunk if self.frame is None else pd.concat([self.frame, chunk], ignore_index=True)
        keys = np.concatenate([self.keys, keys])
        if len(keys) > self.size:
            kept = np.sort(np.argpartition(keys, self.size - 1)[: self.size])
            frame, keys = frame.iloc[kept].reset_index(drop=True), keys[kept]
        self.frame, self.keys = frame, keys

    def rows(self) -> pd.DataFrame:
        """The sampled rows, in the stream's order (concatenation and sorted picks keep it)."""
        return self.frame if self.frame is not None else pd.DataFrame()


@dataclass
class _Numbers:
    """Exact summaries of a number (or datetime) column."""

    nulls: int = 0
    present: int = 0
    total: float = 0.0
    minimum: float = np.inf
    maximum: float = -np.inf
    #: value -> rows while there are at most MAX_EXACT_VALUES distinct values; None beyond
    counts: dict[float, int] | None = field(default_factory=dict)

    def add(self, values: pd.Series) -> None:
        numbers = np.asarray(values, dtype=np.float64)
        missing = np.isnan(numbers)
        numbers = numbers[~missing]
        self.nulls += int(missing.sum())
        if numbers.size == 0:
            return
        self.present += numbers.size
        self.total = math.fsum([self.total, math.fsum(numbers)])
        self.minimum = min(self.minimum, float(numbers.min()))
        self.maximum = max(self.maximum, float(numbers.max()))
        if self.counts is not None:
            distinct, counts = np.unique(numbers, return_counts=True)
            for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
                self.counts[value] = self.counts.get(value, 0) + count
            if len(self.counts) > MAX_EXACT_VALUES:
                self.counts = None


@dataclass
class StreamedStatistics:
    """Per-column summaries of a table's typed chunks, after the NULL policy's ``drop``."""

    schema: TableSchema
    policy: NullPolicy
    rows_before: int = 0
    rows: int = 0
    numbers: dict[str, _Numbers] = field(default_factory=dict)
    categories: dict[str, pd.Series] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)

    def add(self, typed: pd.DataFrame) -> pd.DataFrame:
        """Add a typed chunk; return it as training reads it before ``replace`` (under
        ``drop``, without its rows that hold a NULL)."""
        self.rows_before += len(typed)
        if self.policy == "drop":
            typed = drop_null_rows(typed, explain=False)
        self.rows += len(typed)
        for column in self.schema.columns:
            values = typed[column.name]
            self.nulls[column.name] = self.nulls.get(column.name, 0) + int(values.isna().sum())
            if column.kind not in MODELLED_KINDS:
                continue
            if column.kind in ("numeric", "datetime"):
                seconds = split_marks(values)[1] if _is_marked(column) else values
                self.numbers.setdefault(column.name, _Numbers()).add(pd.Series(seconds))
            else:
                counts = values.dropna().value_counts(sort=False)
                before = self.categories.get(column.name)
                self.categories[column.name] = (
                    counts if before is None else before.add(counts, fill_value=0)
                )
        return typed

    def null_statistics(self) -> dict[str, ColumnStatistics]:
        """What :meth:`TableEncoder.statistics` says of the whole table, from the sums and
        counts: the same averages (a mean, or the most frequent value, ties to the first)."""
        out: dict[str, ColumnStatistics] = {}
        for column in self.schema.columns:
            nulls = self.nulls.get(column.name, 0)
            if column.kind not in MODELLED_KINDS:
                if self.rows and nulls == self.rows:
                    out[column.name] = ColumnStatistics(nulls)
                continue
            if nulls == 0 or nulls == self.rows:
                out[column.name] = ColumnStatistics(nulls)
            elif column.name in self.numbers:
                summary = self.numbers[column.name]
                mean = summary.total / summary.present
                if column.integer or column.kind == "datetime":
                    mean = float(np.round(mean))
                out[column.name] = ColumnStatistics(nulls, mean)
            else:
                counts = self.categories[column.name]
                top = counts[counts == counts.max()].index
                out[column.name] = ColumnStatistics(nulls, sorted(str(v) for v in top)[0])
        return out

    def report(self) -> tuple[NullReport, dict[str, ColumnStatistics]]:
        """The NULL policy's report (exact counts) and the averages ``replace`` fills in."""
        if self.policy == "drop" and self.rows_before and self.rows == 0:
            raise InputError(
                "--nulls drop would remove every row: every row has a NULL somewhere",
                hint="use --nulls keep or --nulls replace",
            )
        report = NullReport(self.policy, self.rows_before, self.rows)
        report.rows_dropped = self.rows_before - self.rows
        statistics = self.null_statistics()
        if self.policy == "replace":
            replace_nulls(pd.DataFrame(columns=list(statistics)), statistics, report)
        return report, statistics

    def encoder(self, sample: pd.DataFrame) -> TableEncoder:
        """Every modelled column's encoder; ``sample`` is a uniform sample of the rows as
        training reads them (after the NULL policy), for the quantiles."""
        statistics = self.null_statistics()
        replaced = self.policy == "replace"
        encoders: list[ColumnEncoder] = []
        for column in self.schema.columns:
            if column.kind not in MODELLED_KINDS:
                continue
            average = statistics[column.name].average
            filled = replaced and average is not None
            nulls = 0 if filled else self.nulls.get(column.name, 0)
            if _is_marked(column):
                encoders.append(MarkedDateEncoder.fit(column.name, sample[column.name]))
            elif column.kind in ("numeric", "datetime"):
                encoders.append(self._numbers(column, sample, nulls, average if filled else None))
            else:
                counts = self.categories.get(column.name, pd.Series(dtype=np.int64))
                if filled and self.nulls.get(column.name, 0):
                    extra = pd.Series({str(average): self.nulls[column.name]})
                    counts = counts.add(extra, fill_value=0)
                categorical = CategoricalEncoder.from_counts(
                    column.name, counts.astype(np.int64), has_null=nulls > 0
                )
                categorical.kind = column.kind
                encoders.append(categorical)
        return TableEncoder(encoders)

    def _numbers(
        self, column: ColumnSchema, sample: pd.DataFrame, nulls: int, filled: float | None
    ) -> NumericEncoder:
        summary = self.numbers.get(column.name, _Numbers())
        present = np.asarray(sample[column.name], dtype=np.float64)
        present = present[~np.isnan(present)]
        distinct = None
        if summary.counts is not None:
            values = set(summary.counts)
            if filled is not None:
                values.add(filled)
            distinct = np.array(sorted(values), dtype=np.float64)
        low, high = summary.minimum, summary.maximum
        if filled is not None:
            low, high = min(low, filled), max(high, filled)
        if not np.isfinite(low):
            low = high = 0.0
        encoder = NumericEncoder.from_summary(
            column.name,
            integer=column.integer or column.kind == "datetime",
            minimum=low,
            maximum=high,
            has_null=nulls > 0,
            distinct=distinct,
            sample=present,
        )
        encoder.kind = column.kind
        return encoder
