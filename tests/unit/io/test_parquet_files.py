from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthdb.errors import InputError
from synthdb.io import read_table, write_table


def _typed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": pd.array([39, None, 50], dtype="Int64"),
            "income": [1.5, float("nan"), 3.25],
            "city": ["Paris", None, "NA"],
            "born": pd.to_datetime(["1980-01-02", None, "1999-12-31"]),
            "member": [True, False, True],
        }
    )


@pytest.mark.parametrize("name", ["people.parquet", "people.pq"])
def test_round_trip_keeps_types(tmp_path: Path, name: str) -> None:
    frame = _typed_frame()

    write_table(frame, tmp_path / name)
    result = read_table(tmp_path / name)

    pd.testing.assert_frame_equal(result, frame, check_dtype=False)
    assert str(result["age"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(result["born"])
    assert result["member"].dtype == bool
    assert result["city"].tolist()[2] == "NA"


def test_corrupt_file(tmp_path: Path, check_error) -> None:
    path = tmp_path / "broken.parquet"
    write_table(_typed_frame(), path)
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(InputError) as excinfo:
        read_table(path)

    check_error(excinfo, "broken.parquet is not a readable Parquet file")


def test_text_named_parquet(tmp_path: Path, check_error) -> None:
    path = tmp_path / "data.parquet"
    path.write_text("a,b\n1,2\n")

    with pytest.raises(InputError) as excinfo:
        read_table(path)

    check_error(excinfo, "not a readable Parquet file", "export it again")


def test_empty_file(tmp_path: Path, check_error) -> None:
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")

    with pytest.raises(InputError) as excinfo:
        read_table(path)

    check_error(excinfo, "empty (0 bytes)")


def test_duplicate_column_names(tmp_path: Path, check_error) -> None:
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([[1], [2]], names=["a", "a"]), path)

    with pytest.raises(InputError) as excinfo:
        read_table(path)

    check_error(excinfo, "duplicate column names: a")
