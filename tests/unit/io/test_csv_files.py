from __future__ import annotations

import gzip
import math
from pathlib import Path

import pandas as pd
import pytest

from synthdb.errors import InputError, UsageError
from synthdb.io import open_source, read_table, write_table


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["people.csv", "people.csv.gz", "people.csv.bz2", "people.tsv"])
def test_round_trip_keeps_nulls_and_null_like_strings(tmp_path: Path, name: str) -> None:
    # Setup
    frame = pd.DataFrame(
        {
            "name": ["Ann", "NA", None, "null"],
            "code": ["?", "007", "N/A", None],
            "note": ['says "hi", twice', "two\nlines", "", "x"],
        }
    )
    path = tmp_path / name

    # Run
    write_table(frame, path)
    result = read_table(path)

    # Assert
    assert list(result.columns) == ["name", "code", "note"]
    assert result["name"].tolist()[:2] == ["Ann", "NA"]
    assert result["name"].tolist()[3] == "null"
    assert result["code"].tolist()[:3] == ["?", "007", "N/A"]
    assert result["note"].tolist()[:2] == ['says "hi", twice', "two\nlines"]
    # NULL comes back as NaN; an empty string is indistinguishable from NULL in CSV.
    assert result["name"].isna().tolist() == [False, False, True, False]
    assert result["note"].isna().tolist() == [False, False, True, False]
    assert math.isnan(result["code"].iloc[3])


def test_every_column_is_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", b"age,price,flag,when\n42,1.50,true,2024-01-02\n,3,,\n")

    result = read_table(path)

    assert result.iloc[0].tolist() == ["42", "1.50", "true", "2024-01-02"]
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in result.dtypes)
    assert all(isinstance(value, str) for value in result.iloc[0])
    assert result.iloc[1].isna().tolist() == [True, False, True, True]


def test_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.csv", b"\xef\xbb\xbfa,b\n1,2\n")

    assert list(read_table(path).columns) == ["a", "b"]


def test_other_encoding_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin.csv", "city\nMünchen\n".encode("latin-1"))

    assert read_table(path, encoding="latin-1")["city"].tolist() == ["München"]


def test_single_file_is_one_table_named_after_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "adult.csv.gz", gzip.compress(b"a\n1\n"))

    source = open_source(path)

    assert source.tables() == ["adult"]
    assert source.read("adult")["a"].tolist() == ["1"]
    assert source.location == str(path)


# --- bad input ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, check_error) -> None:
    with pytest.raises(InputError) as excinfo:
        read_table(tmp_path / "nope.csv")
    check_error(excinfo, "nope.csv does not exist", "check the path")


def test_folder(tmp_path: Path, check_error) -> None:
    with pytest.raises(InputError) as excinfo:
        read_table(tmp_path)
    check_error(excinfo, "is a folder", "point to one file")


def test_unknown_extension_lists_supported_ones(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "data.xlsx", b"whatever")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "data.xlsx", ".csv", ".parquet", "sqlite:///")


def test_empty_file(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "empty.csv", b"")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "empty.csv is empty (0 bytes)")


def test_blank_lines_only(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "blank.csv", b"\n\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "no header row")


def test_header_only(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "header.csv", b"a,b\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "header.csv has no rows")
    # Reading through a source is allowed: an empty table is still a table.
    assert list(open_source(path).read().columns) == ["a", "b"]


def test_ragged_row_names_the_physical_line(tmp_path: Path, check_error) -> None:
    # The quoted value spans lines 3-4 and a blank line precedes the bad row: pandas would say
    # "line 5", an editor shows line 6.
    path = _write(tmp_path / "ragged.csv", b'a,b\n1,2\n"x\ny",3\n\n4,5,6\n')
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "line 6 has 3 fields, expected 2", "quote")


def test_every_row_longer_than_header(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "long.csv", b"a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "every row has 3 fields but the header names 2")


def test_unclosed_quote(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "quote.csv", b'a,b\n1,2\n3,"4\n5,6\n')
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "quote opened on line 3 is never closed")


def test_not_utf8_names_line_and_byte(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "latin.csv", b"city\nParis\nM\xfcnchen\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "not valid utf-8 (byte 0xfc at line 3)", "--encoding latin-1")


def test_not_utf8_inside_gzip(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "latin.csv.gz", gzip.compress(b"city\nM\xfcnchen\n"))
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "byte 0xfc at line 2")


def test_unknown_encoding(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "t.csv", b"a\n1\n")
    with pytest.raises(UsageError) as excinfo:
        read_table(path, encoding="klingon")
    check_error(excinfo, "unknown encoding 'klingon'")


def test_binary_file_named_csv(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "data.csv", b"SQLite format 3\x00" + bytes(range(256)))
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "data.csv is an SQLite database, not CSV text")


def test_nul_bytes(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "data.csv", b"a,b\n1,\x002\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "binary file")


def test_gzip_named_csv(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "data.csv", gzip.compress(b"a\n1\n"))
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "gzip-compressed", "rename it to data.csv.gz")


def test_plain_text_named_gz(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "data.csv.gz", b"a\n1\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "not gzip-compressed", "rename it without .gz")


def test_truncated_gzip(tmp_path: Path, check_error) -> None:
    content = gzip.compress(b"a,b\n" + b"1,2\n" * 10_000)
    path = _write(tmp_path / "cut.csv.gz", content[: len(content) // 2])
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "cut.csv.gz is not a readable gzip file", "truncated")


def test_utf16(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "wide.csv", "a,b\n1,2\n".encode("utf-16"))
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "UTF-16", "--encoding utf-16")
    assert read_table(path, encoding="utf-16")["b"].tolist() == ["2"]


def test_duplicate_column_names(tmp_path: Path, check_error) -> None:
    path = _write(tmp_path / "dup.csv", b"a,b,a,c,c\n1,2,3,4,5\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    check_error(excinfo, "duplicate column names: a, c")


def test_any_table_name_selects_a_files_only_table(tmp_path: Path) -> None:
    # The CLI's --table may name the output table while the input is a file.
    path = _write(tmp_path / "adult.csv", b"a\n1\n")

    assert read_table(path, table="people")["a"].tolist() == ["1"]
