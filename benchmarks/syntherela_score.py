"""SyntheRela 0.0.4 as an outside referee of one database twin: DDA per parent table, k-hop trends.

Runs in ``.bench-venv-syntherela`` (``bash benchmarks/setup_env.sh syntherela``), on a folder
that ``syntherela_dda.py`` wrote: ``metadata.json`` (SDV multi-table metadata), ``real/`` and
``synthetic/`` (one ``<table>.csv`` each)::

    .bench-venv-syntherela/bin/python benchmarks/syntherela_score.py CASE_DIR --out scores.json \
        [--tables account,client] [--diagnose account] [--no-trends]

What it computes, all with SyntheRela's own code and the settings of its paper's benchmark
(``experiments/evaluation/benchmark.py`` in the package: ``XGBClassifier(seed=0)``,
``random_state=42``, 5 stratified folds, one level of aggregation):

* **DDA** (``AggregationDetection``, "C2ST-Agg"): each parent table gets its children's row
  counts, the number of distinct values of their categorical columns and the means of their
  numerical columns; keys are dropped; an XGBoost classifier tells real rows from synthetic ones
  (the same number of each) over 5 folds. The score is its held-out accuracy: 0.5 means it
  cannot tell them apart, 1.0 that it always can.
* **Trends** (``Report.compute_trends``, after ClavaDDPM's ``gen_multi_report``): SDMetrics'
  column shapes and column pair trends over every table, cardinality (children per parent), and
  the k-hop trends: pair trends between the columns of two tables joined along a path of k
  foreign keys (1-hop is SDMetrics' intertable trends).
* **Diagnosis** (``--diagnose TABLE``, ours, on SyntheRela's aggregated table and classifier):
  XGBoost's gain per source column (one-hot and date parts summed back), DDA with each column
  dropped from both sides, DDA on each column alone, DDA on the table's own columns only and on
  the aggregates only, and a summary of the most telling columns on both sides.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from copy import deepcopy
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from syntherela.data import load_tables  # noqa: E402
from syntherela.metadata import Metadata, drop_ids  # noqa: E402
from syntherela.metrics.base import DetectionBaseMetric  # noqa: E402
from syntherela.metrics.multi_table.detection import AggregationDetection  # noqa: E402
from syntherela.metrics.multi_table.trends import multi_table_trends  # noqa: E402
from syntherela.metrics.single_column.trends import ColumnShapesReport  # noqa: E402
from syntherela.metrics.single_table.trends import ColumnPairsReport  # noqa: E402
from xgboost import XGBClassifier  # noqa: E402

# SyntheRela's benchmark settings (see the module docstring). random_state must not be 0:
# DetectionBaseMetric.prepare_data samples the synthetic rows with `random_state + 1 if
# random_state else None`, which would make a seed of 0 unseeded.
XGB_ARGS = {"seed": 0}
RANDOM_STATE = 42
FOLDS = 5
DATE_PARTS = ("Year", "Month", "Day", "Hour", "Minute", "Second", "Microsecond")
VERSIONS = ("syntherela", "sdmetrics", "sdv", "xgboost", "scikit-learn", "pandas", "numpy")


def new_metric() -> AggregationDetection:
    return AggregationDetection(
        classifier_cls=XGBClassifier,
        classifier_args=dict(XGB_ARGS),
        random_state=RANDOM_STATE,
        folds=FOLDS,
    )


def load(case: Path) -> tuple[Metadata, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    metadata = Metadata.load_from_json(case / "metadata.json")
    real = load_tables(case / "real", metadata)
    synthetic = load_tables(case / "synthetic", metadata)
    for name, frame in real.items():  # same column order on both sides
        synthetic[name] = synthetic[name][frame.columns]
    return metadata, real, synthetic


def parent_tables(metadata: Metadata) -> list[str]:
    return [t for t in metadata.get_tables() if AggregationDetection.is_applicable(metadata, t)]


def dda(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    metadata: Metadata,
    table: str,
) -> dict[str, Any]:
    metric = new_metric()
    result = metric.run(real, synthetic, metadata=metadata, target_table=table)
    return {
        "accuracy": float(result["accuracy"]),
        "se": float(result["SE"]),
        "p_value": float(result["bin_test_p_val"]),
        "rows_each_side": int(len(metric.y) // 2),
        "features": int(metric.X.shape[1]),
    }


# ---------------------------------------------------------------------------------- diagnosis
def aggregated(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    metadata: Metadata,
    table: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table as DDA's classifier sees it: with its children's aggregates, without keys."""
    real_agg, _ = AggregationDetection.add_aggregations(real, deepcopy(metadata))
    synthetic_agg, _ = AggregationDetection.add_aggregations(
        synthetic, deepcopy(metadata), update_metadata=False
    )
    table_metadata = metadata.tables[table].to_dict()
    return (
        drop_ids(real_agg[table], table_metadata),
        drop_ids(synthetic_agg[table], table_metadata),
    )


def score_frames(
    real: pd.DataFrame, synthetic: pd.DataFrame
) -> tuple[float | None, AggregationDetection | None]:
    """DDA's classifier on these columns; None when they hold one value on both sides (nothing
    to tell apart, and the classifier would get no feature at all)."""
    varying = [c for c in real.columns if pd.concat([real[c], synthetic[c]]).nunique() > 1]
    if not varying:
        return None, None
    metric = new_metric()
    result = DetectionBaseMetric.run(metric, real[varying], synthetic[varying], metadata=None)
    return float(result["accuracy"]), metric


def source_column(feature: str, columns: list[str]) -> str:
    """The column a classifier feature comes from (one-hot ``c_3``, date part ``c_Year``)."""
    best = None
    for column in columns:
        if feature == column:
            return column
        if feature.startswith(column + "_"):
            rest = feature[len(column) + 1 :]
            if (rest.isdigit() or rest in DATE_PARTS) and (best is None or len(column) > len(best)):
                best = column
    return best or feature


def describe(values: pd.Series) -> dict[str, Any]:
    """A column's shape in a few numbers, for reading beside the diagnosis."""
    present = values.dropna()
    out: dict[str, Any] = {
        "rows": len(values),
        "null_share": round(1 - len(present) / max(len(values), 1), 3),
    }
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if len(present):
            quantiles = present.quantile([0.0, 0.1, 0.5, 0.9, 1.0]).round(3).tolist()
            out.update(mean=round(float(present.mean()), 3), quantiles_0_10_50_90_100=quantiles)
        counts = present.value_counts()
        out["distinct"] = len(counts)
        if len(counts) <= 12:
            out["values"] = {str(k): int(v) for k, v in counts.sort_index().items()}
    else:
        counts = present.astype(str).value_counts()
        out["distinct"] = len(counts)
        out["top"] = {str(k): int(v) for k, v in counts.head(5).items()}
    return out


def gain_by_column(metric: AggregationDetection, columns: list[str]) -> dict[str, float]:
    """XGBoost's gain share per source column, averaged over the folds' classifiers."""
    gain: dict[str, float] = {}
    for classifier in metric.classifiers:
        for feature, value in zip(metric.X.columns, classifier.feature_importances_, strict=True):
            source = source_column(str(feature), columns)
            gain[source] = gain.get(source, 0.0) + float(value) / len(metric.classifiers)
    return gain


def peel(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str], floor: float = 0.6
) -> list[dict[str, Any]]:
    """Drop the column the classifier leans on most, rescore, repeat: one column rarely holds
    the whole signal, so dropping columns one at a time can show nothing. Stops once the score
    is under ``floor`` or after 10 columns."""
    steps: list[dict[str, Any]] = []
    left = list(columns)
    while left and len(steps) < 10:
        accuracy, metric = score_frames(real[left], synthetic[left])
        if steps:
            steps[-1]["accuracy_after"] = _round(accuracy)
        if accuracy is None or metric is None or accuracy < floor:
            break
        gain = gain_by_column(metric, left)
        top = max(left, key=lambda c: gain.get(c, 0.0))
        steps.append({"drop": top, "gain_share": round(gain.get(top, 0.0), 4)})
        left.remove(top)
    if steps and "accuracy_after" not in steps[-1]:
        steps[-1]["accuracy_after"] = (
            _round(score_frames(real[left], synthetic[left])[0]) if left else None
        )
    return steps


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def diagnose(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    metadata: Metadata,
    table: str,
) -> dict[str, Any]:
    real_table, synthetic_table = aggregated(real, synthetic, metadata, table)
    own = [c for c in metadata.tables[table].columns if c in real_table.columns]
    columns = list(real_table.columns)
    full, metric = score_frames(real_table, synthetic_table)
    gain = gain_by_column(metric, columns) if metric is not None else {}
    dropped: dict[str, float | None] = {}
    alone: dict[str, float | None] = {}
    for column in columns:
        rest = [c for c in columns if c != column]
        dropped[column] = score_frames(real_table[rest], synthetic_table[rest])[0] if rest else None
        alone[column] = score_frames(real_table[[column]], synthetic_table[[column]])[0]
    aggregates = [c for c in columns if c not in own]
    groups: dict[str, float | None] = {}
    if own:
        groups["own columns only"] = score_frames(real_table[own], synthetic_table[own])[0]
    if aggregates:
        groups["children aggregates only"] = score_frames(
            real_table[aggregates], synthetic_table[aggregates]
        )[0]
    ranked = sorted(columns, key=lambda c: -gain.get(c, 0.0))
    peeled = peel(real_table, synthetic_table, columns)
    telling = sorted(columns, key=lambda c: -(alone[c] or 0))[:6]
    return {
        "accuracy": full,
        "own_columns": own,
        "aggregate_columns": aggregates,
        "gain_share": {c: round(gain.get(c, 0.0), 4) for c in ranked},
        "accuracy_without": {c: _round(dropped[c]) for c in ranked},
        "accuracy_alone": {c: _round(alone[c]) for c in ranked},
        "groups": {k: _round(v) for k, v in groups.items()},
        "peeled": peeled,
        "telling_columns": {
            c: {"real": describe(real_table[c]), "synthetic": describe(synthetic_table[c])}
            for c in telling
        },
    }


# ------------------------------------------------------------------------------------ trends
def trends(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: Metadata
) -> dict[str, Any]:
    """SyntheRela's Report.compute_trends, figures kept per table and per hop."""
    out: dict[str, Any] = {}
    shapes = ColumnShapesReport()
    shapes.generate(real, synthetic, metadata.to_dict(), verbose=False)
    details = shapes.get_details("Column Shapes")
    out["column_shapes"] = float(details.Score.mean())
    out["column_shapes_per_table"] = {
        str(t): round(float(g.Score.mean()), 4) for t, g in details.groupby("Table")
    }
    pairs = ColumnPairsReport()
    pairs.generate(real, synthetic, metadata.to_dict(), verbose=False)
    details = pairs.get_details("Column Pair Trends")
    out["pair_trends"] = float(details.Score.mean()) if len(details) else None
    out["pair_trends_per_table"] = {
        str(t): round(float(g.Score.mean()), 4) for t, g in details.groupby("Table")
    }
    multi = multi_table_trends(
        deepcopy(real), deepcopy(synthetic), deepcopy(metadata), verbose=False
    )
    out["cardinality"] = float(multi["cardinality"])
    out["k_hop"] = {
        str(hop): {
            "mean": float(multi["avg_scores"][hop]),
            "se": float(multi["scores_se"][hop]),
            "pairs": len(multi["hop_relation"][hop]),
        }
        for hop in sorted(multi["hop_relation"])
        if hop in multi["avg_scores"]
    }
    out["all_hops_mean"] = float(multi["all_avg_score"])
    return out


def versions() -> dict[str, str]:
    return {name: version(name) for name in VERSIONS} | {"python": sys.version.split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", type=Path, help="folder with metadata.json, real/, synthetic/")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tables", help="parent tables to score (default: every parent)")
    parser.add_argument("--diagnose", default="", help="tables to take apart (comma-separated)")
    parser.add_argument("--no-trends", action="store_true", help="DDA only")
    args = parser.parse_args()
    started = time.monotonic()
    metadata, real, synthetic = load(args.case)
    tables = args.tables.split(",") if args.tables else parent_tables(metadata)
    result: dict[str, Any] = {
        "referee": "SyntheRela AggregationDetection (DDA), XGBClassifier",
        "settings": {"classifier_args": XGB_ARGS, "random_state": RANDOM_STATE, "folds": FOLDS},
        "versions": versions(),
        "rows": {
            name: {"real": len(real[name]), "synthetic": len(synthetic[name])} for name in real
        },
        "dda": {},
        "seconds_per_step": {},
    }
    step = time.monotonic()
    for table in tables:
        result["dda"][table] = dda(real, synthetic, metadata, table)
        print(f"[syntherela] DDA {table}: {result['dda'][table]['accuracy']:.3f}", flush=True)
    result["seconds_per_step"]["dda"] = round(time.monotonic() - step, 1)
    step = time.monotonic()
    if not args.no_trends:
        result["trends"] = trends(real, synthetic, metadata)
        hops = " / ".join(f"{h}-hop {v['mean']:.3f}" for h, v in result["trends"]["k_hop"].items())
        print(f"[syntherela] trends: {hops}", flush=True)
        result["seconds_per_step"]["trends"] = round(time.monotonic() - step, 1)
    diagnose_tables = [t for t in args.diagnose.split(",") if t]
    if diagnose_tables:
        result["diagnosis"] = {}
    for table in diagnose_tables:
        step = time.monotonic()
        result["diagnosis"][table] = diagnose(real, synthetic, metadata, table)
        result["seconds_per_step"][f"diagnosis {table}"] = round(time.monotonic() - step, 1)
        print(f"[syntherela] diagnosed {table}", flush=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(result, indent=1, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
