from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from synthdb.errors import InputError, OutputError, UsageError
from synthdb.io import (
    _sql,
    check_output,
    open_sink,
    open_source,
    read_table,
    write_batches,
    write_table,
)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["Ann", None, "NA"],
            "score": [1.5, 2.0, float("nan")],
            "joined": pd.to_datetime(["2020-01-01", None, "2021-02-03 04:05:06"], format="ISO8601"),
        }
    )


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def _unreadable_frame() -> pd.DataFrame:
    """Fails only while inserting, after CREATE TABLE: sqlite3 cannot bind a dict."""
    return pd.DataFrame({"id": [1, 2], "payload": pd.Series(["ok", {"no": 1}], dtype=object)})


# --- reading --------------------------------------------------------------------------------


def test_round_trip_keeps_types_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "out.db"

    write_table(_frame(), _url(path), table="people")
    result = read_table(_url(path))

    pd.testing.assert_frame_equal(result, _frame(), check_dtype=False)
    assert pd.api.types.is_integer_dtype(result["id"])
    assert pd.api.types.is_datetime64_any_dtype(result["joined"])
    assert result["name"].tolist()[2] == "NA"


def test_reads_in_chunks_and_concatenates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.db"
    frame = pd.DataFrame({"n": range(25), "text": [None if n % 7 else str(n) for n in range(25)]})
    write_table(frame, _url(path), table="numbers")
    monkeypatch.setattr(_sql, "READ_CHUNK_ROWS", 4)

    result = read_table(_url(path))

    assert result["n"].tolist() == list(range(25))
    assert result.index.tolist() == list(range(25))
    assert result["text"].isna().sum() == 21


def test_table_choice(tmp_path: Path, check_error) -> None:
    path = tmp_path / "two.db"
    write_table(_frame(), _url(path), table="people")
    write_table(pd.DataFrame({"x": [1]}), _url(path), table="other")
    source = open_source(_url(path))

    assert source.tables() == ["other", "people"]
    assert source.read("other")["x"].tolist() == [1]
    assert len(read_table(_url(path), table="people")) == 3
    with pytest.raises(UsageError) as excinfo:
        source.read()
    check_error(excinfo, "holds 2 tables: other, people", "--table")


def test_table_given_at_open_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    write_table(_frame(), _url(path), table="people")
    write_table(pd.DataFrame({"x": [1]}), _url(path), table="other")

    assert open_source(_url(path), table="other").read()["x"].tolist() == [1]


def test_unknown_table_lists_available_ones(tmp_path: Path, check_error) -> None:
    path = tmp_path / "one.db"
    write_table(_frame(), _url(path), table="people")

    with pytest.raises(InputError) as excinfo:
        open_source(_url(path), table="persons")

    check_error(excinfo, "no table 'persons'", "people", "--table")


def test_missing_database_is_not_created(tmp_path: Path, check_error) -> None:
    path = tmp_path / "missing.db"

    with pytest.raises(InputError) as excinfo:
        read_table(_url(path))

    check_error(excinfo, "missing.db does not exist", "check the path")
    assert not path.exists()


def test_not_an_sqlite_file(tmp_path: Path, check_error) -> None:
    path = tmp_path / "fake.db"
    path.write_text("a,b\n1,2\n" * 200)

    with pytest.raises(InputError) as excinfo:
        read_table(_url(path))

    check_error(excinfo, "fake.db is not an SQLite database")


def test_database_without_tables(tmp_path: Path, check_error) -> None:
    path = tmp_path / "blank.db"
    sqlite3.connect(path).close()
    path.write_bytes(b"")  # a zero-byte file is a valid, empty SQLite database

    with pytest.raises(InputError) as excinfo:
        read_table(_url(path))

    check_error(excinfo, "has no tables")


def test_empty_table(tmp_path: Path, check_error) -> None:
    path = tmp_path / "empty.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER, name TEXT)")

    with pytest.raises(InputError) as excinfo:
        read_table(_url(path), table="people")

    check_error(excinfo, "table 'people'", "has no rows")
    assert list(open_source(_url(path)).read().columns) == ["id", "name"]


def test_reading_does_not_modify_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    write_table(_frame(), _url(path), table="people")
    before = path.read_bytes()

    read_table(_url(path))

    assert path.read_bytes() == before


def test_password_never_shown(check_error) -> None:
    # No server is needed: the driver is missing or the connection is refused, and either way
    # the message must hide the password.
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/db"

    with pytest.raises(InputError) as excinfo:
        open_source(url)

    message = check_error(excinfo, "postgresql")
    assert "s3cret-pw" not in message


def test_malformed_url_is_not_echoed(check_error) -> None:
    with pytest.raises(InputError) as excinfo:
        open_source("postgresql://alice:s3cret-pw@host:notaport/db")

    message = check_error(excinfo, "malformed")
    assert "s3cret-pw" not in message


# --- writing --------------------------------------------------------------------------------


def test_table_name_required(tmp_path: Path, check_error) -> None:
    with pytest.raises(UsageError) as excinfo:
        write_table(_frame(), _url(tmp_path / "out.db"))
    check_error(excinfo, "needs a table name", "--table")


def test_existing_rows_need_overwrite(tmp_path: Path, check_error) -> None:
    path = tmp_path / "out.db"
    write_table(_frame(), _url(path), table="people")

    with pytest.raises(OutputError) as excinfo:
        write_table(pd.DataFrame({"other": [9]}), _url(path), table="people")
    check_error(excinfo, "table 'people'", "already has rows", "--overwrite")

    write_table(pd.DataFrame({"other": [9]}), _url(path), table="people", overwrite=True)
    assert _rows(path, "people") == [(9,)]


def test_check_output_finds_existing_table_up_front(tmp_path: Path, check_error) -> None:
    path = tmp_path / "out.db"
    write_table(_frame(), _url(path), table="people")

    check_output(_url(path), table="fresh")
    check_output(_url(path), table="people", overwrite=True)
    with pytest.raises(OutputError) as excinfo:
        check_output(_url(path), table="people")
    check_error(excinfo, "already has rows", "--overwrite")


def test_empty_existing_table_is_filled_keeping_its_definition(tmp_path: Path) -> None:
    path = tmp_path / "out.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")

    write_table(pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}), _url(path), table="people")

    assert _rows(path, "people") == [(1, "a"), (2, "b")]
    with sqlite3.connect(path) as connection:
        ddl = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'people'").fetchone()
    assert "PRIMARY KEY" in ddl[0]


def test_empty_table_with_other_columns_needs_overwrite(tmp_path: Path, check_error) -> None:
    path = tmp_path / "out.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER)")

    with pytest.raises(OutputError) as excinfo:
        write_table(pd.DataFrame({"name": ["a"]}), _url(path), table="people")
    check_error(excinfo, "exists with other columns", "--overwrite")


def test_failed_write_leaves_database_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "out.db"
    write_table(_frame(), _url(path), table="people")
    before = _rows(path, "people")

    with pytest.raises(Exception, match="binding"):
        write_table(_unreadable_frame(), _url(path), table="people", overwrite=True)
    with pytest.raises(Exception, match="binding"):
        write_table(_unreadable_frame(), _url(path), table="fresh")

    assert _rows(path, "people") == before
    assert open_source(_url(path)).tables() == ["people"]


def test_failed_write_removes_database_it_created(tmp_path: Path) -> None:
    path = tmp_path / "new.db"

    with pytest.raises(Exception, match="binding"):
        write_table(_unreadable_frame(), _url(path), table="people")

    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path: Path, check_error) -> None:
    url = _url(tmp_path / "no" / "such" / "out.db")

    with pytest.raises(OutputError) as excinfo:
        open_sink(url, table="people")

    check_error(excinfo, "does not exist", "create it first")


def test_not_an_sqlite_output(tmp_path: Path, check_error) -> None:
    path = tmp_path / "fake.db"
    path.write_text("not a database\n" * 100)

    with pytest.raises(OutputError) as excinfo:
        check_output(_url(path), table="people")

    check_error(excinfo, "fake.db is not an SQLite database")


def test_in_memory_output_refused(check_error) -> None:
    with pytest.raises(OutputError) as excinfo:
        check_output("sqlite://", table="people")
    check_error(excinfo, "in-memory", "sqlite:///out.db")


def test_one_sink_many_tables(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    sink = open_sink(_url(path))

    sink.write("parents", pd.DataFrame({"id": [1, 2]}))
    sink.write("children", pd.DataFrame({"id": [1], "parent_id": [2]}))

    assert open_source(_url(path)).tables() == ["children", "parents"]
    assert sink.location == _url(path)


def _batches(count: int, *, fail_after: int | None = None):
    for index in range(count):
        if fail_after is not None and index == fail_after:
            raise KeyboardInterrupt()
        yield pd.DataFrame({"n": [index], "label": [None if index % 2 else f"b{index}"]})


def test_batches_stream_into_one_table(tmp_path: Path) -> None:
    path = tmp_path / "out.db"

    rows = write_batches(_batches(4), _url(path), table="numbers")

    assert rows == 4
    assert _rows(path, "numbers") == [(0, "b0"), (1, None), (2, "b2"), (3, None)]


def test_interrupted_generation_leaves_database_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "out.db"
    write_table(_frame(), _url(path), table="people")
    before = path.read_bytes()

    with pytest.raises(KeyboardInterrupt):
        write_batches(_batches(4, fail_after=2), _url(path), table="numbers")
    with pytest.raises(KeyboardInterrupt):
        write_batches(_batches(4, fail_after=2), _url(path), table="people", overwrite=True)

    assert open_source(_url(path)).tables() == ["people"]
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out.db"]


def test_batches_packed_elsewhere_are_written_as_their_frames(tmp_path: Path) -> None:
    from synthdb.io.sinks import pack

    sink = open_sink(_url(tmp_path / "db.sqlite"), table="people")

    rows = sink.write_batches("people", [pack(_frame(), sink.packing), pack(_frame(), None)])

    assert sink.packing is None
    assert rows == 6
    assert len(read_table(_url(tmp_path / "db.sqlite"), table="people")) == 6
