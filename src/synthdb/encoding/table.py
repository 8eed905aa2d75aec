"""All of a table's modelled columns as one integer matrix, and back.

Key and constant columns are not modelled (keys are regenerated unique, constants are
repeated), so the encoder covers the other kinds only. The token matrix is small integers,
memory linear in rows x sub-columns, which is what lets large tables train on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.encoding.base import ColumnEncoder, SubColumn
from synthdb.encoding.categorical import CategoricalEncoder
from synthdb.encoding.marked import MarkedDateEncoder
from synthdb.encoding.numeric import NumericEncoder
from synthdb.schema.inference import split_marked
from synthdb.schema.table import TableSchema

MODELLED_KINDS = ("numeric", "categorical", "boolean", "datetime")


def _encoder_from_dict(data: dict[str, Any]) -> ColumnEncoder:
    if data["kind"] in ("numeric", "datetime"):
        return NumericEncoder(**data)
    if data["kind"] in ("categorical", "boolean"):
        return CategoricalEncoder(**data)
    if data["kind"] == "marked":
        return MarkedDateEncoder.from_dict(data)
    raise ValueError(f"unknown encoder kind {data['kind']!r}")


@dataclass
class TableEncoder:
    encoders: list[ColumnEncoder]

    @classmethod
    def fit(cls, typed: pd.DataFrame, schema: TableSchema) -> TableEncoder:
        encoders: list[ColumnEncoder] = []
        for column in schema.columns:
            if column.kind not in MODELLED_KINDS:
                continue
            values = typed[column.name]
            if column.kind == "datetime" and split_marked(column.datetime_format)[1] is not None:
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
