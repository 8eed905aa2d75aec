"""Marked dates: a date plus a mark its encoding carries (a birth number's month + 50).

The typed view holds such a column as one float: the date's epoch seconds, plus
:data:`~synthdb.schema.inference.MARK_SHIFT` on marked rows. Learnt as one number, the gap
between the two groups would fall inside a quantile bin and decode to dates that belong to
neither. So the mark is a token of its own, drawn first, and the date is binned without the
shift: every generated value is a real date, marked or not, and the mark keeps its
correlations with the other columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnStatistics, SubColumn
from synthdb.encoding.categorical import CategoricalEncoder
from synthdb.encoding.numeric import NumericEncoder
from synthdb.encoding.private import Declared, NoisyCounts, PrivateFit
from synthdb.schema.inference import MARK_SHIFT
from synthdb.schema.table import ColumnSchema

_MARKED, _PLAIN = "marked", "plain"


def split_marks(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The mark of each row (None for NULL) and its date's seconds without the shift."""
    seconds = np.asarray(values, dtype=np.float64)
    nulls = np.isnan(seconds)
    marks = ~nulls & (seconds > MARK_SHIFT / 2)
    labels = pd.Series(np.where(marks, _MARKED, _PLAIN), dtype=object)
    labels[nulls] = None
    return labels, seconds - np.where(marks, MARK_SHIFT, 0.0)


@dataclass
class MarkedDateEncoder:
    column: str
    mark: CategoricalEncoder
    date: NumericEncoder
    kind: str = "marked"

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> MarkedDateEncoder:
        labels, seconds = split_marks(values)
        return cls(
            column=column,
            mark=CategoricalEncoder.fit(f"{column}#mark", labels, rare_min_count=1),
            date=NumericEncoder.fit(column, pd.Series(seconds), integer=True),
        )

    @classmethod
    def fit_private(
        cls,
        column: ColumnSchema,
        values: pd.Series,
        counts: NoisyCounts,
        rows: float,
        *,
        keep_nulls: bool,
        declared: Declared | None = None,
    ) -> PrivateFit:
        """Noisy counts of the two marks, as a boolean's, then the date without its shift, as
        any datetime's (``declared`` bounds are the date's)."""
        labels, seconds = split_marks(values)
        as_mark = ColumnSchema(
            name=f"{column.name}#mark", kind="boolean", boolean_tokens=[_PLAIN, _MARKED]
        )
        mark = CategoricalEncoder.fit_private(as_mark, labels, counts, rows, keep_nulls=keep_nulls)
        date = NumericEncoder.fit_private(
            column, pd.Series(seconds), counts, rows, keep_nulls=keep_nulls, declared=declared
        )
        assert isinstance(mark.encoder, CategoricalEncoder)
        assert isinstance(date.encoder, NumericEncoder)
        return PrivateFit(
            cls(column.name, mark.encoder, date.encoder),
            [*mark.token_counts, *date.token_counts],
            date.statistics,
        )

    @staticmethod
    def private_releases(column: ColumnSchema, declared: Declared | None) -> tuple[int, int]:
        """(thresholded, all) histograms :meth:`fit_private` releases at most: the marks'
        counts, then the date's."""
        thresholded, releases = NumericEncoder.private_releases(column, declared)
        return thresholded, releases + 1

    @staticmethod
    def statistics(column: ColumnSchema, values: pd.Series) -> ColumnStatistics:
        """Exact NULL count and the mean date without its shift, which ``--nulls replace``
        fills in unmarked, as the private fit's mean is. (The mean of the stored values mixes
        dates 800,000 days apart: half-marked birth numbers averaged to a marked date in the
        year 934.)"""
        _, seconds = split_marks(values)
        return NumericEncoder.statistics(column, pd.Series(seconds))

    @property
    def sub_columns(self) -> list[SubColumn]:
        return [*self.mark.sub_columns, *self.date.sub_columns]

    def encode(self, values: pd.Series) -> np.ndarray:
        labels, seconds = split_marks(values)
        return np.concatenate(
            [self.mark.encode(labels), self.date.encode(pd.Series(seconds))], axis=1
        )

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.Series:
        labels = self.mark.decode(tokens[:, :1], rng)
        seconds = np.asarray(self.date.decode(tokens[:, 1:], rng), dtype=np.float64)
        marked = np.asarray(labels == _MARKED)
        # The mark and the date are NULL together in the source; a NULL mark nulls the row.
        seconds = np.where(marked, seconds + MARK_SHIFT, seconds)
        seconds[np.asarray(labels.isna())] = np.nan
        return pd.Series(seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "mark": self.mark.to_dict(),
            "date": self.date.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarkedDateEncoder:
        return cls(
            column=data["column"],
            mark=CategoricalEncoder(**data["mark"]),
            date=NumericEncoder(**data["date"]),
        )
