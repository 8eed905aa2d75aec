"""A job's progress as Server-Sent Events, from the API (token) and for the job page (signed
in): one event per change, in order, ending with the finished job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from service_harness import AUTH, TOKEN, adult_prefix
from synthdb.service.app import create_app
from synthdb.service.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("events")
    settings = Settings(
        data_dir=folder / "data", token=TOKEN, worker_threads=1, workers=1, poll_seconds=0.1
    )
    with TestClient(create_app(settings)) as test_client:
        csv = adult_prefix(folder / "adult.csv", 300)
        with csv.open("rb") as stream:
            answer = test_client.post(
                "/api/v1/datasets", files={"file": ("adult.csv", stream)}, headers=AUTH
            )
        assert answer.status_code == 201, answer.text
        test_client.dataset = answer.json()["id"]  # type: ignore[attr-defined]
        yield test_client


def events(client: TestClient, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every event of the stream at ``path``, read until the server ends it."""
    out = []
    with client.stream("GET", path, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[len("data: ") :]))
    return out


def test_a_training_streams_its_epochs_then_its_end(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/models",
        json={
            "dataset_id": client.dataset,  # type: ignore[attr-defined]
            "config": {"max-epochs": 3, "patience": 5, "nulls": "keep", "seed": 1},
        },
        headers=AUTH,
    )
    assert answer.status_code in (201, 202), answer.text
    job_id = answer.json()["job_id"]
    seen = events(client, f"/api/v1/jobs/{job_id}/events", headers=AUTH)
    assert seen[-1]["status"] == "succeeded"
    assert [e for e in seen[:-1] if e["status"] not in ("queued", "running")] == []
    # the curve grows one epoch at a time, never backwards, and each change is one event
    curves = [len(e["progress"].get("curve", [])) for e in seen]
    assert curves == sorted(curves) and curves[-1] == 3
    assert len({json.dumps(e, sort_keys=True) for e in seen}) == len(seen)
    # a finished job's stream holds one event: the job as GET returns it
    again = events(client, f"/api/v1/jobs/{job_id}/events", headers=AUTH)
    assert again == [client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).json()]


def test_the_stream_needs_the_token_or_a_signed_in_page(client: TestClient) -> None:
    assert client.get("/api/v1/jobs/nope/events").status_code == 401
    assert client.get("/api/v1/jobs/nope/events", headers=AUTH).status_code == 404
    page = client.get("/jobs/nope/events", follow_redirects=False)
    assert page.status_code in (302, 303, 401)
