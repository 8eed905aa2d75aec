"""Load on ``synthdb serve``: concurrent API clients list and poll while two trainings run.

Issue 15 asks for the GET latency (p99, aim under 200 ms on 2 cores) with 20 clients polling
during two trainings, and the training time against the CLI's. Steps:

1. the first ``--rows`` rows of the bundled Adult table as a CSV;
2. the CLI: ``synthdb train`` alone, then two at once (wall seconds of each process);
3. ``synthdb serve --workers 2`` as its own process; the CSV uploaded; ``--clients`` threads
   each loop ``GET /api/v1/models`` and ``GET /api/v1/jobs/{id}`` (keep-alive connections)
   while two training jobs (the same parameters as the CLI, no report) run; every request's
   latency is kept;
4. the figures as JSON (``--out``) and a markdown table on stdout.

Every training runs ``--epochs`` epochs (patience above them, so none stops early).
``--smoke`` runs the same path in seconds (300 rows, one epoch, 4 clients).

    .venv/bin/python benchmarks/serve_load.py --out benchmarks/results/serve_load.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult.csv.gz"
TOKEN = "load-benchmark-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def adult_prefix(path: Path, rows: int) -> Path:
    with gzip.open(ADULT, "rt", encoding="utf-8") as source:
        lines = [line for _, line in zip(range(rows + 1), source, strict=False)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def synthdb(*args: str) -> list[str]:
    return [sys.executable, "-m", "synthdb.cli.app", *args]


def cli_trainings(csv: Path, folder: Path, epochs: int, count: int) -> list[float]:
    """Wall seconds of ``count`` CLI trainings started together."""
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            synthdb(
                "train",
                str(csv),
                "-o",
                str(folder / f"cli-{count}-{i}.synthdb"),
                "--max-epochs",
                str(epochs),
                "--patience",
                str(epochs + 1),
                "--quiet",
                "--overwrite",
            )
        )
        for i in range(count)
    ]
    seconds = []
    for process in processes:
        assert process.wait() == 0, "synthdb train failed"
        seconds.append(time.monotonic() - started)
    return seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def serve_load(csv: Path, folder: Path, epochs: int, clients: int) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "SYNTHDB_TOKEN": TOKEN}
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen(
        synthdb("serve", "--data-dir", str(folder / "data"), "--port", str(port), "--workers", "2"),
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.2)
        api = httpx.Client(base_url=url, headers=AUTH, timeout=60)
        with csv.open("rb") as stream:
            dataset = api.post("/api/v1/datasets", files={"file": ("adult.csv", stream)})
        dataset_id = dataset.json()["id"]

        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        job_ids: list[str] = []

        def client(index: int) -> None:
            with httpx.Client(base_url=url, headers=AUTH, timeout=30) as session:
                turn = index
                while not stop.is_set():
                    path = (
                        "/api/v1/models"
                        if turn % 2 == 0 or not job_ids
                        else f"/api/v1/jobs/{job_ids[turn % len(job_ids)]}"
                    )
                    turn += 1
                    began = time.perf_counter()
                    response = session.get(path)
                    spent = time.perf_counter() - began
                    with lock:
                        latencies.append(spent)
                        if response.status_code != 200:
                            errors.append(f"{path}: {response.status_code}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        config = {"max-epochs": epochs, "patience": epochs + 1}
        for _ in range(2):
            body = api.post(
                "/api/v1/models",
                json={"dataset_id": dataset_id, "config": config, "report": False},
            ).json()
            job_ids.append(body["job_id"])
        jobs: list[dict[str, Any]] = []
        while True:
            jobs = [api.get(f"/api/v1/jobs/{j}").json() for j in job_ids]
            if all(j["status"] not in ("queued", "running") for j in jobs):
                break
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert all(j["status"] == "succeeded" for j in jobs), jobs
        return {
            "clients": clients,
            "requests": len(latencies),
            "errors": errors[:10],
            "get_ms": {
                "p50": round(1000 * statistics.median(latencies), 1),
                "p95": round(1000 * percentile(latencies, 0.95), 1),
                "p99": round(1000 * percentile(latencies, 0.99), 1),
                "max": round(1000 * max(latencies), 1),
            },
            "job_seconds": [round(j["finished_at"] - j["started_at"], 1) for j in jobs],
        }
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="300 rows, 1 epoch, 4 clients")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.epochs, args.clients = 300, 1, 4
    with tempfile.TemporaryDirectory(prefix="serve-load-") as work:
        folder = Path(work)
        csv = adult_prefix(folder / "adult.csv", args.rows)
        alone = cli_trainings(csv, folder, args.epochs, 1)
        pair = cli_trainings(csv, folder, args.epochs, 2)
        load = serve_load(csv, folder, args.epochs, args.clients)
    result = {
        "rows": args.rows,
        "epochs": args.epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cli_alone_seconds": [round(s, 1) for s in alone],
        "cli_two_at_once_seconds": [round(s, 1) for s in pair],
        "serve": load,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ms = load["get_ms"]
    print(
        f"| {args.rows:,} rows x {args.epochs} epochs | CLI alone {alone[0]:.1f} s | CLI two at "
        f"once {max(pair):.1f} s | serve two jobs {max(load['job_seconds']):.1f} s | "
        f"{load['clients']} clients, {load['requests']:,} GETs: p50 {ms['p50']} ms, "
        f"p95 {ms['p95']} ms, p99 {ms['p99']} ms, max {ms['max']} ms |"
    )


if __name__ == "__main__":
    main()
