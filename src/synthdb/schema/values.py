"""Convert between the source's representation and the typed view the model learns.

``to_typed`` turns whatever the reader produced (strings from CSV, native types from Parquet or a
database) into one canonical view per kind: float64 for numbers, float64 seconds since the
epoch for datetimes, Python ``str`` (or ``None``) for categories and booleans.  ``to_source``
goes back, so a generated table is written with the source's names, order and formats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdb.schema.inference import (
    MARK_SHIFT,
    is_number_storage,
    mark_months,
    split_marked,
    to_epoch_seconds,
)
from synthdb.schema.table import ColumnSchema, TableSchema


def to_typed(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The typed view of ``frame``; key and constant columns are passed through untouched."""
    out: dict[str, Any] = {}
    for column in schema.columns:
        out[column.name] = typed_column(frame[column.name], column)
    return pd.DataFrame(out, index=frame.index)


def typed_column(values: pd.Series, column: ColumnSchema) -> pd.Series:
    if column.kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce") if column.storage == "text" else values
        return pd.Series(np.asarray(numbers, dtype=np.float64), index=values.index)
    if column.kind == "datetime":
        return pd.Series(to_epoch_seconds(values, column.datetime_format), index=values.index)
    if column.kind in ("categorical", "boolean"):
        if column.kind == "boolean" and column.storage != "text":
            column_tokens = ["False", "True"]
            mapped = values.map(lambda v: None if pd.isna(v) else column_tokens[int(bool(v))])
            return mapped.astype(object)
        # NULLs found in one vectorised pass: ``pd.isna`` per value was 90% of the time
        # (2.8 s a million values, a third of a training pass over flights; now 0.3 s)
        missing = values.isna().to_numpy()
        texts = [
            None if gone else str(value)
            for value, gone in zip(values.to_numpy(dtype=object), missing, strict=True)
        ]
        return pd.Series(texts, index=values.index, dtype=object)
    return values


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_source(typed: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Write the typed view back in the source's representation and column order."""
    return pd.DataFrame(
        {c.name: source_column(typed[c.name], c) for c in schema.columns}, index=typed.index
    )


def source_column(values: pd.Series, column: ColumnSchema) -> pd.Series:
    """One column in the source's representation (see module docstring)."""
    if column.kind == "numeric":
        numbers = np.asarray(values, dtype=np.float64)
        nulls = np.isnan(numbers)
        if column.integer:
            ints = pd.array(np.where(nulls, 0, np.round(numbers)).astype(np.int64), dtype="Int64")
            ints[nulls] = pd.NA
            if column.storage != "text" and not nulls.any():
                return pd.Series(ints.astype(column.storage), index=values.index)
            return pd.Series(ints, index=values.index)
        if column.decimals is not None:
            numbers = np.round(numbers, column.decimals) + 0.0  # + 0.0: no "-0.0" in output
        series = pd.Series(numbers, index=values.index)
        if column.storage not in ("text", "float64") and not nulls.any():
            return series.astype(column.storage)
        return series
    if column.kind == "datetime":
        seconds = np.asarray(values, dtype=np.float64)
        nulls = np.isnan(seconds)
        fmt, offset = split_marked(column.datetime_format)
        marks = np.zeros(seconds.size, dtype=bool)
        if offset is not None:  # a marked date: its shift says which rows carry the offset
            marks = ~nulls & (seconds > MARK_SHIFT / 2)
            seconds = seconds - np.where(marks, MARK_SHIFT, 0.0)
        window = _writable_window(fmt)
        if window is not None:
            seconds = np.clip(seconds, *window)
        if column.resolution:  # dates stay dates, whole minutes stay whole
            seconds = np.floor(seconds / column.resolution) * column.resolution
        # Microseconds, as in to_epoch_seconds: nanoseconds overflow past the year 2262.
        micros = np.where(nulls, 0, np.round(seconds * 1e6)).astype(np.int64)
        digits = column.fraction_digits
        if not column.resolution and digits is not None and digits < 6:
            step = 10 ** (6 - digits)  # milliseconds stay milliseconds
            micros = np.round(micros / step).astype(np.int64) * step
        stamps = pd.Series(micros.astype("datetime64[us]"), index=values.index)
        stamps[nulls] = pd.NaT
        if fmt is None:
            return _as_datetime_storage(stamps, column.storage)
        text = stamps.dt.strftime(fmt)
        if offset is not None:
            text = mark_months(text, fmt, offset, marks)
        if fmt.endswith(".%f"):
            if digits is not None:  # every source value had this many digits: keep them all
                text = text.str.slice(stop=digits - 6) if digits < 6 else text
            else:
                text = text.str.rstrip("0").str.rstrip(".")
        if is_number_storage(column.storage):
            return _as_number_storage(text, nulls, column.storage)
        return text.where(~nulls, None).astype(object)
    if column.kind == "boolean":
        if column.storage == "text":
            return values.astype(object)
        flags = values.map(lambda v: None if _missing(v) else v == "True")
        return flags.astype("boolean" if flags.isna().any() else "bool")
    if column.kind == "categorical":
        if column.storage in ("text", "object") or column.storage.startswith("string"):
            return values.astype(object)
        try:
            return values.astype(column.storage)
        except (TypeError, ValueError):
            return values.astype(object)
    return values


#: The instants a two-digit year writes back as itself: strptime reads 69-99 as 1969-1999 and
#: 00-68 as 2000-2068.
_TWO_DIGIT_YEARS = (
    float((np.datetime64("1969-01-01", "s") - np.datetime64(0, "s")) / np.timedelta64(1, "s")),
    float((np.datetime64("2069-01-01", "s") - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
    - 1e-6,
)


def _writable_window(fmt: str | None) -> tuple[float, float] | None:
    """Seconds a two-digit-year format (``%y%m%d``) can write back faithfully, else None.

    A model keeps to the source's range, but a DP model's range is up to twice too wide (see
    :meth:`synthdb.encoding.numeric.NumericEncoder.fit_private`): a date past 2068 would be
    written as "70..." and read back as 1970, a century off. Clipping keeps every value in the
    encoding's window.
    """
    if fmt is None or "%y" not in fmt:
        return None
    return _TWO_DIGIT_YEARS


def _as_number_storage(text: pd.Series, nulls: np.ndarray, storage: str) -> pd.Series:
    """Dates written as digits (``%y%m%d``) back into the source's number column: an integer
    column stays integers (930101), nullable when some are NULL, as numeric columns are."""
    numbers = np.asarray(text.where(~nulls, "0"), dtype=str).astype(np.int64)
    dtype = pd.api.types.pandas_dtype(storage)
    if pd.api.types.is_float_dtype(dtype):
        floats = numbers.astype(np.float64)
        floats[nulls] = np.nan
        return pd.Series(floats, index=text.index).astype(dtype)
    if not nulls.any():
        return pd.Series(numbers, index=text.index).astype(dtype)
    ints = pd.array(numbers, dtype="Int64")
    ints[nulls] = pd.NA
    return pd.Series(ints, index=text.index)


def _as_datetime_storage(stamps: pd.Series, storage: str) -> pd.Series:
    """Naive UTC stamps in the source's dtype: its time zone and unit come back."""
    try:
        dtype = pd.api.types.pandas_dtype(storage)
    except TypeError:
        return stamps
    if isinstance(dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_localize("UTC").dt.tz_convert(dtype.tz).astype(dtype)
    if pd.api.types.is_datetime64_dtype(dtype):
        return stamps.astype(dtype)
    return stamps
