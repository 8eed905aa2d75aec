"""Run one of SDV's open single-table synthesizers on a CSV, as its documentation shows.

GaussianCopula, TVAE and CTGAN with their defaults: metadata detected from the training frame,
``fit``, ``save``; then ``load_synthesizer`` and ``sample`` in a second process (SDV 2 takes
and returns a dict of table name to frame, even for one table), so that the side-by-side
driver measures training and generation apart (peak memory of training alone), as it does for
every tool. Only ``--epochs`` may override a default, and the driver says so when it does.

    python run_sdv.py train    --synthesizer ctgan --train T.csv --model M.pkl --json train.json
    python run_sdv.py generate --model M.pkl --rows 39074 --output S.csv --json gen.json

Runs inside ``.bench-venv-sdv``. The JSON figures are measured inside the process (they exclude
interpreter start-up and imports); the driver adds process wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
from sdv.utils import load_synthesizer

from rival_output import write_synthetic

DEFAULT_SEED = 42
SYNTHESIZERS = {
    "gaussiancopula": GaussianCopulaSynthesizer,
    "tvae": TVAESynthesizer,
    "ctgan": CTGANSynthesizer,
}
NEURAL = ("tvae", "ctgan")
TABLE = "adult"


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV so that only empty fields become NULL, as split_adult.py wrote it."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def seed_everything(seed: int) -> None:
    """SDV has no seed argument for fitting; seed the generators it draws from."""
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(
    train_csv: Path, model_path: Path, name: str, epochs: int | None, seed: int
) -> dict[str, Any]:
    """Fit one synthesizer with its defaults (``epochs`` overrides TVAE/CTGAN's only)."""
    seed_everything(seed)
    df = read_csv(train_csv)
    metadata = Metadata.detect_from_dataframes({TABLE: df})
    kwargs: dict[str, Any] = {"epochs": epochs} if epochs is not None and name in NEURAL else {}
    synthesizer = SYNTHESIZERS[name](metadata, **kwargs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer.fit({TABLE: df})
    fit_seconds = time.perf_counter() - t0
    model_path.parent.mkdir(parents=True, exist_ok=True)
    synthesizer.save(str(model_path))
    used = getattr(synthesizer, "epochs", None) if name in NEURAL else None
    return {
        "synthesizer": SYNTHESIZERS[name].__name__,
        "rows": len(df),
        "seed": seed,
        "epochs": used,
        "epochs_default": _default_epochs(name),
        "fit_seconds": round(fit_seconds, 3),
        "seconds_per_epoch": round(fit_seconds / used, 3) if used else None,
        "sdtypes": {
            col: meta["sdtype"]
            for col, meta in metadata.to_dict()["tables"][TABLE]["columns"].items()
        },
    }


def _default_epochs(name: str) -> int | None:
    """The epoch count SDV uses when none is given (read from the class, not assumed)."""
    if name not in NEURAL:
        return None
    default = inspect.signature(SYNTHESIZERS[name].__init__).parameters["epochs"].default
    return int(default)


def generate(model_path: Path, rows: int, output: Path, seed: int) -> dict[str, Any]:
    """Load the saved synthesizer, sample ``rows`` rows and write them as CSV."""
    seed_everything(seed)
    synthesizer = load_synthesizer(str(model_path))
    t0 = time.perf_counter()
    sampled = synthesizer.sample(num_rows=rows)
    synthetic = sampled[TABLE] if isinstance(sampled, dict) else sampled
    t_sampled = time.perf_counter()
    return write_synthetic(synthetic, output, seed, t0, t_sampled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="fit one synthesizer with its defaults")
    p_gen = sub.add_parser("generate", help="sample rows from a saved synthesizer")
    for p in (p_train, p_gen):
        p.add_argument("--model", type=Path, required=True, help="saved synthesizer (pickle)")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)
        p.add_argument("--json", type=Path, required=True, help="write figures here")
    p_train.add_argument("--train", type=Path, required=True, help="training CSV")
    p_train.add_argument("--synthesizer", choices=sorted(SYNTHESIZERS), required=True)
    p_train.add_argument("--epochs", type=int, help="TVAE/CTGAN only; default: SDV's")
    p_gen.add_argument("--output", type=Path, required=True, help="synthetic CSV to write")
    p_gen.add_argument("--rows", type=int, default=39_074)
    args = parser.parse_args(argv)
    if args.command == "train":
        payload = train(args.train, args.model, args.synthesizer, args.epochs, args.seed)
    else:
        payload = generate(args.model, args.rows, args.output, args.seed)
    payload["sdv_version"] = version("sdv")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
