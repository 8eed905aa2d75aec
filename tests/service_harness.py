"""Helpers of the ``synthdb serve`` tests: small data files, an app on a temporary data folder
(real worker processes), and waiting for jobs."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

ADULT = Path(__file__).resolve().parents[1] / "data" / "adult.csv.gz"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def adult_prefix(path: Path, rows: int) -> Path:
    """The first ``rows`` rows of the bundled Adult table (with its header) as a CSV file."""
    with gzip.open(ADULT, "rt", encoding="utf-8") as source:
        lines = [next(source) for _ in range(rows + 1)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def wait_for(client: Any, job_id: str, timeout: float = 180, until: Any = None) -> dict[str, Any]:
    """Poll a job until it has finished (or ``until(job)`` holds); its last view."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        done = until(job) if until else job["status"] not in ("queued", "running")
        if done:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}: {job}"
        time.sleep(0.2)
