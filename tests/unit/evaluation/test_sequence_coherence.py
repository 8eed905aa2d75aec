"""Coherence along sequences (evaluation/sequences.py): each figure tells a twin that keeps
order and memory from one that shuffles them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.evaluation.sequences import OrderedTable, sequence_coherence, value_kinds

ORDERED = OrderedTable("event", "account", ["account_id"], ["day"])


def _events(seed: int, *, memory: bool) -> pd.DataFrame:
    """Six events per account, a day apart; kinds alternate and levels walk (memory), or both
    are drawn afresh at every event (no memory)."""
    rng = np.random.default_rng(seed)
    rows = []
    for account in range(200):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 100)))
        level, first = float(rng.integers(0, 100)), int(rng.integers(0, 2))
        for step in range(6):
            kind = "AB"[(first + step) % 2] if memory else "AB"[int(rng.integers(0, 2))]
            value = level + step * 2 if memory else float(rng.integers(0, 110))
            day = (start + pd.Timedelta(days=step)).strftime("%Y-%m-%d")
            rows.append((account, day, kind, value))
    return pd.DataFrame(rows, columns=["account_id", "day", "kind", "level"])


def _score(real: pd.DataFrame, synthetic: pd.DataFrame):  # type: ignore[no-untyped-def]
    kinds = value_kinds(real[["kind", "level"]])
    return sequence_coherence(ORDERED, real, synthetic, kinds)


def test_a_twin_with_the_sources_memory_scores_near_one() -> None:
    result = _score(_events(0, memory=True), _events(1, memory=True))
    assert result.in_order_real == result.in_order_synthetic == 1.0
    assert result.length == pytest.approx(1.0) and result.gaps == pytest.approx(1.0)
    assert result.transitions["kind"] == pytest.approx(1.0, abs=0.03)
    assert result.lag1["level"]["score"] == pytest.approx(1.0, abs=0.02)
    assert result.coherence is not None and result.coherence > 0.97


def test_a_twin_without_memory_or_order_scores_lower_where_it_differs() -> None:
    real = _events(0, memory=True)
    forgetful = _events(1, memory=False)
    shuffled = real.sample(frac=1.0, random_state=3).reset_index(drop=True)

    result = _score(real, forgetful)
    mixed = _score(real, shuffled)

    assert result.transitions["kind"] < 0.6  # A->B, B->A only, against all four pairs
    assert result.lag1["level"]["synthetic"] < 0.2 < 0.9 < result.lag1["level"]["real"]
    assert result.distinct["kind"] < 0.99  # some accounts see one kind only
    assert result.coherence is not None and result.coherence < 0.9
    assert mixed.in_order_synthetic is not None and mixed.in_order_synthetic < 0.1
