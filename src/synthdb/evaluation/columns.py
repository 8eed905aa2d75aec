"""Which columns the accuracy measure compares, and as what, given a table's schema."""

from __future__ import annotations

from synthdb.evaluation.accuracy import ColumnKind
from synthdb.evaluation.distributions import DisplayKind
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


def display_kinds(schema: TableSchema) -> dict[str, DisplayKind]:
    """The same columns as :func:`accuracy_kinds`, with dates told apart for the pictures."""
    return {
        name: "datetime" if schema.column(name).kind == "datetime" else kind
        for name, kind in accuracy_kinds(schema).items()
    }
