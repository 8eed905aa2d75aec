"""Train MOSTLY AI's open-source TabularARGN (mostlyai-engine) on a CSV and generate from it.

This is the rival that synthdb must beat (DESIGN.md sections 3, 6, 8), run exactly as a user
would: the engine's own pipeline of verbs (split, analyze, encode, train, generate) with every
default left alone, no differential privacy, on CPU. Only the random seed is fixed.

The work is split into sub-commands so that the side-by-side driver can measure training and
generation as separate processes (peak memory of training alone, like ``synthdb train``)::

    python run_mostlyai.py train    --train T.csv --workspace WS --json train.json
    python run_mostlyai.py generate --workspace WS --rows 39074 --output S.csv --json gen.json
    python run_mostlyai.py generate --workspace WS --rows 1000000 --output 1M.csv --delete-output
    python run_mostlyai.py all      --train T.csv --workspace WS --output S.csv --json all.json

With ``--context-key K`` (train) the engine learns sequences instead of rows: one sequence per
distinct value of column K, in the row order of the CSV, as the engine's two-table setup with
a context table of K's distinct values (``split(tgt_data=..., ctx_data=..., tgt_context_key=K,
ctx_primary_key=K)``). ``generate`` then draws sequences: without ``--rows`` the engine's own
default, one sequence per context row it trained on (keys included, as the engine reuses its
training context); with ``--rows N`` the first N of those. ``--datetime-columns`` parses
columns such as ``time_hour`` (ISO 8601, UTC) into timestamps, so that the engine encodes them
as datetimes rather than as categories.

With ``--dp-epsilon E`` training runs under differential privacy: the engine's own
``DifferentialPrivacyConfig`` with ``max_epsilon=E`` and every other field at its default
(noise multiplier 1.5, clipping norm 1, delta 1e-5), except ``value_protection_epsilon``: its
default (1.0) alone would spend the whole budget of E=1 before training starts, so
``--value-protection-share`` (default 10%) of E goes to the analysis step's DP value ranges.
The engine adds both into the epsilon it stops at, so E is the run's total. The engine stops
training when the budget is spent, when validation loss stops improving, or after
``--max-training-minutes`` (its own graceful cap, which keeps the best checkpoint).

Runs inside ``.bench-venv``. The JSON figures are measured inside the process (they exclude
interpreter start-up and imports); the driver adds the process-level wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

# The engine is purely local here; make sure nothing it imports tries to reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pandas as pd
from mostlyai import engine

DEFAULT_SEED = 42
DEFAULT_VALUE_PROTECTION_SHARE = 0.1


def read_csv(path: Path, datetime_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV so that only empty fields become NULL, as split_adult.py wrote it (or a
    Parquet file as it is).

    ``datetime_columns`` become timezone-naive UTC timestamps (unparseable values: NULL).
    """
    if path.suffix == ".parquet":  # the scale benchmark's table (its NULLs are Parquet's)
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for col in datetime_columns:
        parsed = pd.to_datetime(df[col], utc=True, errors="coerce", format="ISO8601")
        df[col] = parsed.dt.tz_localize(None)
    return df


def _context_key(workspace: Path) -> str | None:
    """The target table's context key if the workspace holds a sequential model."""
    path = workspace / "OriginalData" / "tgt-meta" / "keys.json"
    if not path.is_file():
        return None
    key = json.loads(path.read_text()).get("context_key")
    return str(key) if key is not None else None


def _progress(workspace: Path) -> pd.DataFrame | None:
    """The engine's per-epoch log (epoch, val_loss, is_checkpoint, total_time), if present."""
    path = workspace / "ModelStore" / "model-data" / "progress-messages.csv"
    return pd.read_csv(path) if path.is_file() else None


def _encoding_types(workspace: Path) -> dict[str, str]:
    """Which encoding the engine's auto heuristics chose per column (for the record)."""
    path = workspace / "ModelStore" / "tgt-stats" / "stats.json"
    if not path.is_file():
        return {}
    stats = json.loads(path.read_text())
    return {name: col.get("encoding_type", "?") for name, col in stats.get("columns", {}).items()}


def dp_config(epsilon: float | None, value_protection_share: float) -> Any:
    """The engine's DP settings for a total budget ``epsilon`` (None: no DP)."""
    if epsilon is None:
        return None
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    return DifferentialPrivacyConfig(
        max_epsilon=epsilon, value_protection_epsilon=epsilon * value_protection_share
    )


def train(
    train_csv: Path,
    workspace: Path,
    seed: int,
    dp_epsilon: float | None = None,
    value_protection_share: float = DEFAULT_VALUE_PROTECTION_SHARE,
    max_training_minutes: float | None = None,
    max_epochs: float | None = None,
    context_key: str | None = None,
    datetime_columns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Fit TabularARGN with default settings (DP when asked); return timings and the log.

    With ``context_key`` the model is sequential: one sequence per distinct key, its context
    table those keys alone.
    """
    if workspace.exists():
        shutil.rmtree(workspace)
    engine.set_random_state(seed)
    df = read_csv(train_csv, datetime_columns)
    dp = dp_config(dp_epsilon, value_protection_share)
    limits: dict[str, Any] = {}
    if max_training_minutes is not None:
        limits["max_training_time"] = max_training_minutes
    if max_epochs is not None:
        limits["max_epochs"] = max_epochs
    t0 = time.perf_counter()
    if context_key is None:
        engine.split(tgt_data=df, workspace_dir=workspace)
    else:
        ctx = pd.DataFrame({context_key: df[context_key].drop_duplicates().reset_index(drop=True)})
        engine.split(
            tgt_data=df,
            ctx_data=ctx,
            tgt_context_key=context_key,
            ctx_primary_key=context_key,
            workspace_dir=workspace,
        )
    engine.analyze(workspace_dir=workspace, differential_privacy=dp)
    engine.encode(workspace_dir=workspace)
    t_prepared = time.perf_counter()
    engine.train(workspace_dir=workspace, differential_privacy=dp, **limits)
    t_done = time.perf_counter()
    result: dict[str, Any] = {
        "rows": len(df),
        "columns": len(df.columns),
        "seed": seed,
        "prepare_seconds": round(t_prepared - t0, 3),
        "fit_seconds": round(t_done - t_prepared, 3),
        "train_seconds": round(t_done - t0, 3),
        "encoding_types": _encoding_types(workspace),
        "differential_privacy": dp.model_dump() if dp is not None else None,
        "max_training_minutes": max_training_minutes,
        "context_key": context_key,
        "sequences": int(df[context_key].nunique()) if context_key is not None else None,
    }
    progress = _progress(workspace)
    if progress is not None and "dp_eps" in progress and progress["dp_eps"].notna().any():
        result["dp_epsilon_spent"] = float(progress["dp_eps"].max())
    if progress is not None and "epoch" in progress:
        epochs = progress.dropna(subset=["val_loss"]) if "val_loss" in progress else progress
        n_epochs = float(epochs["epoch"].max()) if len(epochs) else 0.0
        result["epochs"] = n_epochs
        if "is_checkpoint" in epochs and len(epochs):
            best = epochs[epochs["is_checkpoint"] == 1]
            result["best_epoch"] = float(best["epoch"].max()) if len(best) else None
            result["best_val_loss"] = float(best["val_loss"].min()) if len(best) else None
        if "total_time" in progress and n_epochs > 0:
            result["loop_seconds"] = round(float(progress["total_time"].max()), 3)
            result["seconds_per_epoch"] = round(result["loop_seconds"] / n_epochs, 3)
        if "learn_rate" in progress and len(progress):
            result["initial_learn_rate"] = float(progress["learn_rate"].iloc[0])
            result["final_learn_rate"] = float(progress["learn_rate"].iloc[-1])
    return result


def generate(
    workspace: Path, rows: int | None, output: Path, seed: int, delete_output: bool
) -> dict[str, Any]:
    """Generate ``rows`` rows to ``output`` as CSV (empty field = NULL); time each part.

    For a sequential model ``rows`` counts sequences; None leaves the count to the engine (as
    many rows, or sequences, as it trained on).
    """
    engine.set_random_state(seed)
    t0 = time.perf_counter()
    engine.generate(workspace_dir=workspace, sample_size=rows)
    t_sampled = time.perf_counter()
    synthetic = pd.concat(
        [pd.read_parquet(p) for p in sorted((workspace / "SyntheticData").glob("*.parquet"))],
        ignore_index=True,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    synthetic.to_csv(output, index=False, na_rep="")
    t_written = time.perf_counter()
    total = t_written - t0
    if delete_output:
        output.unlink()
    key = _context_key(workspace)
    return {
        "rows": len(synthetic),
        "sequences": int(synthetic[key].nunique()) if key is not None else None,
        "seed": seed,
        "sample_seconds": round(t_sampled - t0, 3),
        "write_csv_seconds": round(t_written - t_sampled, 3),
        "generate_seconds": round(total, 3),
        "rows_per_second": round(len(synthetic) / total, 1) if total > 0 else None,
        "output": None if delete_output else str(output),
    }


def run_all(
    train_csv: Path, workspace: Path, output: Path, rows: int, rows_big: int, seed: int
) -> dict[str, Any]:
    """Train, generate ``rows`` rows, then time ``rows_big`` rows to a temporary file."""
    trained = train(train_csv, workspace, seed)
    small = generate(workspace, rows, output, seed, delete_output=False)
    with tempfile.TemporaryDirectory(prefix="mostlyai_1m_") as tmp:
        big = generate(workspace, rows_big, Path(tmp) / "big.csv", seed, delete_output=True)
    return {
        "tool": "mostlyai-engine",
        "version": version("mostlyai-engine"),
        "model": "TabularARGN (MOSTLY_AI/Medium), defaults, no DP",
        **{k: v for k, v in trained.items() if k not in {"rows", "columns"}},
        "generate_seconds": small["generate_seconds"],
        "generate_rows": small["rows"],
        "generate_1m_seconds": big["generate_seconds"],
        "generate_1m_rows": big["rows"],
        "rows_per_second": big["rows_per_second"],
        "output": str(output),
    }


def _write_json(path: Path | None, payload: dict[str, Any]) -> None:
    text = json.dumps(payload, indent=2, default=str) + "\n"
    if path is None:
        print(text, end="")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_train = sub.add_parser("train", help="fit TabularARGN with default settings")
    p_gen = sub.add_parser("generate", help="generate rows from a trained workspace")
    p_all = sub.add_parser("all", help="train, generate N rows, time 1M rows")
    for p in (p_train, p_gen, p_all):
        p.add_argument("--workspace", type=Path, required=True, help="engine workspace folder")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)
        p.add_argument("--json", type=Path, help="write figures here (default: stdout)")
    for p in (p_train, p_all):
        p.add_argument("--train", type=Path, required=True, help="training CSV (or .parquet)")
    p_train.add_argument("--dp-epsilon", type=float, help="train with DP at this total epsilon")
    p_train.add_argument(
        "--value-protection-share",
        type=float,
        default=DEFAULT_VALUE_PROTECTION_SHARE,
        help="share of --dp-epsilon spent on the analysis step's value ranges",
    )
    p_train.add_argument(
        "--max-training-minutes", type=float, help="the engine's own training time cap"
    )
    p_train.add_argument("--max-epochs", type=float, help="smoke runs only; default: engine's")
    p_train.add_argument(
        "--context-key",
        help="learn one sequence per distinct value of this column (a sequential model)",
    )
    p_train.add_argument(
        "--datetime-columns",
        default="",
        help="comma-separated columns to parse as ISO 8601 timestamps (UTC) before training",
    )
    for p in (p_gen, p_all):
        p.add_argument("--output", type=Path, required=True, help="synthetic CSV to write")
    p_gen.add_argument(
        "--rows",
        type=int,
        help="rows to generate (sequences for a sequential model); default: the engine's own, "
        "as many as it trained on",
    )
    p_all.add_argument("--rows", type=int, default=39_074)
    p_gen.add_argument("--delete-output", action="store_true", help="time only; delete the CSV")
    p_all.add_argument("--rows-big", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    if args.command == "train":
        payload = train(
            args.train,
            args.workspace,
            args.seed,
            args.dp_epsilon,
            args.value_protection_share,
            args.max_training_minutes,
            args.max_epochs,
            args.context_key,
            tuple(c for c in args.datetime_columns.split(",") if c),
        )
    elif args.command == "generate":
        payload = generate(args.workspace, args.rows, args.output, args.seed, args.delete_output)
    else:
        payload = run_all(
            args.train, args.workspace, args.output, args.rows, args.rows_big, args.seed
        )
    payload["mostlyai_engine_version"] = version("mostlyai-engine")
    _write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
