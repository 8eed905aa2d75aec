"""The report of a whole database end to end: ``synthdb run DB --report`` and ``synthdb report
REAL TWIN``, the page opened in Debian's Chromium (see test_report.py for the browser set-up).

A small constructed SQLite shop (customers, their orders, the orders' items, and a table of
keys only) trains in seconds with one epoch, yet has every part of the page: tables with and
without columns besides keys, one- and two-level relationships, a table with two parents, and
a rule (an order's total is the sum of its items' quantities).
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_harness import Jobs, Result, assert_one_line_error, run_cli

from synthdb.report.model import _finite

TABLES = ("customers", "orders", "items", "follows")
TABLE_SECTIONS = ("accuracy", "columns", "correlations", "privacy", "training")


def _shop(path: Path, customers: int = 150, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, country TEXT, age INTEGER,
                                    joined TIMESTAMP);
            CREATE TABLE orders (id INTEGER PRIMARY KEY,
                                 customer_id INTEGER NOT NULL REFERENCES customers(id),
                                 total REAL, status TEXT);
            CREATE TABLE items (id INTEGER PRIMARY KEY,
                                order_id INTEGER NOT NULL REFERENCES orders(id),
                                product TEXT, quantity INTEGER);
            CREATE TABLE follows (customer_id INTEGER NOT NULL REFERENCES customers(id),
                                  order_id INTEGER NOT NULL REFERENCES orders(id),
                                  PRIMARY KEY (customer_id, order_id));
            """
        )
        order = item = 0
        for customer in range(1, customers + 1):
            db.execute(
                "INSERT INTO customers VALUES (?, ?, ?, ?)",
                (
                    customer,
                    str(rng.choice(["FR", "DE", "IT"])),
                    int(rng.integers(18, 80)),
                    f"2021-{rng.integers(1, 13):02d}-01 00:00:00",
                ),
            )
            for _ in range(int(rng.poisson(2))):
                order += 1
                db.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?)",
                    (order, customer, float(rng.gamma(2, 20)), str(rng.choice(["paid", "open"]))),
                )
                quantities = rng.integers(1, 5, int(rng.integers(1, 4)))
                for quantity in quantities:
                    item += 1
                    db.execute(
                        "INSERT INTO items VALUES (?, ?, ?, ?)",
                        (item, order, str(rng.choice(["pen", "ink"])), int(quantity)),
                    )
                # a rule for the page to show: an order's total is its items' quantities
                db.execute(
                    "UPDATE orders SET total = ? WHERE id = ?", (float(quantities.sum()), order)
                )
                if rng.random() < 0.3:
                    db.execute("INSERT INTO follows VALUES (?, ?)", (customer, order))
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("database-report")
    _shop(path / "shop.db")
    return path


@pytest.fixture(scope="module")
def ran(jobs: Jobs, folder: Path) -> Future[Result]:
    def work() -> Result:
        return run_cli(
            "run", f"sqlite:///{folder / 'shop.db'}", "-o", f"sqlite:///{folder / 'twin.db'}",
            "--max-epochs", 1, "--model", folder / "shop.synthdb",
            "--report", folder / "run.html", "--json", folder / "run.json",
        )  # fmt: skip

    return jobs.start("database run with report", work)


@pytest.fixture(scope="module")
def reported(ran: Future[Result], folder: Path) -> Result:
    result = ran.result()
    assert result.code == 0, result
    for step in ("accuracy of 4 tables", "table orders:", "drawing", "wrote report"):
        assert step in result.stderr, f"{step!r} not reported\n{result}"
    return run_cli(
        "report", f"sqlite:///{folder / 'shop.db'}", f"sqlite:///{folder / 'twin.db'}",
        "-o", folder / "page.html", "--model", folder / "shop.synthdb",
        "--json", folder / "page.json",
    )  # fmt: skip


@pytest.fixture(scope="module")
def page(reported: Result, folder: Path) -> Path:
    assert reported.code == 0, reported
    assert reported.stdout == "", reported
    assert "wrote its figures to" in reported.stderr, reported
    return folder / "page.html"


@pytest.mark.parametrize("name", ["page.html", "run.html"])
def test_the_database_page_loads_offline_with_every_table_and_relationship(
    page: Path, folder: Path, browser: Any, tmp_path: Path, name: str
) -> None:
    shown = folder / name
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))

    tab.goto(shown.as_uri(), wait_until="load")

    assert problems == []
    assert requests == [shown.as_uri()]  # the page itself and nothing else
    assert "Synthetic database report" in tab.inner_text("h1")
    for section in ("summary", "relations", "rules"):
        assert tab.locator(f'[data-section="{section}"]').first.is_visible(), section
    rules = tab.inner_text('[data-section="rules"]')
    assert "orders.total = sum(items.quantity) (via order_id)" in rules
    assert "100.0%" in rules
    for table in TABLES:
        assert tab.locator(f'[data-table="{table}"]').count() == 1, table
    for table in ("customers", "orders", "items"):
        for section in TABLE_SECTIONS:
            located = tab.locator(f'[data-table="{table}"] [data-section="{section}"]')
            assert located.count() == 1, (table, section)
    relations = tab.eval_on_selector_all(
        "figure[data-relation] img", "els => els.map(e => [e.complete, e.naturalWidth])"
    )
    assert len(relations) == 4  # orders->customers, items->orders, follows->both
    images = tab.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
    assert all(complete and width > 100 for complete, width in images), images
    shot = tmp_path / f"database-{name}.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 100_000
    tab.close()


def test_the_json_figures_equal_database_accuracy_of_the_twin(page: Path, folder: Path) -> None:
    from synthdb.evaluation.relations import database_accuracy
    from synthdb.io.database import open_database

    real, twin = (
        open_database(f"sqlite:///{folder / 'shop.db'}"),
        open_database(f"sqlite:///{folder / 'twin.db'}"),
    )
    schema = real.schema()
    expected = _finite(
        database_accuracy(
            schema,
            {name: real.read(name) for name in schema.order},
            {name: twin.read(name) for name in schema.order},
        ).to_dict()
    )
    figures = json.loads((folder / "page.json").read_text())
    ran = _finite(json.loads((folder / "run.json").read_text()))

    assert figures["tables"] == expected["tables"] == ran["tables"]
    relations = [
        {k: v for k, v in relation.items() if k != "distribution"}
        for relation in figures["relations"]
    ]
    assert relations == expected["relations"] == ran["relations"]
    total = "orders.total = sum(items.quantity) (via order_id)"
    for rules in (figures["rules"], expected["rules"], ran["rules"]):
        shares = {rule["rule"]: rule for rule in rules}
        assert shares[total]["source_share"] == shares[total]["synthetic_share"] == 1.0
    assert figures["model"]["tables"]["follows"] is None  # keys only: no model of its own
    assert figures["model"]["tables"]["orders"]["epochs_used"] == 1
    html = page.read_text(encoding="utf-8")
    for relation in figures["relations"]:
        assert f"{relation['accuracy']:.3f}" in html
    assert page.stat().st_size < 3_000_000


def test_single_table_flags_are_refused_for_databases(folder: Path) -> None:
    real = f"sqlite:///{folder / 'shop.db'}"
    result = run_cli(
        "report", real, f"sqlite:///{folder / 'twin.db'}", "-o", folder / "x.html",
        "--holdout", folder / "h.csv",
    )  # fmt: skip
    assert_one_line_error(result, 2, "--holdout is for a single table")
    result = run_cli(
        "run", real, "-o", f"sqlite:///{folder / 'other.db'}", "--report", folder / "y.html",
        "--target", "status",
    )  # fmt: skip
    assert_one_line_error(result, 2, "--target is for a single table")
    assert not (folder / "x.html").exists() and not (folder / "y.html").exists()
