"""Synthetic twins of Chinook through the CLI, on real SQLite, PostgreSQL and MariaDB servers.

One model is trained from the bundled SQLite file (few epochs: these tests check structure and
keys; accuracy at default settings is measured by ``benchmarks/chinook_twin.py``) and written
to each kind of database; training from PostgreSQL and MariaDB uses a few tables to stay fast.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import assert_one_line_error, run_cli

from synthdb.io.database import open_database, write_database

CHINOOK_TABLES = 11
CHINOOK_FOREIGN_KEYS = 11  # the issue says 14; the DDL and the dataset's README list 11
REQUIRED_RELATIONS = {
    ("Track", "Album"),
    ("InvoiceLine", "Invoice"),
    ("Invoice", "Customer"),
}


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, chinook_file: Path
) -> tuple[Path, Path, dict]:
    """Train on Chinook and write its twin to SQLite, with the model and the scores kept."""
    folder = tmp_path_factory.mktemp("twin")
    model, twin, scores = folder / "chinook.synthdb", folder / "twin.sqlite", folder / "s.json"
    result = run_cli(
        "run",
        f"sqlite:///{chinook_file}",
        "-o",
        f"sqlite:///{twin}",
        "--model",
        model,
        "--json",
        scores,
        "--max-epochs",
        4,
        "--seed",
        1,
        timeout=900,
    )
    assert result.code == 0, result
    return model, twin, json.loads(scores.read_text())


def _foreign_key_violations(url: str) -> list[str]:
    """Every non-NULL foreign key value that matches no parent row, checked by SQL joins."""
    source = open_database(url)
    schema = source.schema()
    engine = sa.create_engine(url)
    problems = []
    with engine.connect() as connection:
        for name, table in schema.tables.items():
            for key in table.foreign_keys:
                child = sa.table(name, *(sa.column(c) for c in key.columns)).alias("c")
                parent = sa.table(key.parent, *(sa.column(c) for c in key.parent_columns))
                parent = parent.alias("p")
                pairs = zip(key.columns, key.parent_columns, strict=True)
                on = sa.and_(*(child.c[a] == parent.c[b] for a, b in pairs))
                present = sa.and_(*(child.c[c].isnot(None) for c in key.columns))
                missing = parent.c[key.parent_columns[0]].is_(None)
                joined = child.outerjoin(parent, on)
                query = sa.select(sa.func.count()).select_from(joined).where(present, missing)
                count = connection.execute(query).scalar_one()
                if count:
                    problems.append(f"{key.describe(name)}: {count}")
    engine.dispose()
    return problems


def test_the_sqlite_twin_has_every_table_key_and_valid_reference(
    trained: tuple[Path, Path, dict], chinook_file: Path
) -> None:
    _, twin, scores = trained
    source = open_database(f"sqlite:///{chinook_file}").schema()

    copy = open_database(f"sqlite:///{twin}").schema()

    assert set(copy.tables) == set(source.tables)
    assert len(copy.tables) == CHINOOK_TABLES
    for name, table in source.tables.items():
        assert copy.table(name).primary_key == table.primary_key, name
        assert copy.table(name).foreign_keys == table.foreign_keys, name
    with sqlite3.connect(twin) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert _foreign_key_violations(f"sqlite:///{twin}") == []
    for entry in scores["tables"]:
        assert entry["synthetic_rows"] == pytest.approx(entry["real_rows"], rel=0.10), entry


@pytest.mark.parametrize(
    ("table", "column"),
    [("Invoice", "Total"), ("InvoiceLine", "UnitPrice"), ("Track", "UnitPrice")],
)
def test_the_twin_keeps_the_declared_two_decimals(
    trained: tuple[Path, Path, dict], table: str, column: str
) -> None:
    # NUMERIC(10,2) in Chinook, stored as REAL by SQLite: no 0.9900000000000001 in the twin
    _, twin, _ = trained

    with sqlite3.connect(twin) as connection:
        values = [row[0] for row in connection.execute(f"SELECT {column} FROM {table}")]

    assert values
    bad = [v for v in values if not (isinstance(v, float) and repr(v) == repr(round(v, 2)))]
    assert not bad, bad[:5]


def test_the_twin_keeps_the_rules_applications_rely_on(
    trained: tuple[Path, Path, dict],
) -> None:
    """Found in the data, not named in code: each holds in every source row and every twin
    row, and --json lists them with both shares (two epochs: the model has barely learned,
    the rules hold by construction)."""
    _, twin, scores = trained
    shares = {rule["rule"]: rule for rule in scores["rules"]}
    for text in (
        "Invoice.BillingCity = Customer.City (via CustomerId)",
        "Invoice.BillingCountry = Customer.Country (via CustomerId)",
        "InvoiceLine.UnitPrice = Track.UnitPrice (via TrackId)",
        "Invoice.Total = sum(InvoiceLine.UnitPrice) (via InvoiceId)",
    ):
        assert shares[text]["source_share"] == 1.0, text
        assert shares[text]["synthetic_share"] >= 0.99, text
    # checked again in the written database, by SQL
    with sqlite3.connect(twin) as connection:
        ((kept,),) = connection.execute(
            "SELECT AVG(i.BillingCity = c.City) FROM Invoice i JOIN Customer c "
            "ON i.CustomerId = c.CustomerId"
        ).fetchall()
        ((off,),) = connection.execute(
            "SELECT COUNT(*) FROM Invoice i WHERE ABS(i.Total - (SELECT COALESCE(SUM("
            "l.UnitPrice * l.Quantity), 0) FROM InvoiceLine l WHERE l.InvoiceId = i.InvoiceId)) "
            "> 0.005"
        ).fetchall()
    assert kept == 1.0 and off == 0


def test_inspect_lists_the_rules_of_a_database_and_of_its_model(
    trained: tuple[Path, Path, dict], chinook_file: Path
) -> None:
    model, _, _ = trained
    copy = "Invoice.BillingCity"  # the rule wraps at the terminal width
    found = run_cli("inspect", f"sqlite:///{chinook_file}")
    assert found.code == 0, found
    assert "rules found" in found.stdout and copy in found.stdout
    sequences = "sequences: Invoice ordered by InvoiceDate within each Customer (inferred"
    assert sequences in " ".join(found.stdout.split())
    kept = run_cli("inspect", model)
    assert kept.code == 0, kept
    assert "a database of 11 tables" in kept.stdout and "rules kept" in kept.stdout
    assert copy in kept.stdout and "InvoiceLine" in kept.stdout
    assert "InvoiceDate" in kept.stdout  # the order the Invoice sequences were drawn in


def test_each_customers_invoices_are_written_in_date_order(
    trained: tuple[Path, Path, dict],
) -> None:
    _, twin, scores = trained
    (invoices_figures,) = [s for s in scores["sequences"] if s["table"] == "Invoice"]
    assert (
        invoices_figures["in_order_synthetic"] == 1.0 and invoices_figures["parent"] == "Customer"
    )
    assert invoices_figures["coherence"] is not None
    with sqlite3.connect(twin) as connection:
        invoices = pd.read_sql(
            "SELECT CustomerId, InvoiceDate FROM Invoice ORDER BY rowid", connection
        )
    days = pd.to_datetime(invoices["InvoiceDate"])
    in_order = days.groupby(invoices["CustomerId"]).apply(lambda d: d.is_monotonic_increasing)
    assert len(in_order) > 40 and in_order.all()


def test_children_per_parent_follow_the_source(trained: tuple[Path, Path, dict]) -> None:
    _, _, scores = trained

    found = {(r["child"], r["parent"]): r for r in scores["relations"]}

    assert set(found) >= REQUIRED_RELATIONS
    for key in REQUIRED_RELATIONS:
        assert found[key]["accuracy"] >= 0.85, found[key]
        assert found[key]["synthetic_mean"] == pytest.approx(found[key]["real_mean"], rel=0.1)


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_the_model_writes_a_twin_into_a_database_server(
    trained: tuple[Path, Path, dict], kind: str, request: pytest.FixtureRequest
) -> None:
    model, _, _ = trained
    url = request.getfixturevalue("postgres" if kind == "postgresql" else "mariadb")

    result = run_cli("generate", model, "-o", url, "--seed", 2, "--quiet")

    assert result.code == 0, result
    schema = open_database(url).schema()
    assert len(schema.tables) == CHINOOK_TABLES
    assert schema.foreign_key_count == CHINOOK_FOREIGN_KEYS
    assert _foreign_key_violations(url) == []


def test_a_scaled_twin_goes_to_a_folder_of_csv_files(
    trained: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    model, twin, _ = trained
    folder = tmp_path / "half"

    result = run_cli("generate", model, "-o", folder, "--scale", 0.5, "--seed", 3, "--quiet")

    assert result.code == 0, result
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == CHINOOK_TABLES and all(f.endswith(".csv") for f in files)
    full = open_database(f"sqlite:///{twin}")
    for name in ("Artist", "Invoice", "Track"):
        rows = len(pd.read_csv(folder / f"{name}.csv"))
        assert rows == pytest.approx(len(full.read(name)) / 2, rel=0.15), name


def test_rows_is_refused_for_a_database_model(
    trained: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    model, _, _ = trained

    result = run_cli("generate", model, "-o", tmp_path / "x", "--rows", 10)

    assert_one_line_error(result, 2, "--rows", "--scale")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_training_from_a_server_makes_a_twin_with_keys_intact(
    chinook: str, kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Setup: the artists and their albums, loaded into a fresh schema of the server
    server = request.getfixturevalue("postgres" if kind == "postgresql" else "mariadb")
    source = open_database(chinook)
    schema = source.schema(["Artist", "Album"])
    write_database(server, schema, {name: source.read(name) for name in schema.order})
    twin = tmp_path / "twin.sqlite"

    # Run
    result = run_cli(
        "run",
        server,
        "-o",
        f"sqlite:///{twin}",
        "--tables",
        "Artist,Album",
        "--max-epochs",
        2,
        "--quiet",
    )

    # Assert
    assert result.code == 0, result
    assert _foreign_key_violations(f"sqlite:///{twin}") == []
    copy = open_database(f"sqlite:///{twin}")
    assert len(copy.read("Album")) == pytest.approx(347, rel=0.1)
