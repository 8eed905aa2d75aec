"""CSV and TSV files, plain or compressed.

Every column is read as text (``dtype=str``) and only an empty field is NULL: deciding that
"NA" or "?" means missing, or that "007" is a number, is the schema step's job, where the choice
is visible and can be overridden. Pandas' own messages point at its internal buffers and record
counters; when a file is bad we re-scan it to name the physical line a text editor would show.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import importlib.util
import io
import lzma
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import pandas as pd

from synthdb.errors import InputError
from synthdb.io._batches import Batch, Packed, rows_of
from synthdb.io._fastcsv import csv_bytes, formatted_rows
from synthdb.io._locations import COMPRESSIONS, FileFormat, one_line

_PEEK_BYTES = 8192
_SUFFIX_OF = {codec: suffix for suffix, codec in COMPRESSIONS.items()}
_COMPRESSED_MAGIC = {
    "gzip": re.compile(rb"\A\x1f\x8b"),
    "bz2": re.compile(rb"\ABZh[1-9]1AY&SY", re.DOTALL),
    "xz": re.compile(rb"\A\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\A\x28\xb5\x2f\xfd"),
}
# Only consulted once NUL bytes prove the file is binary, so that a header like "PAR1,x" is safe.
_BINARY_KINDS = (
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)

_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def zstd_available() -> bool:
    return importlib.util.find_spec("zstandard") is not None


def _text_options(fmt: FileFormat, encoding: str) -> dict[str, Any]:
    """pandas options that read every column as text, NULL only where a field is empty."""
    return {
        "sep": fmt.separator,
        "compression": fmt.compression,
        "encoding": encoding,
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
    }


def _check_header(path: Path, options: dict[str, Any], name: str) -> None:
    # Read the header as data first: pandas renames duplicates ("a", "a.1"), hiding them.
    header = pd.read_csv(path, header=None, nrows=1, **options)
    _check_unique([str(cell) for cell in header.iloc[0] if isinstance(cell, str)], name)


def read_csv(path: Path, fmt: FileFormat, *, encoding: str, name: str) -> pd.DataFrame:
    """Read every column as text; NULL only where a field is empty (NaN in the frame)."""
    _check_content(path, fmt, encoding, name)
    options = _text_options(fmt, encoding)
    with _translated_errors(path, fmt, encoding, name):
        _check_header(path, options, name)
        frame = pd.read_csv(path, **options)
    if not isinstance(frame.index, pd.RangeIndex):
        # Pandas silently turns the first column into the index when every row is one field
        # longer than the header; that loses a column, so we refuse instead.
        width = len(frame.columns)
        raise InputError(
            f"{name}: every row has {width + frame.index.nlevels} fields "
            f"but the header names {width}",
            hint="add the missing column names to the header row",
        )
    _check_short_records(frame, path, fmt, encoding, name)
    return frame


def read_csv_chunks(
    path: Path, fmt: FileFormat, *, encoding: str, name: str, rows: int
) -> Iterator[pd.DataFrame]:
    """Frames of at most ``rows`` rows, read as :func:`read_csv` reads, so memory holds one.

    The same checks run first (binary content, compression, duplicate names); a row with too
    few fields, which only a whole-file scan tells from NULLs, is not looked for.
    """
    _check_content(path, fmt, encoding, name)
    options = _text_options(fmt, encoding)
    with _translated_errors(path, fmt, encoding, name):
        _check_header(path, options, name)
        with pd.read_csv(path, chunksize=rows, **options) as reader:
            empty = True
            for frame in reader:
                empty = False
                yield frame
        if empty:
            yield pd.read_csv(path, **options)


def count_csv_rows(path: Path, fmt: FileFormat, *, encoding: str, name: str) -> int:
    """The number of records, read as :func:`read_csv` reads them (quoted line breaks stay in
    their field), one column converted: about a second per 100 MB of text."""
    _check_content(path, fmt, encoding, name)
    options = _text_options(fmt, encoding)
    rows = 0
    with (
        _translated_errors(path, fmt, encoding, name),
        pd.read_csv(path, usecols=[0], chunksize=500_000, **options) as reader,
    ):
        for frame in reader:
            rows += len(frame)
    return rows


def read_csv_header(path: Path, fmt: FileFormat, *, encoding: str, name: str) -> list[str]:
    """The column names, without reading the rows."""
    _check_content(path, fmt, encoding, name)
    with _translated_errors(path, fmt, encoding, name):
        header = pd.read_csv(
            path,
            header=None,
            nrows=1,
            sep=fmt.separator,
            compression=fmt.compression,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
        )
    names = [str(cell) for cell in header.iloc[0]]
    _check_unique(names, name)
    return names


def write_csv(batches: Iterable[Batch], path: Path, fmt: FileFormat) -> int:
    """NULL becomes an empty field, which is exactly what read_csv turns back into NULL."""
    rows = 0
    with contextlib.ExitStack() as stack:
        raw = _open_for_writing(path, fmt.compression, stack)
        for index, batch in enumerate(batches):
            body: bytes | None
            if isinstance(batch, Packed):
                if batch.csv is None or batch.csv[0] != fmt.separator:
                    raise ValueError(f"this batch was not packed for {fmt}")
                frame, body = pd.DataFrame(columns=list(batch.columns)), batch.csv[1]
            else:
                frame, body = batch, formatted_rows(batch, fmt.separator)
            if body is None:
                raw.write(csv_bytes(frame, separator=fmt.separator, header=index == 0))
            else:
                if index == 0:
                    raw.write(csv_bytes(frame.iloc[:0], separator=fmt.separator, header=True))
                raw.write(body)
            rows += rows_of(batch)
    return rows


def _open_for_writing(
    path: Path, compression: str | None, stack: contextlib.ExitStack
) -> IO[bytes]:
    raw: IO[bytes] = stack.enter_context(path.open("wb"))
    if compression is None:
        return raw
    if compression == "gzip":
        # An empty embedded name: the default would record our temporary file's name.
        return cast(IO[bytes], stack.enter_context(gzip.GzipFile("", "wb", fileobj=raw)))
    if compression == "bz2":
        return cast(IO[bytes], stack.enter_context(bz2.BZ2File(raw, "wb")))
    if compression == "xz":
        return cast(IO[bytes], stack.enter_context(lzma.LZMAFile(raw, "wb")))
    import zstandard

    writer: IO[bytes] = stack.enter_context(
        zstandard.ZstdCompressor().stream_writer(raw, closefd=False)
    )
    return writer


def open_bytes(path: Path, compression: str | None, name: str) -> IO[bytes]:
    """The file's content as bytes, decompressed, for the checks pandas cannot do for us."""
    if compression is None:
        return path.open("rb")
    if compression == "gzip":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if not zstd_available():
        raise InputError(
            f"reading {name} needs the zstandard package", hint="pip install zstandard"
        )
    import zstandard

    stream: IO[bytes] = zstandard.open(path, "rb")
    return stream


def _check_content(path: Path, fmt: FileFormat, encoding: str, name: str) -> None:
    """Refuse binary files before pandas turns them into a column of garbage."""
    with path.open("rb") as raw:
        head = raw.read(_PEEK_BYTES)
    found = next((codec for codec, magic in _COMPRESSED_MAGIC.items() if magic.match(head)), None)
    if fmt.compression is None and found is not None:
        raise InputError(
            f"{name} is {found}-compressed but its name says plain text",
            hint=f"rename it to {path.name}{_SUFFIX_OF[found]}",
        )
    if fmt.compression is not None and found != fmt.compression:
        suffix = _SUFFIX_OF[fmt.compression]
        raise InputError(
            f"{name} is not {fmt.compression}-compressed although its name ends in {suffix}",
            hint=f"rename it without {suffix} if it is plain text",
        )
    if fmt.compression is not None:
        try:
            with open_bytes(path, fmt.compression, name) as stream:
                head = stream.read(_PEEK_BYTES)
        except _DECOMPRESSION_ERRORS as exc:
            raise _corrupt(name, fmt, exc) from exc
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        return
    if head.startswith(_UTF16_BOMS):
        raise InputError(
            f"{name} is UTF-16 text", hint="pass --encoding utf-16 or re-save it as UTF-8"
        )
    if b"\x00" in head:
        kind = next((kind for magic, kind in _BINARY_KINDS if head.startswith(magic)), None)
        raise InputError(
            f"{name} is {kind or 'a binary file'}, not CSV text",
            hint="export the data as CSV, or name the file after its real format",
        )


def _check_unique(names: list[str], name: str) -> None:
    duplicates = [column for column, count in Counter(names).items() if count > 1]
    if duplicates:
        listed = ", ".join(duplicates)
        raise InputError(
            f"{name} has duplicate column names: {listed}",
            hint="rename the columns in the header row so each name is unique",
        )


@contextlib.contextmanager
def _translated_errors(path: Path, fmt: FileFormat, encoding: str, name: str) -> Iterator[None]:
    try:
        yield
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, fmt, encoding, name) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{name} has no header row", hint="the first line must name the columns"
        ) from exc
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, path, fmt, encoding, name) from exc
    except PermissionError as exc:
        raise InputError(
            f"cannot read {name}: permission denied", hint="check its permissions"
        ) from exc
    except _DECOMPRESSION_ERRORS as exc:
        if fmt.compression is None:
            raise
        raise _corrupt(name, fmt, exc) from exc


def _corrupt(name: str, fmt: FileFormat, exc: BaseException) -> InputError:
    return InputError(
        f"{name} is not a readable {fmt.compression} file ({one_line(exc) or type(exc).__name__})",
        hint="it may be truncated; copy or compress it again",
    )


def _encoding_error(path: Path, fmt: FileFormat, encoding: str, name: str) -> InputError:
    hint = (
        "re-save it as UTF-8 or pass --encoding latin-1"
        if codecs.lookup(encoding).name == "utf-8"
        else "pass the --encoding it was saved in, or re-save it as UTF-8"
    )
    where = _first_undecodable(path, fmt, encoding, name)
    if where is None:
        return InputError(f"{name} is not valid {encoding}", hint=hint)
    line, byte = where
    return InputError(
        f"{name} is not valid {encoding} (byte 0x{byte:02x} at line {line})", hint=hint
    )


def _first_undecodable(
    path: Path, fmt: FileFormat, encoding: str, name: str
) -> tuple[int, int] | None:
    """Line-by-line decoding is exact for the ASCII-compatible encodings people actually use."""
    with open_bytes(path, fmt.compression, name) as stream:
        for number, line in enumerate(stream, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, line[exc.start]
    return None


def _parser_error(
    exc: pd.errors.ParserError, path: Path, fmt: FileFormat, encoding: str, name: str
) -> InputError:
    ragged = _RAGGED.search(str(exc))
    if ragged is not None:
        expected, record, saw = (int(group) for group in ragged.groups())
        line = _first_long_record(path, fmt, encoding, name, expected) or record
        return InputError(
            f"{name}: line {line} has {saw} fields, expected {expected}",
            hint="quote values that contain the separator, or fix that row",
        )
    if _UNCLOSED_QUOTE.search(str(exc)) is not None:
        line = _last_record_start(path, fmt, encoding, name)
        return InputError(
            f"{name}: the quote opened on line {line} is never closed",
            hint='close it, and write a quote inside a quoted value as two quotes ("")',
        )
    return InputError(
        f"{name} is not valid CSV ({one_line(exc)})",
        hint="check that it opens as a table in a spreadsheet",
    )


class _UnreadableRecord(Exception):
    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.start = start


def _records(
    path: Path, fmt: FileFormat, encoding: str, name: str
) -> Iterator[tuple[int, list[str]]]:
    """Records with the physical line each starts on (a quoted value may span lines)."""
    with open_bytes(path, fmt.compression, name) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=fmt.separator)
        start = 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _UnreadableRecord(start) from exc
            yield start, record
            start = reader.line_num + 1


def _first_long_record(
    path: Path, fmt: FileFormat, encoding: str, name: str, expected: int
) -> int | None:
    try:
        for start, record in _records(path, fmt, encoding, name):
            if len(record) > expected:
                return start
    except _UnreadableRecord:
        pass
    return None


def _check_short_records(
    frame: pd.DataFrame, path: Path, fmt: FileFormat, encoding: str, name: str
) -> None:
    """Refuse a row with too few fields, which pandas silently pads with NULL.

    Padding shows up as a NULL in the last column, so only a file with such NULLs is re-scanned
    to tell a short row from an empty last field.
    """
    expected = len(frame.columns)
    if expected < 2 or not frame[frame.columns[-1]].isna().any():
        return
    try:
        for start, record in _records(path, fmt, encoding, name):
            if 0 < len(record) < expected:
                raise InputError(
                    f"{name}: line {start} has {len(record)} fields, expected {expected}",
                    hint="add the missing fields (an empty field is NULL), or fix that row",
                )
    except _UnreadableRecord:
        pass


def _last_record_start(path: Path, fmt: FileFormat, encoding: str, name: str) -> int:
    """The unclosed quote swallows the rest of the file, so it starts the last record."""
    last = 1
    try:
        for start, _record in _records(path, fmt, encoding, name):
            last = start
    except _UnreadableRecord as exc:
        # The csv module gives up on a value longer than its field size limit.
        last = exc.start
    return last
