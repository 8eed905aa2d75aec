"""The encoders' private fits, driven by noise-free counts: what they ask for, what they build.

The counts here carry no noise (the Gaussian mechanisms are tested in ``tests/unit/privacy``),
so every figure a private fit derives can be checked against the data it came from.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Hashable, Iterable

import numpy as np
import pandas as pd
import pytest

from synthdb.config import PublicColumn
from synthdb.encoding.base import ColumnStatistics
from synthdb.encoding.categorical import RARE, CategoricalEncoder
from synthdb.encoding.nulls import DP_ESTIMATES, NullReport, replace_nulls
from synthdb.encoding.numeric import NumericEncoder
from synthdb.encoding.prepare import prepare_table
from synthdb.encoding.private import NoisyCounts
from synthdb.encoding.table import TableEncoder
from synthdb.schema.inference import infer_schema
from synthdb.schema.table import ColumnSchema
from synthdb.schema.values import to_typed


class ExactCounts:
    """:class:`NoisyCounts` without noise: exact counts, and a log of every release."""

    sigma = 1e-9

    def __init__(self, threshold: float = 2.5) -> None:
        self.threshold = threshold
        self.released: list[tuple[str, bool]] = []  # (target, thresholded)

    def rows(self, count: int) -> float:
        self.released.append(("row count", False))
        return float(count)

    def cells(self, target: str, counts: np.ndarray) -> np.ndarray:
        self.released.append((target, False))
        return np.asarray(counts, dtype=np.float64)

    def vocabulary(
        self, target: str, values: Iterable[Hashable], nulls: int
    ) -> tuple[dict[Hashable, float], float]:
        self.released.append((target, True))
        return self._above(values, self.threshold), float(nulls)

    def frequent(
        self, target: str, values: Iterable[Hashable], threshold: float
    ) -> dict[Hashable, float]:
        self.released.append((target, True))
        return self._above(values, threshold)

    def bounds(self, target: str, numbers: np.ndarray) -> tuple[float, float] | None:
        self.released.append((target, False))
        return (float(numbers.min()), float(numbers.max())) if numbers.size else None

    def grid(
        self, target: str, numbers: np.ndarray, edges: np.ndarray, nulls: int
    ) -> tuple[np.ndarray, float]:
        self.released.append((target, False))
        cells = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, edges.size - 2)
        return np.bincount(cells, minlength=edges.size - 1).astype(np.float64), float(nulls)

    def empty_below(self) -> float:
        return 0.5

    @staticmethod
    def _above(values: Iterable[Hashable], threshold: float) -> dict[Hashable, float]:
        counts = pd.Series(list(values), dtype=object).value_counts()
        return {k: float(v) for k, v in counts.items() if v > threshold}


def test_exact_counts_satisfy_the_interface() -> None:
    counts: NoisyCounts = ExactCounts()  # mypy checks the protocol; this checks it runs
    assert counts.rows(3) == 3.0


def test_a_category_below_the_threshold_is_pooled_as_rare_and_the_mode_is_released() -> None:
    column = ColumnSchema(name="city", kind="categorical")
    values = pd.Series(["Lyon"] * 6 + ["Nice"] * 4 + ["Metz"] * 2 + [None] * 3, dtype=object)
    counts = ExactCounts(threshold=2.5)

    fitted = CategoricalEncoder.fit_private(column, values, counts, 15.0, keep_nulls=True)

    encoder = fitted.encoder
    assert isinstance(encoder, CategoricalEncoder)
    assert encoder.categories == ["Lyon", "Nice"] and encoder.rare_values == [RARE]
    assert encoder.has_null  # 3 NULLs are above the noise floor of 0.5
    # heads start at the released counts: NULL, Lyon, Nice, and the rest (Metz) as rare
    assert fitted.token_counts[0].tolist() == [3.0, 6.0, 4.0, 2.0]  # type: ignore[union-attr]
    assert fitted.statistics == ColumnStatistics(3.0, "Lyon")
    assert counts.released == [("city: vocabulary + NULLs", True)]


def test_without_keep_nulls_a_private_fit_has_no_null_token() -> None:
    column = ColumnSchema(name="ok", kind="boolean", boolean_tokens=["no", "yes"])
    values = pd.Series(["yes"] * 5 + ["no"] * 2 + [None], dtype=object)
    counts = ExactCounts()

    fitted = CategoricalEncoder.fit_private(column, values, counts, 8.0, keep_nulls=False)

    assert not fitted.encoder.has_null  # type: ignore[attr-defined]
    assert fitted.encoder.categories == ["no", "yes"]  # type: ignore[attr-defined]
    assert fitted.token_counts[0].tolist() == [2.0, 5.0]  # type: ignore[union-attr]
    assert counts.released == [("ok: counts of ['no', 'yes'] + NULLs", False)]  # no threshold


def test_a_small_integer_range_gets_one_token_per_value_and_a_rounded_mean() -> None:
    column = ColumnSchema(name="age", kind="numeric", integer=True)
    values = pd.Series([20.0, 21.0, 21.0, 25.0, np.nan])
    counts = ExactCounts()

    fitted = NumericEncoder.fit_private(column, values, counts, 5.0, keep_nulls=False)

    encoder = fitted.encoder
    assert isinstance(encoder, NumericEncoder)
    assert encoder.exact == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]  # every integer in the range
    assert (encoder.minimum, encoder.maximum) == (20.0, 25.0)
    assert fitted.statistics == ColumnStatistics(1.0, 22.0)  # 21.75 rounded
    # empty cells between real ones seed nothing (soft threshold); real ones seed their count
    seeded = fitted.token_counts[0]
    assert seeded is not None and seeded[[0, 1, 5]].tolist() == pytest.approx([1.0, 2.0, 1.0])
    assert [t for t, _ in counts.released] == ["age: range", "age: grid of 6 + NULLs"]


def test_a_continuous_column_keeps_its_point_mass_and_bins_the_rest_by_quantile() -> None:
    column = ColumnSchema(name="gain", kind="numeric", integer=False)
    rng = np.random.default_rng(0)
    values = pd.Series(np.concatenate([np.zeros(700), rng.uniform(100.0, 1_000.0, 300)]))
    counts = ExactCounts()

    fitted = NumericEncoder.fit_private(column, values, counts, 1_000.0, keep_nulls=False)

    encoder = fitted.encoder
    assert isinstance(encoder, NumericEncoder)
    assert encoder.exact == [0.0]  # 70% of rows: a point mass with its own token
    edges = np.asarray(encoder.edges)
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(values.max())
    rest = values[values > 0]
    per_bin = np.histogram(rest, edges)[0]
    assert per_bin.max() <= 3 * per_bin.mean()  # quantile bins: about equal shares
    assert [t for t, _ in counts.released] == [
        "gain: range",
        "gain: grid of 256 + NULLs",
        "gain: point masses",
    ]


def test_declared_bounds_and_categories_are_used_as_given_without_a_release() -> None:
    counts = ExactCounts()
    age = NumericEncoder.fit_private(
        ColumnSchema(name="age", kind="numeric", integer=True),
        pd.Series([30.0, 40.0]),
        counts,
        2.0,
        keep_nulls=False,
        declared=PublicColumn(bounds=(0.0, 120.0)),
    )
    sex = CategoricalEncoder.fit_private(
        ColumnSchema(name="sex", kind="categorical"),
        pd.Series(["F", "M"], dtype=object),
        counts,
        2.0,
        keep_nulls=False,
        declared=PublicColumn(categories=["M", "F", "X"]),
    )

    assert (age.encoder.minimum, age.encoder.maximum) == (0.0, 120.0)  # type: ignore[attr-defined]
    assert sex.encoder.categories == ["M", "F", "X"]  # type: ignore[attr-defined]
    assert sex.token_counts == [None]  # nothing measured: the heads start uniform
    assert [t for t, _ in counts.released] == ["age: grid of 121 + NULLs"]


def _every_kind() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    days = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 15_000, 400), "D")
    return pd.DataFrame(
        {
            "id": [f"k{i}" for i in range(400)],
            "age": rng.integers(18, 90, 400),
            "income": rng.lognormal(10, 1, 400).round(2),
            "city": rng.choice(["a", "b", "c"], 400),
            "flag": rng.choice(["true", "false"], 400),
            "born": days.strftime("%Y-%m-%d"),
            "birth_number": days.strftime("%y%m%d").astype(int)
            + np.where(np.arange(400) % 2, 5_000, 0),
        }
    )


@pytest.mark.parametrize("public", [{}, {"age": PublicColumn(bounds=(0.0, 99.0))}])
def test_the_release_plan_bounds_what_the_private_fits_release(public) -> None:
    """The noise is calibrated to the plan before anything is released: releasing more than
    planned would overspend the budget."""
    frame = _every_kind()
    schema = infer_schema(frame, "t")
    assert {c.kind for c in schema.columns} >= {"key", "numeric", "categorical", "boolean"}
    counts = ExactCounts()

    TableEncoder.fit_private(
        to_typed(frame, schema), schema, counts, keep_nulls=True, declared=public
    )

    thresholded, releases = TableEncoder.private_releases(schema, public)
    assert len(counts.released) <= releases
    assert sum(t for _, t in counts.released) <= thresholded
    assert counts.released[0] == ("row count", False)
    assert not any(target.startswith("id") for target, _ in counts.released)  # keys: never


def test_one_null_policy_reads_exact_statistics_or_dp_estimates() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": ["a", "b", "b"], "z": [np.nan] * 3})
    statistics = {
        "x": ColumnStatistics(1, 2.0),
        "y": ColumnStatistics(0, "b"),
        "z": ColumnStatistics(3),
    }
    exact = NullReport("replace", 3, 3)
    estimated = NullReport("replace", 3, 3, warnings=[DP_ESTIMATES], estimated=True)

    plain = replace_nulls(frame, statistics, exact)
    private = replace_nulls(frame, statistics, estimated)

    assert plain["x"].tolist() == private["x"].tolist() == [1.0, 2.0, 3.0]
    # exact: only the columns with NULLs are named; DP: every column with an average, since
    # naming only those with NULLs would publish which ones have them
    assert exact.replaced_with == {"x": 2.0}
    assert estimated.replaced_with == {"x": 2.0, "y": "b"}
    assert "entirely NULL" in exact.warnings[0]
    assert "no DP average" in estimated.warnings[1]
    assert frame["x"].isna().sum() == 1  # the input is left as it was


def test_prepare_table_under_dp_never_reports_exact_counts() -> None:
    frame = _every_kind().drop(columns=["birth_number"])
    frame.loc[::7, "city"] = None
    schema = infer_schema(frame, "t")

    table = prepare_table(to_typed(frame, schema), schema, "replace", ExactCounts())

    assert table.nulls.estimated and table.nulls.warnings[0] == DP_ESTIMATES
    assert set(table.nulls.replaced_with) == {"age", "income", "city", "flag", "born"}
    assert not table.frame["city"].isna().any()
    assert table.token_counts is not None
    assert len(table.token_counts) == len(table.encoder.sub_columns)


def test_encoding_imports_nothing_from_privacy() -> None:
    """The layering rule: privacy builds on encoding, never the other way round."""
    code = (
        "import sys, synthdb.encoding.prepare, synthdb.encoding.table;"
        "print([m for m in sys.modules if m.startswith('synthdb.privacy')])"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
