"""CSV text for a batch of rows, built with Arrow compute kernels instead of pandas.

``DataFrame.to_csv`` formats cell by cell in Python and takes seconds per 100,000 rows; writing
a million generated rows would cost more than generating them. Here every column is cast to
text by Arrow, quoted only where the CSV rules require it (separator, quote or line break
inside), NULL becomes an empty field, and the rows are joined in C++. The output is read back by
any CSV reader exactly as pandas' would be.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _text(column: pd.Series) -> pa.Array:
    """One column as an Arrow string array (NULL kept as null)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        flags = pa.array(column, from_pandas=True, type=pa.bool_())
        return pc.if_else(flags, pa.scalar("True"), pa.scalar("False"))
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return pa.array(column.astype(str).where(column.notna(), None), type=pa.string())
    array = pa.array(column, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_floating(array.type):
        # Arrow writes 1.0 as "1"; keep pandas' "1.0" so decimal columns stay decimal.
        text = pc.cast(array, pa.string())
        whole = pc.and_(pc.equal(pc.floor(array), array), pc.less(pc.abs(array), 1e16))
        return pc.if_else(whole, pc.binary_join_element_wise(text, pa.scalar(".0"), ""), text)
    return pc.cast(array, pa.string())


#: Where :func:`preformat` leaves a batch's CSV rows: ``(separator, bytes)`` in ``frame.attrs``.
FORMATTED = "synthdb.csv_rows"


def preformat(frame: pd.DataFrame, separator: str) -> pd.DataFrame:
    """Format ``frame``'s rows (no header) now and keep them with it for the writer.

    Generation calls this on its worker threads, so formatting runs in parallel with drawing
    the next batches instead of on the one thread that writes the file.
    """
    frame.attrs[FORMATTED] = (separator, csv_bytes(frame, separator=separator, header=False))
    return frame


def formatted_rows(frame: pd.DataFrame, separator: str) -> bytes | None:
    """The rows :func:`preformat` left, if they were made for this separator."""
    kept = frame.attrs.get(FORMATTED)
    if isinstance(kept, tuple) and kept[0] == separator:
        return bytes(kept[1])
    return None


def csv_bytes(frame: pd.DataFrame, *, separator: str = ",", header: bool = True) -> bytes:
    """The rows of ``frame`` (and the header when asked) as UTF-8 CSV with ``\\n`` line ends."""
    special = "[" + re.escape(separator + '"') + "\r\n]"
    columns = []
    for name in frame.columns:
        column = frame[name]
        text = _text(column)
        # numbers, booleans and timestamps never hold a quote or a line break
        if separator in ".-:0123456789" or not pd.api.types.is_numeric_dtype(column.dtype):
            needs = pc.match_substring_regex(text, special)
        else:
            needs = None
        if needs is not None and pc.any(needs).as_py():
            quoted = pc.binary_join_element_wise(
                pa.scalar('"'), pc.replace_substring(text, '"', '""'), pa.scalar('"'), ""
            )
            text = pc.if_else(needs, quoted, text)
        columns.append(pc.fill_null(text, ""))
    lines: list[bytes] = []
    if header:
        names = [_quote_name(str(n), special) for n in frame.columns]
        lines.append((separator.join(names) + "\n").encode("utf-8"))
    if len(frame) and columns:
        rows = pc.binary_join_element_wise(*columns, separator)
        rows = pc.binary_join_element_wise(rows, pa.scalar(""), "\n")
        lines.append(_data(rows))
    elif len(frame):
        lines.append(b"\n" * len(frame))
    return b"".join(lines)


def _data(rows: pa.Array) -> bytes:
    """The concatenated characters of a string array, straight from its data buffer."""
    _, offsets_buffer, data_buffer = rows.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), len(rows) + 1, [None, offsets_buffer], offset=rows.offset
    )
    start, end = offsets[0].as_py(), offsets[len(rows)].as_py()
    return data_buffer.slice(start, end - start).to_pybytes() if data_buffer is not None else b""


def _quote_name(name: str, special: str) -> str:
    if re.search(special, name):
        return '"' + name.replace('"', '""') + '"'
    return name
