"""Fingerprints of training, with and without DP: does a change to the code move any output?

Trains a fixed set of cases with fixed seeds (the DP noise seeded through ``noise_seed``, which
only tests and checks like this one should do) and prints one JSON line per case: hashes of
the weights, of 2,000 generated rows (39,074 on the full split), of the encoders and of the
ledger, the NULL report, the stop reason and, on the full split, synthdb's own accuracy (mean
of univariate, bivariate and trivariate). Run it on two code trees and compare the lines:
identical hashes mean identical behaviour, DP included. Timings are printed but not compared.

    PYTHONPATH=OLD/src .venv/bin/python benchmarks/fingerprints.py --out old.jsonl
    PYTHONPATH=src .venv/bin/python benchmarks/fingerprints.py --out new.jsonl
    .venv/bin/python benchmarks/fingerprints.py --compare old.jsonl new.jsonl

Small cases (seconds each): Adult samples under every NULL policy, patience, DP at epsilon 1
and 4 with micro-batches, a budget-limited noise multiplier, public columns, marked dates, and
a constructed database (child tables trained under their parents). ``--full`` adds the Adult
train split of ``benchmarks/split_adult.py`` with CLI defaults and at epsilon 1 and 4 (delta
1e-5, noise seed 0): a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parent.parent
SMALL = {"hidden": 16, "embedding_dim": 4}


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _json_hash(value: Any) -> str:
    return _hash(json.dumps(value, sort_keys=True, default=str).encode())


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def fingerprint(model: Any, rows: int) -> dict[str, Any]:
    state = model.state
    weights = b"".join(
        k.encode() + v.detach().numpy().tobytes() for k, v in sorted(state.net.state_dict().items())
    )
    return {
        "weights": _hash(weights),
        "sample": _hash(model.sample(rows, seed=7).to_csv(index=False).encode()),
        "encoder": _json_hash(state.encoder.to_dict()),
        "schema": _json_hash(state.schema.to_dict()),
        "ledger": _json_hash(state.ledger.to_dict()) if state.ledger else None,
        "total_epsilon": state.ledger.total_epsilon if state.ledger else None,
        "nulls": _finite(state.nulls.to_dict()),
        "result": _json_hash(_finite(state.result.to_dict())),
        "stop": state.result.stop_reason,
        "epochs": len(state.result.epochs),
    }


def _adult(rows: int, seed: int) -> pd.DataFrame:
    from synthdb.io import read_table

    return read_table(REPO / "data" / "adult.csv.gz").sample(rows, random_state=seed)


def _with_nulls() -> pd.DataFrame:
    frame = _adult(3_000, 7).reset_index(drop=True)
    frame["hours_per_week"] = frame["hours_per_week"].where(np.arange(3_000) % 13 != 0)
    return frame


def _marked(nulls: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    days = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 20_000, 3_000), "D")
    numbers = days.strftime("%y%m%d").astype(int) + np.where(np.arange(3_000) % 2, 5_000, 0)
    frame = pd.DataFrame(
        {
            "birth_number": pd.Series(numbers, dtype="Int64"),
            "city": rng.choice(["a", "b", "c"], 3_000),
            "n": rng.integers(0, 400, 3_000),
        }
    )
    if nulls:
        frame.loc[::11, "birth_number"] = pd.NA
    return frame


def _plain(frame: pd.DataFrame, **values: Any) -> Any:
    from synthdb import Synthesizer, TrainingConfig

    return Synthesizer(TrainingConfig(**{**SMALL, **values})).fit(frame)


def _private(frame: pd.DataFrame, epsilon: float, **values: Any) -> Any:
    from synthdb import Synthesizer, TrainingConfig

    privacy = {"epsilon": epsilon, "noise_seed": 1}
    privacy.update({k: values.pop(k) for k in list(values) if k in PRIVACY_KEYS})
    values = {**SMALL, "nulls": "keep", "max_epochs": 2, **values}
    config = TrainingConfig(**values, privacy=privacy)
    return Synthesizer(config).fit(frame)


PRIVACY_KEYS = ("microbatches", "clip", "noise_multiplier", "calibration", "public")
PUBLIC = {"sex": {"categories": ["Male", "Female"]}, "age": {"bounds": [17.0, 90.0]}}

CASES: dict[str, Callable[[], Any]] = {
    "plain keep": lambda: _plain(_adult(3_000, 7), max_epochs=3, batch_size=512, nulls="keep"),
    "plain replace": lambda: _plain(_with_nulls(), max_epochs=3, nulls="replace", seed=1),
    "plain drop": lambda: _plain(_with_nulls(), max_epochs=3, nulls="drop", seed=2),
    "plain patience": lambda: _plain(_adult(2_000, 11), max_epochs=30, patience=1, seed=5),
    "plain marked": lambda: _plain(_marked(), max_epochs=2, seed=1),
    "dp1 keep": lambda: _private(_adult(3_000, 7), 1.0),
    "dp4 replace micro": lambda: _private(
        _with_nulls(), 4.0, nulls="replace", microbatches=8, clip=0.5
    ),
    "dp1 drop": lambda: _private(_with_nulls(), 1.0, nulls="drop", max_epochs=3),
    "dp budget": lambda: _private(_adult(3_000, 7), 1.0, noise_multiplier=2.5, max_epochs=200),
    "dp public": lambda: _private(_adult(3_000, 7), 2.0, calibration=False, public=PUBLIC),
    "dp marked": lambda: _private(_marked(nulls=True), 2.0, nulls="replace"),
}


def _database() -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.unit.relational.test_database_model import _database as database

    from synthdb import TrainingConfig
    from synthdb.relational.model import DatabaseModel

    schema, frames = database()
    model = DatabaseModel(TrainingConfig(max_epochs=3, seed=1)).fit(schema, frames)
    out = model.generate(seed=2)
    return {name: _hash(frame.to_csv(index=False).encode()) for name, frame in sorted(out.items())}


def _full(name: str, train: pd.DataFrame) -> dict[str, Any]:
    from synthdb import Synthesizer, TrainingConfig
    from synthdb.study import _Scorer

    privacy = None if name == "full plain" else {"epsilon": float(name[-1]), "delta": 1e-5}
    if privacy is not None:
        privacy["noise_seed"] = 0
    model = Synthesizer(TrainingConfig(nulls="keep", privacy=privacy)).fit(train, table="adult")
    out = fingerprint(model, len(train))
    _, uni, biv, tri = _Scorer(train, "adult").score(model.sample(len(train), seed=7))
    out["own_accuracy"] = round((uni + biv + tri) / 3, 4)
    return out


def compare(old: Path, new: Path) -> int:
    def lines(path: Path) -> dict[str, dict[str, Any]]:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return {r["case"]: {k: v for k, v in r.items() if k != "seconds"} for r in rows}

    before, after = lines(old), lines(new)
    moved = 0
    for case in before:
        if case not in after:
            print(f"missing  {case}")
            moved += 1
            continue
        diff = [k for k in before[case] if before[case][k] != after[case].get(k)]
        print(f"{'moved' if diff else 'same':8} {case}  {' '.join(diff)}")
        moved += bool(diff)
    return 1 if moved else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="append one JSON line per case here")
    parser.add_argument("--only", nargs="+", help="case names to run (default: all small)")
    parser.add_argument("--full", type=Path, help="also the full split: adult_train.csv")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    torch.set_num_threads(1)
    runs: dict[str, Callable[[], Any]] = {
        name: (lambda make=make: fingerprint(make(), 2_000)) for name, make in CASES.items()
    }
    runs["database"] = _database
    if args.full:
        train = pd.read_csv(args.full, keep_default_na=False, na_values=[""])
        for name in ("full plain", "full dp1", "full dp4"):
            runs[name] = lambda name=name: _full(name, train)
    for name, make in runs.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        row = {"case": name, **make(), "seconds": round(time.monotonic() - started, 1)}
        print(json.dumps(row), flush=True)
        if args.out:
            with args.out.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
