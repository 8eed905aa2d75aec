"""Synthetic twins of whole databases through the CLI, as a user runs them, timed and scored.

Datasets (all read from ``../shared/datasets``, which a user's clone does not have):

- ``chinook``: Chinook SQLite (11 tables) -> SQLite, default settings;
- ``chinook-postgres``: Chinook loaded into a PostgreSQL schema -> another schema;
- ``chinook-mariadb``: Chinook loaded into a MariaDB database -> SQLite;
- ``berka``: Berka's 7 CSV files, relations in ``benchmarks/jobs/berka.yaml`` -> CSV folder;
- ``nycflights13``: 336,776 flights and their airlines, planes and airports, relations in
  ``benchmarks/jobs/nycflights13.yaml`` -> CSV folder (the job file says ``purpose: analytics``).

Each run is one ``synthdb run`` under GNU time (wall seconds, peak RSS of the process: synthdb
is one process, its threads included). Scores are synthdb's own (``--json``): per-table
accuracy (DESIGN.md section 5, keys excluded), rows per table, children per parent
(1 - TVD of binned counts), and every rule found with its share in the source and the twin.
Results go to ``benchmarks/results/relational.json``::

    .venv/bin/python benchmarks/relational_twins.py [--only chinook,berka]
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
SYNTHDB = ROOT / ".venv" / "bin" / "synthdb"
RESULTS = ROOT / "benchmarks" / "results" / "relational.json"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"


def run(args: list[str], work: Path) -> dict[str, object]:
    scores = work / f"scores-{secrets.token_hex(3)}.json"
    command = ["/usr/bin/time", "-f", "%e %M", str(SYNTHDB), "run", *args, "--json", str(scores)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall, peak_kb = done.stderr.strip().splitlines()[-1].split()
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(command)}")
    return {
        "command": "synthdb run " + " ".join(_portable(a, work) for a in args),
        "wall_seconds": float(wall),
        "measured_seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": round(int(peak_kb) / 1024, 1),
        "scores": json.loads(scores.read_text()),
    }


def _portable(arg: str, work: Path) -> str:
    """An argument as a reader can rerun it: no temporary folder, no checkout's own path."""
    # ROOT is resolved, so SHARED (derived from it) is the spelling the arguments use
    arg = arg.replace(str(SHARED), "../shared/datasets")
    return arg.replace(str(work), "OUT").replace(str(ROOT) + "/", "")


def load_chinook(target: str) -> None:
    """Copy Chinook from the SQLite file into ``target`` with synthdb's own database writer."""
    sys.path.insert(0, str(ROOT / "src"))
    from synthdb.io.database import open_database, write_database

    source = open_database(f"sqlite:///{SHARED / 'chinook.sqlite'}")
    schema = source.schema()
    write_database(target, schema, {name: source.read(name) for name in schema.order})


def fresh_postgres_schema() -> tuple[str, str]:
    name = f"synthdb_bench_{secrets.token_hex(3)}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    url = sa.make_url(POSTGRES).set(query={"options": f"-csearch_path={name}"})
    return name, url.render_as_string(hide_password=False)


def drop_postgres_schema(name: str) -> None:
    with sa.create_engine(POSTGRES).begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def fresh_mariadb() -> tuple[str, str]:
    name = f"synthdb_bench_{secrets.token_hex(3)}"
    with sa.create_engine(MARIADB).begin() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    return name, sa.make_url(MARIADB).set(database=name).render_as_string(hide_password=False)


def drop_mariadb(name: str) -> None:
    with sa.create_engine(MARIADB).begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated datasets to run (default: all)")
    options = parser.parse_args()
    wanted = set(options.only.split(",")) if options.only else None
    results: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)

        def want(name: str) -> bool:
            return wanted is None or name in wanted

        if want("chinook"):
            twin = f"sqlite:///{work / 'chinook_twin.sqlite'}"
            results["chinook"] = run([f"sqlite:///{SHARED / 'chinook.sqlite'}", "-o", twin], work)
        if want("chinook-postgres"):
            source, source_url = fresh_postgres_schema()
            target, target_url = fresh_postgres_schema()
            try:
                load_chinook(source_url)
                results["chinook-postgres"] = run([source_url, "-o", target_url], work)
            finally:
                drop_postgres_schema(source)
                drop_postgres_schema(target)
        if want("chinook-mariadb"):
            source, source_url = fresh_mariadb()
            try:
                load_chinook(source_url)
                twin = f"sqlite:///{work / 'from_mariadb.sqlite'}"
                results["chinook-mariadb"] = run([source_url, "-o", twin], work)
            finally:
                drop_mariadb(source)
        if want("berka"):
            job = ROOT / "benchmarks" / "jobs" / "berka.yaml"
            results["berka"] = run([str(job), "-o", str(work / "berka")], work)
        if want("nycflights13"):
            job = ROOT / "benchmarks" / "jobs" / "nycflights13.yaml"
            results["nycflights13"] = run([str(job), "-o", str(work / "flights")], work)
    results["machine"] = f"{platform.machine()}, {platform.processor() or 'cpu'}, 2 cores"
    results["date"] = time.strftime("%Y-%m-%d")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    for name, entry in results.items():
        if not isinstance(entry, dict):
            continue
        scores = entry["scores"]
        worst = min(
            (t["overall"] for t in scores["tables"] if t["overall"] is not None), default=None
        )
        rows = max(
            abs(t["synthetic_rows"] - t["real_rows"]) / max(t["real_rows"], 1)
            for t in scores["tables"]
        )
        print(
            f"{name}: {entry['wall_seconds']:.0f} s, peak {entry['peak_rss_mb']:.0f} MiB, "
            f"lowest table accuracy {worst}, largest row-count gap {rows:.1%}"
        )
        for relation in scores["relations"]:
            print(
                f"   {relation['child']}({', '.join(relation['columns'])}) -> "
                f"{relation['parent']}: {relation['accuracy']:.3f}"
            )
        for rule in scores.get("rules", []):
            source, twin = rule["source_share"], rule["synthetic_share"]
            print(f"   rule {rule['rule']}: source {_share(source)}, twin {_share(twin)}")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


if __name__ == "__main__":
    main()
