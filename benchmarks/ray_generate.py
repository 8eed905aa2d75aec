"""``synthdb generate --ray`` on a two-node Ray cluster on this machine, beside one process.

Issue 16 asks for 300,000 rows byte-identical to a single process, and 100,000,000 rows to
Parquet with wall time, rows/s and memory per worker. Steps:

1. a model of Adult (``--model``, or one trained here on all 48,842 rows for one epoch: the
   network's size follows the columns' cardinalities, not the epochs);
2. unless ``--no-single``, ``synthdb generate`` in one process (its wall time and peak RSS);
3. a local cluster of two nodes with one CPU each (``ray.cluster_utils.Cluster``), and
   ``synthdb generate --ray ADDRESS --workers 2`` as its own process: wall time, the driver's
   peak RSS, and each worker's peak RSS (``VmHWM`` of the ``ray::Drawer`` processes, read
   from /proc every 0.2 s);
4. the two outputs' SHA-256, which must be equal;
5. the figures merged into ``--out`` (one entry per rows and format) and printed.

    .venv/bin/python benchmarks/ray_generate.py                       # 300,000 rows, CSV
    .venv/bin/python benchmarks/ray_generate.py --rows 100000000 --format parquet --no-single
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult.csv.gz"
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


class WorkerMemory(threading.Thread):
    """Peak RSS of every ``ray::Drawer`` process (or ``ray::<actor>``) seen while it runs
    (VmHWM is the kernel's high-water mark, so polling misses nothing between two looks)."""

    def __init__(self, actor: str = "Drawer") -> None:
        super().__init__(daemon=True)
        self.title = f"ray::{actor}".encode()
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    title = (entry / "cmdline").read_bytes().split(b"\0")[0]
                    if not title.startswith(self.title):
                        continue
                    for line in (entry / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak = int(line.split()[1]) * 1024
                            self.peaks[int(entry.name)] = max(
                                peak, self.peaks.get(int(entry.name), 0)
                            )
                except OSError:
                    continue


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def two_nodes() -> Iterator[tuple[str, float]]:
    """A local Ray cluster of two nodes with one CPU each: its address and the seconds it took
    to start (the benchmarks' commands connect to it themselves); shut down on leaving."""
    import ray
    from ray.cluster_utils import Cluster

    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address)
        cluster.wait_for_nodes()
        ray.shutdown()
        yield cluster.address, round(time.monotonic() - started, 1)
    finally:
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--model", type=Path, help="a table's model file (default: train one)")
    parser.add_argument("--no-single", action="store_true", help="skip the one-process run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, help="where outputs go (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ray_generate.json")
    args = parser.parse_args()

    import ray

    with tempfile.TemporaryDirectory(prefix="ray-generate-", dir=args.folder) as tmp:
        folder = Path(tmp)
        model = args.model
        if model is None:
            model = folder / "adult.synthdb"
            print("training a one-epoch model of Adult", flush=True)
            timed(synthdb("train", ADULT, "-o", model, "--max-epochs", 1, "-q"))
        common = ("--rows", args.rows, "--seed", args.seed, "-q")
        entry: dict[str, Any] = {
            "rows": args.rows,
            "format": args.format,
            "model": "Adult, one epoch" if args.model is None else args.model.name,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "ray": ray.__version__,
        }
        single_sha = None
        if not args.no_single:
            single = folder / f"single.{args.format}"
            seconds, peak = timed(synthdb("generate", model, "-o", single, *common))
            single_sha = sha256(single)
            entry["single"] = {
                "seconds": round(seconds, 1),
                "rows_per_second": round(args.rows / seconds),
                "peak_rss_gib": round(peak / GIB, 2),
                "bytes": single.stat().st_size,
            }
            single.unlink()
            print(f"one process: {seconds:.1f} s", flush=True)

        with two_nodes() as (address, start_seconds):
            entry["cluster_start_seconds"] = start_seconds
            output = folder / f"ray.{args.format}"
            memory = WorkerMemory()
            memory.start()
            flags = ("--ray", address, "--workers", 2)
            seconds, peak = timed(synthdb("generate", model, "-o", output, *common, *flags))
            memory.done.set()
            memory.join()
        ray_sha = sha256(output)
        entry["ray_two_nodes"] = {
            "seconds": round(seconds, 1),
            "rows_per_second": round(args.rows / seconds),
            "driver_peak_rss_gib": round(peak / GIB, 2),
            "worker_peak_rss_gib": sorted(round(p / GIB, 2) for p in memory.peaks.values()),
            "bytes": output.stat().st_size,
        }
        entry["sha256"] = ray_sha
        if single_sha is not None:
            entry["identical_to_one_process"] = ray_sha == single_sha

    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results[f"{args.rows}-{args.format}"] = entry
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(entry, indent=2))
    if entry.get("identical_to_one_process") is False:
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
