"""benchmarks/rival_rules.py without the rival venvs, so that the harness cannot rot unnoticed.

The real benchmark trains MOSTLY AI's SDK and SDV's HMA in their own venvs for many minutes;
here the driver runs on a tiny SQLite database made by the test with an empty ``--venv-root``:
synthdb must run and be scored end to end, every rival must be recorded as skipped with its
reason, and the side-by-side table must list the source's rules. The hand-over pieces (the
bundle a rival reads, and the key relabelling of a rival's twin before scoring) are checked
in-process on the same database.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import rival_rules  # noqa: E402
import rival_tables  # noqa: E402

CITIES = [("Oslo", "Norway"), ("Bergen", "Norway"), ("Lyon", "France"), ("Paris", "France")]
COPY_RULE = "Purchase.City = Customer.City (via CustomerId)"


def _tiny_database(path: Path) -> str:
    """Customers in four cities; each purchase copies its customer's city."""
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, City TEXT, Country TEXT,
                               Joined DATE);
        CREATE TABLE Purchase (PurchaseId INTEGER PRIMARY KEY,
                               CustomerId INTEGER REFERENCES Customer(CustomerId),
                               City TEXT, Amount REAL);
        """
    )
    customers = [
        (i, *CITIES[i % 4], f"2024-01-{1 + i % 28:02d}") for i in range(1, 41)
    ]  # fmt: skip
    connection.executemany("INSERT INTO Customer VALUES (?, ?, ?, ?)", customers)
    purchases = [
        (p, c, CITIES[c % 4][0], round(1.5 * (p % 7) + 0.99, 2))
        for p, c in enumerate([1 + (i * 7) % 40 for i in range(120)], start=1)
    ]
    connection.executemany("INSERT INTO Purchase VALUES (?, ?, ?, ?)", purchases)
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _tiny_database(tmp_path_factory.mktemp("tiny") / "tiny.sqlite")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory, tiny: str) -> tuple[dict[str, Any], str]:
    """Run the driver once; return its results JSON and what it printed."""
    work = tmp_path_factory.mktemp("rival_rules")
    out = work / "results.json"
    command = [
        sys.executable, str(REPO / "benchmarks" / "rival_rules.py"), "--source", f"tiny={tiny}",
        "--only", "tiny", "--synthdb-options", "--max-epochs 2", "--cap", "60",
        "--venv-root", str(work / "no-venvs"), "--work-dir", str(work), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_synthdb_is_run_and_scored_on_the_sources_rules(smoke: tuple[dict, str]) -> None:
    results, _ = smoke
    runs = results["datasets"]["tiny"]["runs"]
    synthdb = next(r for r in runs if r["tool"] == "synthdb")
    assert synthdb["status"] == "ok", synthdb.get("reason")
    assert "synthdb run sqlite:///" in synthdb["command"]
    assert synthdb["command"].endswith(
        "-o WORK/synthdb_twin --json WORK/synthdb.json --max-epochs 2"
    )
    rules = {r["rule"]: r for r in synthdb["rules"]}
    assert rules[COPY_RULE]["source_share"] == 1.0
    assert 0.0 <= rules[COPY_RULE]["twin_share"] <= 1.0
    assert synthdb["tables"]["Purchase"]["real"] == 120
    assert COPY_RULE in {r["rule"] for r in synthdb["rules_from_json"]}


@pytest.mark.slow
def test_missing_rival_venvs_are_skipped_with_the_reason(smoke: tuple[dict, str]) -> None:
    results, printed = smoke
    runs = {r["tool"]: r for r in results["datasets"]["tiny"]["runs"]}
    assert runs["mostlyai"]["status"] == "skipped"
    assert ".bench-venv-mostly is missing" in runs["mostlyai"]["reason"]
    assert runs["sdv-hma"]["status"] == "skipped"
    assert ".bench-venv-sdv is missing" in runs["sdv-hma"]["reason"]
    assert "| rule | source | synthdb | MOSTLY AI SDK | SDV HMA |" in printed
    assert f"| `{COPY_RULE}` | 100.0% |" in printed
    assert "| skipped | skipped |" in printed


def test_a_rivals_twin_with_its_own_keys_is_relabelled_and_scored(
    tmp_path: Path, tiny: str
) -> None:
    source = rival_rules.open_source("tiny", tiny)
    assert source.contexts == {"Customer": None, "Purchase": 0}
    # a "rival" that copies the source but writes string keys of its own
    raw = tmp_path / "raw"
    raw.mkdir()
    customers = source.frames["Customer"].copy()
    purchases = source.frames["Purchase"].copy()
    customers["CustomerId"] = "c-" + customers["CustomerId"].astype(str)
    purchases["PurchaseId"] = "p-" + purchases["PurchaseId"].astype(str)
    purchases["CustomerId"] = "c-" + purchases["CustomerId"].astype(str)
    purchases.loc[0, "CustomerId"] = "nowhere"
    customers.to_csv(raw / "Customer.csv", index=False)
    purchases.to_csv(raw / "Purchase.csv", index=False)
    rows = rival_rules.relabel_keys(source.schema, raw, tmp_path / "twin", source)
    assert rows == {"Customer": 40, "Purchase": 120}
    twin = pd.read_csv(tmp_path / "twin" / "Purchase.csv")
    assert pd.isna(twin.loc[0, "CustomerId"])  # pointed nowhere: NULL
    assert twin["CustomerId"].dropna().isin(range(1, 41)).all()
    scores = rival_rules.score(source, source.schema, tmp_path / "twin")
    shares = {r["rule"]: r for r in scores["rules"]}
    assert shares[COPY_RULE]["source_share"] == 1.0
    assert shares[COPY_RULE]["twin_share"] == 1.0  # of the rows that have a parent


def test_a_subset_drops_the_keys_and_columns_that_leave_it(tmp_path: Path, tiny: str) -> None:
    source = rival_rules.open_source("tiny", tiny)
    subset = rival_rules.subset_schema(source.schema, ["Purchase"])
    assert subset.order == ["Purchase"]
    assert subset.table("Purchase").foreign_keys == []
    assert "CustomerId" not in subset.table("Purchase").names
    rival_rules.write_bundle(source, subset, tmp_path / "bundle")
    schema, frames = rival_tables.read_bundle(tmp_path / "bundle")
    assert schema["tables"]["Purchase"]["context"] is None
    assert list(frames["Purchase"].columns) == ["PurchaseId", "City", "Amount"]


def test_the_bundle_reads_back_with_its_types_and_keys(tmp_path: Path, tiny: str) -> None:
    source = rival_rules.open_source("tiny", tiny)
    rival_rules.write_bundle(source, source.schema, tmp_path / "bundle")
    schema, frames = rival_tables.read_bundle(tmp_path / "bundle")
    assert schema["order"] == ["Customer", "Purchase"]
    purchase = schema["tables"]["Purchase"]
    assert purchase["primary_key"] == ["PurchaseId"]
    assert purchase["foreign_keys"][0]["parent"] == "Customer"
    assert purchase["context"] == 0
    assert purchase["rows"] == 120
    assert frames["Purchase"]["CustomerId"].dtype == "int64"
    assert frames["Purchase"]["Amount"].dtype == "float64"
    assert frames["Customer"]["City"].tolist()[:2] == ["Bergen", "Lyon"]
    kind = schema["tables"]["Customer"]["columns"]["Joined"]
    assert kind == rival_tables.kind_of(source.frames["Customer"]["Joined"])


@pytest.mark.slow
def test_the_results_record_commands_versions_dates_machine_and_load(
    smoke: tuple[dict, str],
) -> None:
    results, _ = smoke
    assert "benchmarks/rival_rules.py --source tiny=" in results["command"]
    assert results["commands"][-1]["command"] == results["command"]
    assert results["commands"][-1]["tools"] == ["synthdb", "mostlyai", "sdv-hma"]
    assert "cores" in results["machine"]
    assert results["versions"]["synthdb"]["torch"]
    assert results["versions"]["mostlyai"] is None  # no venv here
    tiny = results["datasets"]["tiny"]
    assert tiny["date"].endswith("UTC") and tiny["started"].endswith("UTC")
    assert tiny["last_command"] == results["command"]
    assert len(tiny["environment"]["load_average"]) == 3
    assert "load_average_after" in tiny["environment"]
    assert all("load_before" in r for r in tiny["runs"] if r["tool"] == "synthdb")
