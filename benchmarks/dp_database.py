"""Berka (or any database job) under differential privacy: the ledger against Google's
dp-accounting PLD, and the twin's scores, from a ``synthdb run`` already done.

    synthdb run benchmarks/jobs/berka_dp.yaml -o DIR/ --json SCORES.json --model MODEL \
        --epsilon 4
    .venv/bin/python benchmarks/dp_database.py MODEL SCORES.json

Prints, per DP-SGD entry, our epsilon beside PLD's for the recorded noise multiplier, sample
rate, steps and delta (ours must not be lower), the ledger's total against the budget, and the
per-table accuracy and children-per-parent scores of the twin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dp_accounting
from dp_accounting import pld

from synthdb.modelfile import read_manifest
from synthdb.privacy.ledger import Ledger


def pld_epsilon(noise: float, rate: float, steps: int, delta: float) -> float:
    accountant = pld.PLDAccountant(value_discretization_interval=1e-4)
    event = dp_accounting.PoissonSampledDpEvent(rate, dp_accounting.GaussianDpEvent(noise))
    accountant.compose(event, steps)
    return float(accountant.get_epsilon(delta))


def main(model: str, scores: str) -> None:
    ledger = Ledger.from_dict(read_manifest(Path(model))["privacy"])
    result: dict[str, object] = {"total_epsilon": ledger.total_epsilon}
    checks = []
    for entry in ledger.entries:
        if entry.mechanism != "dp-sgd":
            continue
        assert entry.noise_multiplier and entry.sample_rate and entry.steps
        theirs = pld_epsilon(entry.noise_multiplier, entry.sample_rate, entry.steps, entry.delta)
        checks.append(
            {
                "target": entry.target,
                "noise_multiplier": round(entry.noise_multiplier, 4),
                "sample_rate": round(entry.sample_rate, 5),
                "steps": entry.steps,
                "epsilon": round(entry.epsilon, 4),
                "pld_epsilon": round(theirs, 4),
                "holds": entry.epsilon >= theirs,
            }
        )
    result["dp_sgd"] = checks
    data = json.loads(Path(scores).read_text())
    result["accuracy"] = {t["table"]: round(t["overall"], 4) for t in data["tables"]}
    result["children"] = {
        f"{r['child']} per {r['parent']}": round(r["accuracy"], 4) for r in data["relations"]
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
