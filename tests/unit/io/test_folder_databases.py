"""Folders of CSV/Parquet files as databases: relations from a job file, all-or-nothing writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from synthdb.errors import InputError, OutputError
from synthdb.io.database import check_database_output, open_database, write_database
from synthdb.jobfile import load_job_file, load_tables

JOB = """
tables:
  customers: {primary_key: id}
  orders:
    path: data/orders.csv
    primary_key: id
    foreign_keys:
      - {columns: customer_id, references: customers.id}
"""


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with customers.csv, orders.csv elsewhere, and a job file declaring the keys."""
    folder = tmp_path / "shop"
    folder.mkdir()
    (tmp_path / "data").mkdir()
    (folder / "customers.csv").write_text("id,name\n1,Ann\n2,Bob\n3,Cy\n")
    (tmp_path / "data" / "orders.csv").write_text("id,customer_id,total\n10,1,5.5\n11,1,2\n12,3,\n")
    job = tmp_path / "shop.yaml"
    job.write_text(JOB)
    return folder, job


def _open(shop: tuple[Path, Path]):
    folder, job = shop
    return open_database(folder, declared=load_tables(load_job_file(job), job))


def test_folder_with_job_file_relations(shop: tuple[Path, Path]) -> None:
    database = _open(shop)

    schema = database.schema()

    assert database.tables() == ["customers", "orders"]
    assert schema.order == ["customers", "orders"]
    assert schema.table("orders").foreign_keys[0].describe("orders") == (
        "orders(customer_id) -> customers(id)"
    )
    assert schema.table("orders").column("total").type is None
    assert schema.dialect == "csv"
    assert database.read("orders")["total"].tolist()[:2] == ["5.5", "2"]
    assert [len(c) for c in database.read_chunks("orders", rows=2)] == [2, 1]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_folder_round_trip(shop: tuple[Path, Path], tmp_path: Path, suffix: str) -> None:
    database = _open(shop)
    schema = database.schema()
    out = tmp_path / "twin"

    rows = write_database(out, schema, {t: database.read(t) for t in schema.order}, suffix=suffix)

    assert rows == {"customers": 3, "orders": 3}
    assert sorted(p.name for p in out.iterdir()) == [f"customers{suffix}", f"orders{suffix}"]
    copy = open_database(out).read("orders")
    assert copy["customer_id"].astype(str).tolist() == ["1", "1", "3"]


def test_csv_tables_get_sql_types_from_their_values(
    shop: tuple[Path, Path], tmp_path: Path
) -> None:
    database = _open(shop)
    schema = database.schema()
    frames = {t: database.read(t) for t in schema.order}
    frames["orders"] = frames["orders"].astype({"id": int, "customer_id": int, "total": float})
    frames["customers"] = frames["customers"].astype({"id": int})
    target = tmp_path / "shop.db"

    write_database(f"sqlite:///{target}", schema, frames)

    with sqlite3.connect(target) as connection:
        ddl = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'orders'").fetchone()
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert "REFERENCES customers (id)" in ddl[0]
    assert "total DOUBLE" in ddl[0]


def test_folder_output_refusals(shop: tuple[Path, Path], tmp_path: Path) -> None:
    schema = _open(shop).schema()
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("a\n1\n")

    with pytest.raises(OutputError, match="is not empty"):
        check_database_output(out, schema)
    check_database_output(out, schema, overwrite=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds more than tables \(notes.txt\)"):
        check_database_output(out, schema, overwrite=True)


def test_failed_folder_write_leaves_the_old_folder(shop: tuple[Path, Path], tmp_path: Path) -> None:
    database = _open(shop)
    schema = database.schema()
    out = tmp_path / "out"
    write_database(out, schema, {t: database.read(t) for t in schema.order})
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken() -> Iterator[pd.DataFrame]:
        yield database.read("orders")
        raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError):
        write_database(
            out,
            schema,
            {"customers": database.read("customers"), "orders": broken()},
            overwrite=True,
        )

    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_declared_table_without_a_file(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text('[tables.orders]\nprimary_key = "id"\n')

    with pytest.raises(InputError, match="no file for table 'orders'"):
        open_database(tmp_path, declared=load_tables(load_job_file(job), job))


def test_job_file_alone_names_every_file(shop: tuple[Path, Path]) -> None:
    _folder, job = shop
    job.write_text(
        JOB.replace(
            "customers: {primary_key: id}", "customers: {path: shop/customers.csv, primary_key: id}"
        )
    )

    database = open_database(None, declared=load_tables(load_job_file(job), job))

    assert database.schema().order == ["customers", "orders"]
