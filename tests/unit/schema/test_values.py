from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.schema.inference import infer_schema
from synthdb.schema.values import source_column, to_source, to_typed


def _as_text(values: pd.Series) -> list[str | None]:
    """What a CSV writer would print for each cell (None for NULL)."""
    return [None if pd.isna(v) else str(v) for v in values]


# --- text sources (CSV) -----------------------------------------------------------------------

TEXT_COLUMNS = {
    "integer": ["42", "-7", None, "0", "123456789"],
    "date": ["2024-01-02", None, "1969-12-31", "2000-02-29", "9999-12-31"],
    "stamp": ["2024-01-02 10:11:12", "2024-01-02 00:00:00", None, "1999-12-31 23:59:59", None],
    "stamp_t": ["2024-01-02T10:11", "2024-01-02T00:00", None, "1999-12-31T23:59", None],
    "micros": [
        "2024-01-02 10:11:12.5",
        "2024-01-02 00:00:00.123456",
        None,
        "1999-12-31 23:59:59",
        "1970-01-01 00:00:00.000001",
    ],
    "flag": ["Yes", "No", None, "Yes", "No"],
    "truth": ["TRUE", "FALSE", "TRUE", None, "TRUE"],
    "colour": ["red", "blue", None, "007", "red"],
    "zip": ["01234", "01234", "99999", None, "00000"],
}


@pytest.mark.parametrize("name", sorted(TEXT_COLUMNS))
def test_text_round_trip_gives_back_the_source_text(name: str) -> None:
    # Setup
    frame = pd.DataFrame({name: pd.Series(TEXT_COLUMNS[name], dtype=object)})
    schema = infer_schema(frame)

    # Run
    back = to_source(to_typed(frame, schema), schema)

    # Assert
    assert _as_text(back[name]) == TEXT_COLUMNS[name]


def test_typed_view_is_float_numbers_epoch_seconds_and_strings() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.Series(["42", None], dtype=object),
            "d": pd.Series(["1970-01-02", None], dtype=object),
            "c": pd.Series(["a", None], dtype=object),
        }
    )
    schema = infer_schema(frame)

    typed = to_typed(frame, schema)

    assert typed["n"].dtype == np.float64
    assert typed["n"].iloc[0] == 42.0
    assert typed["d"].iloc[0] == 86_400.0
    assert typed["c"].iloc[0] == "a"
    assert typed.isna().iloc[1].all()


def test_decimals_round_trip_as_values_and_generated_values_get_the_source_decimals() -> None:
    # Setup
    frame = pd.DataFrame({"price": pd.Series(["1.50", "2.25", None, "-3.1"], dtype=object)})
    schema = infer_schema(frame)
    generated = pd.DataFrame({"price": [1.23456, -0.004999, np.nan, 2.0 / 3.0]})

    # Run
    back = to_source(to_typed(frame, schema), schema)["price"]
    written = to_source(generated, schema)["price"]

    # Assert
    assert schema.column("price").decimals == 2
    assert _as_text(back) == ["1.5", "2.25", None, "-3.1"]  # "1.50" is the number 1.5
    assert _as_text(written) == ["1.23", "0.0", None, "0.67"]  # never "-0.0"


def test_generated_integers_are_written_whole() -> None:
    frame = pd.DataFrame({"age": pd.Series(["17", "90", None], dtype=object)})
    schema = infer_schema(frame)

    written = to_source(pd.DataFrame({"age": [17.4, 89.6, np.nan]}), schema)["age"]

    assert _as_text(written) == ["17", "90", None]


def test_columns_come_back_in_source_order() -> None:
    frame = pd.DataFrame({"b": ["1", "2"], "a": ["x", "y"], "c": ["2024-01-01", "2024-01-02"]})
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)[["c", "a", "b"]]

    back = to_source(typed, schema)

    assert list(back.columns) == ["b", "a", "c"]


# --- natively typed sources (Parquet, databases) ---------------------------------------------


def _typed_frame() -> pd.DataFrame:
    stamps = ["2024-01-01", "2024-01-02 03:04:05.25", None, "1999-12-31 23:59:59"]
    return pd.DataFrame(
        {
            "int64": np.array([1, 2, 3, 5], dtype="int64"),
            "int32": np.array([1, -2, 2, 1], dtype="int32"),
            "nullable_int": pd.array([1, None, 3, 3], dtype="Int64"),
            "float64": np.array([1.5, 2.0, np.nan, 3.25]),
            "bool": np.array([True, False, True, True]),
            "nullable_bool": pd.array([True, None, False, True], dtype="boolean"),
            "datetime": pd.to_datetime(stamps, format="ISO8601"),
            "datetime_ns": pd.to_datetime(stamps, format="ISO8601").astype("datetime64[ns]"),
            "datetime_tz": pd.to_datetime(stamps, format="ISO8601").tz_localize("Europe/Amsterdam"),
            "text": pd.array(["a", "b", None, "a"], dtype="string"),
        }
    )


@pytest.mark.parametrize("name", list(_typed_frame().columns))
def test_native_round_trip_gives_back_values_and_dtype(name: str) -> None:
    # Setup
    frame = _typed_frame()[[name]]
    schema = infer_schema(frame)

    # Run
    back = to_source(to_typed(frame, schema), schema)[name]

    # Assert
    source = frame[name]
    assert back.isna().tolist() == source.isna().tolist()
    assert back[source.notna()].tolist() == source[source.notna()].tolist()
    if name != "text":  # strings come back as plain Python str objects
        assert back.dtype == source.dtype


def test_native_boolean_null_stays_null_and_is_not_false() -> None:
    # A regression: NULL in a nullable boolean column was written back as False.
    frame = pd.DataFrame({"ok": pd.array([True, None, False], dtype="boolean")})
    schema = infer_schema(frame)

    back = to_source(to_typed(frame, schema), schema)["ok"]

    assert back.isna().tolist() == [False, True, False]


def test_generated_booleans_for_a_native_bool_column_are_bool() -> None:
    frame = pd.DataFrame({"ok": np.array([True, False, True])})
    schema = infer_schema(frame)

    written = source_column(pd.Series(["False", "True", None], dtype=object), schema.columns[0])

    assert written.tolist()[:2] == [False, True]
    assert pd.isna(written.iloc[2])
