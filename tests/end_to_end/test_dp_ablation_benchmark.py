"""benchmarks/dp_ablation.py on a few hundred bundled rows: the script behind the epsilon-4
ablation table runs, honours ``--variants`` (privacy keys included) and writes its JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_harness import REPO, TIMEOUT, adult, environment


def test_the_ablation_script_runs_each_variant_per_noise_seed(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    adult().sample(2_000, random_state=3).to_csv(train, index=False)
    variants = [
        {"name": "one epoch", "max_epochs": 1},
        {"name": "one epoch, no calibration", "max_epochs": 1, "calibration": False},
    ]
    out = tmp_path / "ablation.jsonl"
    done = subprocess.run(
        [
            sys.executable, str(REPO / "benchmarks" / "dp_ablation.py"), "--train", str(train),
            "--epsilon", "10", "--noise-seeds", "0", "--variants", json.dumps(variants),
            "--out", str(out),
        ],
        capture_output=True, text=True, env=environment(), timeout=TIMEOUT, check=False,
        cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["name"] for line in lines] == [v["name"] for v in variants]
    for line in lines:
        assert line["epsilon"] == 10.0 and line["noise_seed"] == 0
        figures = [line[k] for k in ("univariate", "bivariate", "trivariate")]
        assert all(0.5 < f <= 1.0 for f in figures)
        assert abs(line["mean_of_three"] - sum(figures) / 3) < 1e-3  # of unrounded figures
