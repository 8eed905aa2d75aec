"""``synthdb serve`` with its state in PostgreSQL (``--state-url``), and a registered
PostgreSQL URL whose password is stored encrypted and never shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from service_harness import AUTH, TOKEN, adult_prefix, wait_for
from synthdb.service.app import create_app
from synthdb.service.settings import Settings

PASSWORD = "hunter2-not-real"


@pytest.fixture
def client(postgres: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        state_url=postgres,
        token=TOKEN,
        worker_threads=1,
        secret_key="test-secret-key",
        poll_seconds=0.1,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_state_in_postgresql(client: TestClient, postgres: str, tmp_path: Path) -> None:
    csv = adult_prefix(tmp_path / "adult.csv", 200)
    with csv.open("rb") as stream:
        dataset = client.post(
            "/api/v1/datasets", files={"file": ("adult.csv", stream)}, headers=AUTH
        ).json()["id"]
    body = client.post(
        "/api/v1/models",
        json={"dataset_id": dataset, "config": {"max-epochs": 1}, "report": False},
        headers=AUTH,
    ).json()
    assert wait_for(client, body["job_id"])["status"] == "succeeded"
    job_id = client.post(
        f"/api/v1/models/{body['id']}/generate", json={"rows": 30}, headers=AUTH
    ).json()["job_id"]
    assert wait_for(client, job_id)["status"] == "succeeded"
    assert len(client.get(f"/api/v1/jobs/{job_id}/result", headers=AUTH).text.splitlines()) == 31
    engine = sa.create_engine(postgres, poolclass=sa.NullPool)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert {"synthdb_jobs", "synthdb_models", "synthdb_datasets", "synthdb_tokens"} <= tables
        statuses = connection.exec_driver_sql("SELECT status FROM synthdb_jobs").scalars().all()
    assert sorted(statuses) == ["succeeded", "succeeded"]


def test_registered_url_keeps_its_password_encrypted(client: TestClient, postgres: str) -> None:
    # trust authentication ignores the password, so a made-up one connects
    url = sa.engine.make_url(postgres).set(password=PASSWORD)
    engine = sa.create_engine(postgres, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE people (id integer primary key, city text)")
        connection.exec_driver_sql(
            "INSERT INTO people SELECT g, 'c' || mod(g, 5) FROM generate_series(1, 50) g"
        )
    response = client.post(
        "/api/v1/datasets/url",
        json={"url": url.render_as_string(hide_password=False), "table": "people"},
        headers=AUTH,
    )
    assert response.status_code == 201, response.text
    dataset_id = response.json()["id"]
    for path in ("/api/v1/datasets", f"/api/v1/datasets/{dataset_id}"):
        text = client.get(path, headers=AUTH).text
        assert PASSWORD not in text and "***" in text
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT url_secret, url_display FROM synthdb_datasets"
        ).one()
    assert PASSWORD not in stored[0] and stored[0].startswith("fernet:")
    assert PASSWORD not in stored[1]
    view = client.get(f"/api/v1/datasets/{dataset_id}", headers=AUTH).json()
    assert view["tables"] == ["people"]
    columns = {c["name"]: c["kind"] for c in view["schema"][0]["columns"]}
    assert columns == {"id": "key", "city": "categorical"}


def test_password_without_a_key_is_refused(postgres: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, state_url=postgres, token=TOKEN, worker_threads=1)
    url = sa.engine.make_url(postgres).set(password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/datasets/url",
            json={"url": url.render_as_string(hide_password=False)},
            headers=AUTH,
        )
        assert response.status_code == 422
        assert "SYNTHDB_SECRET_KEY" in response.json()["detail"]
        assert PASSWORD not in response.text
