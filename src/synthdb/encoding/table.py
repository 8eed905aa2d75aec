"""All of a table's modelled columns as one integer matrix, and back.

Key and constant columns are not modelled (keys are regenerated unique, constants are
repeated), so the encoder covers the other kinds only. The token matrix is small integers,
memory linear in rows x sub-columns, which is what lets large tables train on a laptop.

Each column's encoder is fitted exactly (:meth:`TableEncoder.fit`) or from noisy counts
(:meth:`TableEncoder.fit_private`, differential privacy); the kind of encoder a column gets is
chosen here, once, for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnEncoder, ColumnStatistics, SubColumn
from synthdb.encoding.categorical import CategoricalEncoder
from synthdb.encoding.marked import MarkedDateEncoder
from synthdb.encoding.numeric import NumericEncoder
from synthdb.encoding.private import Declared, NoisyCounts
from synthdb.schema.inference import split_marked
from synthdb.schema.table import ColumnSchema, TableSchema

MODELLED_KINDS = ("numeric", "categorical", "boolean", "datetime")


def _encoder_from_dict(data: dict[str, Any]) -> ColumnEncoder:
    if data["kind"] in ("numeric", "datetime"):
        return NumericEncoder(**data)
    if data["kind"] in ("categorical", "boolean"):
        return CategoricalEncoder(**data)
    if data["kind"] == "marked":
        return MarkedDateEncoder.from_dict(data)
    raise ValueError(f"unknown encoder kind {data['kind']!r}")


def _is_marked(column: ColumnSchema) -> bool:
    return column.kind == "datetime" and split_marked(column.datetime_format)[1] is not None


_EncoderClass = type[NumericEncoder] | type[CategoricalEncoder] | type[MarkedDateEncoder]


def _encoder_class(column: ColumnSchema) -> _EncoderClass:
    """The encoder a modelled column gets, with or without DP."""
    if _is_marked(column):
        return MarkedDateEncoder
    if column.kind in ("numeric", "datetime"):
        return NumericEncoder
    return CategoricalEncoder


@dataclass
class PrivateTableFit:
    """A table's encoders fitted on noisy counts, and what the pipeline reads from them."""

    encoder: TableEncoder
    #: the DP row count
    rows: float
    #: per modelled column: DP NULL count and average, for the NULL policy
    statistics: dict[str, ColumnStatistics]
    #: per sub-column: noisy token counts that seed the network's heads (None: unknown)
    token_counts: list[np.ndarray | None]


@dataclass
class TableEncoder:
    encoders: list[ColumnEncoder]

    @classmethod
    def fit_private(
        cls,
        typed: pd.DataFrame,
        schema: TableSchema,
        counts: NoisyCounts,
        *,
        keep_nulls: bool,
        declared: Mapping[str, Declared] | None = None,
    ) -> PrivateTableFit:
        """Every modelled column's encoder from noisy counts (the row count first), charged
        by ``counts``; ``declared`` columns use their public bounds or categories as given."""
        declared = declared or {}
        rows = counts.rows(len(typed))
        encoders: list[ColumnEncoder] = []
        statistics: dict[str, ColumnStatistics] = {}
        token_counts: list[np.ndarray | None] = []
        for column in schema.columns:
            if column.kind not in MODELLED_KINDS:
                continue
            fitted = _encoder_class(column).fit_private(
                column,
                typed[column.name],
                counts,
                rows,
                keep_nulls=keep_nulls,
                declared=declared.get(column.name),
            )
            encoders.append(fitted.encoder)
            statistics[column.name] = fitted.statistics
            token_counts.extend(fitted.token_counts)
        return PrivateTableFit(cls(encoders), rows, statistics, token_counts)

    @staticmethod
    def private_releases(
        schema: TableSchema, declared: Mapping[str, Declared] | None = None
    ) -> tuple[int, int]:
        """(thresholded, all) histograms :meth:`fit_private` releases at most, the row count
        included: the noise is calibrated to them before any is released."""
        declared = declared or {}
        thresholded, releases = 0, 1  # the row count
        for column in schema.columns:
            if column.kind in MODELLED_KINDS:
                more = _encoder_class(column).private_releases(column, declared.get(column.name))
                thresholded, releases = thresholded + more[0], releases + more[1]
        return thresholded, releases

    @staticmethod
    def statistics(typed: pd.DataFrame, schema: TableSchema) -> dict[str, ColumnStatistics]:
        """Exact NULL counts and averages (the NULL policy's input without DP), computed by
        each modelled column's encoder class. A column that is not modelled (a key, a
        constant) has no average; it is listed only when entirely NULL, which the NULL policy
        then says."""
        out: dict[str, ColumnStatistics] = {}
        for column in schema.columns:
            values = typed[column.name]
            if column.kind in MODELLED_KINDS:
                out[column.name] = _encoder_class(column).statistics(column, values)
            elif len(values) and values.isna().all():
                out[column.name] = ColumnStatistics(len(values))
        return out

    @classmethod
    def fit(cls, typed: pd.DataFrame, schema: TableSchema) -> TableEncoder:
        encoders: list[ColumnEncoder] = []
        for column in schema.columns:
            if column.kind not in MODELLED_KINDS:
                continue
            values = typed[column.name]
            if _is_marked(column):
                encoders.append(MarkedDateEncoder.fit(column.name, values))
            elif column.kind in ("numeric", "datetime"):
                encoder = NumericEncoder.fit(
                    column.name, values, integer=column.integer or column.kind == "datetime"
                )
                encoder.kind = column.kind
                encoders.append(encoder)
            else:
                categorical = CategoricalEncoder.fit(column.name, values)
                categorical.kind = column.kind
                encoders.append(categorical)
        return cls(encoders)

    @property
    def columns(self) -> list[str]:
        return [e.column for e in self.encoders]

    @property
    def sub_columns(self) -> list[SubColumn]:
        return [s for e in self.encoders for s in e.sub_columns]

    def encode(self, typed: pd.DataFrame) -> np.ndarray:
        if not self.encoders:
            return np.zeros((len(typed), 0), dtype=np.int64)
        parts = [e.encode(typed[e.column]) for e in self.encoders]
        return np.concatenate(parts, axis=1)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        start = 0
        for encoder in self.encoders:
            width = len(encoder.sub_columns)
            out[encoder.column] = encoder.decode(tokens[:, start : start + width], rng)
            start += width
        return pd.DataFrame(out)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [e.to_dict() for e in self.encoders]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableEncoder:
        return cls([_encoder_from_dict(c) for c in data["columns"]])
