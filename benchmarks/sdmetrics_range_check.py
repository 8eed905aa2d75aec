"""How far one out-of-range value moves SDMetrics' QualityReport: the real holdout of Adult,
scored against the train split as it is and with one cell changed.

SDMetrics 0.32's Column Pair Trends bins each numeric column into 10 equal-width bins between
each table's own minimum and maximum, so one value past the real maximum shifts every bin of
its column (BENCHMARKS.md, "Why SDMetrics disagrees"). Runs in ``.bench-venv`` on the split
that ``split_adult.py`` writes::

    .venv/bin/python benchmarks/split_adult.py --work-dir benchmarks/work
    .bench-venv/bin/python benchmarks/sdmetrics_range_check.py \\
        --train benchmarks/work/adult_train.csv --holdout benchmarks/work/adult_holdout.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from referee import sdmetrics_quality  # the same call and metadata as for every tool

#: (label, {column: value}) edits of the holdout's first rows, one cell per row.
EDITS: list[tuple[str, dict[str, float]]] = [
    ("holdout as it is", {}),
    ("one age of 128", {"age": 128}),
    ("one education_num of 21", {"education_num": 21}),
    ("one hours_per_week of 128", {"hours_per_week": 128}),
    ("one capital_gain of 129,629", {"capital_gain": 129_629}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--holdout", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="also write the scores here as JSON")
    args = parser.parse_args()
    train, holdout = pd.read_csv(args.train), pd.read_csv(args.holdout)
    scores = {}
    for label, edit in EDITS:
        changed = holdout.copy()
        for row, (column, value) in enumerate(edit.items()):
            changed.loc[row, column] = value
        scores[label] = round(sdmetrics_quality(train, changed)["score"], 4)
        print(f"{label:32s} SDMetrics quality {scores[label]:.4f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(scores, indent=2) + "\n")


if __name__ == "__main__":
    main()
