"""Guess each column's kind from its values, the way a careful person would.

Text sources (CSV) arrive as strings, so inference decides what is a number, a date, a boolean,
a key or a category. Typed sources (Parquet, databases) keep their native types and only need
the kind. Every guess can be overridden per column in a job file.

Rules, in order, for each column (NULLs ignored):
- no values at all -> ``constant`` (always NULL); one distinct value and no NULL -> ``constant``;
- ``true/false``-style text, or a bool dtype -> ``boolean``;
- dates written as digits only, ``YYMMDD`` or ``YYYYMMDD`` (text or an integer column, as Berka's
  ``930101``) -> ``datetime``, when every value is a valid date in that encoding (see
  :func:`_compact_date_format` for the guards against mistaking numbers for dates); also when
  some rows add a fixed offset to the month (birth numbers: ``706213`` is 1970-12-13 with the
  month + 50), kept as a *marked* date (format ``%y%m%d;month+50``, see :data:`MARK_SHIFT`);
- numbers -> ``numeric`` (``integer`` when every value is whole); text with leading zeros such as
  ``"01234"`` stays text so zip codes keep their zeros; a float column of a typed source records
  the fewest decimals that hold every value (SQLite REAL money: 2), as text sources do;
- ISO dates and timestamps, and the compact ``YYMMDD HH:MM:SS`` / ``YYYYMMDD HH:MM:SS`` ->
  ``datetime`` with the source's text format (and its number of fraction digits);
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
from synthdb.schema.relations import SqlType
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
    # UTC written with a Z (R's and JavaScript's ISO output): the Z is kept as a letter, the
    # times are read and written as they stand.
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"), "%Y-%m-%dT%H:%M:%SZ"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$"), "%Y-%m-%dT%H:%MZ"),
    # Whole seconds may omit the fraction (Python's isoformat does), as our writer also does.
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$"), "%Y-%m-%d %H:%M:%S.%f"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"), "%Y-%m-%dT%H:%M:%S.%f"),
    # Compact dates with a time, as old banking exports write them (Berka's "931107 00:00:00").
    # The time part makes the shape distinctive; the date part must still parse (no 931349).
    (re.compile(r"^\d{8} \d{2}:\d{2}:\d{2}$"), "%Y%m%d %H:%M:%S"),
    (re.compile(r"^\d{6} \d{2}:\d{2}:\d{2}$"), "%y%m%d %H:%M:%S"),
    (re.compile(r"^\d{8}T\d{6}$"), "%Y%m%dT%H%M%S"),
]
#: Dates written as digits only, by digit count. Two-digit years follow strptime's pivot
#: (69-99: 1900s, 00-68: 2000s); the output writes two digits again, so the text round-trips.
COMPACT_DATE_FORMATS = {8: "%Y%m%d", 6: "%y%m%d"}
#: Guards of the guess (a job file's ``kind: datetime`` skips the first two): fewer distinct
#: values are too little evidence that a 6- or 8-digit number is a date, and four-digit years
#: outside this span are account numbers (Berka's 87144583), not dates.
_MIN_DISTINCT_COMPACT_DATES = 10
_COMPACT_YEARS = (1800, 2200)
#: A marked date's format: the digits-only format, then the month offset some rows add
#: (``%y%m%d;month+50``). The offset is a multiple of 10 of at least 20 that moves every month
#: above 12 back into 1-12, found in the data, never assumed.
_MARKED = re.compile(r"^(%y%m%d|%Y%m%d);month\+(\d+)$")
#: In the typed view a marked date is its real date's epoch seconds plus this shift (800,000
#: days, about 2,190 years: far beyond any date's range, and whole days so a date's resolution
#: survives), so one float column carries both the date and its mark: ranges and the encoder
#: (:mod:`synthdb.encoding.marked`, which models the mark as a token of its own, then the
#: date) see them apart.
MARK_SHIFT = 86_400.0 * 800_000
#: Fewest rows on each side (marked and plain) for a guess of a marked date.
_MIN_MARKED_SHARE = 0.01
#: Most decimals looked for in a float column of a typed source (beyond, it is measurement
#: noise or computed ratios, written with full precision as before).
MAX_FLOAT_DECIMALS = 6
#: How far (in units in the last place of the value's own float type) a float may sit from its
#: rounded value and still count as having that many decimals: 0.1 + 0.2 is 1 ulp from 0.3, a
#: sum of a few hundred prices some more; 64 is far below any real extra digit.
_DECIMAL_ULPS = 64
#: Below this many rows a column of distinct values is too little evidence for "identifier".
_MIN_ROWS_FOR_TEXT_KEY = 20


def infer_schema(
    frame: pd.DataFrame,
    name: str = "table",
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    types: Mapping[str, SqlType] | None = None,
) -> TableSchema:
    """Infer a :class:`TableSchema`; ``overrides`` maps column -> {"kind": ..., ...}.

    ``types`` are the columns' declared SQL types where a database declares them; they refine
    what the values show (a ``numeric(10,2)`` column keeps 2 decimals, see :func:`infer_column`).
    """
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
        declared = (types or {}).get(str(column_name))
        columns.append(infer_column(str(column_name), frame[column_name], override, declared))
    return TableSchema(name=name, columns=columns, rows=len(frame))


def infer_column(
    name: str,
    values: pd.Series,
    override: Mapping[str, Any] | None = None,
    declared: SqlType | None = None,
) -> ColumnSchema:
    """Infer one column; an ``override`` forces the kind and any attribute it names.

    ``declared`` is the column's SQL type when a database declares one: a ``numeric(p, s)``
    column with fractions gets ``decimals = s``, the database's own contract for its values
    (the values alone show at most ``s``, fewer when no value needs them all).
    """
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
    if (
        column.kind == "numeric"
        and not column.integer
        and declared is not None
        and declared.name == "numeric"
        and declared.scale is not None
    ):
        column.decimals = declared.scale
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
        numeric = _is_numeric_text(text)
        if numeric and all_distinct and _ID_NAME.search(name) and text.str.fullmatch(_INT).all():
            return "key"
        # Before numbers: "930101" is numeric text too. Digits with leading zeros ("000101",
        # 2000-01-01 as YYMMDD) are not numbers, but they may still be such dates.
        if _compact_date_format(text, guess=True) is not None:
            return "datetime"
        if numeric:
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
        digits = _digit_strings(present)
        if digits is not None and _compact_date_format(digits, guess=True) is not None:
            return "datetime"
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
            if not column.integer and pd.api.types.is_float_dtype(present.dtype):
                column.decimals = float_decimals(np.asarray(present))
    elif kind == "datetime":
        if storage == "text":
            fmt = _datetime_format(present) or _compact_date_format(present, guess=False)
            if fmt is None:
                raise UsageError(
                    f"column {name!r} is declared datetime but its values are not ISO dates "
                    "or digits-only dates",
                    hint="use YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, YYMMDD or YYYYMMDD, "
                    "or declare another kind",
                )
            column.datetime_format = fmt
        elif is_number_storage(storage) and len(present):
            # Numbers are never read as seconds or days since some epoch: only digits-only
            # dates, written back as numbers in the same form.
            digits = _digit_strings(present)
            fmt = None if digits is None else _compact_date_format(digits, guess=False)
            if fmt is None:
                raise UsageError(
                    f"column {name!r} is declared datetime but its numbers are not dates",
                    hint="only whole numbers in YYMMDD or YYYYMMDD form are read as dates; "
                    "declare another kind",
                )
            column.datetime_format = fmt
        seconds = to_epoch_seconds(present, column.datetime_format)
        column.minimum = float(seconds.min()) if len(seconds) else None
        column.maximum = float(seconds.max()) if len(seconds) else None
        column.resolution = _resolution(np.asarray(seconds, dtype=np.float64))
        if column.resolution is None:
            column.fraction_digits = _fraction_digits(present, column.datetime_format, seconds)
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


def _fraction_digits(present: pd.Series, fmt: str | None, seconds: np.ndarray) -> int | None:
    """Digits of a second's fraction that every value carries, so that generated values carry
    as many: written text keeps them all ("10:11:12.120" stays three digits, not "10:11:12.12"
    or six), native timestamps are rounded to them (a MySQL DATETIME(3) stays milliseconds).

    For text, None when the count varies (Python's isoformat drops a zero fraction): those are
    written as before, trailing zeros dropped. For native timestamps, the fewest digits that
    hold every value.
    """
    if fmt is not None:
        if not fmt.endswith(".%f") or not _is_text(present):
            return None
        counts = present.str.extract(r"\.(\d+)$")[0].str.len()
        if counts.isna().any() or counts.nunique() != 1:
            return None
        return int(counts.iloc[0])
    finite = seconds[np.isfinite(seconds)]
    micros = np.round(finite * 1e6).astype(np.int64)
    for digits in range(1, 7):
        if np.all(micros % 10 ** (6 - digits) == 0):
            return digits
    return None


def float_decimals(values: np.ndarray) -> int | None:
    """The fewest decimals (0 to :data:`MAX_FLOAT_DECIMALS`) that hold every value of a float
    column, or None when more are needed.

    A typed source has no text to count digits in: SQLite REAL and pandas float64 hold 0.99
    as 0.98999999999999999, so the count is read off the numbers, each within a few units in
    the last place (:data:`_DECIMAL_ULPS`) of its rounded value. The unit is that of the value's
    own type: a PostgreSQL ``real`` arrives as float64 holding float32 values, 0.1 as
    0.10000000149011612, which is one float32 unit from 0.1.
    """
    numbers = np.unique(np.asarray(values, dtype=np.float64))
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return None
    with np.errstate(over="ignore"):  # values beyond float32's range are simply not float32
        single = numbers.astype(np.float32)
    if np.array_equal(single.astype(np.float64), numbers):
        unit = np.spacing(np.abs(single)).astype(np.float64)
    else:
        unit = np.spacing(np.abs(numbers))
    tolerance = _DECIMAL_ULPS * unit
    for decimals in range(MAX_FLOAT_DECIMALS + 1):
        if np.all(np.abs(numbers - np.round(numbers, decimals)) <= tolerance):
            return decimals
    return None


def is_number_storage(storage: str) -> bool:
    """Whether ``storage`` names a numeric pandas dtype (not text, booleans or timestamps)."""
    if storage == "text":
        return False
    try:
        dtype = pd.api.types.pandas_dtype(storage)
    except TypeError:
        return False
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _digit_strings(present: pd.Series) -> pd.Series | None:
    """The distinct values of a number column as digits (930101 -> "930101"), or None when
    they cannot be digits-only dates: a value that is negative, has a fraction, or has another
    digit count than the rest (checked on the range first, so that an ordinary number column
    costs two comparisons, not a string per row)."""
    numbers = np.asarray(present, dtype=np.float64)
    if not len(numbers) or not np.all(np.isfinite(numbers)):
        return None
    low, high = float(numbers.min()), float(numbers.max())
    if not any(10 ** (width - 1) <= low and high < 10**width for width in COMPACT_DATE_FORMATS):
        return None
    distinct = np.unique(numbers)
    if np.any(np.mod(distinct, 1) != 0):
        return None
    return pd.Series(distinct.astype(np.int64)).astype(str)


def _compact_date_format(digits: pd.Series, *, guess: bool) -> str | None:
    """``%y%m%d`` or ``%Y%m%d`` when every value is a valid date written with digits only.

    Integers are the most common thing a date could be mistaken for, so a guess needs all of:
    one digit count (6 or 8) for every value; every value a real calendar date that writes
    back as the same digits (no month 13, no 31 April, no 19930229; Berka's ``birth_number``
    adds 50 to women's months and stays a number); four-digit years within
    :data:`_COMPACT_YEARS`; and at least :data:`_MIN_DISTINCT_COMPACT_DATES` distinct values.
    A job file's ``kind: datetime`` (``guess=False``) asks for the first two only.
    Identifiers never get here as dates: an all-distinct id-named column is a key first.
    """
    if digits.empty:
        return None
    # Most text columns fail on their first values; only candidates pay for the whole column.
    shape = re.compile(r"\d{6}|\d{8}")
    if not digits.iloc[:1000].str.fullmatch(shape).all():
        return None
    distinct = pd.Series(digits.unique())
    if not distinct.str.fullmatch(shape).all():
        return None
    widths = distinct.str.len().unique()
    if len(widths) != 1:
        return None
    fmt = COMPACT_DATE_FORMATS[int(widths[0])]
    if guess and len(distinct) < _MIN_DISTINCT_COMPACT_DATES:
        return None
    marked = _month_offset(distinct, fmt, guess=guess)
    unmarked = distinct if marked is None else _unmark(distinct, fmt, marked)[0]
    parsed = pd.to_datetime(unmarked, format=fmt, errors="coerce")
    if parsed.isna().any() or not (parsed.dt.strftime(fmt) == unmarked).all():
        return None
    if guess and fmt == "%Y%m%d":
        low, high = _COMPACT_YEARS
        if not parsed.dt.year.between(low, high).all():
            return None
    return fmt if marked is None else f"{fmt};month+{marked}"


def _month_field(fmt: str) -> slice:
    return slice(2, 4) if fmt == "%y%m%d" else slice(4, 6)


def _month_offset(distinct: pd.Series, fmt: str, *, guess: bool) -> int | None:
    """The offset some values add to their month (birth numbers: + 50 for women), or None.

    Found in the data: the months above 12 must all sit in one block ``k+1 .. k+12`` for a
    multiple of ten ``k >= 20`` (so no month lies between 13 and ``k``); a guess also wants at
    least :data:`_MIN_MARKED_SHARE` of the distinct values on each side, so a stray typo in an
    ordinary date column is not read as a second kind of row.
    """
    months = pd.to_numeric(distinct.str.slice(_month_field(fmt).start, _month_field(fmt).stop))
    high = months[months > 12]
    if high.empty:
        return None
    offset = int((high.min() - 1) // 10 * 10)
    if offset < 20 or not high.between(offset + 1, offset + 12).all():
        return None
    if guess and min(len(high), len(months) - len(high)) < _MIN_MARKED_SHARE * len(months):
        return None
    return offset


def split_marked(fmt: str | None) -> tuple[str | None, int | None]:
    """A datetime format and its month offset: ``%y%m%d;month+50`` -> (``%y%m%d``, 50)."""
    match = _MARKED.match(fmt or "")
    if match is None:
        return fmt, None
    return match.group(1), int(match.group(2))


def _unmark(digits: pd.Series, fmt: str, offset: int) -> tuple[pd.Series, np.ndarray]:
    """Digits with the offset taken off the month, and which values carried it."""
    field = _month_field(fmt)
    months = pd.to_numeric(digits.str.slice(field.start, field.stop), errors="coerce")
    marks = np.asarray(months.fillna(0) > offset)
    fixed = (months.fillna(0) - offset).astype(np.int64).astype(str).str.zfill(2)
    text = digits.str.slice(stop=field.start) + fixed + digits.str.slice(start=field.stop)
    return text.where(marks, digits), marks


def mark_months(text: pd.Series, fmt: str, offset: int, marks: np.ndarray) -> pd.Series:
    """Dates written in ``fmt`` with the offset added to the month of the marked rows."""
    field = _month_field(fmt)
    months = pd.to_numeric(text.str.slice(field.start, field.stop), errors="coerce")
    shifted = (months.fillna(0) + offset).astype(np.int64).astype(str)
    added = text.str.slice(stop=field.start) + shifted + text.str.slice(start=field.stop)
    return added.where(marks, text)


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
    if fmt in COMPACT_DATE_FORMATS.values() and not _is_text(values):
        # An integer column of dates (930101): its digits, zero-padded as the format has them.
        # Each distinct day is parsed once (a million rows hold a few thousand days).
        width = next(w for w, f in COMPACT_DATE_FORMATS.items() if f == fmt)
        numbers = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
        valid = np.isfinite(numbers)
        codes, days = pd.factorize(np.where(valid, numbers, 0).astype(np.int64))
        digits = pd.Series(days).astype(str).str.zfill(width)
        parsed = pd.to_datetime(digits, format=fmt, errors="coerce").to_numpy()[codes]
        stamps = pd.Series(parsed, index=values.index)
        stamps[~valid] = pd.NaT
        return stamps
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
    """Seconds since 1970 as float64 (NaN for NULL): the numeric view the model learns.

    A marked date (``%y%m%d;month+50``) is its real date's seconds plus :data:`MARK_SHIFT` on
    the rows whose month carries the offset; a value that is no date in the format is NaN.
    """
    base, offset = split_marked(fmt)
    if offset is not None and base is not None:
        width = 6 if base == "%y%m%d" else 8
        numbers = pd.to_numeric(values, errors="coerce")
        valid = np.asarray(numbers.notna() & (numbers % 1 == 0))
        digits = (
            pd.Series(np.where(valid, numbers.fillna(0), 0).astype(np.int64), index=values.index)
            .astype(str)
            .str.zfill(width)
        )
        unmarked, marks = _unmark(digits, base, offset)
        seconds = to_epoch_seconds(unmarked.where(valid, None), base)
        return seconds + np.where(marks, MARK_SHIFT, 0.0)
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
