"""Long sequences: does time and memory per event stay bounded as sequences grow?

Issue 14 asks that sequences of thousands of rows train and generate in bounded time and
memory. Two real cases from nycflights13 (``../shared/datasets/nycflights13``), each learned
with ``synthdb train --sequence-key ... --order-by time_hour`` and drawn with ``synthdb
generate``, every step measured by ``measure.py`` (wall time and peak RSS of the process
tree):

- ``weather``: 3 sequences (one per airport) of about 8,700 hourly rows each;
- ``planes``: the flights of the planes with the most flights (at least 400 each).

Each case is also run on its first half of every sequence (sequences half as long, same
entities), so the JSON shows how generation time grows with length: with a window of two
elements it should double, not quadruple, and peak memory should barely move::

    .bench-venv/bin/python benchmarks/long_sequences.py [--epochs 5]

Results: ``benchmarks/results/long_sequences.json``; BENCHMARKS.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "datasets" / "nycflights13"
RESULTS = REPO / "benchmarks" / "results" / "long_sequences.json"
SYNTHDB = REPO / ".venv" / "bin" / "synthdb"
MEASURE = REPO / "benchmarks" / "measure.py"


def cases() -> dict[str, tuple[pd.DataFrame, str]]:
    """Each case's table and its sequence key (all ordered by ``time_hour``)."""
    weather = pd.read_csv(DATA / "weather.csv.gz", dtype=str)
    flights = pd.read_csv(DATA / "flights.csv.gz", dtype=str)
    counts = flights["tailnum"].value_counts()
    busy = counts[counts >= 400].index
    return {
        "weather": (weather, "origin"),
        "planes": (flights[flights["tailnum"].isin(busy)], "tailnum"),
    }


def first_half(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The first half (by time) of every sequence."""
    ordered = frame.sort_values([key, "time_hour"], kind="stable")
    position = ordered.groupby(key).cumcount()
    size = ordered.groupby(key)[key].transform("size")
    return ordered[position < size // 2]


def measured(command: list[str], folder: Path, name: str) -> dict[str, Any]:
    out = folder / f"{name}.json"
    subprocess.run([sys.executable, str(MEASURE), "--json", str(out), "--", *command], check=True)
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def run_case(frame: pd.DataFrame, key: str, name: str, epochs: int, folder: Path) -> dict[str, Any]:
    source = folder / f"{name}.csv"
    frame.to_csv(source, index=False)
    model, output = folder / f"{name}.synthdb", folder / f"{name}-twin.csv"
    train = measured(
        [str(SYNTHDB), "train", str(source), "-o", str(model), "--sequence-key", key,
         "--order-by", "time_hour", "--max-epochs", str(epochs), "--nulls", "keep", "--quiet"],
        folder,
        f"{name}-train",
    )  # fmt: skip
    generate = measured(
        [str(SYNTHDB), "generate", str(model), "-o", str(output), "--quiet"],
        folder,
        f"{name}-generate",
    )
    twin = pd.read_csv(output, dtype=str)
    lengths = frame.groupby(key).size()
    twin_lengths = twin.groupby(key).size()
    times = pd.to_datetime(twin["time_hour"])
    in_order = times.groupby(twin[key]).apply(lambda t: t.is_monotonic_increasing).mean()
    return {
        "rows": len(frame),
        "sequences": len(lengths),
        "longest": int(lengths.max()),
        "synthetic_rows": len(twin),
        "synthetic_longest": int(twin_lengths.max()),
        "synthetic_in_order": float(in_order),
        "train_seconds": train["wall_seconds"],
        "train_peak_rss_mb": train["peak_rss_mb"],
        "generate_seconds": generate["wall_seconds"],
        "generate_peak_rss_mb": generate["peak_rss_mb"],
        "generate_ms_per_position": 1000 * generate["wall_seconds"] / int(twin_lengths.max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "command": f"benchmarks/long_sequences.py --epochs {args.epochs}",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name, (frame, key) in cases().items():
            for part, table in (("half", first_half(frame, key)), ("full", frame)):
                label = f"{name}-{part}"
                print(f"{label}: {len(table):,} rows", flush=True)
                results["cases"][label] = run_case(table, key, label, args.epochs, folder)
                print(json.dumps(results["cases"][label]), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
