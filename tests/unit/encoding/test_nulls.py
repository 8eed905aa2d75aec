from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.encoding.nulls import apply_null_policy
from synthdb.errors import InputError
from synthdb.schema.inference import infer_schema
from synthdb.schema.table import TableSchema
from synthdb.schema.values import to_source, to_typed
from synthdb.synthesizer import Synthesizer

OneLine = Callable[..., str]


def _typed(columns: dict[str, list[str | None]]) -> tuple[pd.DataFrame, TableSchema]:
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    schema = infer_schema(frame)
    return to_typed(frame, schema), schema


SIX_ROWS: dict[str, list[str | None]] = {
    "count": ["1", "2", None, "4", "2", None],  # mean 2.25 -> 2 (integer)
    "price": ["1.5", "2.5", None, "4", "2", "1"],  # mean 2.2
    "day": ["2024-01-01", None, "2024-01-03", "2024-01-02", None, "2024-01-02"],
    "member": ["Yes", "No", None, "Yes", "No", None],  # tie 2:2 -> "No" sorts first
    "colour": ["red", "blue", None, "red", "blue", "green"],  # tie 2:2 -> "blue"
    "id": ["a1", "a2", "a3", "a4", "a5", "a6"],
}


# --- replace ----------------------------------------------------------------------------------


def test_replace_fills_means_and_modes_and_counts_every_cell() -> None:
    # Setup
    typed, schema = _typed(SIX_ROWS)

    # Run
    out, report = apply_null_policy(typed, schema, "replace")

    # Assert
    written = to_source(out, schema)
    assert written["count"].tolist() == [1, 2, 2, 4, 2, 2]
    assert written["price"].tolist() == pytest.approx([1.5, 2.5, 2.2, 4.0, 2.0, 1.0])
    assert written["day"].tolist() == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-02",
        "2024-01-02",
        "2024-01-02",
    ]
    assert written["member"].tolist() == ["Yes", "No", "No", "Yes", "No", "No"]
    assert written["colour"].tolist() == ["red", "blue", "blue", "red", "blue", "green"]
    assert report.cells_replaced == {"count": 2, "price": 1, "day": 2, "member": 2, "colour": 1}
    assert report.replaced_with["count"] == 2.0
    assert report.replaced_with["price"] == pytest.approx(2.2)
    assert report.replaced_with["member"] == "No"
    assert report.replaced_with["colour"] == "blue"
    assert (report.rows_before, report.rows_after, report.rows_dropped) == (6, 6, 0)
    assert not out.isna().any().any()
    assert typed.isna().sum().sum() == 8  # the input is left alone


def test_replace_leaves_an_entirely_null_column_null_with_a_warning() -> None:
    typed, schema = _typed({"x": ["1", None, "3"], "empty": [None, None, None]})

    out, report = apply_null_policy(typed, schema, "replace")

    assert out["empty"].isna().all()
    assert report.cells_replaced == {"x": 1}
    assert len(report.warnings) == 1
    assert "'empty'" in report.warnings[0]


def test_replace_rounds_the_mean_of_an_integer_column_to_the_nearest_whole() -> None:
    typed, schema = _typed({"n": ["1", "2", None]})  # mean 1.5 rounds to 2 (half to even)

    out, report = apply_null_policy(typed, schema, "replace")

    assert out["n"].tolist() == [1.0, 2.0, 2.0]
    assert report.replaced_with == {"n": 2.0}


# --- drop -------------------------------------------------------------------------------------


def test_drop_removes_exactly_the_rows_holding_a_null() -> None:
    typed, schema = _typed(SIX_ROWS)

    out, report = apply_null_policy(typed, schema, "drop")

    assert report.rows_dropped == 4
    assert (report.rows_before, report.rows_after) == (6, 2)
    assert out["id"].tolist() == ["a1", "a4"]
    assert not out.isna().any().any()
    assert list(out.index) == [0, 1]


def test_drop_without_nulls_keeps_every_row() -> None:
    typed, schema = _typed({"x": ["1", "2"], "y": ["a", "b"]})

    out, report = apply_null_policy(typed, schema, "drop")

    assert report.rows_dropped == 0
    assert out.equals(typed)


def test_drop_with_an_entirely_null_column_is_an_error_naming_it(one_line: OneLine) -> None:
    typed, schema = _typed({"x": ["1", "2", "3"], "empty": [None, None, None]})

    with pytest.raises(InputError) as excinfo:
        apply_null_policy(typed, schema, "drop")

    one_line(excinfo.value, "'empty'", "entirely NULL", "--nulls keep")


def test_drop_when_every_row_has_some_null_is_an_error(one_line: OneLine) -> None:
    typed, schema = _typed({"x": ["1", None, "3"], "y": [None, "b", None]})

    with pytest.raises(InputError) as excinfo:
        apply_null_policy(typed, schema, "drop")

    one_line(excinfo.value, "every row")


# --- keep -------------------------------------------------------------------------------------


def test_keep_changes_nothing() -> None:
    typed, schema = _typed(SIX_ROWS)

    out, report = apply_null_policy(typed, schema, "keep")

    assert out.equals(typed)
    assert (report.rows_dropped, report.cells_replaced) == (0, {})


def test_keep_generates_nulls_at_the_source_rate() -> None:
    # Setup: independent NULLs, 30% in a number column and 20% in a category column
    rows = 2_000
    rng = np.random.default_rng(11)
    numbers = rng.normal(50.0, 10.0, rows).round(2).astype(str)
    letters = rng.choice(["a", "b", "c"], rows)
    frame = pd.DataFrame(
        {
            "x": pd.Series(np.where(rng.random(rows) < 0.3, None, numbers), dtype=object),
            "c": pd.Series(np.where(rng.random(rows) < 0.2, None, letters), dtype=object),
        }
    )
    config = TrainingConfig(
        max_epochs=3, nulls="keep", batch_size=256, hidden=16, embedding_dim=4, seed=1
    )

    # Run
    model = Synthesizer(config).fit(frame)
    generated = model.sample(4_000, seed=2)

    # Assert: the binomial standard error at 4,000 rows is <= 0.008; 0.04 allows that five
    # times over plus the error of a model trained for three short epochs.
    assert model.null_report.rows_dropped == 0
    for name in ["x", "c"]:
        source_share = frame[name].isna().mean()
        assert abs(generated[name].isna().mean() - source_share) < 0.04, name


def test_replace_fills_a_marked_date_with_the_mean_date_unmarked() -> None:
    """Birth numbers (YYMMDD, month + 50 for women): the average of the stored values mixes
    the two groups 800,000 days apart; the replacement must be a real date of the range."""
    from synthdb.schema.inference import MARK_SHIFT
    from synthdb.schema.values import to_source

    rng = np.random.default_rng(0)
    days = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 20_000, 600), "D")
    numbers = days.strftime("%y%m%d").astype(int) + np.where(np.arange(600) % 2, 5_000, 0)
    frame = pd.DataFrame({"birth_number": pd.Series(numbers, dtype="Int64")})
    frame.loc[::10, "birth_number"] = pd.NA
    schema = infer_schema(frame, "t")
    assert schema.column("birth_number").datetime_format == "%y%m%d;month+50"
    typed = to_typed(frame, schema)

    out, report = apply_null_policy(typed, schema, "replace")

    filled = report.replaced_with["birth_number"]
    seconds = typed["birth_number"].dropna().to_numpy()
    dates = np.where(seconds > MARK_SHIFT / 2, seconds - MARK_SHIFT, seconds)
    assert dates.min() < filled < dates.max()  # a real date, unmarked
    written = to_source(out, schema)["birth_number"]
    assert written.notna().all() and written.iloc[0] == int(
        pd.Timestamp(filled, unit="s").strftime("%y%m%d")
    )
