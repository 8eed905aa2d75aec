"""Run smartnoise-synth's MST or AIM on a CSV at a given epsilon, as its documentation shows.

Both are marginal-based DP synthesizers (private-pgm underneath): they need every column
discrete, so numeric columns are declared continuous and smartnoise's own default transformer
bins them (10 equal-width bins between DP-estimated bounds). Estimating the bounds costs
budget: ``--preprocessor-share`` (default 10%) of epsilon goes to it, the rest to the
synthesizer, so the total is the epsilon the run is labelled with. NULL is allowed
(``nullable=True``). Everything else is the library's default.

Training and generation are separate processes, as for every tool in the side-by-side
(the fitted synthesizer holds closures, so it is saved with cloudpickle)::

    python run_smartnoise.py train --synth mst --epsilon 1 --train T.csv --model M.pkl --json t.json
    python run_smartnoise.py generate --model M.pkl --rows 39074 --output S.csv --json g.json

Runs inside ``.bench-venv-smartnoise``. The JSON figures are measured inside the process.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
from snsynth import Synthesizer

from rival_output import write_synthetic

DEFAULT_SEED = 42
DEFAULT_DELTA = 1e-5
DEFAULT_PREPROCESSOR_SHARE = 0.1
SYNTHS = ("mst", "aim")


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV so that only empty fields become NULL, as split_adult.py wrote it."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def column_roles(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric columns are continuous (binned by smartnoise); everything else categorical."""
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    return [c for c in df.columns if c not in numeric], numeric


def train(
    train_csv: Path,
    model_path: Path,
    synth: str,
    epsilon: float,
    delta: float,
    preprocessor_share: float,
    seed: int,
) -> dict[str, Any]:
    """Fit MST or AIM at ``epsilon`` in total (bounds estimation included) and pickle it."""
    np.random.seed(seed)
    df = read_csv(train_csv)
    categorical, continuous = column_roles(df)
    preprocessor_eps = epsilon * preprocessor_share if continuous else 0.0
    model = Synthesizer.create(synth, epsilon=epsilon, delta=delta)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(
            df,
            categorical_columns=categorical,
            continuous_columns=continuous,
            preprocessor_eps=preprocessor_eps,
            nullable=True,
        )
    fit_seconds = time.perf_counter() - t0
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(cloudpickle.dumps({"model": model, "columns": list(df.columns)}))
    return {
        "synthesizer": synth,
        "rows": len(df),
        "seed": seed,
        "epsilon": epsilon,
        "delta": delta,
        "preprocessor_eps": preprocessor_eps,
        "categorical_columns": categorical,
        "continuous_columns": continuous,
        "fit_seconds": round(fit_seconds, 3),
    }


def generate(model_path: Path, rows: int, output: Path, seed: int) -> dict[str, Any]:
    """Unpickle the fitted synthesizer, sample ``rows`` rows and write them as CSV."""
    np.random.seed(seed)
    saved = cloudpickle.loads(model_path.read_bytes())
    t0 = time.perf_counter()
    sampled = saved["model"].sample(rows)
    t_sampled = time.perf_counter()
    synthetic = (
        sampled
        if isinstance(sampled, pd.DataFrame)
        else pd.DataFrame(list(sampled), columns=saved["columns"])
    )
    return write_synthetic(synthetic, output, seed, t0, t_sampled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="fit MST or AIM at one epsilon")
    p_gen = sub.add_parser("generate", help="sample rows from a fitted synthesizer")
    for p in (p_train, p_gen):
        p.add_argument("--model", type=Path, required=True, help="fitted synthesizer (pickle)")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)
        p.add_argument("--json", type=Path, required=True, help="write figures here")
    p_train.add_argument("--train", type=Path, required=True, help="training CSV")
    p_train.add_argument("--synth", choices=SYNTHS, required=True)
    p_train.add_argument("--epsilon", type=float, required=True, help="total budget")
    p_train.add_argument("--delta", type=float, default=DEFAULT_DELTA)
    p_train.add_argument(
        "--preprocessor-share",
        type=float,
        default=DEFAULT_PREPROCESSOR_SHARE,
        help="share of epsilon spent on the numeric columns' bounds",
    )
    p_gen.add_argument("--output", type=Path, required=True, help="synthetic CSV to write")
    p_gen.add_argument("--rows", type=int, default=39_074)
    args = parser.parse_args(argv)
    if args.command == "train":
        payload = train(
            args.train,
            args.model,
            args.synth,
            args.epsilon,
            args.delta,
            args.preprocessor_share,
            args.seed,
        )
    else:
        payload = generate(args.model, args.rows, args.output, args.seed)
    payload["smartnoise_synth_version"] = version("smartnoise-synth")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
