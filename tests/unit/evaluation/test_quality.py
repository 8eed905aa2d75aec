"""``evaluate`` returns every report figure, still an AccuracyReport, and JSON-ready."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from synthdb import evaluate
from synthdb.errors import UsageError
from synthdb.evaluation.accuracy import AccuracyReport, accuracy
from synthdb.evaluation.columns import accuracy_kinds
from synthdb.evaluation.quality import QualityReport
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed


@pytest.fixture(scope="module")
def thirds(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows = adult.sample(3_000, random_state=11).reset_index(drop=True)
    return rows.iloc[:1_000], rows.iloc[1_000:2_000], rows.iloc[2_000:]


def test_evaluate_keeps_the_accuracy_figures_and_adds_the_report_ones(
    thirds: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    real, synthetic, holdout = thirds

    report = evaluate(real, synthetic, holdout, target="income")

    assert isinstance(report, QualityReport) and isinstance(report, AccuracyReport)
    schema = infer_schema(real, "real")
    kinds = accuracy_kinds(schema)

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        return to_typed(frame[schema.names], schema)[list(kinds)]

    plain = accuracy(typed(real), typed(synthetic), typed(holdout), kinds=kinds)
    assert (report.overall, report.per_pair) == (plain.overall, plain.per_pair)
    assert report.holdout == plain.holdout
    assert report.rows == {"real": 1_000, "synthetic": 1_000, "holdout": 1_000}
    assert set(report.columns) == set(report.per_column)
    assert report.privacy is not None and report.privacy.dcr_share is not None
    assert abs(report.privacy.dcr_share - 0.5) < 0.06  # two samples of the same people
    assert report.utility is not None and report.utility.positive == ">50K"
    assert report.associations is not None
    assert len(report.associations.real) == len(report.per_column)


def test_the_figures_serialise_to_strict_json_in_a_stable_layout(
    thirds: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    real, synthetic, _ = thirds

    figures = evaluate(real, synthetic).to_dict()

    text = json.dumps(figures, allow_nan=False)  # NaN would make the JSON invalid
    assert list(figures)[:7] == [
        "overall",
        "univariate",
        "bivariate",
        "trivariate",
        "per_column",
        "per_pair",
        "holdout",
    ]
    assert figures["utility"] is None and figures["privacy"]["dcr_share"] is None
    column = figures["columns"]["age"]
    assert math.isclose(sum(column["real"]) + column["null_real"], 1.0)
    assert json.loads(text) == figures


def test_a_target_without_a_holdout_is_refused(
    thirds: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    real, synthetic, _ = thirds

    with pytest.raises(UsageError, match="holdout"):
        evaluate(real, synthetic, target="income")
