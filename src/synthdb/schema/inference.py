"""Guess each column's kind from its values, the way a careful person would.

Text sources (CSV) arrive as strings, so inference decides what is a number, a date, a boolean,
a key or a category. Typed sources (Parquet, databases) keep their native types and only need
the kind. Every guess can be overridden per column in a job file.

Rules, in order, for each column (NULLs ignored):
- no values at all -> ``constant`` (always NULL); one distinct value and no NULL -> ``constant``;
- ``true/false``-style text, or a bool dtype -> ``boolean``;
- numbers -> ``numeric`` (``integer`` when every value is whole); text with leading zeros such as
  ``"01234"`` stays text so zip codes keep their zeros;
- ISO dates and timestamps -> ``datetime`` with the source's text format;
- every value distinct and no NULL: UUIDs, id-named columns and free text become ``key``
  (regenerated unique, never learned, so identifiers such as names or e-mails are not copied);
- anything else -> ``categorical``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthdb.errors import UsageError
from synthdb.schema.table import KINDS, ColumnSchema, Kind, TableSchema

_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ID_NAME = re.compile(r"(^id$|_id$|^id_|Id$|ID$|_key$|^uuid$|_uuid$)")
_BOOL_PAIRS = [("false", "true"), ("no", "yes"), ("f", "t"), ("n", "y")]
#: ISO 8601 shapes we recognise, most specific first. Each regex maps to the strftime pattern
#: that writes values back exactly as the source did.
_DATETIME_FORMATS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"), "%Y-%m-%d %H:%M"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M"),
    # Whole seconds may omit the fraction (Python's isoformat does), as our writer also does.
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$"), "%Y-%m-%d %H:%M:%S.%f"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"), "%Y-%m-%dT%H:%M:%S.%f"),
]
#: Below this many rows a column of distinct values is too little evidence for "identifier".
_MIN_ROWS_FOR_TEXT_KEY = 20


def infer_schema(
    frame: pd.DataFrame,
    name: str = "table",
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> TableSchema:
    """Infer a :class:`TableSchema`; ``overrides`` maps column -> {"kind": ..., ...}."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {str(c) for c in frame.columns})
    if unknown:
        raise UsageError(
            f"the job file names columns that are not in the table: {', '.join(unknown)}",
            hint=f"columns are: {', '.join(map(str, frame.columns))}",
        )
    columns = []
    for column_name in frame.columns:
        override = overrides.get(str(column_name), {})
        columns.append(infer_column(str(column_name), frame[column_name], override))
    return TableSchema(name=name, columns=columns, rows=len(frame))


def infer_column(
    name: str, values: pd.Series, override: Mapping[str, Any] | None = None
) -> ColumnSchema:
    """Infer one column; an ``override`` forces the kind and any attribute it names."""
    override = dict(override or {})
    forced = override.pop("kind", None)
    if forced is not None and forced not in KINDS:
        raise UsageError(
            f"column {name!r}: unknown kind {forced!r} in the job file",
            hint=f"use one of {', '.join(KINDS)}",
        )
    storage = "text" if _is_text(values) else str(values.dtype)
    present = values.dropna()
    if storage == "text":
        present = present.astype(str)
    column = ColumnSchema(
        name=name,
        kind="categorical",
        storage=storage,
        nullable=bool(len(present) < len(values)),
        distinct=int(present.nunique()),
        null_count=int(len(values) - len(present)),
    )
    kind: Kind = forced if forced is not None else _guess_kind(name, values, present, storage)
    _describe(column, kind, present, storage)
    for key, value in override.items():
        if not hasattr(column, key):
            raise UsageError(f"column {name!r}: unknown setting {key!r} in the job file")
        setattr(column, key, value)
    return column


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _guess_kind(name: str, values: pd.Series, present: pd.Series, storage: str) -> Kind:
    if present.empty:
        return "constant"
    distinct = present.nunique()
    all_distinct = distinct == len(values)
    if distinct == 1 and len(present) == len(values):
        return "constant"
    if storage == "text":
        text = present
        if _boolean_tokens(text) is not None:
            return "boolean"
        if _is_numeric_text(text):
            if all_distinct and _ID_NAME.search(name) and text.str.fullmatch(_INT).all():
                return "key"
            return "numeric"
        if _datetime_format(text) is not None:
            return "datetime"
        if all_distinct and (
            text.str.fullmatch(_UUID).all()
            or _ID_NAME.search(name)
            or len(values) >= _MIN_ROWS_FOR_TEXT_KEY
        ):
            return "key"
        return "categorical"
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        if all_distinct and _ID_NAME.search(name) and pd.api.types.is_integer_dtype(dtype):
            return "key"
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def _describe(column: ColumnSchema, kind: Kind, present: pd.Series, storage: str) -> None:
    """Fill the attributes that ``kind`` needs to write values back faithfully."""
    column.kind = kind
    name = column.name
    if kind == "constant":
        column.constant = _plain(present.iloc[0]) if len(present) else None
    elif kind == "boolean":
        if storage == "text":
            column.boolean_tokens = _boolean_tokens(present) or sorted(present.unique())
            if len(column.boolean_tokens) > 2:
                raise UsageError(f"column {name!r} has more than two values; it is not boolean")
    elif kind == "numeric":
        numbers = _to_numbers(name, present, storage)
        column.minimum = float(numbers.min()) if len(numbers) else None
        column.maximum = float(numbers.max()) if len(numbers) else None
        if storage == "text":
            column.integer = bool(present.str.fullmatch(_INT).all())
            if not column.integer:
                column.decimals = _decimals(present)
        else:
            column.integer = pd.api.types.is_integer_dtype(present.dtype) or bool(
                len(numbers) and np.all(np.mod(numbers, 1) == 0)
            )
    elif kind == "datetime":
        if storage == "text":
            fmt = _datetime_format(present)
            if fmt is None:
                raise UsageError(
                    f"column {name!r} is declared datetime but its values are not ISO dates",
                    hint="use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, or declare another kind",
                )
            column.datetime_format = fmt
        seconds = to_epoch_seconds(present, column.datetime_format)
        column.minimum = float(seconds.min()) if len(seconds) else None
        column.maximum = float(seconds.max()) if len(seconds) else None
        column.resolution = _resolution(np.asarray(seconds, dtype=np.float64))
    elif kind == "key":
        if storage == "text":
            if len(present) and present.str.fullmatch(_UUID).all():
                column.key_format = "uuid"
            elif len(present) and present.str.fullmatch(_INT).all():
                column.key_format = "integer"
            else:
                column.key_format = "string"
        else:
            column.key_format = (
                "integer" if pd.api.types.is_integer_dtype(present.dtype) else "string"
            )
        if column.key_format == "integer" and len(present):
            numbers = pd.to_numeric(present)
            column.minimum = float(numbers.min())
            column.maximum = float(numbers.max())


#: Steps a timestamp column may move in: a day, an hour, a minute, a second.
_RESOLUTIONS = (86_400, 3_600, 60, 1)


def _resolution(seconds: np.ndarray) -> int | None:
    """The coarsest step every value sits on (dates stored as midnight timestamps: a day),
    so generated values keep the source's granularity; None for sub-second values."""
    finite = seconds[np.isfinite(seconds)]
    for step in _RESOLUTIONS:
        if len(finite) and np.all(np.mod(finite, step) == 0):
            return step
    return None


def _to_numbers(name: str, present: pd.Series, storage: str) -> np.ndarray:
    if storage != "text":
        return np.asarray(present, dtype=np.float64)
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if len(bad):
        raise UsageError(
            f"column {name!r} is declared numeric but holds {bad.iloc[0]!r}",
            hint="fix the value or declare the column categorical",
        )
    return np.asarray(numbers, dtype=np.float64)


def _boolean_tokens(text: pd.Series) -> list[str] | None:
    distinct = set(text.unique())
    if not 1 <= len(distinct) <= 2:
        return None
    lowered = {v.lower() for v in distinct}
    for false, true in _BOOL_PAIRS:
        if lowered <= {false, true}:
            spelled = {v.lower(): v for v in distinct}
            false_token = spelled.get(false, _same_case(false, next(iter(distinct))))
            true_token = spelled.get(true, _same_case(true, next(iter(distinct))))
            return [false_token, true_token]
    return None


def _same_case(word: str, example: str) -> str:
    if example.isupper():
        return word.upper()
    if example[:1].isupper():
        return word.capitalize()
    return word


def _is_numeric_text(text: pd.Series) -> bool:
    if not text.str.fullmatch(_NUM).all():
        return False
    # "007" or "01234" are codes, not quantities: keep them text so the zeros survive.
    return not text.str.match(_LEADING_ZERO).any()


def _datetime_format(text: pd.Series) -> str | None:
    sample = text.iloc[:1000]
    for pattern, fmt in _DATETIME_FORMATS:
        if sample.str.fullmatch(pattern).all() and text.str.fullmatch(pattern).all():
            parsed = _parse_datetimes(text, fmt)
            return fmt if not parsed.isna().any() else None
    return None


def _parse_datetimes(values: pd.Series, fmt: str | None) -> pd.Series:
    if fmt is None:
        return pd.to_datetime(values, errors="coerce")
    if fmt.endswith(".%f"):
        # strptime's %f insists on a fraction; the shapes were checked by _DATETIME_FORMATS.
        return pd.to_datetime(values, format="ISO8601", errors="coerce")
    return pd.to_datetime(values, format=fmt, errors="coerce")


def _decimals(text: pd.Series) -> int:
    """Most digits after the point, counting an exponent: "2.5e-3" has 4, "1.5e2" has 0."""
    parts = text.str.extract(r"(?:\.(\d*))?(?:[eE]([+-]?\d+))?$")
    fraction = parts[0].fillna("").str.len()
    exponent = pd.to_numeric(parts[1], errors="coerce").fillna(0).astype(int)
    return int((fraction - exponent).clip(lower=0).max()) if len(text) else 0


def to_epoch_seconds(values: pd.Series, fmt: str | None) -> np.ndarray:
    """Seconds since 1970 as float64 (NaN for NULL): the numeric view the model learns."""
    stamps = _parse_datetimes(values, fmt)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    # Microseconds, not nanoseconds: ns overflows outside 1677-2262 (a "9999-12-31" sentinel),
    # and float64 seconds cannot hold more than microsecond precision anyway.
    raw = stamps.to_numpy(dtype="datetime64[us]")
    micros = raw.astype(np.int64).astype(np.float64)
    micros[np.isnat(raw)] = np.nan
    return micros / 1e6


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a scalar (numpy types and timestamps become Python values)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
