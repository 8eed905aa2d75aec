"""Tables without rows, end to end: ``synthdb run`` from a database with empty tables to a
database of the same kind, on SQLite, PostgreSQL and MariaDB.

The source is a small shop: shops and their orders have rows; promotions, the shops taking
part in them and refunds have none. The twin must have every table, the empty ones empty with
the same keys and column types, the orders' key to the empty promotions NULL, and a run that
says why (notes, "empty" in the summary) instead of stopping.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import run_cli

from synthdb.io.database import open_database

EMPTY = ("promos", "promo_shops", "refunds")
SHOPS, ORDERS = 20, 60

DDL = (
    "CREATE TABLE shops (id INTEGER PRIMARY KEY, city VARCHAR(20) NOT NULL)",
    "CREATE TABLE promos (code VARCHAR(8) PRIMARY KEY, label VARCHAR(20))",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL, "
    "promo_code VARCHAR(8), amount INTEGER, "
    "FOREIGN KEY (shop_id) REFERENCES shops(id), "
    "FOREIGN KEY (promo_code) REFERENCES promos(code))",
    "CREATE TABLE promo_shops (code VARCHAR(8) NOT NULL, shop_id INTEGER NOT NULL, "
    "PRIMARY KEY (code, shop_id), FOREIGN KEY (code) REFERENCES promos(code), "
    "FOREIGN KEY (shop_id) REFERENCES shops(id))",
    "CREATE TABLE refunds (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, "
    "reason VARCHAR(20), FOREIGN KEY (order_id) REFERENCES orders(id))",
)


def _fill(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        for statement in DDL:
            connection.exec_driver_sql(statement)
        shops = sa.table("shops", sa.column("id"), sa.column("city"))
        orders = sa.table("orders", sa.column("id"), sa.column("shop_id"), sa.column("amount"))
        cities = ("Oslo", "Rome", "Lima")
        connection.execute(
            shops.insert(), [{"id": i, "city": cities[i % 3]} for i in range(1, SHOPS + 1)]
        )
        connection.execute(
            orders.insert(),
            [
                {"id": i, "shop_id": 1 + i * 7 % SHOPS, "amount": 10 + i % 4 * 25}
                for i in range(1, ORDERS + 1)
            ],
        )
    engine.dispose()


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in the JSON written: JSON has no NaN or Infinity")


def _printed_rows(stdout: str) -> dict[str, list[str]]:
    """The rows of the tables the CLI prints, by their first cell."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            rows[cells[0]] = cells[1:]
    return rows


def _rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.exec_driver_sql(query)]
    engine.dispose()
    return found


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_a_run_keeps_empty_tables_empty_with_their_keys(
    kind: str, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    # Setup
    source, target = new_database(kind), new_database(kind)
    _fill(source)
    scores = tmp_path / "scores.json"
    report = tmp_path / "report.html"
    extra: list[object] = ["--json", scores, "--report", report] if kind == "sqlite" else []

    # Run
    result = run_cli("run", source, "-o", target, "--max-epochs", 1, "--seed", 1, *extra)

    # Assert: the run went through and said what it did with the empty tables
    assert result.code == 0, result
    assert "note: table 'promos' has no rows: it is created empty in the twin" in result.stderr
    assert (
        "note: orders(promo_code) -> promos(code): 'promos' has no rows, so this key is NULL "
        "in every row of the twin" in result.stderr
    ), result
    summary = _printed_rows(result.stdout)
    for name in EMPTY:
        assert summary[name] == ["0", "0", "empty"], (name, result.stdout)
    assert summary["shops"][:2] == [str(SHOPS), str(SHOPS)]
    assert float(summary["orders"][2]) > 0
    # the twin has every table, the empty ones with the source's keys and column types
    expected = open_database(source).schema()
    written = open_database(target).schema()
    assert written.order == expected.order
    for name, table in expected.tables.items():
        copy = written.table(name)
        assert copy.primary_key == table.primary_key, name
        assert copy.foreign_keys == table.foreign_keys, name
        assert [(c.name, c.type) for c in copy.columns] == [
            (c.name, c.type) for c in table.columns
        ], name
    twin = open_database(target)
    for name in EMPTY:
        assert len(twin.read(name)) == 0, name
    shops, orders = twin.read("shops"), twin.read("orders")
    assert len(shops) == SHOPS
    assert len(orders) == pytest.approx(ORDERS, rel=0.25)
    assert orders["promo_code"].isna().all()
    assert set(orders["shop_id"]) <= set(shops["id"])
    assert _rows(target, "SELECT COUNT(*) FROM orders WHERE amount IS NULL") == [(0,)]
    if kind == "sqlite":
        figures = json.loads(scores.read_text(), parse_constant=_no_constant)
        tables = {t["table"]: t for t in figures["tables"]}
        assert tables["shops"]["bivariate"] is None  # one column besides keys: no pair
        assert all(tables[name]["overall"] is None for name in EMPTY)
        assert tables["orders"]["overall"] is not None
        assert "This table has no real and no synthetic rows" in report.read_text()
