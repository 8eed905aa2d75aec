"""Sequences side by side on nycflights13: synthdb against mostlyai-engine, refereed by mostlyai-qa.

Why: synthdb's sequence generation (``--sequence-key`` / ``--order-by``) must hold up against the
rival's sequential TabularARGN on real event data, quoted in the figures of a referee we did
not write. The requirement this backs: nycflights13 ``flights`` as one sequence of flights per
plane; coherence and overall accuracy each within 0.03 of mostlyai-qa's holdout ceiling
(``coherence_max``, ``overall_max``), and, side by side in the same run on the same split,
coherence at least the rival's in less training time.

Setup: 1,000 planes drawn with seed 42 from those with a ``tailnum`` (``Series.sample`` of the
sorted distinct tail numbers), the first 800 drawn train, the other 200 holdout; every flight of
a drawn plane goes with it, all 19 columns kept as they are in the source. Both CSVs are written
sorted by plane, then ``time_hour`` (ties in source order), so each plane's rows are its
sequence in time. Each tool trains on the 800 planes' flights and generates its default number
of sequences (both: one per training plane). Training and generation run as separate processes
under measure.py (wall seconds, peak RSS of the process tree), one at a time; the referee
(referee_sequences.py: mostlyai-qa with ``tgt_context_key=tailnum`` and context tables of
distinct plane keys, seed 42) scores every output against the same split.

* synthdb, through its CLI from the project's ``.venv``::

      synthdb train TRAIN.csv -o MODEL.synthdb --sequence-key tailnum --order-by time_hour
      synthdb generate MODEL.synthdb -o SYN.csv

  plus ``--quiet --overwrite`` and whatever ``--synthdb-args`` adds to ``train``;
* mostlyai-engine 2.7.3 (``.bench-venv``), run_mostlyai.py with ``--context-key tailnum``:
  every engine default (MOSTLY_AI/Medium, early stopping, no DP, CPU), seed 42, ``time_hour``
  handed over as a timestamp; generation at the engine's default, which reuses the 800
  training plane keys as its context.

Run it from the repository root (build the venvs first: ``make .venv/.installed-dev`` and
``bash benchmarks/setup_env.sh bench``)::

    .venv/bin/python benchmarks/flights_sequences.py                  # both tools
    .venv/bin/python benchmarks/flights_sequences.py --only mostly    # rival + referee only
    .venv/bin/python benchmarks/flights_sequences.py --only synthdb \\
        --synthdb-args "--purpose analytics"                         # extra synthdb train flags
    .venv/bin/python benchmarks/flights_sequences.py --only synthdb \
        --synthdb-cli /path/to/other/checkout/.venv/bin/synthdb      # another synthdb build
    .venv/bin/python benchmarks/flights_sequences.py --referee-check holdout   # referee check

Each run merges its tools' entries into ``benchmarks/results/flights_sequences.json`` (a tool not
run keeps its last entry) and prints a markdown table. ``--referee-check holdout|train`` scores
a stand-in for a synthetic output (the holdout, or the train split's planes in shuffled order,
keys renamed) through the very function that scores synthdb's output, to prove the referee
path; its figures go to the work folder only, never into the results file. ``--smoke`` runs
the code path in minutes (200 planes, one epoch each, results in the work folder).

The driver needs pandas (the project's ``.venv`` has it); the rival, the referee and psutil
live in ``.bench-venv``. On a shared machine wall times are only comparable when the load is
the same: each step's CPU seconds and the cores others kept busy are recorded beside them.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
DEFAULT_WORK = BENCH / "work" / "flights"
RESULTS = BENCH / "results" / "flights_sequences.json"
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "nycflights13" / "flights.csv.gz"
SOURCE_LABEL = "shared/datasets/nycflights13/flights.csv.gz"
#: synthdb's CLI beside the Python that runs this driver (the project's .venv); --synthdb-cli.
DEFAULT_SYNTHDB = Path(sys.executable).parent / "synthdb"
BENCH_VENV = ".bench-venv"

KEY = "tailnum"
ORDER_BY = "time_hour"
DATETIME_COLUMNS = (ORDER_BY,)
PLANES = 1_000
TRAIN_SHARE = 0.8
SPLIT_SEED = 42
RIVAL_SEED = 42
REFEREE_SEED = 42
#: The bar: accuracy and coherence each within this of mostlyai-qa's holdout ceiling.
BAR = 0.03
STEP_TIMEOUT_S = 4 * 3600
#: mostlyai-engine stops itself at --time-cap and keeps its best checkpoint; the kill comes later.
ENGINE_CAP_GRACE_S = 600
#: mostlyai-qa scores no fewer than 100 synthetic sequences: 160 train planes.
SMOKE_PLANES = 200
#: Average cores other processes kept busy during a step above which its wall time is suspect.
BUSY_WARN_CORES = 0.25
TOOLS = ("synthdb", "mostlyai-engine")
ONLY = {"synthdb": ("synthdb",), "mostly": ("mostlyai-engine",), "both": TOOLS}
QUIET = ("--quiet", "--overwrite")


@dataclass
class Run:
    """What every step of one driver run shares: the split, the venv, the limits."""

    train: Path
    holdout: Path
    work: Path
    bench_py: Path
    nice: int
    time_cap: float | None
    smoke: bool
    synthdb: Path
    synthdb_args: tuple[str, ...]

    @property
    def logs(self) -> Path:
        return self.work / "logs"


class StepFailed(RuntimeError):
    """A measured step exited non-zero or ran past its time limit."""


def say(message: str) -> None:
    print(f"[flights] {message}", flush=True)


def rel(path: Path) -> str:
    """Path relative to the repo when inside it, so the results file does not name this host."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def machine() -> dict[str, Any]:
    """What the figures were measured on, and the thread limits the tools ran under."""
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "arch": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "os": platform.platform(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "nice": os.nice(0),
    }


# --------------------------------------------------------------------------------------------
# the split


def split(source: Path, work: Path, planes: int) -> dict[str, Any]:
    """Draw ``planes`` planes, write train and holdout CSVs; return what the split holds.

    Every field is read and written as text, so the CSVs hold the source's values byte for
    byte (no ``517`` turning into ``517.0`` in a column with NULLs).
    """
    flights = pd.read_csv(source, dtype=str, keep_default_na=False)
    with_plane = flights[flights[KEY] != ""]
    distinct = pd.Series(sorted(with_plane[KEY].unique()))
    drawn = distinct.sample(n=planes, random_state=SPLIT_SEED).tolist()
    n_train = round(TRAIN_SHARE * planes)
    work.mkdir(parents=True, exist_ok=True)
    paths = {"train": work / "flights_train.csv", "holdout": work / "flights_holdout.csv"}
    figures: dict[str, Any] = {}
    for part, keys in (("train", drawn[:n_train]), ("holdout", drawn[n_train:])):
        rows = with_plane[with_plane[KEY].isin(keys)]
        rows = rows.sort_values([KEY, ORDER_BY], kind="stable")
        rows.to_csv(paths[part], index=False)
        figures[f"{part}_planes"] = len(keys)
        figures[f"{part}_rows"] = len(rows)
        figures[f"{part}_sha256"] = sha256(paths[part])
    return {
        "source": SOURCE_LABEL if source == DEFAULT_SOURCE else rel(source),
        "source_sha256": sha256(source),
        "source_rows": len(flights),
        "source_planes": len(distinct),
        "rows_without_tailnum": len(flights) - len(with_plane),
        "planes": planes,
        "split_seed": SPLIT_SEED,
        "how": f"pd.Series(sorted distinct {KEY}).sample(n={planes}, random_state="
        f"{SPLIT_SEED}); first {n_train} drawn: train, the rest: holdout; rows sorted by "
        f"{KEY}, then {ORDER_BY} (stable)",
        "columns": list(flights.columns),
        **figures,
    }


def standin(run: Run, kind: str) -> Path:
    """A stand-in for a synthetic output: real planes under new keys (referee check only).

    ``holdout``: the holdout's planes; ``train``: the train split's planes in shuffled order.
    Rows keep their order within each plane.
    """
    source = run.holdout if kind == "holdout" else run.train
    rows = pd.read_csv(source, dtype=str, keep_default_na=False)
    keys = pd.Series(rows[KEY].unique())
    if kind == "train":
        keys = keys.sample(frac=1, random_state=SPLIT_SEED)
    renamed = {k: f"S{i:05d}" for i, k in enumerate(keys)}
    rows[KEY] = rows[KEY].map(renamed)
    order = {new: i for i, new in enumerate(renamed.values())}
    rows = rows.sort_values(KEY, key=lambda s: s.map(order), kind="stable")
    out = run.work / f"standin_{kind}.csv"
    rows.to_csv(out, index=False)
    return out


# --------------------------------------------------------------------------------------------
# measured steps


def measured(
    name: str, command: list[str], run: Run, timeout: float = STEP_TIMEOUT_S
) -> dict[str, Any]:
    """Run ``command`` under measure.py; wall seconds, peak MiB, CPU seconds, outside load."""
    run.logs.mkdir(parents=True, exist_ok=True)
    out_json, log = run.logs / f"{name}.measure.json", run.logs / f"{name}.log"
    out_json.unlink(missing_ok=True)
    say(f"{name}: {shlex.join(command)}")
    wrapper = [str(run.bench_py), str(BENCH / "measure.py"), "--json", str(out_json)]
    wrapper += ["--log", str(log), "--timeout", str(timeout), "--nice", str(run.nice), "--"]
    # Both tools on the CPU, whatever the machine has.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    rc = subprocess.run([*wrapper, *command], check=False, env=env).returncode
    if not out_json.is_file():
        raise StepFailed(f"{name} failed (exit {rc}); log {rel(log)}:\n{_tail(log)}")
    m = json.loads(out_json.read_text())
    if m.get("timed_out"):
        raise StepFailed(f"{name} passed its time limit of {timeout:.0f} s and was stopped")
    if rc != 0:
        raise StepFailed(f"{name} failed (exit {rc}); log {rel(log)}:\n{_tail(log)}")
    busy = m["other_busy_cores"]
    say(
        f"{name}: {m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MiB, "
        f"cpu {m['cpu_seconds']:.0f} s, other load {busy} cores"
    )
    if busy is not None and busy > BUSY_WARN_CORES:
        say(f"WARNING: other processes kept {busy:.2f} cores busy: {name}'s wall time is inflated")
    return {
        "seconds": m["wall_seconds"],
        "peak_mb": m["peak_rss_mb"],
        "cpu_seconds": m["cpu_seconds"],
        "other_busy_cores": busy,
    }


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.is_file() else ""


def _timings(trn: dict[str, Any], gen: dict[str, Any]) -> dict[str, Any]:
    return {
        "train_seconds": trn["seconds"],
        "train_peak_mb": trn["peak_mb"],
        "generate_seconds": gen["seconds"],
        "generate_peak_mb": gen["peak_mb"],
        "cpu_seconds": {"train": trn["cpu_seconds"], "generate": gen["cpu_seconds"]},
        "other_busy_cores": {"train": trn["other_busy_cores"], "generate": gen["other_busy_cores"]},
    }


def output_counts(csv_path: Path) -> dict[str, int]:
    """Rows and distinct sequence keys of a generated CSV."""
    keys = pd.read_csv(csv_path, usecols=[KEY], dtype=str, keep_default_na=False)[KEY]
    return {"rows": len(keys), "sequences": int(keys[keys != ""].nunique())}


# --------------------------------------------------------------------------------------------
# synthdb


def synthdb_unavailable(cli: Path) -> str | None:
    """None when the synthdb CLI can train sequences; otherwise why not."""
    if not cli.exists():
        return f"{rel(cli)} is missing (make .venv/.installed-dev)"
    res = subprocess.run([str(cli), "train", "--help"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return f"`synthdb train --help` fails: {(res.stderr or res.stdout).strip()[-200:]}"
    missing = [flag for flag in ("--sequence-key", "--order-by") if flag not in res.stdout]
    if missing:
        return f"this synthdb's train has no {' / '.join(missing)} yet"
    return None


def synthdb_version(cli: Path) -> str:
    """The CLI's own ``--version`` line without the program name (``synthdb 0.1.0``: 0.1.0)."""
    res = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=False)
    return res.stdout.strip().removeprefix("synthdb").strip() or "unknown"


def run_synthdb(run: Run) -> dict[str, Any]:
    """synthdb through its CLI, as a user would call it: train, then generate the default."""
    model, synthetic = run.work / "synthdb.synthdb", run.work / "synthdb_synth.csv"
    extra = list(run.synthdb_args)
    if run.smoke and "--max-epochs" not in extra:
        extra += ["--max-epochs", "1"]
    cli = str(run.synthdb)
    train_cmd = [cli, "train", str(run.train), "-o", str(model)]
    train_cmd += ["--sequence-key", KEY, "--order-by", ORDER_BY, *extra, *QUIET]
    trn = measured("synthdb_train", train_cmd, run)
    gen = measured(
        "synthdb_generate", [cli, "generate", str(model), "-o", str(synthetic), *QUIET], run
    )
    flags = f"--sequence-key {KEY} --order-by {ORDER_BY}"
    return {
        "tool": "synthdb",
        "version": synthdb_version(run.synthdb),
        "settings": f"CLI defaults, {flags} {shlex.join(extra)}".rstrip()
        + "; generate: default count and seed",
        "train_command": shlex.join(["synthdb", *train_cmd[1:]]).replace(str(REPO) + "/", ""),
        **_timings(trn, gen),
        **output_counts(synthetic),
        "model_file_bytes": model.stat().st_size if model.is_file() else None,
        "synthetic_csv": synthetic,
    }


# --------------------------------------------------------------------------------------------
# mostlyai-engine


def run_mostly(run: Run) -> dict[str, Any]:
    """mostlyai-engine's sequential TabularARGN with every default, seed fixed, on CPU."""
    py, script = str(run.bench_py), str(BENCH / "run_mostlyai.py")
    ws, synthetic = run.work / "mostlyai_ws", run.work / "mostlyai_synth.csv"
    j_train, j_gen = run.work / "mostlyai_train.json", run.work / "mostlyai_gen.json"
    seed = ["--seed", str(RIVAL_SEED)]
    train_cmd = [py, script, "train", "--train", str(run.train), "--workspace", str(ws), *seed]
    train_cmd += ["--context-key", KEY, "--datetime-columns", ",".join(DATETIME_COLUMNS)]
    train_cmd += ["--json", str(j_train)]
    timeout = float(STEP_TIMEOUT_S)
    if run.time_cap is not None:
        train_cmd += ["--max-training-minutes", f"{run.time_cap / 60:g}"]
        timeout = run.time_cap + ENGINE_CAP_GRACE_S
    if run.smoke:
        train_cmd += ["--max-epochs", "1"]
    trn = measured("mostlyai_train", train_cmd, run, timeout)
    gen_cmd = [py, script, "generate", "--workspace", str(ws), *seed]
    gen_cmd += ["--output", str(synthetic), "--json", str(j_gen)]
    gen = measured("mostlyai_generate", gen_cmd, run)
    inner = json.loads(j_train.read_text())
    inner_gen = json.loads(j_gen.read_text())
    shutil.rmtree(ws / "SyntheticData", ignore_errors=True)
    epochs, best = inner.get("epochs"), inner.get("best_epoch")
    settings = f"defaults (MOSTLY_AI/Medium), no DP, CPU, seed {RIVAL_SEED}"
    settings += f"; context key {KEY}, {ORDER_BY} as datetime"
    if epochs is not None:
        settings += f"; stopped after {epochs:g} epochs"
        settings += f" (best {best:g})" if best is not None else ""
    if run.time_cap is not None:
        settings += f"; time cap {run.time_cap / 60:g} min"
    return {
        "tool": "mostlyai-engine TabularARGN (sequential)",
        "version": inner.get("mostlyai_engine_version", "unknown"),
        "settings": settings,
        **_timings(trn, gen),
        **output_counts(synthetic),
        "in_process": {
            "what": "timed inside the process: excludes interpreter start-up and imports",
            "train_seconds": inner.get("train_seconds"),
            "fit_seconds": inner.get("fit_seconds"),
            "generate_seconds": inner_gen.get("generate_seconds"),
        },
        "epochs": epochs,
        "best_epoch": best,
        "seconds_per_epoch": inner.get("seconds_per_epoch"),
        "encoding_types": inner.get("encoding_types"),
        "time_cap_s": run.time_cap,
        "synthetic_csv": synthetic,
    }


RUNNERS = {"synthdb": run_synthdb, "mostlyai-engine": run_mostly}


# --------------------------------------------------------------------------------------------
# the referee


def score_output(run: Run, name: str, synthetic: Path) -> dict[str, Any]:
    """mostlyai-qa on one output of sequences against the split (referee_sequences.py).

    The one scoring path for every tool's output and for the referee check's stand-ins.
    """
    out = run.work / f"{name}_referee.json"
    command = [str(run.bench_py), str(BENCH / "referee_sequences.py")]
    command += ["--train", str(run.train), "--holdout", str(run.holdout)]
    command += ["--synthetic", str(synthetic), "--key", KEY]
    command += ["--datetime-columns", ",".join(DATETIME_COLUMNS), "--seed", str(REFEREE_SEED)]
    command += ["--out", str(out), "--report", str(run.work / f"{name}_qa_report.html")]
    say(f"referee: scoring {rel(synthetic)}")
    subprocess.run(command, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def headline(ref: dict[str, Any]) -> dict[str, Any]:
    """The figures the bar reads: accuracy and coherence, their ceilings and the gaps.

    The bar alone would pass a copy of the training planes (the referee check's ``train``
    stand-in does), so two privacy figures stand beside it: DCR share (0.5 is ideal) and the
    share of synthetic sequences identical to a training one.
    """
    acc, dist = ref["accuracy"], ref["distances"]
    out: dict[str, Any] = {
        "accuracy": acc.get("overall"),
        "accuracy_max": acc.get("overall_max"),
        "coherence": acc.get("coherence"),
        "coherence_max": acc.get("coherence_max"),
    }
    for name in ("accuracy", "coherence"):
        value, ceiling = out[name], out[f"{name}_max"]
        gap = None if value is None or ceiling is None else round(ceiling - value, 4)
        out[f"{name}_gap"] = gap
        out[f"{name}_within_bar"] = None if gap is None else gap <= BAR
    out["dcr_share"] = dist.get("dcr_share")
    out["ims_training"] = dist.get("ims_training")
    return out


def run_tool(run: Run, key: str, date: str) -> dict[str, Any]:
    """One tool end to end as a results entry: ok (scored), skipped or failed."""
    base: dict[str, Any] = {"key": key, "date": date}
    if key == "synthdb" and (why := synthdb_unavailable(run.synthdb)) is not None:
        say(f"skipping synthdb: {why}")
        return {**base, "status": "skipped", "reason": why}
    say(f"=== {key} ===")
    try:
        entry = RUNNERS[key](run)
    except StepFailed as err:
        say(str(err))
        return {**base, "status": "failed", "reason": str(err).splitlines()[0]}
    synthetic = entry.pop("synthetic_csv")
    ref = score_output(run, key, synthetic)
    return {**base, "status": "ok", **entry, **headline(ref), "referee": ref}


def comparison(entries: dict[str, Any]) -> dict[str, Any] | None:
    """synthdb against the rival: coherence at least equal, in less training time."""
    ours, rival = entries.get("synthdb", {}), entries.get("mostlyai-engine", {})
    if ours.get("status") != "ok" or rival.get("status") != "ok":
        return None
    same_split = ours.get("split_sha256") == rival.get("split_sha256")
    coherence_ok = (ours["coherence"] or 0) >= (rival["coherence"] or 0)
    faster = ours["train_seconds"] < rival["train_seconds"]
    return {
        "same_split": same_split,
        "coherence": {"synthdb": ours["coherence"], "mostlyai-engine": rival["coherence"]},
        "train_seconds": {
            "synthdb": ours["train_seconds"],
            "mostlyai-engine": rival["train_seconds"],
        },
        "coherence_at_least_rival": coherence_ok,
        "less_training_time": faster,
        "synthdb_within_bar": bool(ours["accuracy_within_bar"] and ours["coherence_within_bar"]),
        "requirement_met": bool(
            same_split
            and coherence_ok
            and faster
            and ours["accuracy_within_bar"]
            and ours["coherence_within_bar"]
        ),
    }


# --------------------------------------------------------------------------------------------
# results


def load_previous(path: Path) -> dict[str, Any]:
    """Earlier entries by tool key, so a run of one tool keeps the other's last figures."""
    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    tools = old.get("tools", {})
    return dict(tools) if isinstance(tools, dict) else {}


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def markdown_table(results: dict[str, Any]) -> str:
    """A small table of the merged results."""
    head = (
        "| tool | train s | generate s | train peak MiB | sequences | rows | accuracy (max) "
        "| coherence (max) | within 0.03 | DCR share | identical to train |\n"
        "|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|\n"
    )
    lines = []
    for key in TOOLS:
        e = results["tools"].get(key)
        if e is None:
            continue
        if e.get("status") != "ok":
            lines.append(f"| {key} | {e.get('status')}: {e.get('reason', '')} |{' |' * 9}")
            continue
        bar = "yes" if e["accuracy_within_bar"] and e["coherence_within_bar"] else "no"
        dist = e["referee"]["distances"]
        lines.append(
            f"| {e['tool']} {e['version']} | {_fmt(e['train_seconds'], '.0f')} "
            f"| {_fmt(e['generate_seconds'], '.1f')} | {_fmt(e['train_peak_mb'], '.0f')} "
            f"| {e['sequences']} | {e['rows']:,} "
            f"| {_fmt(e['accuracy'], '.3f')} ({_fmt(e['accuracy_max'], '.3f')}) "
            f"| {_fmt(e['coherence'], '.3f')} ({_fmt(e['coherence_max'], '.3f')}) | {bar} "
            f"| {_fmt(dist.get('dcr_share'), '.3f')} | {_fmt(dist.get('ims_training'), '.3f')} |"
        )
    split = results["setup"]
    foot = (
        f"\nSplit: {split['train_planes']} train planes ({split['train_rows']:,} flights), "
        f"{split['holdout_planes']} holdout planes ({split['holdout_rows']:,} flights). "
        "Referee mostlyai-qa, sequences by tailnum; max = its holdout ceiling. Times are "
        "process wall seconds on this machine."
    )
    cmp = results.get("comparison")
    if cmp is not None:
        foot += (
            f"\nsynthdb vs mostlyai-engine: coherence at least the rival's: "
            f"{cmp['coherence_at_least_rival']}; less training time: "
            f"{cmp['less_training_time']}; same split: {cmp['same_split']}; requirement met: "
            f"{cmp['requirement_met']}."
        )
    stale = [
        k
        for k, e in results["tools"].items()
        if e.get("status") == "ok" and e.get("split_sha256") != split["split_sha256"]
    ]
    if stale:
        foot += f"\nCaution: {', '.join(stale)} were measured on another split."
    return head + "\n".join(lines) + "\n" + foot


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only",
        choices=sorted(ONLY),
        default="both",
        help="which side to run: synthdb, mostly (the rival), or both",
    )
    parser.add_argument(
        "--synthdb-args",
        default="",
        help='extra flags for `synthdb train`, as one string (e.g. "--purpose analytics")',
    )
    parser.add_argument(
        "--synthdb-cli",
        type=Path,
        default=DEFAULT_SYNTHDB,
        help="the synthdb executable to benchmark (default: beside this Python)",
    )
    parser.add_argument(
        "--referee-check",
        choices=("holdout", "train"),
        help="score a stand-in (holdout, or train's planes shuffled) through synthdb's scoring "
        "path and print it; nothing is written to the results file",
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="flights.csv(.gz)")
    parser.add_argument("--out", type=Path, help="results JSON (default: results/...)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="splits, outputs")
    parser.add_argument("--venv-root", type=Path, default=REPO, help=f"folder holding {BENCH_VENV}")
    parser.add_argument(
        "--time-cap",
        type=float,
        help="seconds after which the rival stops training (its own cap); default: none",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="priority of measured steps (see measure.py); default 0: as this process",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"check the code path: {SMOKE_PLANES} planes, one epoch; results in the work folder",
    )
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"dataset not found: {args.source}")
    if args.out is None:
        args.out = args.work_dir / "flights_smoke.json" if args.smoke else RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_py = args.venv_root / BENCH_VENV / "bin" / "python"
    if not bench_py.exists():
        say(f"{rel(bench_py)} is missing: run `bash benchmarks/setup_env.sh bench` first")
        return 2
    planes = SMOKE_PLANES if args.smoke else PLANES
    setup = split(args.source, args.work_dir, planes)
    setup["split_sha256"] = hashlib.sha256(
        (setup["train_sha256"] + setup["holdout_sha256"]).encode()
    ).hexdigest()
    run = Run(
        train=args.work_dir / "flights_train.csv",
        holdout=args.work_dir / "flights_holdout.csv",
        work=args.work_dir,
        bench_py=bench_py,
        nice=args.nice,
        time_cap=args.time_cap,
        smoke=args.smoke,
        synthdb=args.synthdb_cli,
        synthdb_args=tuple(shlex.split(args.synthdb_args)),
    )
    say(
        f"split: {setup['train_planes']} train planes ({setup['train_rows']} flights), "
        f"{setup['holdout_planes']} holdout planes ({setup['holdout_rows']} flights)"
    )
    if args.referee_check is not None:
        ref = score_output(run, f"standin_{args.referee_check}", standin(run, args.referee_check))
        say(f"referee check on the {args.referee_check} stand-in (not a result): {headline(ref)}")
        return 0
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entries = load_previous(args.out)
    for key in ONLY[args.only]:
        entry = run_tool(run, key, date)
        if entry["status"] == "skipped" and entries.get(key, {}).get("status") == "ok":
            say(f"keeping the last {key} entry ({entries[key].get('date')})")
            continue
        entries[key] = {**entry, "split_sha256": setup["split_sha256"]}
    results: dict[str, Any] = {
        "benchmark": "nycflights13 flights, one sequence per plane: synthdb side by side with "
        "mostlyai-engine, refereed by mostlyai-qa",
        "date": date,
        "command": "benchmarks/flights_sequences.py "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "setup": {
            **setup,
            "sequence_key": KEY,
            "order_by": ORDER_BY,
            "rival_seed": RIVAL_SEED,
            "referee_seed": REFEREE_SEED,
            "generate": "each tool's default count: one sequence per training plane",
        },
        "method": {
            "timing": "wall seconds of each step's process (start-up and imports included), "
            "benchmarks/measure.py; peak MiB: summed RSS of the process tree, polled every 0.1 s",
            "referee": "benchmarks/referee_sequences.py: mostlyai-qa report() with "
            f"tgt_context_key={KEY}, context tables of distinct {KEY}, seed {REFEREE_SEED}; "
            f"{ORDER_BY} parsed as a timestamp in every table",
            "bar": f"accuracy (overall) and coherence each within {BAR} of overall_max and "
            "coherence_max; synthdb's coherence >= the rival's with less training time",
        },
        "tools": {
            k: entries[k] for k in (*TOOLS, *sorted(set(entries) - set(TOOLS))) if k in entries
        },
    }
    results["comparison"] = comparison(results["tools"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    say(f"results written to {rel(args.out)}\n")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
