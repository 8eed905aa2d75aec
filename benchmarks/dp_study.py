"""The DP hyperparameter study on Adult: ``synthdb study`` for micro-batches, noise, clip and
learning rate, at epsilon 3, on the seed-42 80/20 train split (split_adult.py), NULLs kept.

Produces ``benchmarks/results/dp_study_<sweep>.json`` (every run, the means, the fits),
``benchmarks/results/dp_study.json`` (the command, the machine and each sweep's fits) and the
plots ``docs/study-<sweep>.png``::

    .venv/bin/python benchmarks/dp_study.py

Fixed for every run: epsilon 3, 5 epochs, batches of 2,048 rows (the size ``synthdb train
--epsilon`` picks for the 39,074 training rows: 19-20 Poisson steps per epoch), noise ``auto``
except in the noise sweep. The noise sweep caps epochs at :data:`NOISE_EPOCHS` instead, and
sweeps noise multipliers at and below ``auto`` for that cap: each run trains until epsilon is
spent, so a lower noise buys fewer epochs. Micro-batches 1, 2, 4, ..., 2048 with 3 seeds
each; the noise, clip and learning-rate sweeps 5 values with 2 seeds each (``--sweep-seeds``).
Accuracy is ``synthdb.evaluate``'s overall figure against the training rows; the holdout's
accuracy is drawn as the ceiling. Time on a quiet 2-core machine: about 40 minutes (20 for
the micro-batches, where 1 and 2 groups cost 115 s and 51 s a run; per run about 6 s of DP
statistics and noise calibration, 2.5-23 s per epoch, 1-2 s to generate and score; values the
planner refuses cost the 6 s only). Training time is one of the results, so run it on
otherwise idle cores.

``--smoke`` runs the same path in seconds on 1,200 rows of the bundled data/adult.csv.gz (one
epoch, one seed, two clipping norms) and writes into the work
folder, not into results/ or docs/; the test suite runs it.

The study itself is the product's command; this driver only prepares the data, runs it once
per sweep as its own process, and publishes the outputs (each copied under a temporary name,
then renamed, after its sweep has finished).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "adult.csv"
SMOKE_SOURCE = REPO / "data" / "adult.csv.gz"
SWEEPS = ("microbatches", "noise", "clip", "learning-rate")
#: The smoke run sweeps the clip only: the test suite runs the micro-batch study by itself.
SMOKE_VALUES = {"clip": "0.5,2"}
#: The noise sweep's epoch cap: high enough that the budget, not the cap, ends every run, so
#: each noise multiplier buys the steps epsilon allows it (the trade-off being charted).
NOISE_EPOCHS = 40


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="adult.csv to split")
    parser.add_argument("--sweeps", nargs="+", choices=SWEEPS, default=list(SWEEPS))
    parser.add_argument("--epsilon", type=float, default=3.0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the micro-batch sweep")
    parser.add_argument("--sweep-seeds", type=int, default=2, help="seeds of the other sweeps")
    parser.add_argument("--work-dir", type=Path, default=BENCH / "work")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--docs-dir", type=Path, default=REPO / "docs")
    parser.add_argument("--smoke", action="store_true", help="tiny data, seconds, work dir only")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sweeps = [s for s in args.sweeps if s in SMOKE_VALUES]
        args.epochs, args.batch_size, args.seeds, args.sweep_seeds = 1, 32, 1, 1
        args.epsilon = 8.0  # 1,200 rows cannot carry epsilon 3
        args.results_dir = args.docs_dir = args.work_dir / "dp_study_smoke"
    return args


def prepare_data(args: argparse.Namespace) -> tuple[Path, Path]:
    """The train and holdout CSVs: split_adult.py's, or the smoke test's slices."""
    if args.smoke:
        import pandas as pd

        folder = args.work_dir / "dp_study_smoke"
        folder.mkdir(parents=True, exist_ok=True)
        frame = pd.read_csv(SMOKE_SOURCE, dtype=str, keep_default_na=False, na_values=[""])
        frame = frame.sample(1600, random_state=0)
        train, holdout = folder / "train.csv", folder / "holdout.csv"
        frame.iloc[:1200].to_csv(train, index=False)
        frame.iloc[1200:].to_csv(holdout, index=False)
        return train, holdout
    if not args.source.is_file():
        raise SystemExit(f"[dp_study] source CSV not found: {args.source} (pass --source)")
    command = [sys.executable, str(BENCH / "split_adult.py"), "--source", str(args.source)]
    subprocess.run([*command, "--work-dir", str(args.work_dir)], check=True)
    return args.work_dir / "adult_train.csv", args.work_dir / "adult_holdout.csv"


def study_command(
    args: argparse.Namespace, sweep: str, train: Path, holdout: Path, out: Path
) -> list[str]:
    seeds = args.seeds if sweep == "microbatches" else args.sweep_seeds
    epochs = NOISE_EPOCHS if sweep == "noise" and not args.smoke else args.epochs
    command = [
        sys.executable, "-m", "synthdb.cli.app", "study", sweep, str(train),
        "-o", str(out), "--holdout", str(holdout), "--nulls", "keep",
        "--epsilon", f"{args.epsilon:g}", "--epochs", str(epochs),
        "--batch-size", str(args.batch_size), "--seeds", str(seeds), "--overwrite",
    ]  # fmt: skip
    if args.smoke:
        command += ["--values", SMOKE_VALUES[sweep]]
    return command


def publish(source: Path, target: Path) -> None:
    """Copy under a temporary name beside ``target``, then rename: never half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train, holdout = prepare_data(args)
    out = args.work_dir / ("dp_study_smoke" if args.smoke else "dp_study") / "study"
    summary: dict[str, Any] = {
        "benchmark": "dp_study",
        "date": dt.date.today().isoformat(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "command": shlex.join(["python", "benchmarks/dp_study.py", *(argv or sys.argv[1:])]),
        "data": {"train": train.name, "holdout": holdout.name},
        "sweeps": {},
    }
    summary_path = args.results_dir / "dp_study.json"
    if summary_path.exists():  # sweeps not rerun this time keep their last entry
        summary["sweeps"] = json.loads(summary_path.read_text()).get("sweeps", {})
    for sweep in args.sweeps:
        command = study_command(args, sweep, train, holdout, out)
        print(f"[dp_study] {shlex.join(command)}", flush=True)
        started = time.monotonic()
        subprocess.run(command, check=True, cwd=REPO)
        seconds = time.monotonic() - started
        data = json.loads((out / f"study-{sweep}.json").read_text())
        name = sweep.replace("-", "_")
        publish(out / f"study-{sweep}.json", args.results_dir / f"dp_study_{name}.json")
        publish(out / f"study-{sweep}.png", args.docs_dir / f"study-{sweep}.png")
        summary["sweeps"][sweep] = {
            "seconds": round(seconds, 1),
            "settings": data["settings"],
            "ceiling": data["ceiling"],
            "refused": data["refused"],
            "means": data["means"],
            "fits": data["fits"],
        }
        temporary = summary_path.with_name(f".{summary_path.name}.tmp")
        temporary.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, summary_path)
        print(f"[dp_study] {sweep}: {seconds:.0f} s; fits:", flush=True)
        for fitted in data["fits"]:
            print(f"  {fitted['equation']}  (R^2 {fitted['r2']:.3f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
