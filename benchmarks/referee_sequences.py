"""Score synthetic sequences against their real train/holdout pair with mostlyai-qa.

The sequential counterpart of referee.py: every table here holds sequences, one per distinct
value of a key column (``--key``; a plane's ``tailnum`` in flights_sequences.py). mostlyai-qa is
told so the way its docs describe for two-table data: ``tgt_context_key=KEY`` on the target
rows, and for each of synthetic, train and holdout a context table of that side's distinct keys
(``ctx_primary_key=KEY``). It then measures, per sequence:

* accuracy: univariate, bivariate and trivariate accuracy (1 - TVD of binned marginals) of
  one randomly drawn row per sequence plus the sequence length; ``bivariate`` excludes the
  pairs of a row with its successor, which go into
* coherence: the mean of three coherence accuracies: each column against its value in the
  next row of the sequence, the distinct categories per sequence, and the sequences per
  distinct category (at most 100 random rows of a sequence);
* ``overall``: the mean of univariate, bivariate, trivariate and coherence;
* the ``*_max`` figures: the same accuracies expected of a real holdout of the synthetic data's
  size (the sampling-noise ceiling the bar is measured against);
* similarity (embedding centroids' cosine, discriminator AUC) and distances (DCR share,
  identical matches) of whole sequences, each embedded as one string.

The reference distribution for accuracy and coherence is train and holdout together, as
mostlyai-qa does it. Rows are read in file order: a sequence's order is its rows' order (the
real splits are written sorted by time within each key; synthetic rows are scored as the tool
wrote them). Columns named in ``--datetime-columns`` are parsed as ISO 8601 timestamps (UTC) in
all three tables, so that mostlyai-qa bins them as datetimes, not as categories.

Runs inside ``.bench-venv`` (mostlyai-qa); nothing leaves the machine::

    .bench-venv/bin/python benchmarks/referee_sequences.py --train T.csv --holdout H.csv \\
        --synthetic S.csv --key tailnum --datetime-columns time_hour --out result.json \\
        [--seed 42] [--report report.html]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

# mostlyai-qa loads its tokenizer and embedder from files it ships; forbid any hub look-up.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from referee import TooFewRows, _clean, align_to, read_csv

DEFAULT_SEED = 42
#: mostlyai-qa's accuracy figures, each with its ``*_max`` ceiling.
ACCURACY_KEYS = ("overall", "univariate", "bivariate", "trivariate", "coherence")


def parse_datetimes(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Timezone-naive UTC timestamps in ``columns`` (values that do not parse become NULL)."""
    frame = frame.copy()
    for col in columns:
        parsed = pd.to_datetime(frame[col], utc=True, errors="coerce", format="ISO8601")
        frame[col] = parsed.dt.tz_localize(None)
    return frame


def load_tables(
    train_csv: Path, holdout_csv: Path, synthetic_csv: Path, key: str, datetimes: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Train, holdout and synthetic rows with train's columns and kinds; rows without a key
    are dropped from the synthetic table (their count is returned)."""
    train = read_csv(train_csv)
    if key not in train.columns:
        raise SystemExit(f"[referee_sequences] train has no key column {key!r}")
    holdout = align_to(train, read_csv(holdout_csv), "holdout")
    synthetic = align_to(train, read_csv(synthetic_csv), "synthetic")
    keyless = int(synthetic[key].isna().sum())
    synthetic = synthetic[synthetic[key].notna()].reset_index(drop=True)
    frames = (parse_datetimes(f, datetimes) for f in (train, holdout, synthetic))
    train, holdout, synthetic = frames
    return train, holdout, synthetic, keyless


def context_of(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The context table of a sequence table: its distinct keys, one row each."""
    return pd.DataFrame({key: frame[key].drop_duplicates().reset_index(drop=True)})


def sequence_lengths(frame: pd.DataFrame, key: str) -> dict[str, Any]:
    """How many sequences, how many rows, and the spread of their lengths."""
    sizes = frame.groupby(key, sort=False).size()
    if sizes.empty:
        return {"sequences": 0, "rows": 0}
    return {
        "sequences": len(sizes),
        "rows": len(frame),
        "length_mean": _clean(float(sizes.mean())),
        "length_median": _clean(float(sizes.median())),
        "length_p90": _clean(float(sizes.quantile(0.9))),
        "length_max": int(sizes.max()),
        "length_min": int(sizes.min()),
    }


def _strip(name: str) -> str:
    """A column name without mostlyai-qa's ``tgt::`` / ``nxt::`` / ``ctx::`` prefix."""
    return name.split("::", 1)[-1]


def run_qa(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    key: str,
    seed: int,
    report_path: Path | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One mostlyai-qa report on sequences keyed by ``key``; its metrics and some detail."""
    from mostlyai import qa
    from mostlyai.qa._filesystem import Statistics

    qa.set_random_state(seed)
    with tempfile.TemporaryDirectory(prefix="referee_seq_") as tmp:
        stats_dir = Path(tmp) / "statistics"
        html = report_path if report_path is not None else Path(tmp) / "report.html"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, metrics = qa.report(
                syn_tgt_data=synthetic,
                trn_tgt_data=train,
                hol_tgt_data=holdout,
                syn_ctx_data=context_of(synthetic, key),
                trn_ctx_data=context_of(train, key),
                hol_ctx_data=context_of(holdout, key) if holdout is not None else None,
                ctx_primary_key=key,
                tgt_context_key=key,
                report_path=html,
                statistics_path=stats_dir,
            )
        if metrics is None:
            raise TooFewRows("mostlyai-qa exited early (too few sequences or no columns)")
        stats = Statistics(path=stats_dir)
        uni = stats.load_univariate_accuracies()
        biv = stats.load_bivariate_accuracies()
        cats_per_seq = stats.load_distinct_categories_per_sequence_accuracy()
        seqs_per_cat = stats.load_sequences_per_distinct_category_accuracy()
    nxt = biv[biv["type"] == "nxt"] if "type" in biv else biv.iloc[0:0]

    def by_column(frame: pd.DataFrame) -> dict[str, Any]:
        return {_strip(r.column): _clean(r.accuracy) for r in frame.itertuples(index=False)}

    detail = {
        "univariate_by_column": by_column(uni),
        "coherence_next_row_by_column": {
            _strip(r.col1): _clean(r.accuracy)
            for r in nxt.itertuples(index=False)
            if _strip(r.col1) == _strip(r.col2)
        },
        "coherence_categories_per_sequence_by_column": by_column(cats_per_seq),
        "coherence_sequences_per_category_by_column": by_column(seqs_per_cat),
    }
    dumped = metrics.model_dump()
    return {k: {kk: _clean(vv) for kk, vv in v.items()} for k, v in dumped.items()}, detail


def score(
    train_csv: Path,
    holdout_csv: Path,
    synthetic_csv: Path,
    *,
    key: str,
    datetime_columns: tuple[str, ...] = (),
    seed: int = DEFAULT_SEED,
    report_path: Path | None = None,
) -> dict[str, Any]:
    """Every mostlyai-qa figure for one synthetic CSV of sequences, as a JSON-ready dict."""
    t0 = time.perf_counter()
    train, holdout, synthetic, keyless = load_tables(
        train_csv, holdout_csv, synthetic_csv, key, datetime_columns
    )
    metrics, detail = run_qa(train, holdout, synthetic, key, seed, report_path)
    return {
        "referee": f"mostlyai-qa {version('mostlyai-qa')}",
        "setup": f"tgt_context_key={key}, context tables of distinct {key} values",
        "seed": seed,
        "datetime_columns": list(datetime_columns),
        "sequences": {
            "train": sequence_lengths(train, key),
            "holdout": sequence_lengths(holdout, key),
            "synthetic": sequence_lengths(synthetic, key),
        },
        "synthetic_rows_without_key": keyless,
        "accuracy": metrics["accuracy"],
        "similarity": metrics["similarity"],
        "distances": metrics["distances"],
        "detail": detail,
        "referee_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="real train split CSV")
    parser.add_argument("--holdout", type=Path, required=True, help="real holdout split CSV")
    parser.add_argument("--synthetic", type=Path, required=True, help="synthetic CSV to score")
    parser.add_argument("--key", required=True, help="column that names each row's sequence")
    parser.add_argument(
        "--datetime-columns", default="", help="comma-separated ISO 8601 timestamp columns"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--report", type=Path, help="also keep mostlyai-qa's HTML report here")
    args = parser.parse_args(argv)
    for path in (args.train, args.holdout, args.synthetic):
        if not path.is_file():
            parser.error(f"not a file: {path}")
    result = score(
        args.train,
        args.holdout,
        args.synthetic,
        key=args.key,
        datetime_columns=tuple(c for c in args.datetime_columns.split(",") if c),
        seed=args.seed,
        report_path=args.report,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    acc = result["accuracy"]
    print(
        f"[referee_sequences] {result['referee']}: accuracy {acc['overall']} "
        f"(max {acc['overall_max']}), coherence {acc['coherence']} "
        f"(max {acc['coherence_max']}), {result['sequences']['synthetic'].get('sequences')} "
        f"synthetic sequences, in {result['referee_seconds']} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
