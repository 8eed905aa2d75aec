"""Formats sniffed from bytes, upload names, size limits (synthdb.service.uploads)."""

from __future__ import annotations

import gzip
import io
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from synthdb.service.uploads import UploadError, label, receive, sniff


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a,b\n1,2\n", "csv"),
        ("name\ncaf\u00e9\n".encode(), "csv"),
        (gzip.compress(b"a,b\n1,2\n"), "csv.gz"),
    ],
)
def test_text_formats(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    assert sniff(path) == expected


def test_parquet_and_sqlite_by_content_whatever_the_name(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buffer)
    path = tmp_path / "looks.csv"
    path.write_bytes(buffer.getvalue())
    assert sniff(path) == "parquet"
    database = tmp_path / "data.txt"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (x)")
    assert sniff(database) == "sqlite"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"\x00\x01\x02binary", 415),
        (b"\x80abc\xff", 415),
        (_zip(), 415),
        (b"\x80\x04\x95pickle", 415),
        (gzip.compress(b"\x00\x00\x00"), 415),
        (b"\x1f\x8b\x08broken gzip", 400),
        (b"PAR1 cut short", 400),
    ],
)
def test_anything_else_is_refused(tmp_path: Path, content: bytes, status: int) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    with pytest.raises(UploadError) as caught:
        sniff(path)
    assert caught.value.status == status


def test_receive_stops_at_the_limit(tmp_path: Path) -> None:
    with pytest.raises(UploadError) as caught:
        receive(io.BytesIO(b"x" * 5000), tmp_path / "big", limit=4096)
    assert caught.value.status == 413
    with pytest.raises(UploadError) as caught:
        receive(io.BytesIO(b""), tmp_path / "empty", limit=4096)
    assert caught.value.status == 400
    assert receive(io.BytesIO(b"a,b\n"), tmp_path / "ok", limit=4096) == 4


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        ("<script>.csv", "_script_.csv"),
        ("", "upload"),
        (None, "upload"),
        ("..", "upload"),
    ],
)
def test_labels_are_names_not_paths(given: str | None, expected: str) -> None:
    assert label(given) == expected
