from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from synthdb.errors import UsageError
from synthdb.schema.inference import infer_column, infer_schema
from synthdb.schema.table import TableSchema

OneLine = Callable[..., str]


def _text(*values: str | None) -> pd.Series:
    """A column as the CSV reader delivers it: strings, NULL as NaN."""
    return pd.Series(list(values), dtype=object)


# --- numbers ----------------------------------------------------------------------------------


def test_whole_numbers_are_integer_and_keep_their_range() -> None:
    column = infer_column("age", _text("39", "-7", None, "+12", "0"))

    assert column.kind == "numeric"
    assert column.integer is True
    assert column.decimals is None
    assert (column.minimum, column.maximum) == (-7.0, 39.0)
    assert column.nullable is True
    assert column.null_count == 1


@pytest.mark.parametrize(
    ("values", "decimals"),
    [
        (("1.5", "2.25", "3"), 2),
        (("0.125", ".5", "7"), 3),
        (("1.50", "2.00"), 2),
        (("2E-1", "3", "1e3"), 1),  # 0.2 needs one digit even though no "." is written
        (("-3.5e2", "1.0"), 1),
        (("1.5e-3", "2"), 4),
    ],
)
def test_decimals_are_the_most_digits_the_values_need(
    values: tuple[str, ...], decimals: int
) -> None:
    column = infer_column("price", _text(*values))

    assert column.kind == "numeric"
    assert column.integer is False
    assert column.decimals == decimals


def test_scientific_notation_keeps_its_smallest_values_after_rounding() -> None:
    # A regression: "2E-1" once counted as 0 decimals, so 0.2 was written back as 0.0.
    column = infer_column("ratio", _text("2E-1", "3", "1e3"))

    assert round(0.2, column.decimals or 0) == 0.2


@pytest.mark.parametrize("codes", [("01234", "12345", "02134"), ("007", "7", "12"), ("00", "1")])
def test_numbers_with_leading_zeros_stay_categorical_text(codes: tuple[str, ...]) -> None:
    column = infer_column("zip", _text(*codes, *codes))

    assert column.kind == "categorical"
    assert column.storage == "text"


def test_zero_and_decimals_below_one_are_still_numbers() -> None:
    column = infer_column("share", _text("0", "0.5", "0.25", "-0.75"))

    assert column.kind == "numeric"
    assert column.decimals == 2


# --- dates and times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (("2024-01-02", "1969-12-31", "2000-02-29"), "%Y-%m-%d"),
        (("2024-01-02 10:11:12", "1999-12-31 23:59:59"), "%Y-%m-%d %H:%M:%S"),
        (("2024-01-02T10:11:12", "1999-12-31T23:59:59"), "%Y-%m-%dT%H:%M:%S"),
        (("2024-01-02 10:11", "1999-12-31 23:59"), "%Y-%m-%d %H:%M"),
        (("2024-01-02T10:11", "1999-12-31T23:59"), "%Y-%m-%dT%H:%M"),
        (("2024-01-02 10:11:12.5", "1999-12-31 23:59:59.123456"), "%Y-%m-%d %H:%M:%S.%f"),
        (("2024-01-02T10:11:12.5", "1999-12-31T23:59:59.000001"), "%Y-%m-%dT%H:%M:%S.%f"),
        # Python's isoformat() drops a zero fraction; such a column is still one timestamp column
        (("2024-01-02 10:11:12.5", "1999-12-31 23:59:59"), "%Y-%m-%d %H:%M:%S.%f"),
        (("2024-01-02T10:11:12", "1999-12-31T23:59:59.25"), "%Y-%m-%dT%H:%M:%S.%f"),
    ],
)
def test_iso_dates_and_timestamps_are_datetime_with_their_format(
    values: tuple[str, ...], fmt: str
) -> None:
    column = infer_column("when", _text(*values, None))

    assert column.kind == "datetime"
    assert column.datetime_format == fmt
    assert column.nullable is True


def test_datetime_range_is_seconds_since_the_epoch() -> None:
    column = infer_column("day", _text("1970-01-02", "1969-12-31", "1970-01-01"))

    assert (column.minimum, column.maximum) == (-86_400.0, 86_400.0)


def test_dates_far_from_today_are_datetime_not_an_overflow() -> None:
    # "9999-12-31" is a common "valid until further notice" sentinel; it is past the year 2262
    # where nanosecond timestamps overflow.
    column = infer_column("valid_to", _text("2024-01-01", "9999-12-31", "1500-06-01"))

    assert column.kind == "datetime"
    assert column.maximum == (date(9999, 12, 31) - date(1970, 1, 1)).days * 86_400.0
    assert column.minimum == (date(1500, 6, 1) - date(1970, 1, 1)).days * 86_400.0


@pytest.mark.parametrize(
    "values",
    [
        ("2024-01-02", "2024-01-02 10:11:12"),  # two shapes in one column
        ("2024-13-45", "2024-01-02"),  # shaped like a date, but not one
        ("02/01/2024", "03/01/2024"),  # not ISO: ambiguous day/month order
    ],
)
def test_text_that_is_not_one_iso_format_is_not_datetime(values: tuple[str, ...]) -> None:
    column = infer_column("when", _text(*values, *values))

    assert column.kind == "categorical"


# --- booleans ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "tokens"),
    [
        (("true", "false", "true"), ["false", "true"]),
        (("TRUE", "FALSE"), ["FALSE", "TRUE"]),
        (("Yes", "No", "Yes"), ["No", "Yes"]),
        (("y", "n"), ["n", "y"]),
        (("T", "F", "T"), ["F", "T"]),
        (("Y", None, "Y"), ["N", "Y"]),  # only one spelling seen: the other in the same case
        (("no", None, "no"), ["no", "yes"]),
    ],
)
def test_boolean_spellings_are_kept(values: tuple[str | None, ...], tokens: list[str]) -> None:
    column = infer_column("flag", _text(*values))

    assert column.kind == "boolean"
    assert column.boolean_tokens == tokens


def test_zero_and_one_are_numbers_not_booleans() -> None:
    column = infer_column("flag", _text("0", "1", "1", "0"))

    assert column.kind == "numeric"
    assert column.integer is True


# --- keys -------------------------------------------------------------------------------------


def test_distinct_uuids_are_a_uuid_key() -> None:
    values = [str(uuid.UUID(int=i * 7919 + 1, version=4)) for i in range(5)]

    column = infer_column("ref", _text(*values))

    assert column.kind == "key"
    assert column.key_format == "uuid"


@pytest.mark.parametrize("name", ["id", "customer_id", "id_customer", "customerId", "orderID"])
def test_distinct_integers_in_an_id_named_column_are_an_integer_key(name: str) -> None:
    column = infer_column(name, _text("30", "10", "20"))

    assert column.kind == "key"
    assert column.key_format == "integer"
    assert (column.minimum, column.maximum) == (10.0, 30.0)


def test_distinct_integers_without_an_id_name_are_numbers() -> None:
    column = infer_column("salary", _text("30", "10", "20"))

    assert column.kind == "numeric"


def test_distinct_text_in_an_id_named_column_is_a_string_key() -> None:
    column = infer_column("order_key", _text("A-1", "B-7", "C-3"))

    assert column.kind == "key"
    assert column.key_format == "string"


def test_unique_free_text_is_a_key_so_it_is_never_copied() -> None:
    names = [f"Person Number {i}" for i in range(25)]

    column = infer_column("full_name", _text(*names))

    assert column.kind == "key"
    assert column.key_format == "string"


def test_a_few_distinct_strings_are_too_little_evidence_for_a_key() -> None:
    column = infer_column("colour", _text("red", "green", "blue"))

    assert column.kind == "categorical"


def test_distinct_values_with_a_null_are_not_a_key() -> None:
    names = [f"Person Number {i}" for i in range(25)]

    column = infer_column("full_name", _text(*names, None))

    assert column.kind == "categorical"


# --- constants and NULL -----------------------------------------------------------------------


def test_one_value_in_every_row_is_a_constant_holding_it() -> None:
    column = infer_column("country", _text("NL", "NL", "NL"))

    assert column.kind == "constant"
    assert column.constant == "NL"


def test_one_value_and_some_nulls_is_not_a_constant() -> None:
    column = infer_column("country", _text("NL", None, "NL"))

    assert column.kind != "constant"
    assert column.null_count == 1


@pytest.mark.parametrize("dtype", [object, "float64"])
def test_an_entirely_null_column_is_a_null_constant(dtype: str | type) -> None:
    column = infer_column("empty", pd.Series([None, None, None], dtype=dtype))

    assert column.kind == "constant"
    assert column.constant is None
    assert column.null_count == 3
    assert column.nullable is True


# --- natively typed sources (Parquet, databases) ---------------------------------------------


def test_native_dtypes_give_kinds_without_parsing() -> None:
    frame = pd.DataFrame(
        {
            "count": np.array([3, 1, 2, 2], dtype="int64"),
            "price": np.array([1.5, 2.0, np.nan, 3.25], dtype="float64"),
            "whole": np.array([1.0, 2.0, 3.0, 2.0], dtype="float64"),
            "flag": np.array([True, False, True, True]),
            "seen": pd.to_datetime(
                ["2024-01-01", "2024-01-02 03:04:05", None, "2020-01-01"], format="ISO8601"
            ),
            "user_id": np.array([10, 11, 12, 13], dtype="int64"),
        }
    )

    schema = infer_schema(frame)

    kinds = {c.name: (c.kind, c.storage) for c in schema.columns}
    assert kinds == {
        "count": ("numeric", "int64"),
        "price": ("numeric", "float64"),
        "whole": ("numeric", "float64"),
        "flag": ("boolean", "bool"),
        "seen": ("datetime", str(frame["seen"].dtype)),
        "user_id": ("key", "int64"),
    }
    assert schema.column("count").integer is True
    assert schema.column("price").integer is False
    assert schema.column("whole").integer is True
    assert schema.column("seen").datetime_format is None
    assert schema.column("seen").minimum == 1_577_836_800.0
    assert schema.column("user_id").key_format == "integer"
    assert schema.column("price").null_count == 1


def test_string_dtype_is_treated_like_csv_text() -> None:
    values = pd.Series(["01234", "02345", None, "01234"], dtype="string")

    column = infer_column("zip", values)

    assert column.storage == "text"
    assert column.kind == "categorical"


# --- a whole real table -----------------------------------------------------------------------


def test_adult_columns_get_the_kinds_a_careful_person_would_choose(
    adult_sample: pd.DataFrame,
) -> None:
    schema = infer_schema(adult_sample, "adult")

    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["person_id"] == "key"
    for name in ["age", "fnlwgt", "education_num", "capital_gain", "hours_per_week"]:
        assert kinds[name] == "numeric", name
        assert schema.column(name).integer is True, name
    for name in ["workclass", "education", "occupation", "native_country", "income", "sex"]:
        assert kinds[name] == "categorical", name
    assert schema.names == list(adult_sample.columns)
    assert schema.rows == len(adult_sample)
    workclass = adult_sample["workclass"]
    assert schema.column("workclass").null_count == int(workclass.isna().sum()) > 0
    assert schema.column("age").minimum == float(adult_sample["age"].astype(int).min())


# --- overrides --------------------------------------------------------------------------------


def test_overrides_force_the_kind_and_attributes() -> None:
    frame = pd.DataFrame(
        {
            "zip": _text("1234", "5678", "1234"),
            "code": _text("01", "02", "01"),
            "score": _text("1.5", "2.5", "3.5"),
        }
    )

    schema = infer_schema(
        frame,
        overrides={
            "zip": {"kind": "categorical"},
            "code": {"kind": "numeric"},
            "score": {"decimals": 0},
        },
    )

    assert schema.column("zip").kind == "categorical"
    assert schema.column("code").kind == "numeric"
    assert schema.column("code").integer is True
    assert schema.column("score").kind == "numeric"
    assert schema.column("score").decimals == 0


def test_an_override_for_a_missing_column_is_a_usage_error_naming_it(one_line: OneLine) -> None:
    frame = pd.DataFrame({"age": _text("1", "2")})

    with pytest.raises(UsageError) as excinfo:
        infer_schema(frame, overrides={"agee": {"kind": "numeric"}})

    one_line(excinfo.value, "agee", "age")


def test_an_unknown_kind_is_a_usage_error_listing_the_kinds(one_line: OneLine) -> None:
    frame = pd.DataFrame({"age": _text("1", "2")})

    with pytest.raises(UsageError) as excinfo:
        infer_schema(frame, overrides={"age": {"kind": "number"}})

    one_line(excinfo.value, "'age'", "'number'", "numeric", "categorical")


def test_an_unknown_setting_is_a_usage_error(one_line: OneLine) -> None:
    frame = pd.DataFrame({"age": _text("1", "2")})

    with pytest.raises(UsageError) as excinfo:
        infer_schema(frame, overrides={"age": {"precision": 2}})

    one_line(excinfo.value, "'age'", "'precision'")


@pytest.mark.parametrize(
    ("values", "kind", "fragment"),
    [
        (("1", "x", "2"), "numeric", "'x'"),
        (("a", "b", "c"), "boolean", "more than two values"),
        (("a", "b"), "datetime", "not ISO dates"),
    ],
)
def test_an_override_that_does_not_fit_the_values_is_a_usage_error(
    one_line: OneLine,
    values: tuple[str, ...],
    kind: str,
    fragment: str,
) -> None:
    with pytest.raises(UsageError) as excinfo:
        infer_schema(pd.DataFrame({"c": _text(*values)}), overrides={"c": {"kind": kind}})

    one_line(excinfo.value, "'c'", fragment)


def test_schema_survives_a_json_round_trip() -> None:
    frame = pd.DataFrame(
        {
            "n": _text("1", "2", None),
            "d": _text("2024-01-01", "2024-01-02", "2024-01-03"),
            "b": _text("Yes", "No", "Yes"),
        }
    )
    schema = infer_schema(frame, "t")

    again = TableSchema.from_dict(schema.to_dict())

    assert again == schema


def test_timestamps_keep_the_step_their_source_values_sit_on() -> None:
    from synthdb.schema.values import source_column

    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2021-01-01", "2021-03-05", "2022-12-31"]),
            "minute": pd.to_datetime(["2021-01-01 10:15", "2021-01-02 23:59", "2021-02-01 00:01"]),
            "second": pd.to_datetime(
                ["2021-01-01 10:15:01", "2021-01-02 00:00:00", "2021-01-03 00:00:00"]
            ),
        }
    )

    schema = infer_schema(frame)
    generated = pd.Series([1_600_000_000.7, 1_600_012_345.2])  # seconds since the epoch

    assert [schema.column(c).resolution for c in frame.columns] == [86_400, 60, 1]
    days = source_column(generated, schema.column("day"))
    assert (days.dt.normalize() == days).all()
    minutes = source_column(generated, schema.column("minute"))
    assert (minutes.dt.second == 0).all() and (minutes.dt.minute > 0).any()
