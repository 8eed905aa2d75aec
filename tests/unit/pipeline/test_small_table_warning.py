"""A single table under DP is told before training when its rows x epsilon are too few."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthdb.pipeline.events import EventLog
from synthdb.pipeline.inputs import training_config
from synthdb.pipeline.training import fit_table


def _messages(path: Path, epsilon: float) -> list[str]:
    log = EventLog()
    privacy = {"epsilon": epsilon, "delta": 1e-5, "noise_seed": 0}
    config = training_config(privacy=privacy, max_epochs=1)
    fit_table(str(path), path.name, None, "loan", "utf-8", config, log)
    return [str(e["text"]) for e in log.events if e["event"] == "message"]


def test_a_small_table_is_warned_and_a_large_budget_is_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "loan.csv"
    pd.DataFrame(
        {
            "amount": rng.integers(1_000, 9_000, 600),
            "duration": rng.choice([12, 24, 36], 600),
            "status": rng.choice(["A", "B"], 600),
        }
    ).to_csv(path, index=False)
    small = [m for m in _messages(path, 1.0) if m.startswith("warning: loan:")]
    assert len(small) == 1 and "preprocessing_share" in small[0]
    assert not [m for m in _messages(path, 50.0) if m.startswith("warning: loan:")]
