"""The REST API of ``synthdb serve`` against a real app: a temporary data folder, SQLite
state and real worker processes training on a few hundred Adult rows for one epoch."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from service_harness import AUTH, TOKEN, adult_prefix, wait_for
from synthdb.service.app import create_app
from synthdb.service.settings import Settings


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=folder / "data", token=TOKEN, worker_threads=1, workers=2, poll_seconds=0.1
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def small_csv(folder: Path) -> Path:
    return adult_prefix(folder / "adult.csv", 300)


@pytest.fixture(scope="module")
def dataset(client: TestClient, small_csv: Path) -> str:
    with small_csv.open("rb") as stream:
        response = client.post(
            "/api/v1/datasets", files={"file": ("adult.csv", stream)}, headers=AUTH
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def model(client: TestClient, dataset: str) -> str:
    """A model trained for one epoch, report included."""
    response = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 1, "nulls": "keep", "seed": 1}},
        headers=AUTH,
    )
    assert response.status_code in (201, 202), response.text
    body = response.json()
    job = wait_for(client, body["job_id"])
    assert job["status"] == "succeeded", job
    return str(body["id"])


def upload(client: TestClient, name: str, content: bytes) -> Any:
    return client.post("/api/v1/datasets", files={"file": (name, content)}, headers=AUTH)


# ---------------------------------------------------------------- auth
def test_healthz_needs_no_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/models"),
        ("get", "/api/v1/datasets"),
        ("get", "/api/v1/jobs/0123456789abcdef"),
        ("post", "/api/v1/models"),
        ("post", "/api/v1/datasets"),
    ],
)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic Zm9vOmJhcg==", TOKEN])
def test_api_needs_the_token(
    client: TestClient, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401, response.text
    assert "token" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


# ---------------------------------------------------------------- uploads
def test_bad_files_are_refused_and_leave_nothing(client: TestClient, folder: Path) -> None:
    before = client.get("/api/v1/datasets", headers=AUTH).json()
    cases = [
        ("broken.csv", b"a,b\n1,2\n3,4,5,6\n", 400, "line 3 has 4 fields"),
        ("empty.csv", b"", 400, "empty"),
        ("header.csv", b"a,b\n", 400, "no rows"),
        ("binary.csv", bytes(range(256)) * 40, 415, "binary"),
        ("packed.csv.gz", gzip.compress(bytes(range(256)) * 40), 415, "gzip"),
        ("cut.parquet", b"PAR1" + b"x" * 100, 400, "Parquet"),
        ("latin1.csv", "name\ncaf\xe9\n".encode("latin-1"), 415, "binary"),
        ("fake.sqlite", b"SQLite format 3\x00" + b"\x00" * 200, 400, ""),
    ]
    for name, content, status, fragment in cases:
        response = upload(client, name, content)
        assert response.status_code == status, (name, response.text)
        detail = response.json()["detail"]
        assert fragment in detail and "\n" not in detail, (name, detail)
        assert str(folder) not in detail, detail  # no server paths in messages
    assert client.get("/api/v1/datasets", headers=AUTH).json() == before
    assert list((folder / "data" / "uploads").iterdir()) == []


def test_upload_size_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, token=TOKEN, worker_threads=1, max_upload_bytes=1000)
    with TestClient(create_app(settings)) as small:
        response = upload(small, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert list((tmp_path / "uploads").iterdir()) == []
        assert upload(small, "ok.csv", b"a,b\n1,2\n3,4\n").status_code == 201


def test_bodies_past_the_limit_are_cut_off(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, token=TOKEN, worker_threads=1, max_upload_bytes=10_000)
    with TestClient(create_app(settings)) as small:
        huge = b"a,b\n" + b"1,2\n" * 1_000_000  # 4 MB: past the limit and the form's room
        response = upload(small, "huge.csv", huge)
        assert response.status_code == 413 and "limit" in response.json()["detail"]
        body = {"dataset_id": "x", "config": {"columns": {"c": {"kind": "x" * 2_000_000}}}}
        response = small.post("/api/v1/models", json=body, headers=AUTH)
        assert response.status_code == 413
        assert list((tmp_path / "uploads").iterdir()) == []


def test_uploaded_names_never_become_paths(client: TestClient, folder: Path) -> None:
    response = upload(client, "../../../../tmp/evil.csv", b"a,b\n1,x\n2,y\n3,x\n")
    assert response.status_code == 201, response.text
    view = client.get(f"/api/v1/datasets/{response.json()['id']}", headers=AUTH).json()
    assert view["name"] == "evil.csv"
    files = sorted(p.name for p in (folder / "data" / "datasets" / view["id"]).iterdir())
    assert files == ["data.csv"]
    assert not Path("/tmp/evil.csv").exists()


def test_parquet_sqlite_and_gzip_uploads_with_schema_view(
    client: TestClient, small_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(small_csv, dtype=str, keep_default_na=False)
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    response = upload(client, "adult.parquet", parquet.getvalue())
    assert response.status_code == 201, response.text
    view = client.get(f"/api/v1/datasets/{response.json()['id']}", headers=AUTH).json()
    assert view["format"] == "parquet" and view["rows"] == 300
    columns = {c["name"]: c for c in view["schema"][0]["columns"]}
    assert columns["age"]["kind"] == "numeric"
    assert columns["sex"]["kind"] in ("categorical", "boolean")
    assert any("education" in rule for rule in view["schema"][0]["rules"])

    packed = upload(client, "adult.csv.gz", gzip.compress(small_csv.read_bytes()))
    assert packed.status_code == 201, packed.text

    database = shop_database(tmp_path / "shop.sqlite")
    response = upload(client, "shop.db", database.read_bytes())
    assert response.status_code == 201, response.text
    view = client.get(f"/api/v1/datasets/{response.json()['id']}", headers=AUTH).json()
    assert view["format"] == "sqlite" and view["database"] is True
    tables = {t["name"]: t for t in view["schema"]}
    assert tables["orders"]["primary_key"] == ["id"]
    assert any("customer_id" in key for key in tables["orders"]["foreign_keys"])


def shop_database(path: Path) -> Path:
    """Two related tables: 30 customers, 90 orders (3 each)."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, city TEXT);"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER "
            "REFERENCES customers(id), total REAL);"
        )
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)", [(i, f"city{i % 3}") for i in range(30)]
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 30, i * 1.5) for i in range(90)]
        )
    return path


def test_a_whole_database_model(client: TestClient, tmp_path: Path) -> None:
    """A multi-table upload trains every table (parents first) and generates a twin: a zip
    of CSV files to download, or tables in a registered database."""
    database = shop_database(tmp_path / "shop.sqlite")
    dataset = upload(client, "shop.sqlite", database.read_bytes()).json()["id"]
    refused = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"privacy": "high"}},
        headers=AUTH,
    )
    assert refused.status_code == 422
    assert "one table under differential privacy" in refused.json()["detail"]
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 1}},
        headers=AUTH,
    ).json()
    job = wait_for(client, body["job_id"])
    assert job["status"] == "succeeded", job
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    assert model["summary"]["kind"] == "database"
    assert model["summary"]["rows_per_table"] == {"customers": 30, "orders": 90}
    report = client.get(f"/api/v1/models/{body['id']}/report", headers=AUTH)
    assert report.status_code == 200 and "orders" in report.text

    for wrong in ({"rows": 10}, {"table": "x"}):
        response = client.post(f"/api/v1/models/{body['id']}/generate", json=wrong, headers=AUTH)
        assert response.status_code == 422 and "scale" in response.json()["detail"]
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate", json={"scale": 0.5, "seed": 1}, headers=AUTH
    ).json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    result = client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH)
    assert result.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
        assert sorted(archive.namelist()) == ["customers.csv", "orders.csv"]
        customers = pd.read_csv(archive.open("customers.csv"))
        orders = pd.read_csv(archive.open("orders.csv"))
    assert len(customers) == 15
    assert set(orders["customer_id"].dropna()) <= set(customers["id"])

    target = tmp_path / "twin.sqlite"
    with sqlite3.connect(target) as connection:
        connection.execute("CREATE TABLE marker (x INTEGER)")
        connection.execute("INSERT INTO marker VALUES (1)")
    registered = client.post(
        "/api/v1/datasets/url", json={"url": f"sqlite:///{target}"}, headers=AUTH
    ).json()["id"]
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate",
        json={"target_dataset_id": registered, "seed": 2},
        headers=AUTH,
    ).json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (30,)
    # the same again refuses to overwrite the tables, with the library's message
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate",
        json={"target_dataset_id": registered, "seed": 3},
        headers=AUTH,
    ).json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "failed" and "overwrite" in job["error"], job


def loose_shop_database(path: Path) -> Path:
    """The shop's two tables with no keys declared in the database: a job file's ``tables``
    section has to say them."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE customers (id INTEGER, city TEXT);"
            "CREATE TABLE orders (id INTEGER, customer_id INTEGER, total REAL);"
        )
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)", [(i, f"city{i % 3}") for i in range(30)]
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 30, i * 1.5) for i in range(90)]
        )
    return path


def test_a_database_with_a_tables_section(client: TestClient, tmp_path: Path) -> None:
    """The job file's ``tables`` section declares keys the database does not, and a table's
    own settings; what it may not say is refused before any job starts."""
    database = loose_shop_database(tmp_path / "loose.sqlite")
    dataset = upload(client, "loose.sqlite", database.read_bytes()).json()["id"]
    refusals = [
        ({"orders": {"path": "/etc/passwd"}}, "set by the service"),
        ({"invoices": {"primary_key": "id"}}, "no table 'invoices'"),
        ({"orders": {"foreign_keys": "customer_id"}}, "must be a list"),
        ({"orders": {"max-epochs": 0}}, "greater than or equal to 1"),
        ({"orders": {"colour": "blue"}}, "extra"),
        ("orders", "must map table names"),
    ]
    for tables, fragment in refusals:
        response = client.post(
            "/api/v1/models",
            json={"dataset_id": dataset, "config": {"tables": tables}},
            headers=AUTH,
        )
        assert response.status_code == 422, (tables, response.text)
        assert fragment in response.json()["detail"], response.json()
        assert response.json()["field"] == "tables"
    response = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"sequence_key": "city"}},
        headers=AUTH,
    )
    assert response.status_code == 422 and "for one table" in response.json()["detail"]

    tables = {
        "customers": {"primary_key": "id"},
        "orders": {
            "primary_key": "id",
            "foreign_keys": [{"columns": "customer_id", "references": "customers.id"}],
            "max-epochs": 2,
        },
    }
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 1, "tables": tables}},
        headers=AUTH,
    ).json()
    job = wait_for(client, body["job_id"])
    assert job["status"] == "succeeded", job
    assert job["progress"]["training"] == "orders" and len(job["progress"]["curve"]) == 2
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    assert model["summary"]["rows_per_table"] == {"customers": 30, "orders": 90}
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate", json={"seed": 4}, headers=AUTH
    ).json()["job_id"]
    assert wait_for(client, job_id)["status"] == "succeeded"
    result = client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH)
    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
        customers = pd.read_csv(archive.open("customers.csv"))
        orders = pd.read_csv(archive.open("orders.csv"))
    assert customers["id"].is_unique  # the declared key is kept unique
    assert set(orders["customer_id"].dropna()) <= set(customers["id"])  # and the reference


def events_csv(path: Path, entities: int = 60) -> Path:
    """A table of sequences: ``entities`` accounts with 3 to 6 events each, in time order."""
    rng = np.random.default_rng(5)
    rows = []
    for entity in range(entities):
        plan = rng.choice(["basic", "plus"])
        day = 0
        for _ in range(int(rng.integers(3, 7))):
            day += int(rng.integers(1, 20))
            rows.append(
                {
                    "account": f"A{entity:04d}",
                    "plan": plan,
                    "day": day,
                    "amount": round(float(rng.gamma(2.0, 15.0)), 2),
                    "channel": rng.choice(["web", "shop", "phone"]),
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_model_of_sequences(client: TestClient, folder: Path, tmp_path: Path) -> None:
    """``sequence_key`` and ``order_by`` train a model of sequences; generating asks for
    whole ``sequences``, and rows or scale are refused for it, as ``synthdb generate`` does."""
    source = events_csv(tmp_path / "events.csv")
    dataset = upload(client, "events.csv", source.read_bytes()).json()["id"]
    config = {"sequence_key": "account", "order_by": "day", "max-epochs": 1, "seed": 2}
    body = client.post(
        "/api/v1/models", json={"dataset_id": dataset, "config": config}, headers=AUTH
    ).json()
    job = wait_for(client, body["job_id"])
    assert job["status"] == "succeeded", job
    progress = job["progress"]
    assert progress["training"] == "events" and progress["curve"][0]["epoch"] == 1
    assert any("60 sequences" in line for line in progress["log"]), progress["log"]
    assert str(folder) not in json.dumps(job)  # no server path in what the job says
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    summary = model["summary"]
    assert summary["kind"] == "sequences" and summary["sequences"] == 60
    assert summary["sequence_key"] == "account" and summary["order_by"] == ["day"]
    assert summary["epochs"] == 1 and summary["rows"] == len(pd.read_csv(source))
    assert 0 < summary["accuracy"] <= 1 and summary["stop_reason"]
    report = client.get(f"/api/v1/models/{body['id']}/report", headers=AUTH)
    assert report.status_code == 200 and "Sequences" in report.text
    assert "events.csv" in report.text and str(folder) not in report.text

    for wrong, fragment in (
        ({"rows": 10}, "whole sequences"),
        ({"scale": 2}, "whole sequences"),
        ({"rows": 10, "sequences": 5}, "one of rows, scale or sequences"),
    ):
        response = client.post(f"/api/v1/models/{body['id']}/generate", json=wrong, headers=AUTH)
        assert response.status_code == 422, response.text
        assert fragment in response.json()["detail"]
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate", json={"sequences": 12, "seed": 3}, headers=AUTH
    ).json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"]["unit"] == "sequences" and job["progress"]["rows_written"] == 12
    assert job["result"]["sequences"] == 12
    result = client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH)
    rows = pd.read_csv(io.StringIO(result.text))
    assert list(rows.columns) == ["account", "plan", "day", "amount", "channel"]
    assert rows["account"].nunique() == 12 and job["result"]["rows"] == len(rows)
    assert all(group["day"].is_monotonic_increasing for _, group in rows.groupby("account"))
    assert (rows.groupby("account")["plan"].nunique() == 1).all()  # one plan per account

    # the model's page asks for sequences, not rows or scale, and says what is wrong
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert csrf is not None
    client.post("/signin", data={"csrf": csrf.group(1), "token": TOKEN})
    page = client.get(f"/models/{body['id']}").text
    assert 'name="sequences"' in page and 'name="rows"' not in page and "by <code>account" in page
    form = {"csrf": re.findall(r'name="csrf" value="([^"]+)"', page)[0], "seed": "1"}
    refused = client.post(f"/models/{body['id']}/generate", data={**form, "rows": "5"})
    assert refused.status_code == 422 and "whole sequences" in refused.text
    started = client.post(
        f"/models/{body['id']}/generate", data={**form, "sequences": "4"}, follow_redirects=False
    )
    assert started.status_code == 303
    job = wait_for(client, started.headers["location"].rsplit("/", 1)[-1])
    assert job["status"] == "succeeded" and job["result"]["sequences"] == 4
    assert "Sequences" in client.get(f"/jobs/{job['id']}").text


def test_sequences_from_a_table_model_are_422(client: TestClient, model: str) -> None:
    response = client.post(f"/api/v1/models/{model}/generate", json={"sequences": 5}, headers=AUTH)
    assert response.status_code == 422
    body = response.json()
    assert "model of sequences" in body["detail"] and body["field"] == "sequences"
    response = client.post(
        f"/api/v1/models/{model}/generate", json={"scale": 2, "sequences": 5}, headers=AUTH
    )
    assert response.status_code == 422 and "one of rows" in response.json()["detail"]


# ---------------------------------------------------------------- ids and parameters
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/datasets/0123456789abcdef"),
        ("get", "/api/v1/models/0123456789abcdef"),
        ("get", "/api/v1/models/0123456789abcdef/report"),
        ("get", "/api/v1/models/0123456789abcdef/file"),
        ("get", "/api/v1/jobs/0123456789abcdef"),
        ("get", "/api/v1/jobs/0123456789abcdef/result"),
        ("post", "/api/v1/jobs/0123456789abcdef/cancel"),
        ("get", "/api/v1/models/..%2F..%2Fetc"),
        ("get", "/api/v1/jobs/%00"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers=AUTH)
    assert response.status_code == 404, response.text
    assert response.json()["detail"].startswith(("no ", "Not Found"))


def test_unknown_ids_in_bodies_are_404(client: TestClient) -> None:
    response = client.post(
        "/api/v1/models", json={"dataset_id": "nope", "config": {}}, headers=AUTH
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/models/0123456789abcdef/generate", json={"rows": 5}, headers=AUTH
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("config", "field", "fragment"),
    [
        ({"max-epochs": 0}, "max_epochs", "greater than or equal to 1"),
        ({"max_epochs": "many"}, "max_epochs", "integer"),
        ({"nulls": "sometimes"}, "nulls", "replace"),
        ({"purpose": "fun"}, "purpose", "testing"),
        ({"privacy": "extreme"}, "privacy", "high"),
        ({"epsilon": -1}, "epsilon", "greater than 0"),
        ({"learning-rate": 3}, "learning_rate", "less than or equal to 1"),
        ({"colour": "blue"}, "colour", "extra"),
        ({"privacy": 5, "epsilon": 1}, None, "config"),
        ({"input": "/etc/passwd"}, "input", "set by the service"),
        ({"sequence_key": "x"}, "sequence_key", "not a column"),
        ({"sequence_key": ""}, "sequence_key", "column name"),
        ({"order_by": "age"}, "order_by", "needs `sequence_key`"),
        ({"sequence_key": "workclass", "order_by": ["nope"]}, "order_by", "not a column"),
        ({"sequence_key": "workclass", "order_by": "workclass"}, "order_by", "key itself"),
        ({"sequence_key": "workclass", "order_by": [3]}, "order_by", "column name"),
        ({"sequence_key": "workclass", "privacy": "high"}, "privacy", "sequences"),
        ({"tables": {"adult": {"primary_key": "age"}}}, "tables", "one table"),
        ({"tables": {"t": {}}, "sequence_key": "age"}, "sequence_key", "for one table"),
    ],
)
def test_invalid_config_is_422_with_the_cli_message(
    client: TestClient, dataset: str, config: dict[str, Any], field: str | None, fragment: str
) -> None:
    before = len(client.get("/api/v1/models", headers=AUTH).json())
    response = client.post(
        "/api/v1/models", json={"dataset_id": dataset, "config": config}, headers=AUTH
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert fragment in body["detail"], body
    if field is not None:
        assert body["field"] == field
    assert len(client.get("/api/v1/models", headers=AUTH).json()) == before


def test_malformed_bodies_are_422(client: TestClient, dataset: str) -> None:
    for body in ([], {"dataset_id": dataset, "config": "max-epochs: 3"}, {"config": {}}):
        response = client.post("/api/v1/models", json=body, headers=AUTH)
        assert response.status_code == 422, response.text
    response = client.post(
        "/api/v1/models", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


# ---------------------------------------------------------------- the happy path
def test_train_report_generate_download(client: TestClient, model: str, small_csv: Path) -> None:
    models = client.get("/api/v1/models", headers=AUTH).json()
    listed = next(m for m in models if m["id"] == model)
    assert listed["status"] == "ready" and listed["report"] is True
    summary = listed["summary"]
    assert summary["epochs"] == 1 and summary["rows"] == 300 and 0 < summary["accuracy"] <= 1

    train_job = client.get(f"/api/v1/jobs/{listed['train_job_id']}", headers=AUTH).json()
    progress = train_job["progress"]
    assert progress["phase"] == "done" and progress["max_epochs"] == 1
    assert progress["curve"][0]["epoch"] == 1 and 0 < progress["curve"][0]["val_accuracy"] <= 1

    report = client.get(f"/api/v1/models/{model}/report", headers=AUTH)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert "<html" in report.text[:500].lower()

    started = client.post(
        f"/api/v1/models/{model}/generate", json={"rows": 250, "seed": 7}, headers=AUTH
    )
    assert started.status_code in (200, 201, 202), started.text
    job_id = started.json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"]["rows_written"] == 250
    result = client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH)
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    rows = pd.read_csv(io.StringIO(result.text), dtype=str, keep_default_na=False)
    source = pd.read_csv(small_csv, dtype=str, nrows=1)
    assert len(rows) == 250 and list(rows.columns) == list(source.columns)

    again = wait_for(
        client,
        client.post(
            f"/api/v1/models/{model}/generate", json={"rows": 250, "seed": 7}, headers=AUTH
        ).json()["job_id"],
    )
    assert again["status"] == "succeeded"
    second = client.get(f"/api/v1/jobs/{again['id']}/result", headers=AUTH)
    assert second.content == result.content  # same model, same seed: the same rows


def test_model_file_downloads_and_loads(client: TestClient, model: str, tmp_path: Path) -> None:
    from synthdb.synthesizer import Synthesizer

    response = client.get(f"/api/v1/models/{model}/file", headers=AUTH)
    assert response.status_code == 200
    path = tmp_path / "model.synthdb"
    path.write_bytes(response.content)
    assert len(Synthesizer.load(path).sample(20, seed=1)) == 20


def test_second_job_on_a_busy_model_is_409(client: TestClient, model: str) -> None:
    first = client.post(f"/api/v1/models/{model}/generate", json={"rows": 50}, headers=AUTH)
    assert first.status_code == 202
    second = client.post(f"/api/v1/models/{model}/generate", json={"rows": 50}, headers=AUTH)
    assert second.status_code == 409, second.text
    assert "busy" in second.json()["detail"]
    assert wait_for(client, first.json()["job_id"])["status"] == "succeeded"
    third = client.post(f"/api/v1/models/{model}/generate", json={"rows": 5}, headers=AUTH)
    assert third.status_code == 202
    wait_for(client, third.json()["job_id"])


@pytest.mark.parametrize(
    "body",
    [
        {"rows": 0},
        {"rows": -5},
        {"seed": -1},
        {"rows": 5, "scale": 2},
        {"scale": 0},
        {"rows": "many"},
        {"rows": 5, "color": 1},
        {"table": "x; drop table y"},
    ],
)
def test_invalid_generate_parameters_are_422(
    client: TestClient, model: str, body: dict[str, Any]
) -> None:
    response = client.post(f"/api/v1/models/{model}/generate", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_result_of_unfinished_or_training_jobs(client: TestClient, model: str) -> None:
    listed = client.get(f"/api/v1/models/{model}", headers=AUTH).json()
    response = client.get(f"/api/v1/jobs/{listed['train_job_id']}/result", headers=AUTH)
    assert response.status_code == 404 and "trained a model" in response.json()["detail"]


def test_generate_to_a_registered_database(client: TestClient, model: str, tmp_path: Path) -> None:
    target = tmp_path / "twin.sqlite"
    sqlite3.connect(target).close()
    registered = client.post(
        "/api/v1/datasets/url", json={"url": f"sqlite:///{target}"}, headers=AUTH
    )
    # an empty database has no tables to describe: registering it is refused
    assert registered.status_code == 400 and "no tables" in registered.json()["detail"]
    with sqlite3.connect(target) as connection:
        connection.execute("CREATE TABLE other (x INTEGER)")
        connection.execute("INSERT INTO other VALUES (1)")
    registered = client.post(
        "/api/v1/datasets/url", json={"url": f"sqlite:///{target}", "name": "twin"}, headers=AUTH
    )
    assert registered.status_code == 201, registered.text
    job_id = client.post(
        f"/api/v1/models/{model}/generate",
        json={
            "rows": 40,
            "seed": 2,
            "target_dataset_id": registered.json()["id"],
            "table": "people",
        },
        headers=AUTH,
    ).json()["job_id"]
    job = wait_for(client, job_id)
    assert job["status"] == "succeeded", job
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM people").fetchone() == (40,)
    assert client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH).status_code == 404


# ---------------------------------------------------------------- failures and cancelling
def test_failed_training_shows_the_cli_message(client: TestClient) -> None:
    content = b"a,b,c\n" + b"".join(f"{i},x{i % 4},\n".encode() for i in range(60))
    dataset = upload(client, "nulls.csv", content).json()["id"]
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"nulls": "drop", "max-epochs": 1}},
        headers=AUTH,
    ).json()
    job = wait_for(client, body["job_id"])
    assert job["status"] == "failed"
    assert "\n" not in job["error"] and "drop" in job["error"] and "unexpected" not in job["error"]
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    assert model["status"] == "failed" and model["error"] == job["error"]
    refused = client.post(f"/api/v1/models/{body['id']}/generate", json={"rows": 5}, headers=AUTH)
    assert refused.status_code == 409 and "failed" in refused.json()["detail"]
    assert client.get(f"/api/v1/models/{body['id']}/report", headers=AUTH).status_code == 409
    assert client.get(f"/api/v1/models/{body['id']}/file", headers=AUTH).status_code == 409


def test_cancel_a_running_training(client: TestClient, dataset: str, folder: Path) -> None:
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 5000, "patience": 1000}},
        headers=AUTH,
    ).json()
    wait_for(client, body["job_id"], until=lambda job: job["progress"].get("step", 0) > 0)
    response = client.post(f"/api/v1/jobs/{body['job_id']}/cancel", headers=AUTH)
    assert response.status_code == 202
    job = wait_for(client, body["job_id"])
    assert job["status"] == "cancelled"
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    assert model["status"] == "cancelled" and model["busy_job_id"] is None
    assert not (folder / "data" / "models" / body["id"]).exists()
    refused = client.post(f"/api/v1/models/{body['id']}/generate", json={"rows": 5}, headers=AUTH)
    assert refused.status_code == 409
    # cancelling a finished job changes nothing
    again = client.post(f"/api/v1/jobs/{body['job_id']}/cancel", headers=AUTH)
    assert again.status_code == 202 and again.json()["status"] == "cancelled"


def test_openapi_document_lists_the_contract(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/datasets",
        "/api/v1/models",
        "/api/v1/models/{model_id}/report",
        "/api/v1/models/{model_id}/generate",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/result",
    ):
        assert path in paths, path
    assert "HTTPBearer" in json.dumps(document["components"]["securitySchemes"])


def test_a_worker_that_dies_fails_its_job(client: TestClient, dataset: str, folder: Path) -> None:
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 5000, "patience": 1000}},
        headers=AUTH,
    ).json()
    wait_for(client, body["job_id"], until=lambda job: job["progress"].get("step", 0) > 0)
    with sqlite3.connect(folder / "data" / "state.db") as state:
        (pid,) = state.execute(
            "SELECT pid FROM synthdb_jobs WHERE id = ?", (body["job_id"],)
        ).fetchone()
    os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    job = wait_for(client, body["job_id"])
    assert job["status"] == "failed"
    assert "ended unexpectedly (exit code -9" in job["error"]
    model = client.get(f"/api/v1/models/{body['id']}", headers=AUTH).json()
    assert model["status"] == "failed" and model["busy_job_id"] is None


def test_a_clean_stop_marks_running_jobs_interrupted(tmp_path: Path, small_csv: Path) -> None:
    settings = Settings(data_dir=tmp_path, token=TOKEN, worker_threads=1, poll_seconds=0.1)
    with TestClient(create_app(settings)) as first:
        dataset = upload(first, "adult.csv", small_csv.read_bytes()).json()["id"]
        body = first.post(
            "/api/v1/models",
            json={"dataset_id": dataset, "config": {"max-epochs": 5000, "patience": 1000}},
            headers=AUTH,
        ).json()
        wait_for(first, body["job_id"], until=lambda job: job["status"] == "running")
    with TestClient(create_app(settings)) as second:
        job = second.get(f"/api/v1/jobs/{body['job_id']}", headers=AUTH).json()
        assert job["status"] == "interrupted"
        models = second.get("/api/v1/models", headers=AUTH).json()
        assert [m["status"] for m in models] == ["interrupted"]
