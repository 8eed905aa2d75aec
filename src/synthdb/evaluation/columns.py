"""Which columns the accuracy measure compares, and as what, given a table's schema."""

from __future__ import annotations

from synthdb.evaluation.accuracy import ColumnKind
from synthdb.schema.table import TableSchema


def accuracy_kinds(schema: TableSchema) -> dict[str, ColumnKind]:
    """The columns the accuracy measure compares; keys are unique by design and left out."""
    kinds: dict[str, ColumnKind] = {}
    for column in schema.columns:
        if column.kind in ("numeric", "datetime"):
            kinds[column.name] = "numeric"
        elif column.kind in ("categorical", "boolean", "constant"):
            kinds[column.name] = "categorical"
    return kinds
