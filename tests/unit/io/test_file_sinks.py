from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthdb.errors import OutputError, UsageError
from synthdb.io import (
    atomic_path,
    check_output,
    open_sink,
    read_table,
    write_batches,
    write_table,
)


def _unencodable_frame() -> pd.DataFrame:
    """Writing fails part-way: a lone surrogate cannot be encoded as UTF-8."""
    return pd.DataFrame({"text": pd.Series(["fine"] * 1000 + ["\ud800"], dtype=object)})


# --- atomic_path ----------------------------------------------------------------------------


def test_atomic_path_publishes_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path
        assert temporary != target
        temporary.write_text("done")
        assert not target.exists()

    assert target.read_text() == "done"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_atomic_path_leaves_nothing_on_failure(
    tmp_path: Path, failure: type[BaseException]
) -> None:
    target = tmp_path / "out.csv"

    with pytest.raises(failure), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise failure()

    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")

    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("new, but incomplete")
        raise RuntimeError()

    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


# --- writing files --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet"])
def test_failed_write_leaves_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises((UnicodeEncodeError, ValueError)):
        write_table(_unencodable_frame(), tmp_path / name)

    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_table(pd.DataFrame({"a": ["old"]}), target)

    with pytest.raises(UnicodeEncodeError):
        write_table(_unencodable_frame(), target, overwrite=True)

    assert read_table(target)["a"].tolist() == ["old"]
    assert list(tmp_path.iterdir()) == [target]


def test_existing_file_needs_overwrite(tmp_path: Path, check_error) -> None:
    target = tmp_path / "out.parquet"
    write_table(pd.DataFrame({"a": [1]}), target)

    with pytest.raises(OutputError) as excinfo:
        write_table(pd.DataFrame({"a": [2]}), target)
    check_error(excinfo, "out.parquet already exists", "--overwrite")

    write_table(pd.DataFrame({"a": [2]}), target, overwrite=True)
    assert read_table(target)["a"].tolist() == [2]


def test_check_output_up_front(tmp_path: Path, check_error) -> None:
    existing = tmp_path / "taken.csv"
    existing.write_text("a\n1\n")

    check_output(tmp_path / "free.csv")
    check_output(existing, overwrite=True)
    with pytest.raises(OutputError) as excinfo:
        check_output(existing)
    check_error(excinfo, "already exists", "--overwrite")
    with pytest.raises(OutputError) as excinfo:
        check_output(tmp_path / "missing" / "out.csv")
    check_error(excinfo, "does not exist", "mkdir -p")


def test_missing_folder(tmp_path: Path, check_error) -> None:
    with pytest.raises(OutputError) as excinfo:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "missing" / "out.csv")
    check_error(excinfo, "missing does not exist", "create it first")


def test_output_is_a_folder(tmp_path: Path, check_error) -> None:
    folder = tmp_path / "out.csv"
    folder.mkdir()

    with pytest.raises(OutputError) as excinfo:
        check_output(folder, overwrite=True)
    check_error(excinfo, "is a folder")


def test_unknown_extension(tmp_path: Path, check_error) -> None:
    with pytest.raises(OutputError) as excinfo:
        open_sink(tmp_path / "out.xlsx")
    check_error(excinfo, "unsupported file type '.xlsx'", ".csv", ".parquet")


def test_file_appears_only_after_check_passes_again(tmp_path: Path, check_error) -> None:
    # The output appeared between open_sink (before training) and the write (after it).
    target = tmp_path / "out.csv"
    sink = open_sink(target)
    target.write_text("someone else's\n")

    with pytest.raises(OutputError) as excinfo:
        sink.write("out", pd.DataFrame({"a": [1]}))
    check_error(excinfo, "already exists")
    assert target.read_text() == "someone else's\n"


def test_a_file_holds_one_table(tmp_path: Path, check_error) -> None:
    sink = open_sink(tmp_path / "out.csv", overwrite=True)
    sink.write("parents", pd.DataFrame({"id": [1]}))

    with pytest.raises(UsageError) as excinfo:
        sink.write("children", pd.DataFrame({"id": [2]}))
    check_error(excinfo, "holds one table", "its own file")
    assert read_table(tmp_path / "out.csv")["id"].tolist() == ["1"]


def test_csv_writes_null_as_empty_field(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    write_table(pd.DataFrame({"a": [1.5, None], "b": [None, "x"]}), target)

    assert target.read_text() == "a,b\n1.5,\n,x\n"


def test_check_output_names_formats_only_for_tables(tmp_path: Path, check_error) -> None:
    check_output(tmp_path / "model.synthdb")  # not a table: any file name will do
    with pytest.raises(OutputError) as excinfo:
        check_output(tmp_path / "out.xlsx", table="out")
    check_error(excinfo, "unsupported file type '.xlsx'", ".csv")


def test_gzip_does_not_record_the_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / "out.csv.gz"

    write_table(pd.DataFrame({"a": [1]}), target)

    assert b".tmp" not in target.read_bytes()
    assert read_table(target)["a"].tolist() == ["1"]


# --- batches --------------------------------------------------------------------------------


def _batches(
    count: int, *, fail_after: int | None = None, failure: type[BaseException] = RuntimeError
):
    for index in range(count):
        if fail_after is not None and index == fail_after:
            raise failure("generation stopped")
        yield pd.DataFrame({"n": [index * 10, index * 10 + 1], "label": [f"b{index}", None]})


@pytest.mark.parametrize("name", ["out.csv", "out.tsv.xz", "out.parquet"])
def test_batches_stream_into_one_table(tmp_path: Path, name: str) -> None:
    target = tmp_path / name

    rows = write_batches(_batches(3), target)

    result = read_table(target)
    assert rows == 6
    assert [str(n) for n in result["n"]] == ["0", "1", "10", "11", "20", "21"]
    assert result["label"].isna().tolist() == [False, True] * 3


def test_csv_header_written_once(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    write_batches(_batches(2), target)

    assert target.read_text() == "n,label\n0,b0\n1,\n10,b1\n11,\n"


def test_parquet_batch_with_an_all_null_column(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    first = pd.DataFrame({"label": ["a", "b"]})
    second = pd.DataFrame({"label": pd.Series([None, None], dtype=object)})

    write_batches([first, second], target)

    assert read_table(target)["label"].tolist()[:2] == ["a", "b"]
    assert read_table(target)["label"].isna().sum() == 2


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet"])
def test_generation_failing_part_way_leaves_nothing(
    tmp_path: Path, name: str, failure: type[BaseException]
) -> None:
    with pytest.raises(failure):
        write_batches(_batches(5, fail_after=3, failure=failure), tmp_path / name)

    assert list(tmp_path.iterdir()) == []


def test_batches_must_share_columns(tmp_path: Path) -> None:
    batches = [pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]})]

    with pytest.raises(ValueError, match="differ"):
        write_batches(batches, tmp_path / "out.csv")

    assert list(tmp_path.iterdir()) == []


def test_no_batches(tmp_path: Path, check_error) -> None:
    with pytest.raises(UsageError) as excinfo:
        write_batches([], tmp_path / "out.parquet")

    check_error(excinfo, "no rows to write")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.csv.gz"])
def test_batches_formatted_ahead_by_prepare_write_the_same_bytes(tmp_path: Path, name: str) -> None:
    # Setup: generation formats CSV rows on its worker threads through Sink.prepare
    from synthdb.io import open_sink

    frames = [
        pd.DataFrame({"a": [1, 2], "b": ['x,"y"', None], "c": [0.5, 2.0]}),
        pd.DataFrame({"a": [3], "b": ["z"], "c": [1.25]}),
    ]
    plain, ahead = tmp_path / "plain", tmp_path / "ahead"
    plain.mkdir()
    ahead.mkdir()

    # Run
    open_sink(plain / name, table="t").write_batches("t", [f.copy() for f in frames])
    sink = open_sink(ahead / name, table="t")
    sink.write_batches("t", [sink.prepare(f.copy()) for f in frames])

    # Assert
    assert _content(ahead / name) == _content(plain / name)
    assert _content(plain / name).startswith(b"a")


def _content(path: Path) -> bytes:
    import gzip

    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.csv.gz", "out.parquet"])
def test_batches_packed_elsewhere_write_the_same_bytes(tmp_path: Path, name: str) -> None:
    # Setup: Ray workers pack batches for the sink (CSV rows, Arrow tables) and ship those
    import pickle

    from synthdb.io.sinks import pack

    frames = [
        pd.DataFrame({"a": [1, 2], "b": ['x,"y"', None], "c": [0.5, 2.0]}),
        pd.DataFrame({"a": [3], "b": [None], "c": [1.25]}),  # an all-NULL column
    ]
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    plain.mkdir()
    packed.mkdir()

    # Run
    open_sink(plain / name, table="t").write_batches("t", [f.copy() for f in frames])
    sink = open_sink(packed / name, table="t")
    shipped = [pickle.loads(pickle.dumps(pack(f.copy(), sink.packing))) for f in frames]
    rows = sink.write_batches("t", shipped)

    # Assert
    assert rows == 3
    assert (packed / name).read_bytes() == (plain / name).read_bytes()


def test_a_batch_packed_for_another_format_is_refused(tmp_path: Path) -> None:
    from synthdb.io.sinks import pack

    frame = pd.DataFrame({"a": [1]})
    tsv = open_sink(tmp_path / "out.tsv", table="t")

    with pytest.raises(ValueError, match="not packed"):
        open_sink(tmp_path / "out.csv", table="t").write_batches("t", [pack(frame, tsv.packing)])

    assert list(tmp_path.iterdir()) == []
