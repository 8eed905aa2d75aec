"""Score a synthetic table against its real train/holdout pair with an outside referee.

synthdb's own accuracy figure follows mostlyai-qa (DESIGN.md section 5), so our bars are quoted
in the figure of a tool we did not write: mostlyai-qa's ``report``. This script runs it on one
synthetic CSV and writes every figure it gives, plus ML utility (TSTR), to one JSON file:

* accuracy: overall, univariate, bivariate, trivariate (1 - TVD of binned marginals; the
  reference distribution is train and holdout together, as mostlyai-qa does it), and the
  ``*_max`` figures, which mostlyai-qa derives analytically: the accuracy to expect from an
  independent sample of the real data of the synthetic sample's size (the sampling-noise
  ceiling; ``overall_max`` is the 0.984 "holdout ceiling" quoted in DESIGN.md section 8);
* holdout_vs_train (optional): the same accuracies measured, with the real holdout in the
  synthetic data's place and the real train split as the reference; an observed reference,
  not a bound: with 9,768 rows it carries more sampling noise than 39,074 synthetic rows;
* similarity: centroid cosine similarity and discriminator AUC of the embedded rows;
* distances: DCR share (synthetic rows closer to train than to holdout, ties counted half;
  0.5 is ideal), identical-match shares, mean DCRs and NNDR, for synthetic vs train, synthetic
  vs holdout and holdout vs train;
* tstr: ROC AUC on the holdout of a HistGradientBoostingClassifier trained on the synthetic
  rows, and of the same model trained on the real train rows (the ceiling);
* sdmetrics: SDMetrics' single-table QualityReport score (mean of Column Shapes and Column Pair
  Trends) against the train split, with metadata built from the split's dtypes (numeric
  columns numerical, the rest categorical), the same metadata for every tool.

Without mostlyai-qa (the test suite's smoke run has only the project's ``.venv``) accuracy and
DCR share fall back to synthdb's own mostlyai-qa-style measures (``synthdb.evaluation``), and
the ``referee`` field says so; without sdmetrics its score is None with the reason. Real
benchmark runs always use ``.bench-venv``, which has both.

Runs inside ``.bench-venv``; nothing leaves the machine (mostlyai-qa ships its tokenizer and
embedder; the hub is switched off anyway)::

    .bench-venv/bin/python benchmarks/referee.py --train T.csv --holdout H.csv \\
        --synthetic S.csv --out result.json [--seed 42] [--report report.html]
    .bench-venv/bin/python benchmarks/referee.py --train T.csv --holdout H.csv \\
        --ceiling-only --out real.json     # holdout vs train and TSTR on real data only
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
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

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

DEFAULT_SEED = 42
DEFAULT_TARGET = "income"
DEFAULT_POSITIVE = ">50K"
TGT_PREFIX = "tgt::"
HAS_QA = importlib.util.find_spec("mostlyai") is not None and (
    importlib.util.find_spec("mostlyai.qa") is not None
)
ACCURACY_KEYS = ("overall", "univariate", "bivariate", "trivariate")


class TooFewRows(RuntimeError):
    """mostlyai-qa declined to score (it needs some 100 rows a side)."""


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV so that only empty fields become NULL, as split_adult.py wrote it."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def align_to(reference: pd.DataFrame, other: pd.DataFrame, name: str) -> pd.DataFrame:
    """Give ``other`` the reference's columns, in its order, with numeric columns numeric.

    A tool that writes ``40.0`` or a stray token in an integer column must still be scored as
    numbers (mostlyai-qa bins numbers and strings differently); values that do not parse become
    NULL, which the referee then counts against the tool.
    """
    missing = [c for c in reference.columns if c not in other.columns]
    if missing:
        raise SystemExit(f"[referee] {name} lacks columns {missing}")
    other = other[list(reference.columns)].copy()
    for col in reference.columns:
        ref_numeric = pd.api.types.is_numeric_dtype(reference[col])
        if ref_numeric and not pd.api.types.is_numeric_dtype(other[col]):
            other[col] = pd.to_numeric(other[col], errors="coerce")
        elif not ref_numeric:
            other[col] = other[col].astype("object").where(other[col].notna(), None)
    return other


def _clean(value: Any) -> Any:
    """JSON-safe float (NaN -> None), rounded to 6 places."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else round(float(value), 6)
    return value


def _strip_prefix(name: str) -> str:
    return name.removeprefix(TGT_PREFIX)


def run_qa(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    seed: int,
    report_path: Path | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run mostlyai-qa once; return its metrics and per-column/pair detail."""
    from mostlyai import qa
    from mostlyai.qa._filesystem import Statistics

    qa.set_random_state(seed)
    with tempfile.TemporaryDirectory(prefix="referee_") as tmp:
        stats_dir = Path(tmp) / "statistics"
        html = report_path if report_path is not None else Path(tmp) / "report.html"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, metrics = qa.report(
                syn_tgt_data=synthetic,
                trn_tgt_data=train,
                hol_tgt_data=holdout,
                report_path=html,
                statistics_path=stats_dir,
            )
        if metrics is None:
            raise TooFewRows("mostlyai-qa exited early (too few rows or no columns)")
        stats = Statistics(path=stats_dir)
        uni = stats.load_univariate_accuracies()
        biv = stats.load_bivariate_accuracies()
        triv = stats.load_trivariate_accuracies()
    detail: dict[str, Any] = {
        "univariate_by_column": {
            _strip_prefix(r.column): _clean(r.accuracy) for r in uni.itertuples(index=False)
        },
        "bivariate_worst_10": [
            {
                "columns": [_strip_prefix(r.col1), _strip_prefix(r.col2)],
                "accuracy": _clean(r.accuracy),
            }
            for r in biv[biv.col1 < biv.col2].nsmallest(10, "accuracy").itertuples(index=False)
        ],
        "n_bivariate_pairs": int((biv.col1 < biv.col2).sum()),
        "n_trivariate_triples": len(triv),
    }
    dumped = metrics.model_dump()
    return {k: {kk: _clean(vv) for kk, vv in v.items()} for k, v in dumped.items()}, detail


def _kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Numeric or categorical per column, from the split's dtypes (what every referee uses)."""
    return {
        c: "numeric" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical"
        for c in frame.columns
    }


def run_fallback(
    train: pd.DataFrame, holdout: pd.DataFrame | None, synthetic: pd.DataFrame, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Accuracy and DCR share from synthdb's own measures, for venvs without mostlyai-qa.

    synthdb's accuracy follows mostlyai-qa's definition (binned 1 - TVD, DESIGN.md section 5)
    but is not the outside referee; results scored this way say so in ``referee``.
    """
    from synthdb.evaluation.accuracy import accuracy
    from synthdb.evaluation.privacy import privacy

    report = accuracy(train, synthetic)
    acc = {k: _clean(getattr(report, k)) for k in ACCURACY_KEYS}
    acc.update({f"{k}_max": None for k in ACCURACY_KEYS})
    distances: dict[str, Any] = {}
    if holdout is not None:
        dist = privacy(train, synthetic, holdout, _kinds(train), seed=seed)
        distances = {"dcr_share": _clean(dist.dcr_share), "ims_training": dist.exact_match_share}
    detail = {"univariate_by_column": {k: _clean(v) for k, v in report.per_column.items()}}
    return {"accuracy": acc, "similarity": {}, "distances": distances}, detail


def referee_name() -> str:
    if HAS_QA:
        return f"mostlyai-qa {version('mostlyai-qa')}"
    return f"fallback: synthdb.evaluation {version('synthdb')} (mostlyai-qa not installed)"


def sdmetrics_quality(train: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """SDMetrics QualityReport of ``synthetic`` against the train split (metadata by dtype).

    The unified report of sdmetrics 0.32 (one table: Column Shapes and Column Pair Trends, the
    score is their mean), so the figure is the one SDV's own docs quote for a synthesizer.
    """
    if importlib.util.find_spec("sdmetrics") is None:
        return {"score": None, "reason": "sdmetrics is not installed in this venv"}
    from sdmetrics.reports import QualityReport

    sdtypes = {"numeric": "numerical", "categorical": "categorical"}
    columns = {c: {"sdtype": sdtypes[k]} for c, k in _kinds(train).items()}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"adult": train},
            {"adult": synthetic},
            {"tables": {"adult": {"columns": columns}}},
            verbose=False,
        )
    properties = report.get_properties()
    return {
        "referee": f"sdmetrics {version('sdmetrics')} QualityReport",
        "score": _clean(float(report.get_score())),
        **{
            str(row.Property).lower().replace(" ", "_"): _clean(float(row.Score))
            for row in properties.itertuples(index=False)
            if pd.notna(row.Score)
        },
    }


def _features(df: pd.DataFrame, target: str, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Model matrix: categoricals as pandas categories fixed by the real train split."""
    x = df.drop(columns=[target]).copy()
    for col, cats in categories.items():
        values = x[col].astype("object")
        x[col] = pd.Categorical(values.where(values.isin(cats)), categories=cats)
    return x


def tstr(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    positive: str,
    seed: int,
) -> dict[str, Any]:
    """Train-synthetic-test-real ROC AUC, with train-real-test-real as the ceiling.

    Category lists come from the real train split, so a value the synthetic data invents (or a
    rare-value placeholder) is treated as missing instead of as a new category.
    """
    categories = {
        col: sorted(train[col].dropna().astype(str).unique())
        for col in train.columns
        if col != target and not pd.api.types.is_numeric_dtype(train[col])
    }
    x_test = _features(holdout, target, categories)
    y_test = (holdout[target].astype(str) == positive).astype(int)

    def fit_auc(frame: pd.DataFrame) -> float | None:
        y = (frame[target].astype(str) == positive).astype(int)
        if y.nunique() < 2:
            return None
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
        model.fit(_features(frame, target, categories), y)
        return float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))

    auc_syn, auc_real = fit_auc(synthetic), fit_auc(train)
    return {
        "target": target,
        "positive": positive,
        "model": "sklearn HistGradientBoostingClassifier (defaults)",
        "auc_synthetic": _clean(auc_syn),
        "auc_real": _clean(auc_real),
        "positive_share_synthetic": _clean(float((synthetic[target] == positive).mean())),
        "positive_share_train": _clean(float((train[target] == positive).mean())),
    }


def score(
    train_csv: Path,
    holdout_csv: Path,
    synthetic_csv: Path,
    *,
    seed: int = DEFAULT_SEED,
    target: str = DEFAULT_TARGET,
    positive: str = DEFAULT_POSITIVE,
    report_path: Path | None = None,
    holdout_ceiling: bool = True,
) -> dict[str, Any]:
    """Every referee figure for one synthetic CSV, as a JSON-ready dict."""
    t0 = time.perf_counter()
    train = read_csv(train_csv)
    holdout = align_to(train, read_csv(holdout_csv), "holdout")
    synthetic = align_to(train, read_csv(synthetic_csv), "synthetic")
    if HAS_QA:
        metrics, detail = run_qa(train, holdout, synthetic, seed, report_path)
    else:
        metrics, detail = run_fallback(train, holdout, synthetic, seed)
    result: dict[str, Any] = {
        "referee": referee_name(),
        "seed": seed,
        "rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
        "accuracy": metrics["accuracy"],
        "similarity": metrics["similarity"],
        "distances": metrics["distances"],
        "accuracy_detail": detail,
    }
    if holdout_ceiling:
        result["holdout_vs_train"] = holdout_vs_train(train, holdout, seed)
    result["tstr"] = tstr(train, holdout, synthetic, target, positive, seed)
    result["sdmetrics"] = sdmetrics_quality(train, synthetic)
    result["referee_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def holdout_vs_train(train: pd.DataFrame, holdout: pd.DataFrame, seed: int) -> dict[str, Any]:
    """mostlyai-qa accuracy of the real holdout scored as if it were the synthetic data.

    It does not depend on any tool, so the driver computes it once per split (``--ceiling-only``).
    With 9,768 holdout rows against 39,074 synthetic ones it carries more sampling noise than a
    synthetic sample would, so it sits below ``accuracy.overall_max``; it is an observed
    reference, not a bound.
    """
    if HAS_QA:
        try:
            ceiling, _ = run_qa(train, None, holdout, seed, None)
        except TooFewRows as err:
            return {"what": "not measured", "reason": str(err), "rows": len(holdout)}
    else:
        ceiling, _ = run_fallback(train, None, holdout, seed)
    acc = ceiling["accuracy"]
    return {
        "what": "accuracy of the real holdout scored as if it were synthetic",
        "rows": len(holdout),
        **{k: acc[k] for k in ACCURACY_KEYS},
        **{f"{k}_max": acc[f"{k}_max"] for k in ACCURACY_KEYS},
    }


def real_data_reference(
    train_csv: Path,
    holdout_csv: Path,
    *,
    seed: int = DEFAULT_SEED,
    target: str = DEFAULT_TARGET,
    positive: str = DEFAULT_POSITIVE,
) -> dict[str, Any]:
    """Figures that depend on the split only: holdout-vs-train accuracy and TSTR on real data."""
    t0 = time.perf_counter()
    train = read_csv(train_csv)
    holdout = align_to(train, read_csv(holdout_csv), "holdout")
    ml = tstr(train, holdout, train, target, positive, seed)
    return {
        "referee": referee_name(),
        "seed": seed,
        "rows": {"train": len(train), "holdout": len(holdout)},
        "holdout_vs_train": holdout_vs_train(train, holdout, seed),
        "sdmetrics_holdout_vs_train": sdmetrics_quality(train, holdout),
        "tstr_auc_real": ml["auc_real"],
        "tstr_target": f"{target} == {positive!r}",
        "referee_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="real train split CSV")
    parser.add_argument("--holdout", type=Path, required=True, help="real holdout split CSV")
    parser.add_argument("--synthetic", type=Path, help="synthetic CSV to score")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--target", default=DEFAULT_TARGET, help="TSTR target column")
    parser.add_argument("--positive", default=DEFAULT_POSITIVE, help="TSTR positive class")
    parser.add_argument("--report", type=Path, help="also keep mostlyai-qa's HTML report here")
    parser.add_argument(
        "--no-holdout-ceiling",
        action="store_true",
        help="skip the second mostlyai-qa run that scores the holdout against train",
    )
    parser.add_argument(
        "--ceiling-only",
        action="store_true",
        help="score only the real data (holdout vs train, TSTR on real train); no --synthetic",
    )
    args = parser.parse_args(argv)
    if args.ceiling_only == (args.synthetic is not None):
        parser.error("give exactly one of --synthetic and --ceiling-only")
    for path in (args.train, args.holdout, args.synthetic):
        if path is not None and not path.is_file():
            parser.error(f"not a file: {path}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.ceiling_only:
        ref = real_data_reference(
            args.train, args.holdout, seed=args.seed, target=args.target, positive=args.positive
        )
        args.out.write_text(json.dumps(ref, indent=2) + "\n")
        hvt = ref["holdout_vs_train"]
        print(
            f"[referee] holdout vs train accuracy {hvt.get('overall')} "
            f"(uni {hvt.get('univariate')}, biv {hvt.get('bivariate')}, "
            f"tri {hvt.get('trivariate')}), TSTR AUC on real train {ref['tstr_auc_real']} "
            f"in {ref['referee_seconds']} s -> {args.out}"
        )
        return 0
    result = score(
        args.train,
        args.holdout,
        args.synthetic,
        seed=args.seed,
        target=args.target,
        positive=args.positive,
        report_path=args.report,
        holdout_ceiling=not args.no_holdout_ceiling,
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    acc, dist, ml = result["accuracy"], result["distances"], result["tstr"]
    print(
        f"[referee] {result['referee']}: accuracy {acc['overall']} (uni {acc['univariate']}, "
        f"biv {acc['bivariate']}, tri {acc['trivariate']}; max {acc['overall_max']}), "
        f"SDMetrics quality {result['sdmetrics']['score']}, DCR share {dist.get('dcr_share')}, "
        f"TSTR AUC {ml['auc_synthetic']} (real {ml['auc_real']}) "
        f"in {result['referee_seconds']} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
