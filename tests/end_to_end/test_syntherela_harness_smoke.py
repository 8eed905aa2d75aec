"""Smoke run of the SyntheRela referee harness (benchmarks/syntherela_dda.py), so it cannot rot.

The metadata and baseline steps run in the project's own venv and are checked on the bundled
Chinook. The scoring runs SyntheRela in ``.bench-venv-syntherela``: when that venv is absent
(``bash benchmarks/setup_env.sh syntherela`` builds it) the end-to-end part is skipped. When it
is there, the driver's ``--smoke`` path trains on the bundled Chinook for one epoch and scores
``Customer`` with DDA, the trends and the diagnosis (90 s on 2 quiet cores, 5.5 minutes on busy
ones).
"""

from __future__ import annotations

import json
import lzma
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "benchmarks" / "syntherela_dda.py"
VENV = REPO / ".bench-venv-syntherela"

sys.path.insert(0, str(REPO / "benchmarks"))

import syntherela_dda  # noqa: E402


@pytest.fixture(scope="module")
def chinook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict]:
    path = tmp_path_factory.mktemp("chinook") / "chinook.sqlite"
    path.write_bytes(lzma.decompress(syntherela_dda.BUNDLED_CHINOOK.read_bytes()))
    return syntherela_dda.read_database(f"sqlite:///{path}")


def test_metadata_follows_synthdb_schema(chinook: tuple[Any, dict]) -> None:
    schema, frames = chinook
    kinds = syntherela_dda.column_kinds(schema, frames)
    metadata, notes = syntherela_dda.sdv_metadata(schema, kinds)
    customer = metadata["tables"]["Customer"]
    assert customer["primary_key"] == "CustomerId"
    assert customer["columns"]["SupportRepId"]["sdtype"] == "id"
    assert customer["columns"]["Email"]["sdtype"] == "unknown"  # regenerated as a key
    assert customer["columns"]["Country"]["sdtype"] == "categorical"
    invoice = metadata["tables"]["Invoice"]["columns"]
    assert invoice["InvoiceDate"] == {"sdtype": "datetime", "datetime_format": "%Y-%m-%d %H:%M:%S"}
    assert invoice["Total"]["sdtype"] == "numerical"
    assert "primary_key" not in metadata["tables"]["PlaylistTrack"]
    relation = {
        "parent_table_name": "Customer",
        "child_table_name": "Invoice",
        "parent_primary_key": "CustomerId",
        "child_foreign_key": "CustomerId",
    }
    assert relation in metadata["relationships"]
    relationships = metadata["relationships"]
    assert not any(r["parent_table_name"] == r["child_table_name"] for r in relationships)
    assert any("self-reference" in n for n in notes)
    assert any("composite primary key" in n for n in notes)


def test_bootstrap_keeps_each_customer_with_its_invoices(chinook: tuple[Any, dict]) -> None:
    _, frames = chinook
    drawn = syntherela_dda.chinook_bootstrap(frames, seed=0)
    customers, invoices, lines = drawn["Customer"], drawn["Invoice"], drawn["InvoiceLine"]
    assert len(customers) == len(frames["Customer"])
    assert customers["CustomerId"].is_unique and invoices["InvoiceId"].is_unique
    assert lines["InvoiceLineId"].is_unique
    assert set(invoices["CustomerId"]) <= set(customers["CustomerId"])
    assert set(lines["InvoiceId"]) <= set(invoices["InvoiceId"])
    # every copy is billed at its customer's address, as in the real data
    joined = invoices.merge(customers, on="CustomerId")
    assert (joined["BillingCity"] == joined["City"]).all()
    assert drawn["Track"] is frames["Track"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (VENV / "bin" / "python").exists():
        pytest.skip(f"{VENV.name} is missing (bash benchmarks/setup_env.sh syntherela)")
    work = tmp_path_factory.mktemp("syntherela_smoke")
    out = work / "results.json"
    command = [sys.executable, str(DRIVER), "--smoke", "--work-dir", str(work), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| chinook | Customer |" in done.stdout
    return json.loads(out.read_text())


@pytest.mark.slow
def test_customer_is_scored_by_syntherela(smoke: dict[str, Any]) -> None:
    entry = smoke["cases"]["chinook"]
    assert entry["command"].startswith("synthdb run sqlite:///")
    assert entry["command"].endswith("-o sqlite:///OUT/twin.sqlite --max-epochs 1")
    referee = entry["syntherela"]
    assert referee["versions"]["syntherela"] == "0.0.4"
    dda = referee["dda"]["Customer"]
    assert 0.0 <= dda["accuracy"] <= 1.0
    assert dda["rows_each_side"] == 59
    trends = referee["trends"]
    assert set(trends["k_hop"]) == {"1", "2", "3"}
    for key in ("column_shapes", "pair_trends", "cardinality"):
        assert 0.0 <= trends[key] <= 1.0


@pytest.mark.slow
def test_diagnosis_takes_customer_apart(smoke: dict[str, Any]) -> None:
    diagnosis = smoke["cases"]["chinook"]["syntherela"]["diagnosis"]["Customer"]
    assert "Invoice_CustomerId_counts" in diagnosis["aggregate_columns"]
    assert "Country" in diagnosis["own_columns"]
    assert sum(diagnosis["gain_share"].values()) == pytest.approx(1.0, abs=0.01)
    assert set(diagnosis["accuracy_alone"]) == set(diagnosis["gain_share"])
    assert diagnosis["peeled"] and "drop" in diagnosis["peeled"][0]
