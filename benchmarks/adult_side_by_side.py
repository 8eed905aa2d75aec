"""Side-by-side on UCI Adult: synthdb against mostlyai-engine, scored by one outside referee.

Produces the figures of DESIGN.md section 8 from scratch, so that every number we quote can be
rerun with one command::

    bash benchmarks/setup_env.sh && .venv/bin/python benchmarks/adult_side_by_side.py

Steps: (1) set up ``.bench-venv`` (skip with ``--skip-setup``); (2) split Adult 80/20 with seed 42
(split_adult.py); (3) for each tool, one at a time so they never share the two cores: train,
generate 39,074 rows, generate 1,000,000 rows, each as its own process run under measure.py
(wall seconds and peak RSS of the process tree, measured the same way for every tool); (4) score
each 39,074-row output with referee.py (mostlyai-qa + TSTR); (5) merge the figures into
``benchmarks/results/adult_single_table.json`` (tools not run this time keep their last entry)
and print a markdown table.

This driver runs with the project's own Python and needs only the standard library; the
rivals, the referee and psutil live in ``.bench-venv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
WORK = BENCH / "work"
RESULTS = BENCH / "results" / "adult_single_table.json"
BENCH_PY = REPO / ".bench-venv" / "bin" / "python"
SYNTHDB = REPO / ".venv" / "bin" / "synthdb"
SYNTHDB_PY = REPO / ".venv" / "bin" / "python"
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "adult.csv"

ROWS = 39_074
ROWS_BIG = 1_000_000
SYNTHDB_SEED = 7
MOSTLYAI_SEED = 42
REFEREE_SEED = 42
STEP_TIMEOUT_S = 3 * 3600
# Average cores kept busy by other processes during a step above which its wall time is suspect.
BUSY_WARN_CORES = 0.25
# Priority of measured steps (see measure.py): keeps a busy neighbour from inflating wall times
# on a shared machine; a no-op on an idle one and where negative nice values are not allowed.
DEFAULT_NICE = -10
KNOWN_TOOLS = ("synthdb", "mostlyai", "synthdb-dp1", "synthdb-dp4")


class StepFailed(RuntimeError):
    """A measured step exited non-zero; the message names the step and its log."""


def say(message: str) -> None:
    print(f"[side-by-side] {message}", flush=True)


def rel(path: Path) -> str:
    """Path relative to the repo when inside it, so the results file does not name this host."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def machine() -> dict[str, Any]:
    """What the figures were measured on: architecture, cores, CPU model, memory."""
    cpu_model, mem_kb = "unknown", 0
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "arch": platform.machine(),
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_total_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_rows(csv_path: Path) -> int:
    """Data rows in a CSV written one record per line (header excluded)."""
    with csv_path.open("rb") as fh:
        return max(0, sum(1 for _ in fh) - 1)


def measured(name: str, command: list[str], logs: Path, nice: int) -> dict[str, Any]:
    """Run ``command`` under measure.py; return wall seconds, peak MiB, CPU seconds and load.

    Wall figures are only as good as a quiet machine, so the CPU seconds of the step's process
    tree and the cores other processes kept busy meanwhile are kept beside them: a reader can
    discount a step that ran while something else used the cores.
    """
    logs.mkdir(parents=True, exist_ok=True)
    out_json, log = logs / f"{name}.measure.json", logs / f"{name}.log"
    load_before = round(os.getloadavg()[0], 2)
    say(f"{name}: {shlex.join(command)}")
    wrapper = [
        str(BENCH_PY),
        str(BENCH / "measure.py"),
        "--json",
        str(out_json),
        "--log",
        str(log),
        "--timeout",
        str(STEP_TIMEOUT_S),
        "--nice",
        str(nice),
        "--",
        *command,
    ]
    rc = subprocess.run(wrapper, check=False).returncode
    if rc != 0 or not out_json.is_file():
        tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
        raise StepFailed(f"{name} failed (exit {rc}); log {rel(log)}:\n{tail}")
    m = json.loads(out_json.read_text())
    say(
        f"{name}: {m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MiB, "
        f"cpu {m['cpu_seconds']:.0f} s, other load {m['other_busy_cores']:.2f} cores"
    )
    if m["other_busy_cores"] > BUSY_WARN_CORES:
        say(
            f"WARNING: other processes kept {m['other_busy_cores']:.2f} cores busy: {name}'s "
            "wall time is inflated; rerun on a quiet machine for figures to quote"
        )
    return {
        "seconds": m["wall_seconds"],
        "peak_mb": m["peak_rss_mb"],
        "cpu_seconds": m["cpu_seconds"],
        "other_busy_cores": m["other_busy_cores"],
        "load_before": load_before,
        "priority": m.get("priority", "default"),
    }


def referee(tool: str, synthetic: Path, train: Path, holdout: Path) -> dict[str, Any]:
    """Score one tool's 39,074-row output; the real-data reference is computed once, apart."""
    out = WORK / f"{tool}_referee.json"
    command = [
        str(BENCH_PY),
        str(BENCH / "referee.py"),
        "--train",
        str(train),
        "--holdout",
        str(holdout),
        "--synthetic",
        str(synthetic),
        "--out",
        str(out),
        "--seed",
        str(REFEREE_SEED),
        "--no-holdout-ceiling",
        "--report",
        str(WORK / f"{tool}_qa_report.html"),
    ]
    say(f"referee: scoring {rel(synthetic)}")
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def real_reference(train: Path, holdout: Path) -> dict[str, Any]:
    """Holdout-vs-train accuracy and TSTR on real data: the same for every tool.

    It depends on the split alone, so it is cached under a key made of both files' hashes and
    the referee's seed and recomputed only when one of them changes.
    """
    out = WORK / "real_reference.json"
    key = f"{sha256(train)}:{sha256(holdout)}:{REFEREE_SEED}"
    key_file = out.with_suffix(".key")
    if out.is_file() and key_file.is_file() and key_file.read_text() == key:
        say(f"referee: real-data reference unchanged, reusing {rel(out)}")
        return json.loads(out.read_text())
    command = [
        str(BENCH_PY),
        str(BENCH / "referee.py"),
        "--train",
        str(train),
        "--holdout",
        str(holdout),
        "--ceiling-only",
        "--out",
        str(out),
        "--seed",
        str(REFEREE_SEED),
    ]
    say("referee: real-data reference (holdout vs train, TSTR on real train)")
    subprocess.run(command, check=True)
    key_file.write_text(key)
    return json.loads(out.read_text())


def synthdb_version() -> str:
    probe = "from importlib.metadata import version; print(version('synthdb'))"
    res = subprocess.run([str(SYNTHDB_PY), "-c", probe], capture_output=True, text=True)
    return res.stdout.strip() or "unknown"


def synthdb_available() -> str | None:
    """None when the synthdb CLI runs; otherwise why it cannot be benchmarked yet."""
    if not SYNTHDB.exists():
        return f"{rel(SYNTHDB)} is missing (install the project: make setup / pip install -e .)"
    res = subprocess.run([str(SYNTHDB), "--help"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"`{rel(SYNTHDB)} --help` fails: {last[0]}"
    return None


QUIET = ("--quiet", "--overwrite")


def run_synthdb(
    train: Path, logs: Path, nice: int, key: str = "synthdb", extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """synthdb through its CLI, exactly as a user would call it (``extra``: training flags)."""
    model = WORK / f"{key}.synthdb"
    synthetic = WORK / f"{key}_synth.csv"
    big = WORK / f"{key}_1m.csv"
    cli = str(SYNTHDB)
    trn = measured(
        f"{key}_train",
        [cli, "train", str(train), "-o", str(model), "--nulls", "keep", *extra, *QUIET],
        logs,
        nice,
    )
    gen_args = ["--seed", str(SYNTHDB_SEED), "--quiet", "--overwrite"]
    gen = measured(
        f"{key}_generate",
        [cli, "generate", str(model), "-o", str(synthetic), "--rows", str(ROWS), *gen_args],
        logs,
        nice,
    )
    gen_big = measured(
        f"{key}_generate_1m",
        [cli, "generate", str(model), "-o", str(big), "--rows", str(ROWS_BIG), *gen_args],
        logs,
        nice,
    )
    rows_small, rows_big = count_rows(synthetic), count_rows(big)
    big.unlink()
    return {
        "tool": "synthdb",
        "version": synthdb_version(),
        "settings": f"CLI defaults, --nulls keep {' '.join(extra)}".rstrip()
        + f", generate --seed {SYNTHDB_SEED}",
        "train_seconds": trn["seconds"],
        "train_peak_mb": trn["peak_mb"],
        "generate_seconds": gen["seconds"],
        "generate_peak_mb": gen["peak_mb"],
        "generate_rows": rows_small,
        "generate_1m_seconds": gen_big["seconds"],
        "generate_1m_peak_mb": gen_big["peak_mb"],
        "generate_1m_rows": rows_big,
        "rows_per_second": round(rows_big / gen_big["seconds"], 1),
        "model_file_bytes": model.stat().st_size if model.is_file() else None,
        **_conditions(trn, gen, gen_big),
        "synthetic_csv": synthetic,
    }


def run_mostlyai(train: Path, logs: Path, nice: int) -> dict[str, Any]:
    """mostlyai-engine TabularARGN with default settings, via run_mostlyai.py in .bench-venv."""
    script, ws = str(BENCH / "run_mostlyai.py"), WORK / "mostlyai_ws"
    synthetic = WORK / "mostlyai_synth.csv"
    seed = ["--seed", str(MOSTLYAI_SEED)]
    j_train, j_gen, j_big = (WORK / f"mostlyai_{s}.json" for s in ("train", "generate", "1m"))
    py = str(BENCH_PY)
    trn = measured(
        "mostlyai_train",
        [
            py,
            script,
            "train",
            "--train",
            str(train),
            "--workspace",
            str(ws),
            "--json",
            str(j_train),
            *seed,
        ],
        logs,
        nice,
    )
    gen = measured(
        "mostlyai_generate",
        [
            py,
            script,
            "generate",
            "--workspace",
            str(ws),
            "--rows",
            str(ROWS),
            "--output",
            str(synthetic),
            "--json",
            str(j_gen),
            *seed,
        ],
        logs,
        nice,
    )
    gen_big = measured(
        "mostlyai_generate_1m",
        [
            py,
            script,
            "generate",
            "--workspace",
            str(ws),
            "--rows",
            str(ROWS_BIG),
            "--output",
            str(WORK / "mostlyai_1m.csv"),
            "--delete-output",
            "--json",
            str(j_big),
            *seed,
        ],
        logs,
        nice,
    )
    inner_train, inner_gen, inner_big = (json.loads(p.read_text()) for p in (j_train, j_gen, j_big))
    epochs, best = inner_train.get("epochs"), inner_train.get("best_epoch")
    return {
        "tool": "mostlyai-engine TabularARGN",
        "version": inner_train.get("mostlyai_engine_version", "unknown"),
        "settings": (
            f"defaults (MOSTLY_AI/Medium, no DP), seed {MOSTLYAI_SEED}; "
            f"early stop after {epochs:g} epochs (best {best:g})"
            if epochs is not None and best is not None
            else f"defaults (MOSTLY_AI/Medium, no DP), seed {MOSTLYAI_SEED}"
        ),
        "train_seconds": trn["seconds"],
        "train_peak_mb": trn["peak_mb"],
        "generate_seconds": gen["seconds"],
        "generate_peak_mb": gen["peak_mb"],
        "generate_rows": inner_gen["rows"],
        "generate_1m_seconds": gen_big["seconds"],
        "generate_1m_peak_mb": gen_big["peak_mb"],
        "generate_1m_rows": inner_big["rows"],
        "rows_per_second": round(inner_big["rows"] / gen_big["seconds"], 1),
        "in_process": {
            "what": "timed inside the process: excludes interpreter start-up and imports",
            "train_seconds": inner_train.get("train_seconds"),
            "fit_seconds": inner_train.get("fit_seconds"),
            "generate_seconds": inner_gen.get("generate_seconds"),
            "generate_1m_seconds": inner_big.get("generate_seconds"),
            "rows_per_second_1m": inner_big.get("rows_per_second"),
        },
        "epochs": epochs,
        "best_epoch": best,
        "seconds_per_epoch": inner_train.get("seconds_per_epoch"),
        "encoding_types": inner_train.get("encoding_types"),
        **_conditions(trn, gen, gen_big),
        "synthetic_csv": synthetic,
    }


def _conditions(*steps: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds and outside load of the train, generate and 1M-generate steps."""
    names = ("train", "generate", "generate_1m")
    return {
        "cpu_seconds": {n: s["cpu_seconds"] for n, s in zip(names, steps, strict=True)},
        "other_busy_cores": {n: s["other_busy_cores"] for n, s in zip(names, steps, strict=True)},
        "load_before": {n: s["load_before"] for n, s in zip(names, steps, strict=True)},
        "priority": steps[0]["priority"],
    }


RUNNERS: dict[str, Callable[[Path, Path, int], dict[str, Any]]] = {
    "synthdb": run_synthdb,
    "mostlyai": run_mostlyai,
    # differential privacy at the issue's two budgets, delta 1e-5
    "synthdb-dp1": lambda train, logs, nice: run_synthdb(
        train, logs, nice, "synthdb-dp1", ("--epsilon", "1", "--delta", "1e-5")
    ),
    "synthdb-dp4": lambda train, logs, nice: run_synthdb(
        train, logs, nice, "synthdb-dp4", ("--epsilon", "4", "--delta", "1e-5")
    ),
}


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def markdown_table(results: dict[str, Any]) -> str:
    """The table DESIGN.md section 8 quotes, from the merged results."""
    head = (
        "| tool | settings | train s | generate s | 1M rows/s | peak MB | accuracy "
        "| uni / biv / tri | DCR share | TSTR AUC |\n"
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|\n"
    )
    rows = []
    for entry in results["tools"]:
        if entry.get("status") != "ok":
            rows.append(
                f"| {entry['tool']} | {entry.get('status')}: {entry.get('reason', '')} "
                "| | | | | | | | |"
            )
            continue
        acc = entry["referee"]["accuracy"]
        dist = entry["referee"]["distances"]
        tstr = entry["referee"]["tstr"]
        rows.append(
            f"| {entry['tool']} {entry['version']} | {entry['settings']} "
            f"| {_fmt(entry['train_seconds'], '.0f')} | {_fmt(entry['generate_seconds'], '.1f')} "
            f"| {_fmt(entry['rows_per_second'], ',.0f')} | {_fmt(entry['train_peak_mb'], '.0f')} "
            f"| **{_fmt(acc['overall'], '.3f')}** "
            f"| {_fmt(acc['univariate'], '.3f')} / {_fmt(acc['bivariate'], '.3f')} / "
            f"{_fmt(acc['trivariate'], '.3f')} "
            f"| {_fmt(dist['dcr_share'], '.3f')} | {_fmt(tstr['auc_synthetic'], '.3f')} |"
        )
    ref = results.get("real_reference", {})
    hvt = ref.get("holdout_vs_train", {})
    foot = (
        f"\nReferee {ref.get('referee', 'mostlyai-qa')}; its sampling-noise ceiling "
        f"(accuracy_max) on this split is {_fmt(_first_max(results), '.3f')}; the real holdout "
        f"scored as synthetic gets {_fmt(hvt.get('overall'), '.3f')}; TSTR AUC trained on real "
        f"data {_fmt(ref.get('tstr_auc_real'), '.3f')}. Times are process wall seconds "
        "(start-up and imports included); peak MB is the training process tree's peak RSS (MiB)."
    )
    busy = [
        f"{e['tool']} {step} ({cores:.2f} cores)"
        for e in results["tools"]
        if e.get("status") == "ok"
        for step, cores in e.get("other_busy_cores", {}).items()
        if cores > BUSY_WARN_CORES
    ]
    if busy:
        foot += (
            "\n\nCaution: other processes were busy during " + ", ".join(busy) + "; those wall "
            "times are inflated (see cpu_seconds in the JSON)."
        )
    return head + "\n".join(rows) + "\n" + foot


def _first_max(results: dict[str, Any]) -> float | None:
    for entry in results["tools"]:
        if entry.get("status") == "ok":
            return entry["referee"]["accuracy"].get("overall_max")
    return None


def load_previous(path: Path) -> dict[str, dict[str, Any]]:
    """Earlier entries by tool key, so a run of one tool keeps the others' last figures."""
    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    return {e["key"]: e for e in old.get("tools", []) if "key" in e}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tools",
        default="synthdb,mostlyai",
        help="comma-separated subset of " + ",".join(KNOWN_TOOLS),
    )
    parser.add_argument("--skip-setup", action="store_true", help="do not run setup_env.sh")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="adult.csv")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    parser.add_argument(
        "--nice",
        type=int,
        default=DEFAULT_NICE,
        help="priority of measured steps (0: leave as is; negative values need root)",
    )
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in KNOWN_TOOLS]
    if unknown or not tools:
        parser.error(f"--tools takes a comma-separated subset of {','.join(KNOWN_TOOLS)}")
    if not args.source.is_file():
        parser.error(f"dataset not found: {args.source}")

    if not args.skip_setup:
        say("setting up .bench-venv (benchmarks/setup_env.sh)")
        subprocess.run(["bash", str(BENCH / "setup_env.sh")], check=True)
    if not BENCH_PY.exists():
        say(f"{rel(BENCH_PY)} is missing: run `bash benchmarks/setup_env.sh` first")
        return 2

    subprocess.run(
        [
            sys.executable,
            str(BENCH / "split_adult.py"),
            "--source",
            str(args.source),
            "--work-dir",
            str(WORK),
        ],
        check=True,
    )
    train, holdout = WORK / "adult_train.csv", WORK / "adult_holdout.csv"
    logs = WORK / "logs"
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    entries = load_previous(args.out)
    for tool in tools:
        if tool.startswith("synthdb") and (why := synthdb_available()) is not None:
            say(f"skipping synthdb: {why}")
            entries[tool] = {
                "key": tool,
                "tool": "synthdb",
                "status": "skipped",
                "reason": why,
                "date": date,
            }
            continue
        say(f"=== {tool} ===")
        try:
            entry = RUNNERS[tool](train, logs, args.nice)
        except StepFailed as err:
            say(str(err))
            entries[tool] = {
                "key": tool,
                "tool": tool,
                "status": "failed",
                "reason": str(err).splitlines()[0],
                "date": date,
            }
            continue
        synthetic = entry.pop("synthetic_csv")
        entry["referee"] = referee(tool, synthetic, train, holdout)
        entries[tool] = {"key": tool, "status": "ok", "date": date, **entry}

    reference = real_reference(train, holdout)
    results = {
        "benchmark": "Adult, single table: synthdb side by side with mostlyai-engine",
        "date": date,
        "machine": machine(),
        "dataset": {
            "source": "shared/datasets/adult.csv",
            "sha256": sha256(args.source),
            "split": "df.sample(frac=1, random_state=42); first 80% train, rest holdout",
            "train_rows": count_rows(train),
            "holdout_rows": count_rows(holdout),
        },
        "method": {
            "generate_rows": ROWS,
            "generate_big_rows": ROWS_BIG,
            "timing": "wall seconds of each step's process (start-up and imports included), "
            "benchmarks/measure.py; rows_per_second = 1M rows / that step's wall seconds",
            "memory": "peak of summed RSS over the process tree, polled every 0.1 s (MiB)",
            "conditions": "cpu_seconds: user+system seconds of the step's process tree; "
            "other_busy_cores: average cores other processes kept busy during the step "
            f"(above {BUSY_WARN_CORES} the wall time is inflated)",
            "referee": "benchmarks/referee.py: mostlyai-qa report() with seed 42, plus TSTR",
        },
        "real_reference": reference,
        "tools": [
            entries[k]
            for k in (*KNOWN_TOOLS, *sorted(set(entries) - set(KNOWN_TOOLS)))
            if k in entries
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    say(f"results written to {rel(args.out)}\n")
    print(markdown_table(results))
    shutil.rmtree(WORK / "mostlyai_ws" / "SyntheticData", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
