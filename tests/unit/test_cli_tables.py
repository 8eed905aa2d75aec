"""What ``synthdb inspect`` prints per column: the formats and precision found in the data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from rich.console import Console

from synthdb.cli.tables import schema_table
from synthdb.schema.inference import infer_schema


def _printed(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's printed row, read off a console wide enough for no wrapping."""
    console = Console(file=io.StringIO(), width=240, no_color=True)
    console.print(schema_table(infer_schema(frame, "t")))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) > 2 and cells[1] in frame.columns:
            rows[cells[1]] = " | ".join(cells[2:])
    return rows


def test_inspect_shows_date_encodings_fraction_digits_and_float_decimals() -> None:
    days = pd.date_range("1993-01-01", periods=40, freq="7D")
    frame = pd.DataFrame(
        {
            "opened": days.strftime("%y%m%d").astype(int),
            "booked": pd.Series(days.strftime("%Y%m%d"), dtype=object),
            "issued": pd.Series(days.strftime("%y%m%d 00:00:00"), dtype=object),
            "seen": pd.Series(days.strftime("%Y-%m-%d %H:%M:%S.250"), dtype=object),
            "amount": np.linspace(1.25, 99.75, 40).round(2),
            "price": pd.Series([f"{v:.1f}" for v in np.linspace(1, 9, 40)], dtype=object),
        }
    )

    rows = _printed(frame)

    assert rows["opened"].startswith("datetime | %y%m%d (YYMMDD numbers), stored as int64")
    assert rows["booked"].startswith("datetime | %Y%m%d (YYYYMMDD text)")
    assert rows["issued"].startswith("datetime | %y%m%d %H:%M:%S")
    assert rows["seen"].startswith("datetime | %Y-%m-%d %H:%M:%S.%f, 3-digit fractions of a second")
    assert rows["amount"].startswith("numeric | decimal (2 places)")
    assert rows["price"].startswith("numeric | decimal (1 place)")
