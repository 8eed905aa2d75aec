"""ML utility: does a model trained on synthetic rows predict real rows as well as one trained
on the real rows?

Train on synthetic, test on real (TSTR): a gradient-boosted model learns ``target`` from the
synthetic table, another from the real training table, and both are scored on the holdout,
real rows neither the generator nor the models saw. The real-trained score is the ceiling.
scikit-learn's ``HistGradientBoosting*`` is the model because it needs no tuning, takes
categories and NULLs as they are, and trains on tens of thousands of rows in seconds; the
benchmark (DESIGN.md section 8) quotes the same model.

The task follows the target: two classes give ROC AUC (the rarer real class is "positive", so
the figure reads as "how well are the rare cases found"), more classes give accuracy, numbers
with more than two values give R^2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthdb.errors import InputError, UsageError
from synthdb.evaluation._values import floats, texts
from synthdb.evaluation.accuracy import ColumnKind

Task = Literal["binary", "multiclass", "regression"]
METRICS: dict[Task, str] = {"binary": "ROC AUC", "multiclass": "accuracy", "regression": "R^2"}
MODEL = "scikit-learn HistGradientBoosting (defaults)"
#: Rows a model trains on at most (a seeded sample beyond); the page says when it sampled.
MAX_TRAIN_ROWS = 100_000
#: HistGradientBoosting takes at most 255 bins per feature; one is kept for missing values.
_MAX_FEATURE_CATEGORIES = 250


@dataclass(frozen=True)
class UtilityReport:
    """Scores on the holdout of a model trained on synthetic rows and of one trained on real."""

    target: str
    task: Task
    metric: str
    synthetic: float | None
    real: float | None
    positive: str | None
    classes: list[str] | None
    train_rows_synthetic: int
    train_rows_real: int
    test_rows: int
    sampled: bool
    model: str
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("synthetic", "real"):
            value = data[key]
            data[key] = None if value is None or not math.isfinite(value) else float(value)
        return data


def check_target(target: str, columns: list[str], kinds: dict[str, ColumnKind]) -> None:
    """One-line errors for a target that cannot be predicted, before any slow work."""
    if target not in columns:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise UsageError(
            f"target column {target!r} is not in the real table",
            hint=f"choose one of: {shown}",
        )
    if target not in kinds:
        raise UsageError(
            f"target column {target!r} is a key (every value distinct): there is nothing to "
            "learn about it",
            hint="choose a column with repeated values",
        )
    if len(kinds) < 2:
        raise UsageError(
            f"target column {target!r} is the only column compared: no features to learn from",
            hint="ML utility needs at least one more column",
        )


def ml_utility(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    kinds: dict[str, ColumnKind],
    *,
    seed: int = 0,
    max_train_rows: int = MAX_TRAIN_ROWS,
) -> UtilityReport:
    """TSTR for ``target`` on typed frames with the columns of ``kinds``."""
    columns = list(kinds)
    check_target(target, columns, kinds)
    notes: list[str] = []
    train = _labelled(train, target)
    synthetic = _labelled(synthetic, target)
    holdout = _labelled(holdout, target)
    if len(train) == 0 or len(holdout) == 0:
        raise InputError(
            f"target column {target!r} is NULL in every real or holdout row",
            hint="choose a target with values",
        )
    rng = np.random.default_rng(seed)
    sampled = False
    if len(train) > max_train_rows:
        train = train.iloc[np.sort(rng.choice(len(train), max_train_rows, replace=False))]
        sampled = True
    if len(synthetic) > max_train_rows:
        synthetic = synthetic.iloc[np.sort(rng.choice(len(synthetic), max_train_rows, False))]
        sampled = True
    if sampled:
        notes.append(f"models trained on at most {max_train_rows:,} sampled rows")

    features = [c for c in columns if c != target]
    categories = {c: _top_categories(train[c]) for c in features if kinds[c] == "categorical"}

    def matrix(frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, Any] = {}
        for column in features:
            if column in categories:
                # values the real rows lack (or rare ones beyond the cap) count as missing
                values = texts(frame[column])
                known = values.where(values.isin(categories[column]), None)
                out[column] = pd.Categorical(known, categories=categories[column])
            else:
                out[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        return pd.DataFrame(out, index=frame.index)

    x_test = matrix(holdout)
    if kinds[target] == "categorical" or texts(train[target]).nunique() <= 2:
        labels = texts(train[target])
        counts = labels.value_counts()
        if len(counts) < 2:
            raise InputError(
                f"target column {target!r} has one value in the real data: nothing to predict",
                hint="choose a column with at least two values",
            )
        task: Task = "binary" if len(counts) == 2 else "multiclass"
        classes = sorted(str(c) for c in counts.index)
        positive = str(counts.index[-1]) if task == "binary" else None
        score = _classifier_score(task, positive, x_test, texts(holdout[target]), seed)

        def fit_score(frame: pd.DataFrame, name: str) -> float | None:
            y = texts(frame[target])
            known = y.isin(classes)
            if not known.all():
                notes.append(
                    f"{int((~known).sum()):,} {name} rows with a target value the real data "
                    "lacks were left out"
                )
            y, x = y[known], matrix(frame[known])
            if y.nunique() < 2:
                notes.append(f"the {name} rows hold one target value only: no model to train")
                return None
            return score(x, y)

        synthetic_score = fit_score(synthetic, "synthetic")
        real_score = fit_score(train, "real")
        if task == "binary" and texts(holdout[target]).nunique() < 2:
            notes.append("the holdout holds one target value only: ROC AUC is undefined")
            synthetic_score = real_score = None
    else:
        task, classes, positive = "regression", None, None
        y_test = floats(holdout[target])

        def fit_score(frame: pd.DataFrame, name: str) -> float | None:
            from sklearn.ensemble import HistGradientBoostingRegressor
            from sklearn.metrics import r2_score

            y = floats(frame[target])
            model = HistGradientBoostingRegressor(
                categorical_features="from_dtype", random_state=seed
            )
            model.fit(matrix(frame), y)
            return float(r2_score(y_test, model.predict(x_test)))

        synthetic_score = fit_score(synthetic, "synthetic")
        real_score = fit_score(train, "real")
    return UtilityReport(
        target=target,
        task=task,
        metric=METRICS[task],
        synthetic=synthetic_score,
        real=real_score,
        positive=positive,
        classes=classes,
        train_rows_synthetic=len(synthetic),
        train_rows_real=len(train),
        test_rows=len(holdout),
        sampled=sampled,
        model=MODEL,
        notes=notes,
    )


def _classifier_score(
    task: Task,
    positive: str | None,
    x_test: pd.DataFrame,
    y_test: pd.Series,
    seed: int,
) -> Any:
    """A function that trains a classifier on (x, y) and scores it on the holdout."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    def score(x: pd.DataFrame, y: pd.Series) -> float:
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
        model.fit(x, y.to_numpy(dtype=object).astype(str))
        if task == "binary":
            assert positive is not None
            column = list(model.classes_).index(positive)
            truth = (y_test == positive).to_numpy()
            return float(roc_auc_score(truth, model.predict_proba(x_test)[:, column]))
        predicted = model.predict(x_test)
        return float(accuracy_score(y_test.to_numpy(dtype=object).astype(str), predicted))

    return score


def _labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Rows whose target is known: a NULL target is nothing to learn or to score."""
    return frame[frame[target].notna()]


def _top_categories(series: pd.Series) -> list[str]:
    counts = texts(series).value_counts(dropna=True)
    return sorted(str(v) for v in counts.index[:_MAX_FEATURE_CATEGORIES])
