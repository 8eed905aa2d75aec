"""The database report without a browser: its figures against ``database_accuracy``, the
children-per-parent bars on constructed counts, and what the page holds.

The browser test (tests/end_to_end/test_database_report.py) checks how the page loads; these
check the numbers and the text on a small SQLite database whose answers are known.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthdb import evaluate_database
from synthdb.evaluation.database import (
    MAX_COUNT_BARS,
    DatabaseQuality,
    align,
    assess_database,
    relation_distribution,
)
from synthdb.evaluation.relations import RelationAccuracy, database_accuracy
from synthdb.io.database import open_database
from synthdb.report.database_html import TABLE_SECTIONS, relation_name
from synthdb.report.model import database_summary_from_manifest
from synthdb.report.page import DatabaseReport
from synthdb.schema.relations import DatabaseSchema

HOSTILE = '<img src=x onerror="alert(1)">'

SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, country TEXT, age INTEGER, joined TIMESTAMP);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                     total REAL, status TEXT);
CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
                    product TEXT, quantity INTEGER);
CREATE TABLE follows (customer_id INTEGER NOT NULL REFERENCES customers(id),
                      order_id INTEGER NOT NULL REFERENCES orders(id),
                      PRIMARY KEY (customer_id, order_id));
"""


def shop(path: Path, *, customers: int, seed: int, orders_each: list[int] | None = None) -> str:
    """A SQLite shop: every customer has ``orders_each[i]`` orders (2 each by default), every
    order 1 to 3 items, and a table of keys only. Returns its URL."""
    rng = np.random.default_rng(seed)
    counts = orders_each if orders_each is not None else [2] * customers
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?)",
            [
                (
                    i,
                    str(rng.choice(["FR", "DE", HOSTILE])),
                    int(rng.integers(18, 80)),
                    f"2021-{rng.integers(1, 13):02d}-01 00:00:00",
                )
                for i in range(1, customers + 1)
            ],
        )
        order_id = item_id = 0
        for customer, count in enumerate(counts, start=1):
            for _ in range(count):
                order_id += 1
                db.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?)",
                    (
                        order_id,
                        customer,
                        float(rng.gamma(2, 20)),
                        str(rng.choice(["paid", "open"])),
                    ),
                )
                for _ in range(int(rng.integers(1, 4))):
                    item_id += 1
                    db.execute(
                        "INSERT INTO items VALUES (?, ?, ?, ?)",
                        (
                            item_id,
                            order_id,
                            str(rng.choice(["pen", "ink"])),
                            int(rng.integers(1, 5)),
                        ),
                    )
                if rng.random() < 0.3:
                    db.execute("INSERT INTO follows VALUES (?, ?)", (customer, order_id))
    return f"sqlite:///{path}"


def frames(url: str, schema: DatabaseSchema) -> dict[str, pd.DataFrame]:
    source = open_database(url)
    return {name: source.read(name) for name in schema.order}


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("shop")
    real = shop(folder / "real.db", customers=120, seed=1)
    # the twin: half the customers have 4 orders, half none (mean 2, as the real one)
    twin = shop(folder / "twin.db", customers=120, seed=2, orders_each=[4, 0] * 60)
    return real, twin


@pytest.fixture(scope="module")
def quality(databases: tuple[str, str]) -> DatabaseQuality:
    return evaluate_database(*databases)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def test_the_json_figures_equal_database_accuracy(
    databases: tuple[str, str], quality: DatabaseQuality
) -> None:
    real, twin = databases
    schema = open_database(real).schema()
    expected = _nan_to_none(
        database_accuracy(schema, frames(real, schema), frames(twin, schema)).to_dict()
    )
    data = json.loads(json.dumps(quality.to_dict(), allow_nan=False))

    assert data["tables"] == expected["tables"]
    assert [{k: v for k, v in r.items() if k != "distribution"} for r in data["relations"]] == (
        expected["relations"]
    )
    # the per-table sections agree with the summary when nothing is sampled
    for table in data["tables"]:
        report = data["table_reports"].get(table["table"])
        if table["overall"] is None:
            assert report is None, table
        else:
            assert report["overall"] == pytest.approx(table["overall"])
            assert report["univariate"] == pytest.approx(table["univariate"])


def test_keys_are_left_out_of_the_table_figures(quality: DatabaseQuality) -> None:
    assert quality.keys == {
        "customers": ["id"],
        "orders": ["id", "customer_id"],
        "items": ["id", "order_id"],
        "follows": ["customer_id", "order_id"],
    }
    assert set(quality.tables) == {"customers", "orders", "items"}  # follows: keys only
    assert list(quality.tables["orders"].columns) == ["total", "status"]
    assert quality.tables["customers"].columns["joined"].kind == "datetime"


def test_children_per_parent_bars_show_the_constructed_counts(quality: DatabaseQuality) -> None:
    index = next(
        i
        for i, r in enumerate(quality.accuracy.relations)
        if (r.child, r.parent) == ("orders", "customers")
    )
    relation = quality.accuracy.relations[index]
    bars = quality.distributions[index]

    assert relation.real_mean == relation.synthetic_mean == 2.0
    assert bars.labels == ["0", "1", "2", "3", "4"] and bars.edges is None
    assert bars.real == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert bars.synthetic == [0.5, 0.0, 0.0, 0.0, 0.5]
    assert (bars.real_parents, bars.synthetic_parents) == (120, 120)


def test_many_children_are_binned_in_equal_ranges() -> None:
    relation = RelationAccuracy(
        "child", "parent", ["parent_id"], 0.5, 0.0, 0.0,
        real_counts=[0, 5, 100, 250], synthetic_counts=[1, 1, 300],
    )  # fmt: skip
    bars = relation_distribution(relation)

    assert bars.edges is not None and bars.edges[0] == 0 and bars.edges[-1] > 300
    assert len(bars.labels) == len(bars.real) == len(bars.edges) - 1 > MAX_COUNT_BARS // 2
    assert bars.labels[0].startswith("0-")
    assert sum(bars.real) == pytest.approx(1.0) and sum(bars.synthetic) == pytest.approx(1.0)
    assert (bars.real_max, bars.synthetic_max) == (250, 300)


def test_a_twin_read_back_as_text_is_compared_as_typed(databases: tuple[str, str]) -> None:
    real, twin = databases
    schema = open_database(real).schema()
    real_frames, twin_frames = frames(real, schema), frames(twin, schema)
    as_text = {name: frame.astype(str) for name, frame in twin_frames.items()}

    typed = assess_database(schema, real_frames, twin_frames)
    text = assess_database(schema, real_frames, as_text)

    assert [t.overall for t in text.accuracy.tables] == pytest.approx(
        [t.overall for t in typed.accuracy.tables], nan_ok=True
    )
    aligned = align(real_frames["customers"], as_text["customers"])
    assert aligned["joined"].dtype.kind == "M" and aligned["age"].dtype.kind in "if"


def test_large_tables_are_sampled_and_the_page_says_so(databases: tuple[str, str]) -> None:
    real, twin = databases
    quality = evaluate_database(real, twin, max_rows=100)
    assert set(quality.sampled) == {"customers", "orders", "items"}
    assert any(
        "items: the table's sections compare seeded samples of 100 rows" in n for n in quality.notes
    )
    html = DatabaseReport(quality, "shop", {"real": real, "synthetic": twin}).html()
    assert "compare seeded samples of 100 rows of each side" in html


@pytest.fixture(scope="module")
def page(databases: tuple[str, str], quality: DatabaseQuality) -> str:
    real, twin = databases
    manifest = {
        "kind": "database",
        "config": {"purpose": "analytics"},
        "notes": ["a note from training"],
        "tables": {
            "customers": {"model": {
                "config": {"max_epochs": 2},
                "training": {"epochs": [
                    {"epoch": e, "loss": 2.0 / e, "val_loss": 2.1 / e, "val_accuracy": 0.9,
                     "best": e == 2} for e in (1, 2)
                ], "best_epoch": 2, "best_accuracy": 0.9, "seconds": 1.5},
                "stop_reason": "max epochs",
                "nulls": {"policy": "keep", "rows_before": 120, "rows_after": 120},
            }},
            "follows": {"model": None},
        },
    }  # fmt: skip
    report = DatabaseReport(
        quality,
        "shop",
        {"real": real, "synthetic": twin, "model": "shop.synthdb"},
        model=database_summary_from_manifest(manifest),
    )
    return report.html()


def test_the_page_has_a_section_per_table_and_a_picture_per_relationship(
    page: str, quality: DatabaseQuality
) -> None:
    for table in ("customers", "orders", "items", "follows"):
        assert page.count(f'data-table="{table}"') == 1, table
    for table in ("customers", "orders", "items"):
        section = page.split(f'data-table="{table}"')[1].split('data-table="')[0]
        for name, _ in TABLE_SECTIONS:
            assert f'data-section="{name}"' in section, (table, name)
    assert "This table holds only keys" in page
    assert "Keys (regenerated, not compared): customer_id, order_id." in page
    for relation in quality.to_dict()["relations"]:
        name = relation_name(relation).replace(">", "&gt;")
        assert page.count(f'<figure data-relation="{name}">') == 1, name
    assert "orders(customer_id) -&gt; customers" in page
    # the model: a training curve for the table that has one, the run's notes
    assert page.count('alt="training curve"') == 1
    assert "a note from training" in page and "max epochs" in page


def test_the_page_is_self_contained_and_escapes_values(page: str) -> None:
    assert HOSTILE not in page.split('<script type="application/json"')[0]
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    assert "<script>" not in page and "http://" not in page and "https://" not in page
    embedded = page.split('id="report-data">')[1].split("</script>")[0]
    assert json.loads(embedded)["report"]["database"] == "shop"


def test_an_empty_table_is_reported_as_empty(tmp_path: Path) -> None:
    # Setup: real and twin hold an empty parent ('promos') and an empty child ('refunds')
    urls = []
    for name, seed in (("real", 1), ("twin", 2)):
        url = shop(tmp_path / f"{name}.db", customers=30, seed=seed)
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.executescript(
                """
                CREATE TABLE promos (code TEXT PRIMARY KEY, label TEXT);
                CREATE TABLE refunds (id INTEGER PRIMARY KEY,
                                      order_id INTEGER NOT NULL REFERENCES orders(id),
                                      promo TEXT REFERENCES promos(code), reason TEXT);
                """
            )
        urls.append(url)

    # Run
    quality = evaluate_database(*urls)
    figures = quality.to_dict()
    page = DatabaseReport(quality, "shop", {"real": urls[0], "synthetic": urls[1]}).html()

    # Assert: no accuracy (None, not NaN) and no crash; the page says the tables are empty
    tables = {t["table"]: t for t in figures["tables"]}
    for name in ("promos", "refunds"):
        assert tables[name]["overall"] is None and tables[name]["real_rows"] == 0, name
        assert name not in figures["table_reports"], name
        section = page.split(f'data-table="{name}"')[1].split('data-table="')[0]
        assert "This table has no real and no synthetic rows" in section, name
    summary = page.split('id="summary"')[1].split("</section>")[0]
    assert summary.count('<td class="num">empty</td>') == 2
    relations = {(r["child"], r["parent"]): r for r in figures["relations"]}
    assert relations[("refunds", "orders")]["real_mean"] == 0.0
    assert relations[("refunds", "promos")]["distribution"]["real_parents"] == 0
