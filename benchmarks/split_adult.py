"""Split UCI Adult into the fixed 80/20 train/holdout pair every benchmark uses.

Every tool trains on the same 39,074 rows and is scored against the same 9,768 holdout rows, so
that figures from different runs and different tools are comparable (DESIGN.md section 8).
The shuffle is ``df.sample(frac=1, random_state=42)``; only empty fields are NULL, because the
shared copy of Adult marks missing values that way and nothing else (``"NA"`` is not NULL).

Runs with any Python that has pandas (the project's ``.venv`` or ``.bench-venv``)::

    python benchmarks/split_adult.py [--source PATH] [--work-dir DIR] [--limit ROWS] [--columns A,B]

``--limit`` keeps only the first ROWS rows of the source before the shuffle and ``--columns``
only the named columns: the test suite's smoke run of the side-by-side harness uses both on the
bundled ``data/adult.csv.gz`` to stay within seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "adult.csv"
DEFAULT_WORK_DIR = REPO / "benchmarks" / "work"
SEED = 42
TRAIN_FRACTION = 0.8
TRAIN_NAME = "adult_train.csv"
HOLDOUT_NAME = "adult_holdout.csv"


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV so that only empty fields become NULL (``NA``, ``null`` stay strings)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle with seed 42 and cut at round(0.8 * rows): 39,074 / 9,768 rows for Adult."""
    shuffled = df.sample(frac=1, random_state=SEED).reset_index(drop=True)
    n_train = round(TRAIN_FRACTION * len(shuffled))
    return shuffled.iloc[:n_train], shuffled.iloc[n_train:]


def write_split(
    source: Path, work_dir: Path, limit: int | None = None, columns: list[str] | None = None
) -> tuple[Path, Path]:
    """Write the train and holdout CSVs (NULL as an empty field) and return their paths."""
    frame = read_csv(source)
    frame = frame if limit is None else frame.head(limit)
    train, holdout = split(frame if columns is None else frame[columns])
    work_dir.mkdir(parents=True, exist_ok=True)
    train_path, holdout_path = work_dir / TRAIN_NAME, work_dir / HOLDOUT_NAME
    train.to_csv(train_path, index=False, na_rep="")
    holdout.to_csv(holdout_path, index=False, na_rep="")
    return train_path, holdout_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="adult.csv to split")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="output folder")
    parser.add_argument("--limit", type=int, help="use only the first ROWS rows (smoke runs)")
    parser.add_argument("--columns", help="comma-separated columns to keep (smoke runs)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"source CSV not found: {args.source}")
    train_path, holdout_path = write_split(
        args.source, args.work_dir, args.limit, args.columns.split(",") if args.columns else None
    )
    n_train = sum(1 for _ in train_path.open()) - 1
    n_holdout = sum(1 for _ in holdout_path.open()) - 1
    print(f"[split_adult] {train_path} ({n_train:,} rows), {holdout_path} ({n_holdout:,} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
