"""What a table looks like: its columns, their kinds and how their values are written.

The schema is the contract between reading and writing: whatever the model learns, generated
rows are written back with the same column names, order and representation (integers stay
integers, dates keep their text format, booleans keep their spelling). It is plain data so the
model file can store it as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal["numeric", "categorical", "boolean", "datetime", "key", "constant"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical", "boolean", "datetime", "key", "constant")

#: How the source stored a column. ``text`` means strings we parsed (CSV, SQLite TEXT); any
#: other value is the pandas dtype of a natively typed source (Parquet, database columns).
Storage = str


@dataclass
class ColumnSchema:
    """One column: its kind plus everything needed to write values back as the source did."""

    name: str
    kind: Kind
    storage: Storage = "text"
    nullable: bool = False
    #: numeric: whole numbers only (written without a decimal point)
    integer: bool = False
    #: numeric/datetime: observed range (datetime as seconds since the epoch)
    minimum: float | None = None
    maximum: float | None = None
    #: numeric: digits after the decimal point, kept on output: from text, the most digits
    #: seen; from a float column, the fewest that hold every value; from a database's
    #: ``numeric(p, s)``, ``s``
    decimals: int | None = None
    #: datetime read from text, or from whole numbers holding dates (``%y%m%d`` for 930101,
    #: written back into the source's storage): the strftime pattern the source used
    datetime_format: str | None = None
    #: datetime: the coarsest step (seconds) all source values sit on, kept on output
    resolution: int | None = None
    #: datetime with fractions of a second: digits every text value has (written with exactly
    #: as many), or the fewest digits that hold every native timestamp (rounded to them)
    fraction_digits: int | None = None
    #: boolean read from text: spelling of [false, true] in the source
    boolean_tokens: list[str] | None = None
    #: key: how new unique values are made: integer sequence, uuid, or prefixed string
    key_format: Literal["integer", "uuid", "string", "pattern"] | None = None
    #: key with format ``pattern``: the source's value shapes and their shares (see
    #: :func:`synthdb.encoding.keys.key_shapes`)
    key_shapes: list[list[Any]] | None = None
    #: constant: the single value (None for a column that is entirely NULL)
    constant: Any = None
    #: distinct non-NULL values seen (informational, shown by ``synthdb inspect``)
    distinct: int = 0
    #: NULL cells in the source (informational)
    null_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TableSchema:
    """Columns in source order, plus the row count the schema was inferred from."""

    name: str
    columns: list[ColumnSchema] = field(default_factory=list)
    rows: int = 0

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        return cls(
            name=data["name"],
            rows=int(data.get("rows", 0)),
            columns=[ColumnSchema.from_dict(c) for c in data["columns"]],
        )
