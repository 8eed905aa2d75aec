"""Seconds per training epoch with and without DP-SGD: same model, same batch size, Adult.

The bar (DESIGN.md section 6): a DP epoch with per-example clipping takes at most twice a
non-private one. Both epochs below take the steps synthdb's training loop takes, through its
own step strategies: the non-private one (:class:`synthdb.training.loop.ShuffledBatches`)
shuffles and steps AdamW on the mean loss, one pass over the rows; the private one
(:class:`synthdb.privacy.dpsgd.PoissonSteps`) draws Poisson batches of the same expected size,
clips every example's gradient (ghost norms), adds noise and steps Adam. Also timed: 64
micro-batches. CPU time is reported beside wall time because only
CPU time is meaningful on a machine that other jobs share.

    .venv/bin/python benchmarks/dp_epoch_time.py [--csv ../shared/datasets/adult.csv]
        [--batch 1024 4096] [--epochs 2] [--json benchmarks/results/dp_epoch_time.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synthdb.encoding.table import TableEncoder
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.privacy.dpsgd import PoissonSteps, StepSettings, steps_per_epoch
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed
from synthdb.training.loop import ShuffledBatches

REPO = Path(__file__).resolve().parents[1]


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def plain_epoch(net: AutoregressiveNet, tokens: np.ndarray, batch: int) -> None:
    steps = ShuffledBatches(tokens, batch, 1e-3, seed=0)
    steps.start(net)
    steps.start_epoch()
    for _ in range(max(1, len(tokens) // batch)):  # one pass over the rows
        steps.step(net)


def private_epoch(
    net: AutoregressiveNet, tokens: np.ndarray, batch: int, microbatches: int | None
) -> None:
    groups = float(batch if microbatches is None else microbatches)
    settings = StepSettings(1.0, 1.0, microbatches, groups)
    rate = batch / len(tokens)
    generator = torch.Generator().manual_seed(0)
    steps = PoissonSteps(tokens, rate, steps_per_epoch(rate), settings, 1e-3, generator)
    steps.start(net)
    steps.start_epoch()
    for _ in range(steps.steps_per_epoch):
        steps.step(net)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=str(REPO.parent / "shared" / "datasets" / "adult.csv"))
    parser.add_argument("--batch", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    frame = pd.read_csv(args.csv, dtype=str, keep_default_na=False, na_values=[""])
    schema = infer_schema(frame, "adult")
    typed = to_typed(frame, schema)
    encoder = TableEncoder.fit(typed, schema)
    data = encoder.encode(typed)
    shape = NetworkShape(
        cardinalities=tuple(s.cardinality for s in encoder.sub_columns),
        hidden_inputs=tuple(i for i, s in enumerate(encoder.sub_columns) if not s.context),
    )
    results = []
    for batch in args.batch:
        row: dict[str, float | int] = {"batch": batch, "rows": len(data)}
        runs = {
            "plain": lambda net, b=batch: plain_epoch(net, data, b),
            "dp_per_example": lambda net, b=batch: private_epoch(net, data, b, None),
            "dp_64_microbatches": lambda net, b=batch: private_epoch(net, data, b, 64),
        }
        for name, run in runs.items():
            torch.manual_seed(0)
            net = AutoregressiveNet(shape)
            net.train()
            wall0, cpu0 = clock()
            for _ in range(args.epochs):
                run(net)
            wall1, cpu1 = clock()
            row[f"{name}_wall_s"] = round((wall1 - wall0) / args.epochs, 3)
            row[f"{name}_cpu_s"] = round((cpu1 - cpu0) / args.epochs, 3)
        row["ratio_cpu"] = round(row["dp_per_example_cpu_s"] / row["plain_cpu_s"], 3)
        row["ratio_wall"] = round(row["dp_per_example_wall_s"] / row["plain_wall_s"], 3)
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
