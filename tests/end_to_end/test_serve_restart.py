"""The service killed during a training job: after a restart nothing is corrupt, the job is
marked interrupted, its worker is gone and the model list is intact. Also: the token made at
first start is printed once and works across restarts."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")
from serve_harness import Server

from service_harness import adult_prefix


def _gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return bool(re.search(r"^State:\s+Z", status, re.MULTILINE))


def _wait(client: httpx.Client, job_id: str, until: object, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if until(job):  # type: ignore[operator]
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


@pytest.mark.slow
def test_killed_during_training_then_restarted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = adult_prefix(tmp_path / "adult.csv", 300)
    server = Server(data, None)
    try:
        printed = re.findall(r"API token \(shown once[^:]*\): (\S+)", server.output())
        assert len(printed) == 1, server.output()
        token = printed[0]
        client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        with csv.open("rb") as stream:
            dataset = client.post("/api/v1/datasets", files={"file": ("adult.csv", stream)})
        dataset_id = dataset.json()["id"]
        quick = client.post(
            "/api/v1/models",
            json={"dataset_id": dataset_id, "config": {"max-epochs": 1}, "report": False},
        ).json()
        done = _wait(client, quick["job_id"], lambda j: j["status"] not in ("queued", "running"))
        assert done["status"] == "succeeded", done
        long = client.post(
            "/api/v1/models",
            json={"dataset_id": dataset_id, "config": {"max-epochs": 5000, "patience": 1000}},
        ).json()
        _wait(client, long["job_id"], lambda j: j["progress"].get("step", 0) > 0)
        with sqlite3.connect(data / "state.db") as state:
            (pid,) = state.execute(
                "SELECT pid FROM synthdb_jobs WHERE id = ?", (long["job_id"],)
            ).fetchone()
        assert pid and not _gone(pid)
        server.kill()
        deadline = time.monotonic() + 15
        while not _gone(pid):  # the worker notices its service is gone
            assert time.monotonic() < deadline, "the worker outlived its service"
            time.sleep(0.2)
    finally:
        server.stop()

    with sqlite3.connect(data / "state.db") as state:
        assert state.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restarted = Server(data, None)
    try:
        assert "API token" not in restarted.output()  # printed once, at the first start only
        client = httpx.Client(
            base_url=restarted.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        job = client.get(f"/api/v1/jobs/{long['job_id']}").json()
        assert job["status"] == "interrupted"
        assert "interrupted" in job["error"]
        models = {m["id"]: m for m in client.get("/api/v1/models").json()}
        assert models[quick["id"]]["status"] == "ready"
        assert models[long["id"]]["status"] == "interrupted"
        assert models[long["id"]]["busy_job_id"] is None
        assert not (data / "models" / long["id"]).exists()
        assert client.get(f"/api/v1/models/{quick['id']}/file").status_code == 200
        # the service works on: the ready model generates
        job_id = client.post(f"/api/v1/models/{quick['id']}/generate", json={"rows": 10}).json()[
            "job_id"
        ]
        finished = _wait(client, job_id, lambda j: j["status"] not in ("queued", "running"))
        assert finished["status"] == "succeeded", finished
        assert len(client.get(f"/api/v1/jobs/{job_id}/result").text.splitlines()) == 11
    finally:
        restarted.stop()
