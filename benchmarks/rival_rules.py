"""Rules in the twin, side by side: synthdb, MOSTLY AI SDK (local mode) and SDV HMA.

For each database (Chinook, Berka, nycflights13) this makes three twins and scores each with
synthdb's own rule measure (``synthdb.scoring.evaluate_database``: every rule synthdb finds in
the real data, with its share of rows in the source and in the twin):

- ``synthdb``: ``synthdb run SOURCE -o FOLDER --json FILE`` with default settings;
- ``mostlyai``: MOSTLY AI SDK in local mode (benchmarks/run_mostly_rules.py in
  ``.bench-venv-mostly``), every table with its keys, value protection OFF;
- ``sdv-hma``: SDV's HMASynthesizer (benchmarks/run_hma.py in ``.bench-venv-sdv``) on the whole
  database and on table subsets; it refuses more than 5 tables or a depth above 2, and the
  refusal is recorded as the result.

The rivals get their inputs from synthdb's own schema of the source (tables, primary and
foreign keys, and the foreign key each table is generated under in synthdb as MOSTLY AI's one
context key), as a bundle of CSV files (benchmarks/rival_tables.py). Each rival run is one
process under a wall-clock cap (``--cap``, default 20 minutes; its process group is killed and
the run recorded as ``capped``). Rivals write their own key values; before scoring, integer
keys are relabelled 1..n per table with every reference following them, so that the twin reads
with the source's key types (keys are not scored; which rows point to which parent is kept).

A twin of a table subset is scored on the subset's schema (foreign keys to tables outside it
dropped) with ``synthdb.evaluation.database.assess_database``, the function
``evaluate_database`` calls; only rules among those tables can be measured there.

Runs with synthdb's venv (``/work/main/.venv`` with ``PYTHONPATH=/work/main/src`` for the
newest rules code); results to ``benchmarks/results/rival_rules.json``, a markdown table on
stdout. On a shared machine run it niced, one thread per library (the command, niceness,
thread variables, load averages and every venv's versions are recorded in the results)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TORCH_NUM_THREADS=1 PYTHONPATH=/work/main/src \\
        nice -n 10 /work/main/.venv/bin/python benchmarks/rival_rules.py \\
        [--only chinook,berka] [--tools synthdb,mostlyai,sdv-hma] [--cap 1200] \\
        [--mostly-max-minutes chinook=2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = BENCH / "results" / "rival_rules.json"
sys.path.insert(0, str(BENCH))
from rival_tables import SCHEMA_FILE, kind_of  # noqa: E402

DATASETS: dict[str, str] = {
    "chinook": f"sqlite:///{SHARED / 'chinook.sqlite'}",
    "berka": str(BENCH / "jobs" / "berka.yaml"),
    "nycflights13": str(BENCH / "jobs" / "nycflights13.yaml"),
}
TOOLS = ("synthdb", "mostlyai", "sdv-hma")

# HMA's table sets, tried in order. The first is always the whole database (refused above 5
# tables or a depth above 2: the refusal is the result); the others are subsets it accepts,
# each chosen to hold the tables of some of the source's rules.
HMA_SUBSETS: dict[str, list[list[str] | None]] = {
    "chinook": [
        None,
        ["Customer", "Invoice", "InvoiceLine", "Track"],  # depth 3: refused too
        ["Customer", "Invoice"],  # billing address = customer's
        ["Invoice", "InvoiceLine", "Track"],  # line price = track price, total = sum of lines
        ["Album", "Genre", "MediaType", "Track"],  # one track price per album / genre
    ],
    "berka": [
        None,
        ["account", "disp", "client", "loan", "order", "card"],  # 6 tables: refused
        ["account", "disp", "loan", "order"],  # one OWNER per account; loan and order rules
        ["district", "account", "client"],  # the rules within district, account, client
        ["disp", "card"],  # the rules within card
    ],
    "nycflights13": [None],
}
# MOSTLY AI's table sets: the whole database, and where --mostly-subsets asks for it, the four
# tables DESIGN.md section 9 ran on Chinook.
MOSTLY_SUBSETS: dict[str, list[list[str]]] = {
    "chinook": [["Customer", "Invoice", "InvoiceLine", "Track"]],
}


def log(message: str) -> None:
    print(f"[rival_rules {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- source and bundles


@dataclasses.dataclass
class Source:
    name: str
    location: str
    schema: Any  # synthdb DatabaseSchema
    frames: dict[str, pd.DataFrame]
    contexts: dict[str, int | None]  # table -> index of its context foreign key


def open_source(name: str, location: str) -> Source:
    """The source as synthdb reads it: schema, every table, and each table's context key."""
    from synthdb.pipeline.inputs import open_database_input as open_input
    from synthdb.relational.plan import make_plans

    database, schema, settings = open_input(location, None, None, "utf-8")
    wanted = {n: str(s["context"]) for n, s in settings.items() if "context" in s}
    plans = make_plans(schema, wanted)
    contexts = {n: (p.context.index if p.context is not None else None) for n, p in plans.items()}
    frames = {n: database.read(n) for n in schema.order}
    return Source(name, location, schema, frames, contexts)


def subset_schema(schema: Any, tables: list[str]) -> Any:
    """``schema`` restricted to ``tables``: foreign keys to other tables are dropped, and so
    are their columns (what they point to is not in the twin)."""
    from synthdb.schema.relations import DatabaseSchema

    kept = []
    for name in schema.order:
        if name not in tables:
            continue
        table = schema.table(name)
        keys = [k for k in table.foreign_keys if k.parent in tables]
        needed = set(table.primary_key) | {c for k in keys for c in k.columns}
        gone = {c for k in table.foreign_keys if k not in keys for c in k.columns} - needed
        columns = [c for c in table.columns if c.name not in gone]
        kept.append(dataclasses.replace(table, columns=columns, foreign_keys=keys))
    return DatabaseSchema.build(kept, dialect=schema.dialect)


def frame_of(source: Source, schema: Any, name: str) -> pd.DataFrame:
    """The source's table ``name`` with the columns ``schema`` keeps."""
    names = set(schema.table(name).names)
    frame = source.frames[name]
    return frame[[c for c in frame.columns if c in names]]


def write_bundle(source: Source, schema: Any, folder: Path) -> None:
    """The tables of ``schema`` as CSV files and schema.json (see rival_tables.py)."""
    from synthdb.relational.plan import make_plans

    folder.mkdir(parents=True, exist_ok=True)
    plans = make_plans(schema)
    tables = {}
    for name in schema.order:
        table = schema.table(name)
        frame = frame_of(source, schema, name)
        frame.to_csv(folder / f"{name}.csv", index=False, na_rep="")
        # the key synthdb generates the table under; in a subset whose parent is gone, the
        # subset's own first choice
        index = source.contexts.get(name)
        chosen = None if index is None else source.schema.table(name).foreign_keys[index]
        if chosen is not None and chosen in table.foreign_keys:
            context: int | None = table.foreign_keys.index(chosen)
        else:
            plan = plans[name]
            context = plan.context.index if plan.context is not None else None
        tables[name] = {
            "primary_key": list(table.primary_key),
            "foreign_keys": [
                {
                    "columns": list(k.columns),
                    "parent": k.parent,
                    "parent_columns": list(k.parent_columns),
                }
                for k in table.foreign_keys
            ],
            "context": context,
            "columns": {c: kind_of(frame[c]) for c in frame.columns},
            "rows": len(frame),
        }
    (folder / SCHEMA_FILE).write_text(json.dumps({"order": schema.order, "tables": tables}))


# ---------------------------------------------------------------- running a step


def run_capped(command: list[str], cap: float, log_file: Path) -> dict[str, Any]:
    """Run ``command`` in its own process group; kill the group after ``cap`` seconds."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    with log_file.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = process.wait(timeout=cap)
            capped = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code, capped = None, True
    return {
        "exit": code,
        "capped": capped,
        "wall_seconds": round(time.monotonic() - started, 1),
        "load_before": round(load, 2),
    }


def portable(text: str, work: Path) -> str:
    """A command as a reader can rerun it: no work folder, no checkout's own path."""
    text = text.replace(str(SHARED), "../shared/datasets").replace(str(work), "WORK")
    return text.replace(str(ROOT) + "/", "")


def last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


# ---------------------------------------------------------------- scoring


def relabel_keys(schema: Any, folder: Path, out: Path, source: Source) -> dict[str, int]:
    """The rival's twin in ``folder`` with integer keys relabelled 1..n (references follow;
    one pointing nowhere becomes NULL), written to ``out``; returns rows per table."""
    frames = {
        n: pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False, na_values=[""])
        for n in schema.order
    }
    maps: dict[str, dict[str, str]] = {}
    for name in schema.order:
        key = schema.table(name).primary_key
        if len(key) != 1 or kind_of(source.frames[name][key[0]]) != "integer":
            continue
        values = frames[name][key[0]]
        maps[name] = {v: str(i + 1) for i, v in enumerate(values) if pd.notna(v)}
        frames[name][key[0]] = [maps[name].get(v) if pd.notna(v) else None for v in values]
    for name in schema.order:
        for key in schema.table(name).foreign_keys:
            if len(key.columns) != 1 or key.parent not in maps:
                continue
            column = key.columns[0]
            lookup = maps[key.parent]
            frames[name][column] = [
                lookup.get(v) if pd.notna(v) else None for v in frames[name][column]
            ]
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False, na_rep="")
    return {n: len(f) for n, f in frames.items()}


def score(source: Source, schema: Any, twin: Path) -> dict[str, Any]:
    """synthdb's figures for the twin folder: rule shares and per-table accuracy."""
    from synthdb.evaluation.database import assess_database
    from synthdb.io.database import open_database

    started = time.monotonic()
    reader = open_database(str(twin))
    synthetic = {n: reader.read(n) for n in schema.order}
    real = {n: frame_of(source, schema, n) for n in schema.order}
    quality = assess_database(schema, real, synthetic, rules=found_rules(schema, real))
    accuracy = quality.accuracy
    return {
        "twin": str(twin),
        "rules": [
            {
                "rule": r.rule,
                "kind": r.kind,
                "source_share": _round(r.source_share),
                "twin_share": _round(r.synthetic_share),
            }
            for r in accuracy.rules
        ],
        "tables": {
            t.table: {"accuracy": _round(t.overall), "rows": t.synthetic_rows, "real": t.real_rows}
            for t in accuracy.tables
        },
        "score_seconds": round(time.monotonic() - started, 1),
    }


def found_rules(schema: Any, real: dict[str, pd.DataFrame]) -> list[Any]:
    """Every rule synthdb finds in ``real``, as ``synthdb inspect`` lists them: the rules
    across tables and, per table, those among its columns that are not keys (``evaluate_database``
    without ``rules`` measures the rules across tables only)."""
    from synthdb.rules.database import discover_database_rules, key_columns
    from synthdb.rules.table import discover_table_rules
    from synthdb.schema.inference import infer_schema
    from synthdb.schema.values import to_typed

    found = list(discover_database_rules(schema, real))
    for name in schema.order:
        keys = key_columns(schema.table(name))
        values = real[name][[c for c in real[name].columns if c not in keys]]
        if values.shape[1] and len(values):
            table_schema = infer_schema(values, name)
            found += discover_table_rules(to_typed(values, table_schema), table_schema)
    return found


def rescore(source: Source, entry: dict[str, Any], work: Path) -> None:
    """Score again the twins of ``entry``'s runs that were made (after a change of measure)."""
    for run in entry["runs"]:
        if run["status"] != "ok":
            continue
        tables = run.get("tables") or source.schema.order
        whole = run.get("whole_database", True)
        schema = source.schema if whole else subset_schema(source.schema, tables)
        twin = Path(run.get("twin") or work / "synthdb_twin")
        log(f"{source.name}: scoring the {run['tool']} twin in {twin.name} again")
        run |= score(source, schema, twin)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# ---------------------------------------------------------------- the three tools


def run_synthdb(
    source: Source, work: Path, cap: float, synthdb: Path, extra: list[str]
) -> dict[str, Any]:
    twin, scores = work / "synthdb_twin", work / "synthdb.json"
    command = [str(synthdb), "run", source.location, "-o", str(twin), "--json", str(scores)]
    command += extra
    entry: dict[str, Any] = {
        "tool": "synthdb",
        "settings": shlex.join(extra) if extra else "default settings",
        "command": portable(shlex.join(command), work),
    }
    entry |= run_capped(command, cap, work / "synthdb.log")
    if entry["capped"]:
        return entry | {"status": "capped", "reason": f"not done within {cap:.0f} s"}
    if entry["exit"] != 0:
        return entry | {"status": "failed", "reason": last_line(work / "synthdb.log")}
    entry["rules_from_json"] = json.loads(scores.read_text()).get("rules", [])
    entry |= score(source, source.schema, twin)
    return entry | {"status": "ok"}


def run_mostlyai(
    source: Source,
    work: Path,
    cap: float,
    venv_root: Path,
    max_minutes: float | None,
    tables: list[str] | None,
    label: str,
) -> dict[str, Any]:
    python = venv_root / ".bench-venv-mostly" / "bin" / "python"
    schema = source.schema if tables is None else subset_schema(source.schema, tables)
    entry: dict[str, Any] = {
        "tool": "mostlyai",
        "settings": "SDK defaults in local mode, value protection off, reports off"
        + (f", max_training_time {max_minutes:g} min per table" if max_minutes else ""),
        "tables": list(schema.order),
        "whole_database": tables is None,
    }
    entry |= dropped_keys(source, schema)
    if not python.exists():
        return entry | {"status": "skipped", "reason": f"{python.parent.parent.name} is missing"}
    bundle, raw = work / f"bundle_{label}", work / f"mostlyai_raw_{label}"
    result = work / f"mostlyai_run_{label}.json"
    write_bundle(source, schema, bundle)
    command = [str(python), str(BENCH / "run_mostly_rules.py"), str(bundle), str(raw)]
    command += ["--result", str(result)]
    if max_minutes:
        command += ["--max-training-minutes", f"{max_minutes:g}"]
    home = work / f"mostly_home_{label}"
    shutil.rmtree(home, ignore_errors=True)
    entry["command"] = portable(shlex.join(command), work)
    entry |= run_capped([*command, "--home", str(home)], cap, work / f"mostlyai_{label}.log")
    if result.exists():
        entry["run"] = {k: v for k, v in json.loads(result.read_text()).items() if k != "traceback"}
    if entry["capped"]:
        progress = mostly_progress(home)
        shutil.rmtree(home, ignore_errors=True)
        return entry | {
            "status": "capped",
            "reason": f"training and generation not done within {cap:.0f} s" + progress,
        }
    shutil.rmtree(home, ignore_errors=True)
    if entry.get("run", {}).get("status") != "ok":
        reason = entry.get("run", {}).get("reason") or last_line(work / f"mostlyai_{label}.log")
        return entry | {"status": "failed", "reason": reason}
    entry["rows"] = relabel_keys(schema, raw, work / f"mostlyai_twin_{label}", source)
    entry |= score(source, schema, work / f"mostlyai_twin_{label}")
    return entry | {"status": "ok"}


def mostly_progress(home: Path) -> str:
    """How far the SDK's training job got, from its progress file: ``; 8 of 11 table models
    trained, no generation`` (empty when there is none)."""
    for path in home.glob("generators/*/job_progress.json"):
        steps = json.loads(path.read_text()).get("steps", [])
        models = [s for s in steps if s.get("stepCode") == "TRAIN_MODEL"]
        done = sum(1 for s in models if s.get("status") == "DONE")
        return f"; {done} of {len(models)} table models trained, no generation"
    return ""


def dropped_keys(source: Source, schema: Any) -> dict[str, Any]:
    """The source's foreign keys that leave the tables of ``schema`` (none for the whole)."""
    dropped = [
        k.describe(n)
        for n in source.schema.order
        if n in schema.tables
        for k in source.schema.table(n).foreign_keys
        if k.parent not in schema.tables
    ]
    return {"foreign_keys_dropped": dropped} if dropped else {}


def run_hma(
    source: Source, work: Path, cap: float, venv_root: Path, tables: list[str] | None, label: str
) -> dict[str, Any]:
    python = venv_root / ".bench-venv-sdv" / "bin" / "python"
    schema = source.schema if tables is None else subset_schema(source.schema, tables)
    entry: dict[str, Any] = {
        "tool": "sdv-hma",
        "settings": "HMASynthesizer defaults, sample_scale(scale=1.0)",
        "tables": list(schema.order),
        "whole_database": tables is None,
    }
    entry |= dropped_keys(source, schema)
    if not python.exists():
        return entry | {"status": "skipped", "reason": f"{python.parent.parent.name} is missing"}
    bundle, raw = work / f"bundle_{label}", work / f"hma_raw_{label}"
    result = work / f"hma_run_{label}.json"
    write_bundle(source, schema, bundle)
    command = [
        str(python),
        str(BENCH / "run_hma.py"),
        str(bundle),
        str(raw),
        "--result",
        str(result),
    ]
    entry["command"] = portable(shlex.join(command), work)
    entry |= run_capped(command, cap, work / f"hma_{label}.log")
    if result.exists():
        entry["run"] = {k: v for k, v in json.loads(result.read_text()).items() if k != "traceback"}
    if entry["capped"]:
        return entry | {"status": "capped", "reason": f"fit and sample not done within {cap:.0f} s"}
    run = entry.get("run", {})
    if run.get("status") == "refused":
        return entry | {"status": "refused", "reason": run.get("reason")}
    if run.get("status") != "ok":
        return entry | {
            "status": "failed",
            "reason": run.get("reason") or last_line(work / f"hma_{label}.log"),
        }
    entry["rows"] = relabel_keys(schema, raw, work / f"hma_twin_{label}", source)
    entry |= score(source, schema, work / f"hma_twin_{label}")
    return entry | {"status": "ok"}


# ---------------------------------------------------------------- the table


def side_by_side(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per rule of the source: its share in the source and in each tool's twin."""
    runs = entry["runs"]
    order: list[tuple[str, str]] = []
    source_share: dict[str, float | None] = {}
    for run in runs:
        for rule in run.get("rules", []):
            if rule["rule"] not in source_share:
                order.append((rule["rule"], rule["kind"]))
                source_share[rule["rule"]] = rule["source_share"]
    rows = []
    for rule, kind in order:
        row: dict[str, Any] = {"rule": rule, "kind": kind, "source": source_share[rule]}
        for tool in TOOLS:
            row[tool] = cell(rule, [r for r in runs if r["tool"] == tool])
        rows.append(row)
    return rows


def cell(rule: str, runs: list[dict[str, Any]]) -> str:
    """A tool's share of ``rule``: from its whole-database run, else from a subset's (named)."""
    if not runs:
        return "not run"
    ordered = sorted(runs, key=lambda r: not r.get("whole_database", True))
    for run in ordered:
        for found in run.get("rules", []):
            if found["rule"] == rule:
                share = found["twin_share"]
                text = "-" if share is None else f"{share:.1%}"
                if not run.get("whole_database", True):
                    text += f" ({'/'.join(run['tables'])})"
                return text
    whole = next((r for r in ordered if r.get("whole_database", True)), ordered[0])
    if whole["status"] != "ok":
        return whole["status"] + ("; not in its subsets" if len(runs) > 1 else "")
    return "not found"


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for name, entry in results["datasets"].items():
        lines += [f"### {name}", "", "| rule | source | synthdb | MOSTLY AI SDK | SDV HMA |"]
        lines.append("|---|---:|---:|---:|---:|")
        for row in side_by_side(entry):
            source = "-" if row["source"] is None else f"{row['source']:.1%}"
            lines.append(
                f"| `{row['rule']}` | {source} | {row['synthdb']} | {row['mostlyai']} | "
                f"{row['sdv-hma']} |"
            )
        lines.append("")
        for run in entry["runs"]:
            seconds = run.get("run", {}).get("seconds") or {}
            lines.append(
                f"- {run['tool']} {'/'.join(run.get('tables', [])) or ''}: {run['status']}"
                + (f" ({run['reason']})" if run.get("reason") else "")
                + f", wall {run.get('wall_seconds', '-')} s"
                + (f", in-process {seconds}" if seconds else "")
            )
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


RIVAL_PACKAGES = {
    "mostlyai": (".bench-venv-mostly", ("mostlyai", "mostlyai-engine", "torch", "pandas")),
    "sdv-hma": (".bench-venv-sdv", ("sdv", "rdt", "copulas", "torch", "pandas")),
}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS", "PYTHONPATH")


def rival_versions(venv_root: Path) -> dict[str, Any]:
    """The versions installed in each rival's venv (None where the venv is missing)."""
    out: dict[str, Any] = {}
    for tool, (venv, packages) in RIVAL_PACKAGES.items():
        python = venv_root / venv / "bin" / "python"
        if not python.exists():
            out[tool] = None
            continue
        script = (
            "import json, platform, sys\n"
            "from importlib.metadata import version\n"
            "print(json.dumps({'python': platform.python_version(), "
            "**{n: version(n) for n in sys.argv[1:]}}))"
        )
        done = subprocess.run(
            [str(python), "-c", script, *packages], capture_output=True, text=True, check=False
        )
        out[tool] = (
            json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-300:]}
        )
    return out


def environment(work: Path) -> dict[str, Any]:
    """How the driver was run: niceness, thread variables, load, cores."""
    return {
        "nice": os.nice(0),
        "variables": {
            v: portable(os.environ[v], work) for v in THREAD_VARIABLES if v in os.environ
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }


def driver_command(work: Path) -> str:
    """The driver's command line as run, with the variables and niceness it ran under."""
    prefix = [f"{v}={portable(os.environ[v], work)}" for v in THREAD_VARIABLES if v in os.environ]
    if os.nice(0):
        prefix += ["nice", "-n", str(os.nice(0))]
    python = portable(sys.executable, work)
    arguments = [portable(a, work) for a in sys.argv[1:]]
    return shlex.join([*prefix, python, "benchmarks/rival_rules.py", *arguments])


def versions(venv_root: Path) -> dict[str, Any]:
    from importlib.metadata import version

    out: dict[str, Any] = {"synthdb": {"python": platform.python_version()}}
    for name in ("synthdb", "torch", "pandas"):
        try:
            out["synthdb"][name] = version(name)
        except Exception:
            out["synthdb"][name] = None
    git = subprocess.run(
        ["git", "-C", str(Path(sys.modules["synthdb"].__file__).parent), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    out["synthdb"]["commit"] = git.stdout.strip() or None
    out["synthdb"]["src"] = str(Path(sys.modules["synthdb"].__file__).parent.parent)
    return out | rival_versions(venv_root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated datasets (default: all, nycflights13 last)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools")
    parser.add_argument("--cap", type=float, default=1200.0, help="seconds per rival run")
    parser.add_argument("--synthdb-cap", type=float, default=3600.0)
    parser.add_argument(
        "--synthdb-options", default="", help="more options for synthdb run (default: none)"
    )
    parser.add_argument("--venv-root", type=Path, default=ROOT)
    parser.add_argument("--synthdb", type=Path, default=Path(sys.executable).parent / "synthdb")
    parser.add_argument(
        "--mostly-max-minutes",
        action="append",
        default=[],
        metavar="DATASET=MINUTES",
        help="MOSTLY AI's max_training_time per table for one dataset (default: the SDK's)",
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=LOCATION",
        help="another database (URL, folder or job file) to run as NAME; HMA gets its whole schema",
    )
    parser.add_argument(
        "--mostly-subsets", action="store_true", help="also run MOSTLY AI on MOSTLY_SUBSETS"
    )
    parser.add_argument(
        "--mostly-subsets-only", action="store_true", help="run MOSTLY AI on MOSTLY_SUBSETS only"
    )
    parser.add_argument(
        "--rescore", action="store_true", help="only score the twins of the last run again"
    )
    parser.add_argument("--work-dir", type=Path, default=BENCH / "work" / "rival_rules")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()
    import synthdb  # noqa: F401  (for its version and path)

    datasets = dict(DATASETS)
    for given in options.source:
        name, _, location = given.partition("=")
        datasets[name] = location
    names = options.only.split(",") if options.only else list(datasets)
    tools = options.tools.split(",")
    max_minutes = {k: float(v) for k, v in (m.split("=") for m in options.mostly_max_minutes)}
    results: dict[str, Any] = (
        json.loads(options.out.read_text()) if options.out.exists() else {"datasets": {}}
    )
    # every invocation that wrote to the file (a rerun of one tool replaces only its runs)
    results.setdefault("commands", []).append(
        {
            "command": driver_command(options.work_dir),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "datasets": names,
            "tools": [] if options.rescore else tools,
        }
    )
    for name in names:
        work = options.work_dir / name
        work.mkdir(parents=True, exist_ok=True)
        started, before = time.gmtime(), environment(options.work_dir)
        clock = time.monotonic()
        log(f"{name}: reading {datasets[name]}")
        source = open_source(name, datasets[name])
        entry = results["datasets"].get(name, {"runs": []})
        entry["source"] = portable(datasets[name], work)
        entry["rows"] = {n: len(f) for n, f in source.frames.items()}

        def key(run: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
            return run["tool"], tuple(run.get("tables") or ())

        runs = []
        if options.rescore:
            rescore(source, entry, work)
            tools = []
        if "synthdb" in tools:
            log(f"{name}: synthdb")
            runs.append(
                run_synthdb(
                    source,
                    work,
                    options.synthdb_cap,
                    options.synthdb,
                    shlex.split(options.synthdb_options),
                )
            )
            log(f"{name}: synthdb {runs[-1]['status']} in {runs[-1].get('wall_seconds')} s")
        if "mostlyai" in tools:
            log(f"{name}: MOSTLY AI SDK")
            sets: list[list[str] | None] = [] if options.mostly_subsets_only else [None]
            if options.mostly_subsets or options.mostly_subsets_only:
                sets += MOSTLY_SUBSETS.get(name, [])
            for index, tables in enumerate(sets):
                label = "all" if tables is None else f"subset{index}"
                what = "all tables" if tables is None else ", ".join(tables)
                log(f"{name}: MOSTLY AI SDK on {what}")
                runs.append(
                    run_mostlyai(
                        source,
                        work,
                        options.cap,
                        options.venv_root,
                        max_minutes.get(name),
                        tables,
                        label,
                    )
                )
                log(f"{name}: mostlyai {runs[-1]['status']} in {runs[-1].get('wall_seconds')} s")
        if "sdv-hma" in tools:
            for index, tables in enumerate(HMA_SUBSETS.get(name, [None])):
                label = "all" if tables is None else f"subset{index}"
                log(f"{name}: SDV HMA on {'all tables' if tables is None else ', '.join(tables)}")
                runs.append(run_hma(source, work, options.cap, options.venv_root, tables, label))
                log(f"{name}: sdv-hma {runs[-1]['status']} in {runs[-1].get('wall_seconds')} s")
        order = {tool: i for i, tool in enumerate(TOOLS)}
        fresh = {key(r) for r in runs}
        kept = [r for r in entry["runs"] if key(r) not in fresh]
        entry["runs"] = sorted(kept + runs, key=lambda r: order.get(r["tool"], 99))
        entry["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        if runs:
            entry["last_command"] = driver_command(options.work_dir)
            entry["started"] = time.strftime("%Y-%m-%d %H:%M UTC", started)
            entry["driver_seconds"] = round(time.monotonic() - clock, 1)
            entry["environment"] = before | {
                "load_average_after": [round(x, 2) for x in os.getloadavg()]
            }
        results["datasets"][name] = entry
        results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores (shared), CPU only"
        results["versions"] = versions(options.venv_root)
        results["command"] = driver_command(options.work_dir)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
