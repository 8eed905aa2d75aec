"""The DP statistics behind the encoders: what they release, what they never release."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.config import Privacy, PublicColumn
from synthdb.encoding.categorical import RARE
from synthdb.encoding.private import denoised
from synthdb.privacy.preprocessing import default_delta, prepare
from synthdb.schema.inference import MARK_SHIFT, infer_schema
from synthdb.schema.values import to_typed

CANARY = "canary-7f3a"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = 2_000
    city = ["Lyon"] * 1_000 + ["Nice"] * 600 + ["Metz"] * 399 + [CANARY]
    return pd.DataFrame(
        {
            "city": city,
            "age": [str(int(a)) for a in rng.integers(18, 80, rows)],
            "income": [f"{v:.2f}" for v in rng.lognormal(10, 1, rows)],
            "score": [str(v) if i % 10 else "" for i, v in enumerate(rng.integers(0, 5, rows))],
        }
    )


def fit(table: pd.DataFrame, seed: int, policy: str = "keep", **privacy: object):
    frame = table.replace("", np.nan)
    schema = infer_schema(frame, "t")
    typed = to_typed(frame, schema)
    settings = Privacy(**{"epsilon": 1.0, **privacy})  # type: ignore[arg-type]
    return prepare(typed, schema, policy, settings, 1e-5, np.random.default_rng(seed))  # type: ignore[arg-type]


def test_a_value_held_by_one_row_stays_out_of_the_vocabulary(table) -> None:
    present = sum(
        CANARY in fit(table, seed).table.encoder.encoders[0].categories for seed in range(100)
    )
    assert present <= 1
    assert "Lyon" in fit(table, 0).table.encoder.encoders[0].categories  # the common value is kept


def test_nothing_exact_is_kept_in_the_schema_or_the_null_report(table) -> None:
    prepared = fit(table, 3)
    age = prepared.schema.column("age")
    assert (age.minimum, age.maximum) != (18.0, 79.0)  # power-of-two range: 16 .. 128
    assert age.minimum in (16.0, 32.0) and age.maximum == 128.0
    assert all(c.distinct == 0 and c.null_count == 0 for c in prepared.schema.columns)
    assert prepared.schema.rows != len(table) or prepared.table.rows != len(table)
    assert "DP estimates" in prepared.table.nulls.warnings[0]


def test_every_release_is_in_the_ledger_within_the_share(table) -> None:
    prepared = fit(table, 4)
    ledger = prepared.ledger
    targets = [e.target for e in ledger.entries]
    assert targets[0] == "schema" and ledger.entries[0].epsilon == 0.0
    assert "row count" in targets
    assert any(t.startswith("city: vocabulary") for t in targets)
    assert any(t.startswith("income: range") for t in targets)
    share = Privacy.model_fields["preprocessing_share"].default
    assert ledger.total_epsilon <= share + 1e-9  # the default preprocessing share of epsilon 1
    assert ledger.threshold_delta <= 0.1 * ledger.delta
    histograms = [e for e in ledger.entries if e.mechanism == "gaussian histogram"]
    assert len({e.delta for e in histograms}) == 1  # one delta for all, not a running figure


def test_declared_public_columns_are_used_as_given_and_not_charged(table) -> None:
    public = {
        "city": PublicColumn(categories=["Lyon", "Nice", "Metz", "Brest"]),
        "income": PublicColumn(bounds=(0.0, 1e6)),
    }
    prepared = fit(table, 5, public=public)
    city = prepared.table.encoder.encoders[0]
    assert city.categories == ["Lyon", "Nice", "Metz", "Brest"]
    targets = [e.target for e in prepared.ledger.entries]
    assert not any(t.startswith("city: vocabulary") for t in targets)
    assert not any(t.startswith("income: range") for t in targets)
    assert "column city" in targets  # recorded as declared public


def test_replace_fills_nulls_with_a_dp_average(table) -> None:
    prepared = fit(table, 6, policy="replace")
    assert not prepared.table.frame["score"].isna().any()
    assert prepared.table.nulls.replaced_with["score"] in {1.0, 2.0, 3.0}  # true mean is about 2


def test_the_dp_average_is_not_pulled_up_by_the_empty_top_of_the_range() -> None:
    """Ages 18-79 in a DP range of 16-128: the average must not drift into the empty top."""
    rng = np.random.default_rng(1)
    ages = rng.integers(18, 80, 2_000)
    frame = pd.DataFrame(
        {
            "city": ["Lyon", "Nice"] * 1_000,
            "age": [str(a) if i % 10 else "" for i, a in enumerate(ages)],
        }
    )
    true = ages[np.arange(ages.size) % 10 != 0].mean()
    means = [
        fit(frame, seed, policy="replace").table.nulls.replaced_with["age"] for seed in range(30)
    ]
    # bias about +4.7 years at this noise (sigma 33 rows a cell); clipped counts gave +13
    assert abs(np.mean(means) - true) < 6.0
    assert all(16 <= m <= 128 for m in means)


def test_unseen_categories_map_to_the_rare_placeholder(table) -> None:
    city = fit(table, 7).table.encoder.encoders[0]
    assert city.rare_values == [RARE]


def test_default_delta_depends_on_the_row_count_order_of_magnitude_only() -> None:
    assert default_delta(2_000) == default_delta(9_999) == 1e-5
    assert default_delta(20_000) == 1e-6


def _seeded(prepared, column: str) -> tuple[object, list[np.ndarray]]:
    """The column's encoder and the noisy counts that seed its sub-columns' heads."""
    start = 0
    for encoder in prepared.table.encoder.encoders:
        width = len(encoder.sub_columns)
        if encoder.column == column:
            return encoder, prepared.table.token_counts[start : start + width]
        start += width
    raise KeyError(column)


def test_empty_cells_of_a_too_wide_range_seed_no_mass(table) -> None:
    """The DP range of age (18-79) is a power-of-two bucket, 16-128: its 51 empty cells must not
    start with the mass of their noise, or a twin has ages of 80-128 (1% of rows at epsilon 4
    on Adult before the noise floor)."""
    empty, inside = [], []
    for seed in range(20):
        encoder, (counts,) = _seeded(fit(table, seed, epsilon=8.0), "age")
        values = np.asarray(encoder.exact)
        counts = counts[-values.size :]  # after the NULL token, if any
        outside = (values < 18) | (values > 79)
        assert outside.sum() >= 40  # the range really is too wide
        empty.append(counts[outside].sum() / counts.sum())
        inside.append(np.mean(counts[~outside] > 0))
    assert np.mean(empty) < 0.01  # 0.07 with the clipped counts
    assert np.mean(inside) > 0.75  # about 32 rows a cell: most clear the floor (0.87)


def test_a_lone_noise_cell_does_not_survive_but_a_lone_real_value_does() -> None:
    """Of many empty cells, the noisiest often clears the 2-sigma soft threshold; alone, with
    no neighbour left, it must clear 3.5 sigma. A value held alone by many rows stays."""
    sigma, survived, soft = 20.0, 0, 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        released = np.concatenate([np.full(16, 500.0), np.zeros(48)]) + rng.normal(0, sigma, 64)
        released[40] += 150.0  # a real top-code held by 150 rows (7.5 sigma), alone
        seeded = denoised(released, sigma)
        assert (seeded[:16] > 0).all() and seeded[40] > 0
        lone = np.ones(64, dtype=bool)
        lone[:17] = False  # the bulk and the cell next to it
        lone[39:42] = False  # the top-code and its neighbours
        survived += int((seeded[lone] > 0).any())
        soft += int((released[lone] > 2 * sigma).any())
    assert soft > 100  # without the rule most releases keep a lone noise cell (about 2/3)
    assert survived <= 12  # with it, about 4%: two neighbouring noise cells both past 2 sigma


def test_bin_edges_of_a_continuous_column_follow_the_rows_not_the_noise(table) -> None:
    """Quantile edges read off the raw noisy histogram: clipping each count at zero used to add
    the noise of every empty cell above the data and spend bins on it (7 of 64 bins held under
    a quarter of their share of the rows, against about 1 now)."""
    income = table["income"].astype(float).to_numpy()
    thin = []
    for seed in range(10):
        encoder, _ = _seeded(fit(table, seed, epsilon=8.0), "income")
        edges = np.asarray(encoder.edges)
        assert edges[-1] > 10 * np.median(income)  # a long, thin tail: room for wasted bins
        rows_per_bin = np.histogram(income, edges)[0]
        thin.append(np.sum(rows_per_bin < 0.25 * income.size / (edges.size - 1)))
    assert np.mean(thin) <= 3


def test_a_marked_date_gets_noisy_mark_counts_and_a_date_grid_within_the_budget() -> None:
    # birth numbers: YYMMDD, month + 50 on every other row (a marked date, schema/inference)
    rng = np.random.default_rng(8)
    days = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 20_000, 3_000), "D")
    numbers = days.strftime("%y%m%d").astype(int) + np.where(np.arange(3_000) % 2, 5_000, 0)
    frame = pd.DataFrame({"birth_number": numbers, "city": rng.choice(["a", "b"], 3_000)})
    schema = infer_schema(frame, "t")
    assert schema.column("birth_number").datetime_format == "%y%m%d;month+50"
    settings = Privacy(epsilon=1.0)

    prepared = prepare(to_typed(frame, schema), schema, "keep", settings, 1e-5, rng)

    marked = prepared.table.encoder.encoders[0]
    assert marked.to_dict()["kind"] == "marked"
    assert [s.name for s in marked.sub_columns][:2] == ["birth_number#mark", "birth_number"]
    targets = [e.target for e in prepared.ledger.entries]
    assert any(t.startswith("birth_number#mark: counts") for t in targets)
    assert prepared.ledger.total_epsilon <= settings.preprocessing_share * 1.0 + 1e-9
    # the date's DP range is that of real dates (two-digit years: 1969-2068), not shifted ones
    date_range = prepared.table.encoder.encoders[0].date  # type: ignore[attr-defined]
    assert -1e10 < date_range.minimum < date_range.maximum < 1e10 < MARK_SHIFT


def test_every_count_an_encoder_asks_for_is_one_charged_gaussian_histogram() -> None:
    from synthdb.encoding.private import NoisyCounts
    from synthdb.privacy.ledger import Ledger
    from synthdb.privacy.preprocessing import ChargedCounts

    ledger = Ledger(delta=1e-5)
    counts: NoisyCounts = ChargedCounts(3.0, 20.0, 1e-7, 9e-6, ledger, np.random.default_rng(0))
    numbers = np.arange(100.0)

    counts.rows(100)
    counts.cells("b: counts", np.array([60.0, 40.0]))
    counts.vocabulary("c: vocabulary + NULLs", ["x"] * 50, nulls=3)
    counts.frequent("n: point masses", [0.0] * 50, threshold=25.0)
    counts.bounds("n: range", numbers)
    counts.grid("n: grid of 4 + NULLs", numbers, np.linspace(0.0, 100.0, 5), nulls=0)

    entries = ledger.entries
    assert [e.target for e in entries] == [
        "row count",
        "b: counts",
        "c: vocabulary + NULLs",
        "n: point masses",
        "n: range",
        "n: grid of 4 + NULLs",
    ]
    assert all(e.gaussian == (3.0, 1.0, 1) and e.delta == 9e-6 for e in entries)
    assert [e.threshold_delta for e in entries] == [0.0, 0.0, 1e-7, 1e-7, 0.0, 0.0]
    assert entries[3].parameters["threshold"] == 25.0  # the point masses' own threshold
    assert entries[5].parameters["low"] == 0.0 and entries[5].parameters["high"] == 100.0
