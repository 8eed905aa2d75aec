"""Encoder statistics from chunks equal the in-memory ones, or lie within the sketch's error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.encoding.nulls import NullPolicy, drop_null_rows, replace_nulls
from synthdb.encoding.prepare import prepare_table
from synthdb.encoding.streamed import RowSample, StreamedStatistics
from synthdb.encoding.table import TableEncoder
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed


def _table(rows: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.gamma(2.0, 50.0, rows).round(2) + 1.0
    amount[rng.random(rows) < 0.2] = 250.0  # a point mass inside the range
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "amount": amount,
            "city": rng.choice(["Oslo", "Rome", "Lima", "Pisa"], rows, p=[0.5, 0.3, 0.2, 0.0]),
            "rare": [f"v{i}" if i % 50 == 0 else "common" for i in range(rows)],
            "member": rng.choice([True, False], rows),
            "joined": (
                pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
            ).strftime("%Y-%m-%d"),
        }
    )
    for name, share in [("age", 0.05), ("amount", 0.03), ("city", 0.04), ("joined", 0.02)]:
        frame.loc[rng.random(rows) < share, name] = None
    return frame


def _streamed(typed: pd.DataFrame, schema_policy: tuple, chunk: int) -> tuple:  # type: ignore[type-arg]
    schema, policy = schema_policy
    statistics = StreamedStatistics(schema, policy)
    for start in range(0, len(typed), chunk):
        statistics.add(typed.iloc[start : start + chunk].reset_index(drop=True))
    report, averages = statistics.report()
    sample = typed
    if policy == "drop":
        sample = drop_null_rows(typed, explain=False)
    elif policy == "replace":
        sample = replace_nulls(typed, averages, report.__class__("replace", 0, 0))
    return statistics.encoder(sample), report


@pytest.mark.parametrize("policy", ["replace", "drop", "keep"])
def test_streamed_encoders_equal_the_in_memory_ones(policy: NullPolicy) -> None:
    # Setup: a table whose sample is the whole table, read in uneven chunks
    frame = _table()
    schema = infer_schema(frame)
    typed = to_typed(frame, schema)

    # Run
    expected = prepare_table(typed, schema, policy)
    encoder, report = _streamed(typed, (schema, policy), chunk=701)

    # Assert: the same encoders and the same account of the NULLs (a mean summed in chunks
    # may differ from numpy's pairwise sum in the last bit)
    assert _rounded(encoder.to_dict()) == _rounded(expected.encoder.to_dict())
    assert _rounded(report.to_dict()) == _rounded(expected.nulls.to_dict())


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_streamed_quantile_edges_lie_within_the_sketch_error() -> None:
    # Setup: 400,000 continuous values, of which a uniform sample of 20,000 is kept
    rng = np.random.default_rng(1)
    values = rng.lognormal(3.0, 1.0, 400_000)
    typed = pd.DataFrame({"x": values})
    schema = infer_schema(typed)
    sample = RowSample(20_000, np.random.default_rng(2))
    statistics = StreamedStatistics(schema, "keep")
    for start in range(0, len(typed), 50_000):
        chunk = typed.iloc[start : start + 50_000].reset_index(drop=True)
        sample.add(chunk)
        statistics.add(chunk)

    # Run
    streamed = statistics.encoder(sample.rows()).encoders[0]
    exact = TableEncoder.fit(typed, schema).encoders[0]

    # Assert: the range is exact; each inner edge's rank is within 3 / sqrt(20,000) = 2.1%
    assert (streamed.minimum, streamed.maximum) == (exact.minimum, exact.maximum)  # type: ignore[attr-defined]
    edges = np.asarray(streamed.edges)  # type: ignore[attr-defined]
    assert len(edges) == len(exact.edges)  # type: ignore[attr-defined]
    ranks = np.searchsorted(np.sort(values), edges[1:-1]) / values.size
    targets = np.linspace(0.0, 1.0, len(edges))[1:-1]
    assert np.abs(ranks - targets).max() < 3 / np.sqrt(20_000)


def test_row_sample_keeps_every_row_equally_often() -> None:
    # Setup: 200 rows streamed in uneven chunks, 20 kept, 1,000 times
    rows, kept, trials = 200, 20, 1_000
    frame = pd.DataFrame({"row": np.arange(rows)})
    hits = np.zeros(rows)
    rng = np.random.default_rng(3)

    # Run
    for _ in range(trials):
        sample = RowSample(kept, rng)
        for start, stop in [(0, 7), (7, 90), (90, 91), (91, 200)]:
            sample.add(frame.iloc[start:stop])
        picked = sample.rows()["row"].to_numpy()
        assert len(set(picked)) == kept and list(picked) == sorted(picked)
        hits[picked] += 1

    # Assert: chi-square against 100 hits a row (199 degrees of freedom: 99.9% under 272)
    expected = trials * kept / rows
    assert ((hits - expected) ** 2 / expected).sum() < 272
