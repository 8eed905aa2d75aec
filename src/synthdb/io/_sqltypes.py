"""Native SQL types <-> the portable types of :mod:`synthdb.schema.relations`.

Reading: SQLAlchemy reflects each column's native type; ``as_generic()`` names its generic
equivalent, which we map onto a small portable set. Writing: each portable type becomes the
target dialect's native type, with the few adjustments each dialect needs (MySQL's VARCHAR needs
a length and its DATETIME drops fractions unless asked; PostgreSQL has a real UUID type).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from synthdb.schema.relations import SqlType

# MySQL's index keys hold at most 3072 bytes: 255 utf8mb4 characters fit in any key.
_MYSQL_KEY_LENGTH = 255
# Longer VARCHARs eat MySQL's 65,535-byte row limit; TEXT is stored off the row.
_MYSQL_MAX_VARCHAR = 4000


def portable(native: sa.types.TypeEngine, dialect: str) -> SqlType | None:
    """The portable type of a reflected column, or None when we do not model it."""
    if isinstance(native, sa.types.NullType):
        return None
    if dialect in ("mysql", "mariadb") and isinstance(native, mysql.TINYINT):
        # MySQL spells BOOLEAN as TINYINT(1); that is how our own boolean columns come back.
        if getattr(native, "display_width", None) == 1:
            return SqlType("boolean")
        return SqlType("smallint")
    try:
        generic = native.as_generic()
    except NotImplementedError:
        return None
    if isinstance(generic, sa.Enum):
        labels = [str(label) for label in generic.enums]
        return SqlType("string", length=max((len(label) for label in labels), default=1))
    name = next((name for kind, name in _GENERIC_NAMES if isinstance(generic, kind)), None)
    if name is None:
        return None
    if name == "string":
        length = getattr(generic, "length", None)
        return SqlType("string", length=length) if length else SqlType("text")
    if name == "numeric":
        return SqlType(
            "numeric",
            precision=getattr(generic, "precision", None),
            scale=getattr(generic, "scale", None),
        )
    if name == "datetime":
        return SqlType("datetime", timezone=bool(getattr(generic, "timezone", False)))
    return SqlType(name)


# Order matters: subclasses first (BigInteger is an Integer, Double a Float, Text a String,
# Float a Numeric, DateTime not a Date).
_GENERIC_NAMES: list[tuple[type[sa.types.TypeEngine], str]] = [
    (sa.SmallInteger, "smallint"),
    (sa.BigInteger, "bigint"),
    (sa.Integer, "integer"),
    (sa.Double, "double"),
    (sa.Float, "real"),
    (sa.Numeric, "numeric"),
    (sa.Boolean, "boolean"),
    (sa.Text, "text"),
    (sa.String, "string"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Uuid, "uuid"),
]


def type_name(native: sa.types.TypeEngine, engine: sa.Engine | sa.Connection) -> str:
    """The native type as the database spells it, for warnings (``BYTEA``, ``geometry``)."""
    if isinstance(native, sa.types.NullType):
        return "unknown (no type declared, or one SQLAlchemy does not know)"
    try:
        return str(native.compile(dialect=engine.dialect))
    except Exception:  # an exotic type that cannot compile still deserves a name
        return type(native).__name__


def native(kind: SqlType, dialect: str, *, key: bool) -> sa.types.TypeEngine:
    """The target dialect's column type for ``kind``; ``key`` if it is in a primary or foreign
    key (MySQL cannot index TEXT without a prefix length)."""
    is_mysql = dialect in ("mysql", "mariadb")
    name = kind.name
    if name == "smallint":
        return sa.SmallInteger()
    if name == "integer":
        return sa.Integer()
    if name == "bigint":
        return sa.BigInteger()
    if name == "real":
        return postgresql.REAL() if dialect == "postgresql" else sa.Float()
    if name == "double":
        return sa.Double()
    if name == "numeric":
        if kind.precision is None and is_mysql:
            # MySQL's bare DECIMAL is DECIMAL(10,0): it would round every value to an integer.
            return sa.Numeric(65, 30)
        return sa.Numeric(kind.precision, kind.scale)
    if name == "boolean":
        return sa.Boolean()
    if name == "string":
        length = kind.length
        if is_mysql and length is not None and length > _MYSQL_MAX_VARCHAR and not key:
            return mysql.LONGTEXT()
        return sa.String(length)
    if name == "text":
        if is_mysql:
            return sa.String(_MYSQL_KEY_LENGTH) if key else mysql.LONGTEXT()
        return sa.Text()
    if name == "datetime":
        if is_mysql:
            return mysql.DATETIME(fsp=6)
        return sa.DateTime(timezone=kind.timezone)
    if name == "date":
        return sa.Date()
    if name == "time":
        return mysql.TIME(fsp=6) if is_mysql else sa.Time()
    if name == "uuid":
        # Elsewhere SQLAlchemy's Uuid is 32 hex digits without dashes; we keep the usual text.
        return postgresql.UUID(as_uuid=False) if dialect == "postgresql" else sa.String(36)
    raise ValueError(f"no native type for {kind}")


def from_values(values: pd.Series) -> SqlType:
    """A portable type for a column whose source declared none (CSV), from the values written."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return SqlType("boolean")
    if pd.api.types.is_integer_dtype(dtype):
        return SqlType("bigint")
    if pd.api.types.is_float_dtype(dtype):
        return SqlType("double")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return SqlType("datetime", timezone=True)
    if pd.api.types.is_datetime64_dtype(dtype):
        return SqlType("datetime")
    present = values.dropna()
    if len(present):
        first = present.iloc[0]
        # Checked in this order: a datetime is also a date.
        for python_type, name in (
            (bool, "boolean"),
            (int, "bigint"),
            (float, "double"),
            (dt.datetime, "datetime"),
            (dt.date, "date"),
            (dt.time, "time"),
            (uuid.UUID, "uuid"),
        ):
            if isinstance(first, python_type) and all(isinstance(v, python_type) for v in present):
                return SqlType(name)
    return SqlType("text")
