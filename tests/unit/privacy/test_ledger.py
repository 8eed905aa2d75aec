"""The epsilon ledger: entries compose in one RDP curve, the threshold deltas come off the
stated delta, and the manifest form redoes the arithmetic from the recorded figures alone."""

from __future__ import annotations

import pytest

from synthdb.privacy import accounting
from synthdb.privacy.ledger import Ledger, LedgerEntry


def _histogram(target: str, threshold_delta: float = 0.0) -> LedgerEntry:
    return LedgerEntry(
        "gaussian histogram", target, 0.05, 9e-6, 120.0, 1.0, 1, threshold_delta=threshold_delta
    )


def _ledger() -> Ledger:
    ledger = Ledger(delta=1e-5, target_epsilon=1.0)
    ledger.add(LedgerEntry("assumed public", "schema", 0.0))
    ledger.add(_histogram("row count"))
    ledger.add(_histogram("city: vocabulary + NULLs", threshold_delta=5e-7))
    ledger.add(_histogram("age: point masses", threshold_delta=5e-7))
    ledger.add(LedgerEntry("dp-sgd", "model weights", 0.9, 9e-6, 5.9, 0.05, 700))
    return ledger


def test_gaussian_entries_compose_in_one_curve_at_the_delta_left_by_the_thresholds() -> None:
    ledger = _ledger()

    assert ledger.threshold_delta == pytest.approx(1e-6)
    assert ledger.rdp_delta == pytest.approx(9e-6)
    assert ledger.mechanisms() == [(120.0, 1.0, 1)] * 3 + [(5.9, 0.05, 700)]
    composed = accounting.epsilon(ledger.mechanisms(), 9e-6)
    assert ledger.total_epsilon == pytest.approx(composed)
    # composition in RDP is tighter than adding each entry's own epsilon
    separately = sum(accounting.epsilon([m], 9e-6) for m in ledger.mechanisms())
    assert ledger.total_epsilon < separately


def test_entries_outside_the_curve_add_their_epsilon_and_public_ones_add_nothing() -> None:
    ledger = _ledger()
    before = ledger.total_epsilon

    ledger.add(LedgerEntry("post-processing", "output biases", 0.0))
    assert ledger.total_epsilon == pytest.approx(before)
    ledger.add(LedgerEntry("laplace", "a mean", 0.1))
    assert ledger.pure_epsilon == pytest.approx(0.1)
    assert ledger.total_epsilon == pytest.approx(before + 0.1)


def test_the_manifest_form_round_trips_and_recomputes_the_total() -> None:
    ledger = _ledger()

    data = ledger.to_dict()
    again = Ledger.from_dict(data)

    assert data["total_epsilon"] == pytest.approx(ledger.total_epsilon)
    assert again.recompute() == pytest.approx(data["total_epsilon"], rel=1e-12)
    assert again.entries == ledger.entries and again.target_epsilon == 1.0
    assert "noise_multiplier" not in data["entries"][0]  # None fields are left out
    # a manifest from a later version with fields we do not know still loads
    data["entries"][1]["future_field"] = 1
    assert Ledger.from_dict(data).entries[1] == ledger.entries[1]


def test_an_entry_without_all_three_gaussian_figures_is_not_in_the_curve() -> None:
    entry = LedgerEntry("gaussian histogram", "x", 0.1, noise_multiplier=2.0, sample_rate=1.0)

    assert entry.gaussian is None
    assert _histogram("y").gaussian == (120.0, 1.0, 1)
