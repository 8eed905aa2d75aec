"""``synthdb generate --ray`` of a database's twin on a two-node Ray cluster on this machine,
beside one process (issue 16, part 3: "a database twin fans tables and shards out too").

1. a model of Berka (``benchmarks/jobs/berka.yaml``; ``--model``, or one trained here for one
   epoch: generation's cost follows the networks' sizes, not the epochs);
2. ``synthdb generate --scale S`` in one process to a folder of CSV files (wall time, peak RSS);
3. a local cluster of two nodes with one CPU each (``ray.cluster_utils.Cluster``) and the same
   command with ``--ray ADDRESS --workers 2`` as its own process: wall time, the driver's peak
   RSS and each worker's (``VmHWM`` of the ``ray::TableDrawer`` processes);
4. whether every file of the two folders has the same bytes (SHA-256 per file);
5. the figures merged into ``--out`` (one entry per scale) and printed.

    .venv/bin/python benchmarks/ray_database.py --scale 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ray_generate import GIB, WorkerMemory, sha256, synthdb, timed, two_nodes

ROOT = Path(__file__).resolve().parents[1]
BERKA = ROOT / "benchmarks" / "jobs" / "berka.yaml"


def digests(folder: Path) -> dict[str, str]:
    return {path.name: sha256(path) for path in sorted(folder.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--model", type=Path, help="a database's model file (default: train one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, help="where outputs go (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ray_database.json")
    args = parser.parse_args()

    import ray

    with tempfile.TemporaryDirectory(prefix="ray-database-", dir=args.folder) as tmp:
        folder = Path(tmp)
        model = args.model
        if model is None:
            model = folder / "berka.synthdb"
            print("training a one-epoch model of Berka", flush=True)
            timed(synthdb("train", BERKA, "-o", model, "--max-epochs", 1, "-q"))
        common = ("--scale", args.scale, "--seed", args.seed, "-q")
        entry: dict[str, Any] = {
            "scale": args.scale,
            "model": "Berka, one epoch" if args.model is None else args.model.name,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "ray": ray.__version__,
        }
        single = folder / "single"
        seconds, peak = timed(synthdb("generate", model, "-o", single, *common))
        rows = sum(len(p.read_bytes().splitlines()) - 1 for p in single.iterdir())
        entry["rows"] = rows
        entry["single"] = {"seconds": round(seconds, 1), "peak_rss_gib": round(peak / GIB, 2)}
        print(f"one process: {rows:,} rows in {seconds:.1f} s", flush=True)

        with two_nodes() as (address, start_seconds):
            entry["cluster_start_seconds"] = start_seconds
            output = folder / "ray"
            memory = WorkerMemory("TableDrawer")
            memory.start()
            flags = ("--ray", address, "--workers", 2)
            seconds, peak = timed(synthdb("generate", model, "-o", output, *common, *flags))
            memory.done.set()
            memory.join()
        entry["ray_two_nodes"] = {
            "seconds": round(seconds, 1),
            "driver_peak_rss_gib": round(peak / GIB, 2),
            "worker_peak_rss_gib": sorted(round(p / GIB, 2) for p in memory.peaks.values()),
        }
        entry["identical_to_one_process"] = digests(output) == digests(single)
        entry["tables"] = len(list(single.iterdir()))

    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results[f"berka-scale-{args.scale:g}"] = entry
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(entry, indent=2))
    if not entry["identical_to_one_process"]:
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
