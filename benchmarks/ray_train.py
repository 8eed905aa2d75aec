"""``synthdb train --ray`` on a two-node Ray cluster on this machine, beside one process.

Issue 16 asks that data-parallel training with 2 workers reach the single process's accuracy
on Adult within 0.01. Steps:

1. the fixed Adult split (``split_adult.py``: 39,074 train rows, 9,768 holdout rows);
2. ``synthdb train`` on the train rows in one process, and the same command with ``--ray
   ADDRESS --workers 2`` against a local cluster of two nodes with one CPU each
   (``ray.cluster_utils.Cluster``), both with the same flags (CLI defaults, ``--nulls keep``,
   ``--seed``, ``--max-epochs``); wall times are the commands' own, start-up included, the
   cluster's start not;
3. 39,074 rows generated from each model (the same generation seed), scored by ``referee.py``
   (mostlyai-qa's accuracy, run with ``.bench-venv``'s Python; without it, synthdb's own
   measure, and the ``referee`` field says which);
4. the figures written to ``--out`` and printed.

    .venv/bin/python benchmarks/ray_train.py [--max-epochs 35] [--seed 1] \\
        [--referee-python .bench-venv/bin/python]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ray_generate import two_nodes

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
#: the referee's Python: ``.bench-venv``'s, which has mostlyai-qa
REFEREE_PY = ROOT / ".bench-venv" / "bin" / "python"
#: the issue's bar: 2-worker accuracy at most this far below one process's
BAR = 0.01


def synthdb(*args: object) -> list[str]:
    return [sys.executable, "-m", "synthdb.cli.app", *(str(a) for a in args)]


def timed(command: list[str]) -> float:
    """Run ``command``; its wall seconds."""
    started = time.monotonic()
    subprocess.run(command, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return time.monotonic() - started


def score(
    python: Path, work: Path, name: str, synthetic: Path, train: Path, holdout: Path
) -> dict[str, Any]:
    """The referee's accuracy of ``synthetic`` (mostlyai-qa where ``python`` has it)."""
    out = work / f"{name}_referee.json"
    command = [str(python), str(BENCH / "referee.py"), "--train", str(train), "--holdout"]
    command += [str(holdout), "--synthetic", str(synthetic), "--out", str(out), "--seed", "42"]
    subprocess.run([*command, "--no-holdout-ceiling"], check=True)
    result = json.loads(out.read_text())
    accuracy = result["accuracy"]
    return {
        "referee": result.get("referee", "mostlyai-qa"),
        "accuracy": {k: accuracy[k] for k in ("overall", "univariate", "bivariate", "trivariate")},
    }


def model_summary(path: Path) -> dict[str, Any]:
    from synthdb import Synthesizer

    training = Synthesizer.load(path).training
    return {
        "stop_reason": training.stop_reason,
        "epochs": len(training.epochs),
        "best_epoch": training.best_epoch,
        "best_val_accuracy": round(training.best_accuracy, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-epochs", type=int, default=35)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generate-seed", type=int, default=7)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared/datasets/adult.csv")
    parser.add_argument("--out", type=Path, default=BENCH / "results/ray_train.json")
    parser.add_argument(
        "--referee-python",
        type=Path,
        default=REFEREE_PY,
        help="Python with mostlyai-qa (default: .bench-venv's; without it: synthdb's measure)",
    )
    args = parser.parse_args()
    referee = args.referee_python if args.referee_python.exists() else Path(sys.executable)

    import ray

    with tempfile.TemporaryDirectory(prefix="ray-train-") as tmp:
        work = Path(tmp)
        split = [sys.executable, str(BENCH / "split_adult.py"), "--source", str(args.source)]
        subprocess.run([*split, "--work-dir", str(work)], check=True)
        train, holdout = work / "adult_train.csv", work / "adult_holdout.csv"
        flags = ("--nulls", "keep", "--seed", args.seed, "--max-epochs", args.max_epochs, "-q")
        entry: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other work",
            "ray": ray.__version__,
            "data": "Adult train split (39,074 rows), scored against the 9,768 holdout rows",
            "command": "synthdb train adult_train.csv -o M " + " ".join(map(str, flags)),
            "generate": f"39,074 rows, --seed {args.generate_seed}",
        }
        runs: dict[str, dict[str, Any]] = {}

        print("training in one process", flush=True)
        single = work / "single.synthdb"
        runs["single"] = {
            "train_seconds": round(timed(synthdb("train", train, "-o", single, *flags)), 1)
        }

        with two_nodes() as (address, start_seconds):
            entry["cluster_start_seconds"] = start_seconds
            print("training on Ray, 2 workers", flush=True)
            on_ray = work / "ray.synthdb"
            extra = ("--ray", address, "--workers", 2)
            seconds = timed(synthdb("train", train, "-o", on_ray, *flags, *extra))
            runs["ray_2_workers"] = {"train_seconds": round(seconds, 1)}

        for name, model in (("single", single), ("ray_2_workers", on_ray)):
            synthetic = work / f"{name}.csv"
            subprocess.run(
                synthdb("generate", model, "-o", synthetic, "--rows", 39_074, "--seed",
                        args.generate_seed, "-q"),
                check=True,
            )  # fmt: skip
            runs[name] |= model_summary(model) | score(
                referee, work, name, synthetic, train, holdout
            )
        entry |= runs
        gap = runs["single"]["accuracy"]["overall"] - runs["ray_2_workers"]["accuracy"]["overall"]
        entry["overall_gap"] = round(gap, 6)
        entry["meets_bar"] = gap <= BAR

    args.out.write_text(json.dumps(entry, indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
