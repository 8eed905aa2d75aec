"""The rivals' conditional generation on the conditions of benchmarks/conditional.py.

- ``mostly``: mostlyai-engine 2.7.3 (TabularARGN, trained with its default
  ``enable_flexible_generation=True``, i.e. on random column orders), then seeded generation:
  ``engine.generate(seed_data=...)``, one row per seed row.
- ``sdv``: SDV 2.0's GaussianCopulaSynthesizer (the only SDV model that trains here in
  seconds; CTGAN and TVAE take 4-10 minutes, DESIGN.md section 8), then
  ``sample_remaining_columns(known_columns=...)``, which samples by rejection.

Each writes ``<tool>_income_sex.csv``, ``<tool>_armed_forces.csv`` (or the error it raised)
and ``<tool>.json`` (seconds) into ``--work``; ``benchmarks/conditional.py --rivals WORK``
scores them with synthdb's accuracy. Runs inside the tool's venv::

    .bench-venv/bin/python benchmarks/rival_conditional.py mostly --work benchmarks/work/cond
    .bench-venv-sdv/bin/python benchmarks/rival_conditional.py sdv --work benchmarks/work/cond
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from split_adult import DEFAULT_SOURCE, read_csv, split

GIVEN = ["income", "sex"]
RARE_ROWS = 500
SEED = 42
#: mostlyai-engine's own training cap (minutes); its default early stop came at 134-268 s.
MOSTLY_MINUTES = 6.0


def _mostly(train: pd.DataFrame, seeds: dict[str, pd.DataFrame], work: Path) -> dict[str, Any]:
    from mostlyai import engine

    workspace = work / "mostly-ws"
    engine.set_random_state(SEED)
    started = time.perf_counter()
    engine.split(tgt_data=train, workspace_dir=workspace)
    engine.analyze(workspace_dir=workspace)
    engine.encode(workspace_dir=workspace)
    engine.train(workspace_dir=workspace, max_training_time=MOSTLY_MINUTES)
    out: dict[str, Any] = {"train_s": round(time.perf_counter() - started, 1)}
    for name, seed in seeds.items():
        started = time.perf_counter()
        engine.generate(workspace_dir=workspace, seed_data=seed)
        rows = pd.read_parquet(workspace / "SyntheticData")
        out[name] = {"seconds": round(time.perf_counter() - started, 2), "rows": len(rows)}
        rows.to_csv(work / f"mostly_{name}.csv", index=False)
    return out


def _sdv(train: pd.DataFrame, seeds: dict[str, pd.DataFrame], work: Path) -> dict[str, Any]:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    metadata = Metadata.detect_from_dataframes({"adult": train})
    synthesizer = GaussianCopulaSynthesizer(metadata)
    started = time.perf_counter()
    synthesizer.fit({"adult": train})
    out: dict[str, Any] = {
        "model": "GaussianCopula",
        "train_s": round(time.perf_counter() - started, 1),
    }
    for name, seed in seeds.items():
        started = time.perf_counter()
        try:
            rows = synthesizer.sample_remaining_columns(known_columns=seed)
            if isinstance(rows, dict):  # this SDV build returns {table: frame}
                rows = rows["adult"]
        except Exception as exc:  # the rival's own failure is the figure
            out[name] = {
                "seconds": round(time.perf_counter() - started, 2),
                "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
            }
            traceback.print_exc()
            continue
        out[name] = {"seconds": round(time.perf_counter() - started, 2), "rows": len(rows)}
        rows.to_csv(work / f"sdv_{name}.csv", index=False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=["mostly", "sdv"])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    train, holdout = split(read_csv(args.source))
    seeds = {
        "income_sex": holdout[GIVEN].reset_index(drop=True),
        "armed_forces": pd.DataFrame({"occupation": ["Armed-Forces"] * RARE_ROWS}),
    }
    run = _mostly if args.tool == "mostly" else _sdv
    figures = run(train.reset_index(drop=True), seeds, args.work)
    (args.work / f"{args.tool}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
