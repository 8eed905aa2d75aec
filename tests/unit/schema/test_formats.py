"""Precision and formats found in the data: float decimals, digits-only dates (YYMMDD,
YYYYMMDD) in text or integer columns, compact timestamps and fraction digits.

Each detection has its near misses beside it: the guesses must never turn ordinary numbers
(ids, amounts, account numbers, Berka's birth numbers) into dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from synthdb.encoding.table import TableEncoder
from synthdb.errors import UsageError
from synthdb.schema.inference import float_decimals, infer_column, infer_schema
from synthdb.schema.relations import SqlType
from synthdb.schema.table import TableSchema
from synthdb.schema.values import source_column, to_source, to_typed, typed_column

OneLine = Callable[..., str]


def _days(count: int, seed: int = 0, start: str = "1993-01-01", end: str = "1998-12-31") -> list:
    """``count`` random calendar days between ``start`` and ``end`` (repeats allowed)."""
    rng = np.random.default_rng(seed)
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    offsets = rng.integers(0, (last - first).days + 1, count)
    return [first + dt.timedelta(days=int(offset)) for offset in offsets]


def _valid(values: pd.Series, fmt: str, width: int) -> bool:
    """Whether every non-NULL value writes a real date in ``fmt`` with ``width`` digits."""
    for value in values.dropna():
        digits = str(value).zfill(width)
        if len(digits) != width:
            return False
        try:
            if dt.datetime.strptime(digits, fmt).strftime(fmt) != digits:
                return False
        except ValueError:
            return False
    return True


# --- digits-only dates: recognised ------------------------------------------------------------


def test_yymmdd_integers_are_dates_kept_in_an_integer_column() -> None:
    # Berka's account.date: 930101 as an int64 column (SQLite INTEGER, Parquet, pandas).
    values = pd.Series([int(d.strftime("%y%m%d")) for d in _days(200)], dtype="int64")

    column = infer_column("date", values)

    assert (column.kind, column.datetime_format, column.storage) == ("datetime", "%y%m%d", "int64")
    assert column.resolution == 86_400
    assert column.minimum is not None and column.minimum >= 725_846_400.0  # 1993-01-01


def test_yyyymmdd_digit_strings_are_dates_kept_as_text() -> None:
    values = pd.Series([d.strftime("%Y%m%d") for d in _days(50)], dtype=object)

    column = infer_column("booked", values)

    assert (column.kind, column.datetime_format, column.storage) == ("datetime", "%Y%m%d", "text")


def test_yymmdd_text_with_leading_zeros_is_a_date_not_a_code() -> None:
    # 2000-2009 as YYMMDD starts with a zero: not a number, but still these dates.
    values = pd.Series(
        [d.strftime("%y%m%d") for d in _days(40, start="2000-01-01", end="2009-12-31")],
        dtype=object,
    )

    column = infer_column("day", values)

    assert (column.kind, column.datetime_format) == ("datetime", "%y%m%d")


def test_an_integer_date_column_with_nulls_read_as_floats_is_still_dates() -> None:
    # A database INTEGER column with NULLs arrives as float64.
    days = [float(d.strftime("%Y%m%d")) for d in _days(30)]
    values = pd.Series([*days, np.nan], dtype="float64")

    column = infer_column("day", values)

    assert (column.kind, column.datetime_format, column.storage) == (
        "datetime",
        "%Y%m%d",
        "float64",
    )
    assert column.null_count == 1


# --- digits-only dates: near misses stay numbers ----------------------------------------------


def test_six_digit_integers_that_are_not_all_dates_stay_numbers() -> None:
    days = [int(d.strftime("%y%m%d")) for d in _days(100)]

    column = infer_column("date", pd.Series([*days, 931349], dtype="int64"))

    assert column.kind == "numeric" and column.integer


def _birth_numbers(count: int, seed: int = 0) -> list[int]:
    """Birth numbers as Berka writes them: YYMMDD, the month + 50 on every other row."""
    days = _days(count, seed, start="1920-01-01", end="1985-12-31")
    return [int(d.strftime("%y%m%d")) + (5_000 if i % 2 else 0) for i, d in enumerate(days)]


def test_birth_numbers_with_months_plus_fifty_are_marked_dates_written_back_exactly() -> None:
    values = pd.Series(_birth_numbers(300), dtype="int64")

    column = infer_column("birth_number", values)

    assert column.kind == "datetime" and column.datetime_format == "%y%m%d;month+50"
    assert column.resolution == 86_400
    schema = TableSchema("t", [column])
    assert to_source(to_typed(values.to_frame("birth_number"), schema), schema)[
        "birth_number"
    ].equals(values)


def test_generated_marked_dates_are_valid_and_keep_the_share_of_marks() -> None:
    values = pd.Series(_birth_numbers(2_000, seed=3), dtype="int64")
    schema = TableSchema("t", [infer_column("birth_number", values)])
    typed = to_typed(values.to_frame("birth_number"), schema)
    encoder = TableEncoder.fit(typed, schema)
    rng = np.random.default_rng(4)
    # tokens drawn at random, each sub-column on its own: the worst a model could do
    tokens = np.stack([rng.integers(0, s.cardinality, 5_000) for s in encoder.sub_columns], axis=1)
    shuffled = encoder.encode(typed)[rng.integers(0, len(values), 5_000)]

    for drawn in (tokens, shuffled):
        written = to_source(encoder.decode(drawn, rng), schema)["birth_number"]
        months = written // 100 % 100
        assert written.dtype == np.int64
        assert _valid(written.where(months <= 12, written - 5_000), "%y%m%d", 6)
        assert months.between(1, 12).any() and months.between(51, 62).any()
    marked_share = float((written // 100 % 100 > 50).mean())
    assert abs(marked_share - 0.5) < 0.03


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ([13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24], "months 13-24: no offset of 20 or more"),
        ([55], "one stray marked month among 300 dates is a typo, not a mark"),
        ([51, 52, 53, 54, 75, 76, 77, 78], "months above 12 in two blocks"),
    ],
)
def test_near_misses_of_marked_dates_stay_numbers(extra: list[int], why: str) -> None:
    days = [int(d.strftime("%y%m%d")) for d in _days(300, start="1950-01-01")]
    odd = [80_00_01 + month * 100 for month in extra]  # 1980, day 1, the odd month

    column = infer_column("number", pd.Series(days + odd * 3, dtype="int64"))

    assert column.kind == "numeric", why


def test_eight_digit_account_numbers_stay_numbers_though_their_tails_look_like_days() -> None:
    # Berka's order.account_to: MMDD-like tails are common, a year 8714 is not a date.
    numbers = [87_140_000 + int(d.strftime("%m%d")) for d in _days(60)]

    column = infer_column("account_to", pd.Series(numbers, dtype="int64"))

    assert column.kind == "numeric"


def test_fewer_than_ten_distinct_dates_are_too_little_evidence() -> None:
    days = [int(d.strftime("%y%m%d")) for d in _days(9, seed=3)] * 5

    column = infer_column("code", pd.Series(days, dtype="int64"))

    assert column.kind == "numeric"


def test_digit_counts_that_vary_are_not_one_date_encoding() -> None:
    values = [d.strftime("%y%m%d") for d in _days(30)] + ["50101"]  # 2005-01-01 without its 0

    column = infer_column("day", pd.Series(values, dtype=object))

    assert column.kind == "numeric"


def test_distinct_date_like_ids_stay_keys() -> None:
    # A date dimension's key (20200101, 20200102, ...): all distinct, id-named -> a key.
    days = pd.date_range("2020-01-01", periods=60, freq="D").strftime("%Y%m%d").astype(int)

    column = infer_column("date_key", pd.Series(days, dtype="int64"))

    assert (column.kind, column.key_format) == ("key", "integer")


def test_sequential_ids_and_amounts_stay_numbers() -> None:
    ids = pd.Series(np.arange(100_000, 100_500), dtype="int64")
    rng = np.random.default_rng(1)
    amounts = pd.Series(rng.integers(100_000, 999_999, 500), dtype="int64")

    assert infer_column("sequence", ids).kind == "numeric"
    assert infer_column("amount", amounts).kind == "numeric"


def test_declaring_datetime_reads_a_few_digits_only_dates(one_line: OneLine) -> None:
    few = pd.Series([930101, 930102, 930101], dtype="int64")
    column = infer_schema(pd.DataFrame({"d": few}), overrides={"d": {"kind": "datetime"}})

    assert column.column("d").datetime_format == "%y%m%d"
    with pytest.raises(UsageError) as excinfo:
        infer_schema(
            pd.DataFrame({"d": pd.Series([1, 2, 3])}), overrides={"d": {"kind": "datetime"}}
        )
    one_line(excinfo.value, "'d'", "not dates")


# --- digits-only dates: generated values are valid dates in the source's encoding -------------


def test_generated_yymmdd_integers_are_valid_dates_in_an_integer_column() -> None:
    values = pd.Series([int(d.strftime("%y%m%d")) for d in _days(300)], dtype="int64")
    column = infer_column("date", values)
    assert column.minimum is not None and column.maximum is not None
    rng = np.random.default_rng(5)
    generated = pd.Series(rng.uniform(column.minimum, column.maximum, 2_000))

    written = source_column(generated, column)

    assert written.dtype == np.int64
    assert _valid(written, "%y%m%d", 6)
    assert written.between(values.min(), values.max()).all()
    schema = TableSchema("t", [column])
    assert to_source(to_typed(values.to_frame("date"), schema), schema)["date"].equals(values)


def test_generated_yyyymmdd_text_is_valid_dates_as_text_with_nulls_kept() -> None:
    values = pd.Series([d.strftime("%Y%m%d") for d in _days(100)] + [None], dtype=object)
    column = infer_column("day", values)
    assert column.minimum is not None and column.maximum is not None
    rng = np.random.default_rng(6)
    generated = pd.Series([*rng.uniform(column.minimum, column.maximum, 999), np.nan])

    written = source_column(generated, column)

    assert written.dtype == object and pd.isna(written.iloc[-1])
    assert all(isinstance(v, str) and len(v) == 8 for v in written.iloc[:-1])
    assert _valid(written, "%Y%m%d", 8)


def test_integer_dates_with_nulls_are_written_as_nullable_integers() -> None:
    values = pd.Series([int(d.strftime("%y%m%d")) for d in _days(30)], dtype="int64")
    column = infer_column("date", values)

    written = source_column(pd.Series([column.minimum, np.nan]), column)

    assert str(written.dtype) == "Int64"
    assert written.iloc[0] == values.min() and pd.isna(written.iloc[1])


def test_two_digit_years_never_wrap_into_another_century() -> None:
    # A DP range may run past the source's; past 2068 "%y" would write "70..." = 1970.
    values = pd.Series([int(d.strftime("%y%m%d")) for d in _days(30)], dtype="int64")
    column = infer_column("date", values)
    year_2100 = float((np.datetime64("2100-06-01") - np.datetime64("1970-01-01")).astype(int))

    written = source_column(pd.Series([year_2100 * 86_400]), column)

    assert written.tolist() == [681231]


# --- compact timestamps and fraction digits ---------------------------------------------------


def test_yymmdd_timestamps_are_datetimes_written_back_the_same_way() -> None:
    # Berka's card.issued: "931107 00:00:00".
    source = [d.strftime("%y%m%d 00:00:00") for d in _days(40)]
    frame = pd.DataFrame({"issued": pd.Series(source, dtype=object)})

    schema = infer_schema(frame)
    back = to_source(to_typed(frame, schema), schema)

    assert schema.column("issued").datetime_format == "%y%m%d %H:%M:%S"
    assert back["issued"].tolist() == source


def test_three_fraction_digits_are_written_with_three() -> None:
    source = ["2024-01-02 10:11:12.120", "2024-01-02 10:11:13.000", "2023-05-06 07:08:09.999"]
    column = infer_column("at", pd.Series(source, dtype=object))
    generated = pd.Series([1_700_000_000.1234567, 1_700_000_000.0004, 1_700_000_000.5])

    typed = to_typed(pd.DataFrame({"at": source}), TableSchema("t", [column]))["at"]
    back = source_column(typed, column)
    written = source_column(generated, column)

    assert column.fraction_digits == 3
    assert back.tolist() == source  # "13.000" keeps its zeros
    assert written.tolist() == [
        "2023-11-14 22:13:20.123",
        "2023-11-14 22:13:20.000",
        "2023-11-14 22:13:20.500",
    ]


def test_fraction_digits_that_vary_keep_the_old_trimmed_output() -> None:
    column = infer_column("at", pd.Series(["2024-01-02 10:11:12.5", "2024-01-02 10:11:12"]))

    written = source_column(pd.Series([1_700_000_000.25]), column)

    assert column.fraction_digits is None
    assert written.tolist() == ["2023-11-14 22:13:20.25"]


def test_native_millisecond_timestamps_are_generated_in_milliseconds() -> None:
    stamps = pd.to_datetime(
        ["2024-01-02 10:11:12.125", "2024-01-03 00:00:00.5", "2024-02-01"], format="ISO8601"
    )
    column = infer_column("at", pd.Series(stamps))

    written = source_column(pd.Series([1_700_000_000.1234567]), column)

    assert column.fraction_digits == 3
    assert written.iloc[0] == pd.Timestamp("2023-11-14 22:13:20.123")


# --- float decimals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "decimals"),
    [
        ([0.99, 1.99, 13.86, 2452.0, 3372.7], 2),
        ([0.99, 1.99, 1.125], 3),  # one value of three decimals among two-decimal ones
        ([0.1 + 0.2, 1.5], 1),  # 0.30000000000000004 is 0.3
        ([sum([0.99] * 37), 0.99], 2),  # a total of many prices, a few units off
        ([1e12 + 0.05, 3.0], 2),  # large values keep their small decimals
        ([2 / 3, 0.5], None),  # more than six: written as they are
        ([1.5e-9, 2.5e-9], None),  # tiny values are not rounded to 0
    ],
)
def test_float_decimals_are_the_fewest_that_hold_every_value(
    values: list[float], decimals: int | None
) -> None:
    assert float_decimals(np.array(values)) == decimals


def test_float32_values_read_as_float64_get_their_decimals() -> None:
    # PostgreSQL real arrives as float64 holding float32 values: 0.1 is 0.10000000149011612.
    values = np.array([0.1, 2.35, 7.7], dtype=np.float32).astype(np.float64)

    assert float_decimals(values) == 2


def test_a_float_column_of_a_typed_source_records_and_keeps_its_decimals() -> None:
    column = infer_column("amount", pd.Series([0.99, 1.99, 13.86, np.nan, 8.91]))

    written = source_column(pd.Series([1.23456, 0.994999, np.nan]), column)

    assert (column.kind, column.integer, column.decimals) == ("numeric", False, 2)
    assert written.tolist()[:2] == [1.23, 0.99] and np.isnan(written.iloc[2])


def test_a_declared_numeric_scale_sets_the_decimals() -> None:
    values = pd.Series([1.5, 2.0, 3.5])  # the values show 1 decimal, the column holds 2

    column = infer_column("price", values, declared=SqlType("numeric", precision=10, scale=2))
    plain = infer_column("price", values, declared=SqlType("double"))

    assert column.decimals == 2
    assert plain.decimals == 1


def test_a_declared_scale_leaves_whole_numbers_whole() -> None:
    column = infer_column(
        "n", pd.Series([1.0, 2.0, 3.0]), declared=SqlType("numeric", precision=10, scale=2)
    )

    assert column.integer and column.decimals is None


def test_utc_timestamps_written_with_a_z_are_datetimes_written_back_the_same() -> None:
    values = pd.Series(
        ["2013-01-01T05:00:00Z", "2013-06-30T23:00:00Z", None, "2013-12-31T18:00:00Z"]
    )
    column = infer_column("time_hour", values)
    assert (column.kind, column.datetime_format, column.resolution) == (
        "datetime",
        "%Y-%m-%dT%H:%M:%SZ",
        3600,
    )
    back = source_column(typed_column(values, column), column)
    assert back.tolist() == values.tolist()
