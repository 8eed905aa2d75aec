"""The end every rival runner shares: write the sampled rows as CSV and report the timings.

Runners live in different virtual environments, so this module needs only pandas, which all of
them have; each runner is started as ``python benchmarks/run_X.py`` and finds it beside itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd


def write_synthetic(
    synthetic: pd.DataFrame, output: Path, seed: int, started: float, sampled: float
) -> dict[str, Any]:
    """Write ``synthetic`` to ``output`` (empty field = NULL) and return the step's figures;
    ``started`` and ``sampled`` are ``time.perf_counter()`` readings before and after sampling."""
    output.parent.mkdir(parents=True, exist_ok=True)
    synthetic.to_csv(output, index=False, na_rep="")
    written = time.perf_counter()
    return {
        "rows": len(synthetic),
        "seed": seed,
        "sample_seconds": round(sampled - started, 3),
        "write_csv_seconds": round(written - sampled, 3),
        "generate_seconds": round(written - started, 3),
    }
