"""Side-by-side on UCI Adult: synthdb against its rivals, every output scored by the same referees.

Produces the figures of BENCHMARKS.md and DESIGN.md section 8 from scratch, so that every number
we quote can be rerun with one command::

    .venv/bin/python benchmarks/adult_side_by_side.py

Steps: (1) build the benchmark venvs the chosen tools need (benchmarks/setup_env.sh; skip with
``--skip-setup``): ``.bench-venv`` (mostlyai-engine, the referees, psutil), ``.bench-venv-sdv``
and ``.bench-venv-smartnoise``; a venv that fails to build turns its tools into ``skipped``
entries that carry the reason; (2) split Adult 80/20 with seed 42 (split_adult.py); (3) for each
tool, one at a time so they never share the cores: train, generate 39,074 rows (and 1,000,000
rows for synthdb and mostlyai without DP), each as its own process run under measure.py (wall
seconds and peak RSS of the process tree, measured the same way for every tool); a rival's
training step that passes ``--time-cap`` seconds is stopped and recorded as ``capped``;
(4) score each 39,074-row output with referee.py (mostlyai-qa, SDMetrics QualityReport, TSTR,
DCR share); (5) merge the figures into ``benchmarks/results/adult_single_table.json`` (tools not
run this time keep their last entry) and print a markdown table.

``--smoke`` runs the same code path in seconds (first rows of the bundled data/adult.csv.gz,
one epoch, no 1M-row step, results in the work folder): the test suite uses it with
``--venv-root`` pointing at an empty folder, so rivals are skipped with their reason and the
referee falls back to what the project's ``.venv`` has.

This driver runs with the project's own Python and needs only the standard library; the
rivals, the referees and psutil live in the benchmark venvs.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
DEFAULT_WORK = BENCH / "work"
RESULTS = BENCH / "results" / "adult_single_table.json"
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "adult.csv"
BUNDLED_SOURCE = REPO / "data" / "adult.csv.gz"
# synthdb is benchmarked from the environment this driver runs in (the project's .venv).
SYNTHDB_PY = Path(sys.executable)
SYNTHDB = SYNTHDB_PY.parent / "synthdb"
# Benchmark venvs by the name setup_env.sh builds them under (inside --venv-root).
VENVS = {"bench": ".bench-venv", "sdv": ".bench-venv-sdv", "smartnoise": ".bench-venv-smartnoise"}

ROWS = 39_074
ROWS_BIG = 1_000_000
SYNTHDB_SEED = 7
RIVAL_SEED = 42
REFEREE_SEED = 42
DP_DELTA = 1e-5
EPSILONS = (1, 4, 10)
STEP_TIMEOUT_S = 3 * 3600
# Each rival's training step is stopped after this long (override with --time-cap).
DEFAULT_TIME_CAP_S = 3600
# mostlyai-engine stops itself at the cap and keeps its best checkpoint; the kill comes later.
ENGINE_CAP_GRACE_S = 600
# SDV CTGAN's default of 300 epochs takes ~38 min on 2 cores (DESIGN.md section 8): cut to 30.
CTGAN_EPOCHS = 30
SMOKE_ROWS = 400
# Smoke runs keep a few columns of every kind (the referee's trivariate pass grows as n^3).
SMOKE_COLUMNS = "age,workclass,education,occupation,sex,hours_per_week,income"
# Average cores kept busy by other processes during a step above which its wall time is suspect.
BUSY_WARN_CORES = 0.25
# Priority of measured steps (see measure.py): keeps a busy neighbour from inflating wall times
# on a shared machine; a no-op on an idle one and where negative nice values are not allowed.
DEFAULT_NICE = -10


@dataclass(frozen=True)
class Tool:
    """One row of the side-by-side: which runner, in which venv, with which budget."""

    key: str
    venv: str  # "project" (synthdb's .venv) or a key of VENVS
    kind: str  # synthdb | mostlyai | sdv | smartnoise
    epsilon: float | None = None
    variant: str = ""  # SDV synthesizer or smartnoise synthesizer
    epochs: int | None = None  # a default epoch count cut for time (said in the settings)


def _tools() -> tuple[Tool, ...]:
    """Every tool the driver knows, in the order the results table lists them."""
    tools = [Tool("synthdb", "project", "synthdb"), Tool("mostlyai", "bench", "mostlyai")]
    tools += [Tool("sdv-gaussiancopula", "sdv", "sdv", variant="gaussiancopula")]
    tools += [Tool("sdv-tvae", "sdv", "sdv", variant="tvae")]
    tools += [Tool("sdv-ctgan", "sdv", "sdv", variant="ctgan", epochs=CTGAN_EPOCHS)]
    for eps in EPSILONS:
        tools.append(Tool(f"synthdb-dp{eps}", "project", "synthdb", epsilon=eps))
        tools.append(Tool(f"mostlyai-dp{eps}", "bench", "mostlyai", epsilon=eps))
        for synth in ("mst", "aim"):
            tools.append(
                Tool(f"smartnoise-{synth}-dp{eps}", "smartnoise", "smartnoise", eps, synth)
            )
    return tuple(tools)


TOOLS = _tools()
KNOWN_TOOLS = tuple(t.key for t in TOOLS)
TOOL_BY_KEY = {t.key: t for t in TOOLS}


@dataclass
class Run:
    """What every step of one driver run shares: the split, the venvs, the limits."""

    train: Path
    holdout: Path
    work: Path
    nice: int
    rows: int
    big_rows: int | None
    smoke: bool
    time_cap: float
    venv_root: Path
    measure_py: Path
    referee_py: Path
    setup_failures: dict[str, str] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def python(self, venv: str) -> Path:
        return SYNTHDB_PY if venv == "project" else self.venv_root / VENVS[venv] / "bin" / "python"


class StepFailed(RuntimeError):
    """A measured step exited non-zero; the message names the step and its log."""


class StepCapped(RuntimeError):
    """A measured step ran past its time cap and was stopped; the message says which."""


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


def measured(name: str, command: list[str], run: Run, timeout: float = STEP_TIMEOUT_S) -> dict:
    """Run ``command`` under measure.py; return wall seconds, peak MiB, CPU seconds and load.

    Wall figures are only as good as a quiet machine, so the CPU seconds of the step's process
    tree and the cores other processes kept busy meanwhile are kept beside them: a reader can
    discount a step that ran while something else used the cores. Past ``timeout`` seconds
    the step is killed and StepCapped says so.
    """
    run.logs.mkdir(parents=True, exist_ok=True)
    out_json, log = run.logs / f"{name}.measure.json", run.logs / f"{name}.log"
    out_json.unlink(missing_ok=True)
    load_before = round(os.getloadavg()[0], 2)
    say(f"{name}: {shlex.join(command)}")
    wrapper = [str(run.measure_py), str(BENCH / "measure.py"), "--json", str(out_json)]
    wrapper += ["--log", str(log), "--timeout", str(timeout), "--nice", str(run.nice), "--"]
    rc = subprocess.run([*wrapper, *command], check=False).returncode
    if not out_json.is_file():
        raise StepFailed(f"{name} failed (exit {rc}); log {rel(log)}:\n{_tail(log)}")
    m = json.loads(out_json.read_text())
    if m.get("timed_out"):
        raise StepCapped(f"{name} passed its time cap of {timeout:.0f} s and was stopped")
    if rc != 0:
        raise StepFailed(f"{name} failed (exit {rc}): {_last_line(log)} (log {rel(log)})")
    busy = m["other_busy_cores"]
    say(
        f"{name}: {m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MiB, "
        f"cpu {m['cpu_seconds']:.0f} s, other load {busy} cores"
    )
    if busy is not None and busy > BUSY_WARN_CORES:
        say(
            f"WARNING: other processes kept {busy:.2f} cores busy: {name}'s wall time is "
            "inflated; rerun on a quiet machine for figures to quote"
        )
    return {
        "seconds": m["wall_seconds"],
        "peak_mb": m["peak_rss_mb"],
        "cpu_seconds": m["cpu_seconds"],
        "other_busy_cores": busy,
        "load_before": load_before,
        "priority": m.get("priority", "default"),
    }


def _last_line(log: Path) -> str:
    """The last non-empty line of a step's log: usually the exception that ended it."""
    lines = [ln.strip() for ln in _tail(log).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("[measure]")]
    return lines[-1][:300] if lines else "no output"


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.is_file() else ""


def _conditions(**steps: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds and outside load of each measured step, by step name."""
    return {
        "cpu_seconds": {n: s["cpu_seconds"] for n, s in steps.items()},
        "other_busy_cores": {n: s["other_busy_cores"] for n, s in steps.items()},
        "load_before": {n: s["load_before"] for n, s in steps.items()},
        "priority": next(iter(steps.values()))["priority"],
    }


def _timings(trn: dict, gen: dict, big: dict | None, rows: int, big_rows: int) -> dict:
    """The figures every entry has: train/generate seconds and peaks, 1M-row speed if run."""
    out = {
        "train_seconds": trn["seconds"],
        "train_peak_mb": trn["peak_mb"],
        "generate_seconds": gen["seconds"],
        "generate_peak_mb": gen["peak_mb"],
        "generate_rows": rows,
        "generate_1m_seconds": big["seconds"] if big else None,
        "generate_1m_peak_mb": big["peak_mb"] if big else None,
        "generate_1m_rows": big_rows if big else None,
        "rows_per_second": round(big_rows / big["seconds"], 1) if big else None,
    }
    steps = {"train": trn, "generate": gen, **({"generate_1m": big} if big else {})}
    return {**out, **_conditions(**steps)}


# --------------------------------------------------------------------------------------------
# synthdb


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


def run_synthdb(run: Run, tool: Tool) -> dict[str, Any]:
    """synthdb through its CLI, exactly as a user would call it."""
    extra: tuple[str, ...] = ()
    if tool.epsilon is not None:
        extra = ("--epsilon", f"{tool.epsilon:g}", "--delta", f"{DP_DELTA:g}")
    if run.smoke:
        extra += ("--max-epochs", "1")
    model, synthetic = run.work / f"{tool.key}.synthdb", run.work / f"{tool.key}_synth.csv"
    cli = str(SYNTHDB)
    train_cmd = [cli, "train", str(run.train), "-o", str(model), "--nulls", "keep", *extra]
    trn = measured(f"{tool.key}_train", [*train_cmd, *QUIET], run)
    gen_args = ["--seed", str(SYNTHDB_SEED), *QUIET]

    def generate(name: str, out: Path, rows: int) -> dict[str, Any]:
        cmd = [cli, "generate", str(model), "-o", str(out), "--rows", str(rows), *gen_args]
        return measured(name, cmd, run)

    gen = generate(f"{tool.key}_generate", synthetic, run.rows)
    big = None
    if run.big_rows:
        big_csv = run.work / f"{tool.key}_1m.csv"
        big = generate(f"{tool.key}_generate_1m", big_csv, run.big_rows)
        big_rows = count_rows(big_csv)
        big_csv.unlink()
    return {
        "tool": "synthdb",
        "version": synthdb_version(),
        "settings": f"CLI defaults, --nulls keep {' '.join(extra)}".rstrip()
        + f", generate --seed {SYNTHDB_SEED}",
        **_timings(trn, gen, big, count_rows(synthetic), big_rows if big else 0),
        "model_file_bytes": model.stat().st_size if model.is_file() else None,
        "synthetic_csv": synthetic,
    }


# --------------------------------------------------------------------------------------------
# mostlyai-engine


def run_mostlyai(run: Run, tool: Tool) -> dict[str, Any]:
    """mostlyai-engine TabularARGN with default settings (DP when the tool has an epsilon)."""
    py, script = str(run.python("bench")), str(BENCH / "run_mostlyai.py")
    ws, synthetic = run.work / f"{tool.key}_ws", run.work / f"{tool.key}_synth.csv"
    seed = ["--seed", str(RIVAL_SEED)]
    j_train, j_gen, j_big = (run.work / f"{tool.key}_{s}.json" for s in ("train", "gen", "1m"))
    train_cmd = [py, script, "train", "--train", str(run.train), "--workspace", str(ws)]
    train_cmd += ["--json", str(j_train), *seed, "--max-training-minutes", f"{run.time_cap / 60:g}"]
    if tool.epsilon is not None:
        train_cmd += ["--dp-epsilon", f"{tool.epsilon:g}"]
    if run.smoke:
        train_cmd += ["--max-epochs", "1"]
    trn = measured(f"{tool.key}_train", train_cmd, run, run.time_cap + ENGINE_CAP_GRACE_S)
    gen_cmd = [py, script, "generate", "--workspace", str(ws), *seed]
    gen = measured(
        f"{tool.key}_generate",
        [*gen_cmd, "--rows", str(run.rows), "--output", str(synthetic), "--json", str(j_gen)],
        run,
    )
    big = None
    if run.big_rows and tool.epsilon is None:
        big_csv = str(run.work / f"{tool.key}_1m.csv")
        big_cmd = [*gen_cmd, "--rows", str(run.big_rows), "--output", big_csv, "--delete-output"]
        big = measured(f"{tool.key}_generate_1m", [*big_cmd, "--json", str(j_big)], run)
    inner = json.loads(j_train.read_text())
    shutil.rmtree(ws / "SyntheticData", ignore_errors=True)
    return {
        "tool": "mostlyai-engine TabularARGN",
        "version": inner.get("mostlyai_engine_version", "unknown"),
        "settings": _mostlyai_settings(tool, inner, run.time_cap),
        **_timings(trn, gen, big, json.loads(j_gen.read_text())["rows"], run.big_rows or 0),
        "in_process": {
            "what": "timed inside the process: excludes interpreter start-up and imports",
            "train_seconds": inner.get("train_seconds"),
            "fit_seconds": inner.get("fit_seconds"),
        },
        "epochs": inner.get("epochs"),
        "best_epoch": inner.get("best_epoch"),
        "seconds_per_epoch": inner.get("seconds_per_epoch"),
        "dp_epsilon_spent": inner.get("dp_epsilon_spent"),
        "differential_privacy": inner.get("differential_privacy"),
        "time_cap_hit": (inner.get("fit_seconds") or 0) >= 0.98 * run.time_cap,
        "encoding_types": inner.get("encoding_types"),
        "synthetic_csv": synthetic,
    }


def _mostlyai_settings(tool: Tool, inner: dict[str, Any], cap: float) -> str:
    epochs, best = inner.get("epochs"), inner.get("best_epoch")
    text = f"defaults (MOSTLY_AI/Medium), seed {RIVAL_SEED}"
    if tool.epsilon is not None:
        dp = inner.get("differential_privacy") or {}
        text += (
            f"; DP max_epsilon {tool.epsilon:g} (value ranges "
            f"{dp.get('value_protection_epsilon', 0):.2g} of it), noise "
            f"{dp.get('noise_multiplier')}, clip {dp.get('max_grad_norm')}, delta "
            f"{dp.get('delta')}; spent {inner.get('dp_epsilon_spent')}"
        )
    if epochs is not None:
        text += f"; stopped after {epochs:g} epochs"
        text += f" (best {best:g})" if best is not None else ""
    if (inner.get("fit_seconds") or 0) >= 0.98 * cap:
        text += f"; stopped by the {cap / 60:g}-minute time cap"
    return text


# --------------------------------------------------------------------------------------------
# SDV and smartnoise-synth: a train process that saves a model, a generate process that loads it


def _two_step(
    run: Run, tool: Tool, script: str, train_args: list[str]
) -> tuple[dict, dict, dict[str, Any], Path]:
    """Measure ``script train`` (capped) and ``script generate``; return both and the JSONs."""
    py, path = str(run.python(tool.venv)), str(BENCH / script)
    model, synthetic = run.work / f"{tool.key}.pkl", run.work / f"{tool.key}_synth.csv"
    j_train, j_gen = run.work / f"{tool.key}_train.json", run.work / f"{tool.key}_gen.json"
    common = ["--model", str(model), "--seed", str(RIVAL_SEED)]
    train_cmd = [py, path, "train", "--train", str(run.train), *common, "--json", str(j_train)]
    trn = measured(f"{tool.key}_train", [*train_cmd, *train_args], run, run.time_cap)
    gen_cmd = [py, path, "generate", *common, "--rows", str(run.rows), "--output", str(synthetic)]
    gen = measured(f"{tool.key}_generate", [*gen_cmd, "--json", str(j_gen)], run)
    inner = {"train": json.loads(j_train.read_text()), "generate": json.loads(j_gen.read_text())}
    return trn, gen, inner, synthetic


def run_sdv(run: Run, tool: Tool) -> dict[str, Any]:
    """One SDV synthesizer with its defaults, except an epoch count cut for time."""
    epochs = 1 if run.smoke and tool.variant != "gaussiancopula" else tool.epochs
    args = ["--synthesizer", tool.variant, *(["--epochs", str(epochs)] if epochs else [])]
    trn, gen, inner, synthetic = _two_step(run, tool, "run_sdv.py", args)
    t = inner["train"]
    settings = "defaults"
    if t.get("epochs") is not None:
        settings += f", {t['epochs']} epochs ({t['seconds_per_epoch']} s/epoch in-process)"
        if t["epochs"] != t.get("epochs_default"):
            settings += f"; default {t.get('epochs_default')} cut for time"
    return {
        "tool": f"SDV {t.get('synthesizer', tool.variant)}",
        "version": t.get("sdv_version", "unknown"),
        "settings": settings + f", seed {RIVAL_SEED}",
        **_timings(trn, gen, None, inner["generate"]["rows"], 0),
        "epochs": t.get("epochs"),
        "epochs_default": t.get("epochs_default"),
        "seconds_per_epoch": t.get("seconds_per_epoch"),
        "in_process": {"fit_seconds": t.get("fit_seconds")},
        "sdtypes": t.get("sdtypes"),
        "synthetic_csv": synthetic,
    }


def run_smartnoise(run: Run, tool: Tool) -> dict[str, Any]:
    """smartnoise-synth MST or AIM at the tool's epsilon (delta 1e-5)."""
    args = ["--synth", tool.variant, "--epsilon", f"{tool.epsilon:g}", "--delta", f"{DP_DELTA:g}"]
    trn, gen, inner, synthetic = _two_step(run, tool, "run_smartnoise.py", args)
    t = inner["train"]
    return {
        "tool": f"smartnoise-synth {tool.variant.upper()}",
        "version": t.get("smartnoise_synth_version", "unknown"),
        "settings": (
            f"defaults, delta {DP_DELTA:g}; numeric columns in smartnoise's 10 bins, bounds "
            f"with epsilon {t.get('preprocessor_eps', 0):.2g} of the total; nullable"
        ),
        **_timings(trn, gen, None, inner["generate"]["rows"], 0),
        "in_process": {"fit_seconds": t.get("fit_seconds")},
        "synthetic_csv": synthetic,
    }


RUNNERS = {"synthdb": run_synthdb, "mostlyai": run_mostlyai, "sdv": run_sdv}
RUNNERS["smartnoise"] = run_smartnoise


# --------------------------------------------------------------------------------------------
# referees


def referee(run: Run, tool: str, synthetic: Path) -> dict[str, Any]:
    """Score one tool's output: mostlyai-qa, SDMetrics, TSTR, DCR share (referee.py)."""
    out = run.work / f"{tool}_referee.json"
    command = [str(run.referee_py), str(BENCH / "referee.py"), "--train", str(run.train)]
    command += ["--holdout", str(run.holdout), "--synthetic", str(synthetic), "--out", str(out)]
    command += ["--seed", str(REFEREE_SEED), "--no-holdout-ceiling"]
    command += ["--report", str(run.work / f"{tool}_qa_report.html")]
    say(f"referee: scoring {rel(synthetic)}")
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def real_reference(run: Run) -> dict[str, Any]:
    """Holdout-vs-train accuracy, SDMetrics and TSTR on real data: the same for every tool.

    It depends on the split and the referee alone, so it is cached under a key made of both
    files' hashes, the referee's seed and its Python, and recomputed only when one changes.
    """
    out = run.work / "real_reference.json"
    key = f"{sha256(run.train)}:{sha256(run.holdout)}:{REFEREE_SEED}:{run.referee_py}:2"
    key_file = out.with_suffix(".key")
    if out.is_file() and key_file.is_file() and key_file.read_text() == key:
        say(f"referee: real-data reference unchanged, reusing {rel(out)}")
        return json.loads(out.read_text())
    command = [str(run.referee_py), str(BENCH / "referee.py"), "--train", str(run.train)]
    command += ["--holdout", str(run.holdout), "--ceiling-only", "--out", str(out)]
    say("referee: real-data reference (holdout vs train, TSTR on real train)")
    subprocess.run([*command, "--seed", str(REFEREE_SEED)], check=True)
    key_file.write_text(key)
    return json.loads(out.read_text())


# --------------------------------------------------------------------------------------------
# venvs


def setup_venvs(groups: list[str], venv_root: Path, logs: Path) -> dict[str, str]:
    """Build the venvs ``groups`` with setup_env.sh; return why each failed one failed."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BENCH_VENV_ROOT": str(venv_root)}
    failures: dict[str, str] = {}
    for group in groups:
        log = logs / f"setup_{group}.log"
        say(f"setting up {VENVS[group]} (benchmarks/setup_env.sh {group}; log {rel(log)})")
        with log.open("w") as fh:
            cmd = ["bash", str(BENCH / "setup_env.sh"), group]
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode
        if rc != 0:
            failures[group] = _setup_reason(log, group)
            say(f"{VENVS[group]} could not be built: {failures[group]}")
    return failures


def _setup_reason(log: Path, group: str) -> str:
    """The most telling line of a failed setup log (pip's ERROR line when there is one)."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR") or "Error" in ln]
    last = (errors or lines or ["no output"])[-1]
    return f"setup_env.sh {group} failed: {last[:300]} (full log: {rel(log)})"


def unavailable(run: Run, tool: Tool) -> str | None:
    """None when the tool can run; otherwise why not, in words for the results file."""
    if tool.kind == "synthdb":
        return synthdb_available()
    if tool.venv in run.setup_failures:
        return run.setup_failures[tool.venv]
    py = run.python(tool.venv)
    if not py.exists():
        name = VENVS[tool.venv]
        return f"{name} is missing (run `bash benchmarks/setup_env.sh {tool.venv}`)"
    return None


# --------------------------------------------------------------------------------------------
# the table


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


TABLE_HEAD = (
    "| tool | settings | epsilon | train s | generate s | peak MiB | accuracy "
    "| uni / biv / tri | SDMetrics quality | TSTR AUC | DCR share | 1M rows/s |\n"
    "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n"
)


def _row(entry: dict[str, Any]) -> str:
    known = TOOL_BY_KEY.get(entry.get("key", ""))
    eps = entry.get("epsilon", known.epsilon if known else None)  # older entries lack it
    eps_text = "-" if eps is None else f"{eps:g}"
    if entry.get("status") != "ok":
        return (
            f"| {entry['key']} | {entry.get('status')}: {entry.get('reason', '')} "
            f"| {eps_text} |{' |' * 9}"
        )
    ref = entry["referee"]
    acc, tstr = ref["accuracy"], ref["tstr"]
    quality = ref.get("sdmetrics", {}).get("score")
    return (
        f"| {entry['tool']} {entry['version']} | {entry['settings']} | {eps_text} "
        f"| {_fmt(entry['train_seconds'], '.0f')} | {_fmt(entry['generate_seconds'], '.1f')} "
        f"| {_fmt(entry['train_peak_mb'], '.0f')} | **{_fmt(acc['overall'], '.3f')}** "
        f"| {_fmt(acc['univariate'], '.3f')} / {_fmt(acc['bivariate'], '.3f')} / "
        f"{_fmt(acc['trivariate'], '.3f')} | {_fmt(quality, '.3f')} "
        f"| {_fmt(tstr['auc_synthetic'], '.3f')} "
        f"| {_fmt(ref['distances'].get('dcr_share'), '.3f')} "
        f"| {_fmt(entry.get('rows_per_second'), ',.0f')} |"
    )


def markdown_table(results: dict[str, Any]) -> str:
    """The table BENCHMARKS.md quotes, from the merged results."""
    rows = "\n".join(_row(e) for e in results["tools"])
    ref = results.get("real_reference", {})
    hvt = ref.get("holdout_vs_train", {})
    sdm = ref.get("sdmetrics_holdout_vs_train", {})
    foot = (
        f"\nReferees {ref.get('referee', 'mostlyai-qa')} and SDMetrics QualityReport; "
        f"mostlyai-qa's sampling-noise ceiling (accuracy_max) on this split is "
        f"{_fmt(_first_max(results), '.3f')}; the real holdout scored as synthetic gets "
        f"{_fmt(hvt.get('overall'), '.3f')} (SDMetrics {_fmt(sdm.get('score'), '.3f')}); TSTR "
        f"AUC trained on real data {_fmt(ref.get('tstr_auc_real'), '.3f')}. Times are process "
        "wall seconds (start-up and imports included); peak MiB is the training process "
        "tree's peak RSS."
    )
    busy = [
        f"{e['key']} {step} ({cores:.2f} cores)"
        for e in results["tools"]
        if e.get("status") == "ok"
        for step, cores in e.get("other_busy_cores", {}).items()
        if cores is not None and cores > BUSY_WARN_CORES
    ]
    if busy:
        foot += (
            "\n\nCaution: other processes were busy during " + ", ".join(busy) + "; those "
            "wall times are inflated (see cpu_seconds in the JSON)."
        )
    return TABLE_HEAD + rows + "\n" + foot


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


# --------------------------------------------------------------------------------------------
# main


def select_tools(spec: str) -> list[Tool] | None:
    """Tools named in ``spec``: keys, ``all``, or a prefix such as ``sdv`` or ``synthdb-dp``."""
    chosen: list[str] = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        if name == "all":
            matches = list(KNOWN_TOOLS)
        elif name in KNOWN_TOOLS:
            matches = [name]
        else:
            matches = [
                k
                for k in KNOWN_TOOLS
                if k.startswith(name + "-") or (k.startswith(name) and k[len(name) :].isdigit())
            ]
        if not matches:
            return None
        chosen += [m for m in matches if m not in chosen]
    return [t for t in TOOLS if t.key in chosen] or None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tools",
        default="all",
        help="comma-separated tool keys, 'all', or a prefix (sdv, smartnoise, mostlyai-dp, "
        "synthdb-dp, smartnoise-aim); known: " + ",".join(KNOWN_TOOLS),
    )
    parser.add_argument("--skip-setup", action="store_true", help="do not run setup_env.sh")
    parser.add_argument("--source", type=Path, help="adult.csv (default: ../shared/datasets)")
    parser.add_argument("--out", type=Path, help="results JSON (default: results/...)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="splits, outputs")
    parser.add_argument(
        "--venv-root", type=Path, default=REPO, help="folder holding the benchmark venvs"
    )
    parser.add_argument(
        "--time-cap",
        type=float,
        default=DEFAULT_TIME_CAP_S,
        help="seconds after which a rival's training step is stopped and recorded as capped",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=DEFAULT_NICE,
        help="priority of measured steps (0: leave as is; negative values need root)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"seconds-long check of the code path: first {SMOKE_ROWS} rows and 7 columns of "
        "the bundled Adult, 1 epoch, no 1M-row step; results in the work folder",
    )
    parser.add_argument("--smoke-rows", type=int, default=SMOKE_ROWS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.selected = select_tools(args.tools)
    if args.selected is None:
        parser.error(f"--tools takes 'all', prefixes or a subset of {','.join(KNOWN_TOOLS)}")
    if args.source is None:
        args.source = BUNDLED_SOURCE if args.smoke else DEFAULT_SOURCE
    if args.out is None:
        args.out = args.work_dir / "adult_smoke.json" if args.smoke else RESULTS
    if not args.source.is_file():
        parser.error(f"dataset not found: {args.source}")
    return args


def make_run(args: argparse.Namespace) -> Run | None:
    """The shared context; None when the referee's venv is missing outside smoke mode."""
    bench_py = args.venv_root / VENVS["bench"] / "bin" / "python"
    helper = bench_py if bench_py.exists() else Path(sys.executable)
    if not bench_py.exists() and not args.smoke:
        say(f"{rel(bench_py)} is missing: run `bash benchmarks/setup_env.sh bench` first")
        return None
    work = args.work_dir
    return Run(
        train=work / "adult_train.csv",
        holdout=work / "adult_holdout.csv",
        work=work,
        nice=0 if args.smoke else args.nice,
        rows=ROWS,
        big_rows=None if args.smoke else ROWS_BIG,
        smoke=args.smoke,
        time_cap=args.time_cap,
        venv_root=args.venv_root,
        measure_py=helper,
        referee_py=helper,
    )


def split(args: argparse.Namespace, run: Run) -> None:
    """Write the train/holdout pair; in smoke mode every tool generates as many rows as train."""
    cmd = [sys.executable, str(BENCH / "split_adult.py"), "--source", str(args.source)]
    cmd += ["--work-dir", str(run.work)]
    if args.smoke:
        cmd += ["--limit", str(args.smoke_rows), "--columns", SMOKE_COLUMNS]
    subprocess.run(cmd, check=True)
    if args.smoke:
        run.rows = count_rows(run.train)


def run_tool(run: Run, tool: Tool, date: str) -> dict[str, Any]:
    """One tool end to end, as a results entry: ok (scored), skipped, capped or failed."""
    base = {"key": tool.key, "epsilon": tool.epsilon, "date": date}
    why = unavailable(run, tool)
    if why is not None:
        say(f"skipping {tool.key}: {why}")
        return {**base, "tool": tool.key, "status": "skipped", "reason": why}
    say(f"=== {tool.key} ===")
    try:
        entry = RUNNERS[tool.kind](run, tool)
    except StepCapped as err:
        say(str(err))
        capped = {"status": "capped", "reason": str(err), "time_cap_s": run.time_cap}
        return {**base, "tool": tool.key, **capped}
    except StepFailed as err:
        say(str(err))
        return {**base, "tool": tool.key, "status": "failed", "reason": str(err).splitlines()[0]}
    synthetic = entry.pop("synthetic_csv")
    entry["referee"] = referee(run, tool.key, synthetic)
    return {**base, "status": "ok", **entry, "key": tool.key}


def results_document(args: argparse.Namespace, run: Run, entries: dict, date: str) -> dict:
    source = rel(args.source) if args.source != DEFAULT_SOURCE else "shared/datasets/adult.csv"
    return {
        "benchmark": "Adult, single table: synthdb side by side with its rivals",
        "date": date,
        "machine": machine(),
        "command": "benchmarks/adult_side_by_side.py " + shlex.join(sys.argv[1:]),
        "dataset": {
            "source": source,
            "sha256": sha256(args.source),
            "split": "df.sample(frac=1, random_state=42); first 80% train, rest holdout",
            "limit": args.smoke_rows if args.smoke else None,
            "columns": SMOKE_COLUMNS.split(",") if args.smoke else "all",
            "train_rows": count_rows(run.train),
            "holdout_rows": count_rows(run.holdout),
        },
        "method": {
            "generate_rows": run.rows,
            "generate_big_rows": run.big_rows,
            "timing": "wall seconds of each step's process (start-up and imports included), "
            "benchmarks/measure.py; rows_per_second = 1M rows / that step's wall seconds",
            "memory": "peak of summed RSS over the process tree, polled every 0.1 s (MiB)",
            "conditions": "cpu_seconds: user+system seconds of the step's process tree; "
            "other_busy_cores: average cores other processes kept busy during the step "
            f"(above {BUSY_WARN_CORES} the wall time is inflated)",
            "time_cap_seconds": run.time_cap,
            "differential_privacy": f"total epsilon per tool as labelled, delta {DP_DELTA:g}",
            "referee": "benchmarks/referee.py: mostlyai-qa report() with seed 42, SDMetrics "
            "QualityReport, TSTR (HistGradientBoosting), DCR share",
        },
        "real_reference": real_reference(run),
        "tools": [entries[k] for k in _ordered(entries)],
    }


def _ordered(entries: dict[str, Any]) -> list[str]:
    """Known tools in table order, then any older keys this driver no longer runs."""
    return [k for k in (*KNOWN_TOOLS, *sorted(set(entries) - set(KNOWN_TOOLS))) if k in entries]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    failures: dict[str, str] = {}
    if not args.skip_setup:
        rivals = [t.venv for t in args.selected if t.venv != "project"]
        groups = list(dict.fromkeys(["bench", *rivals]))
        failures = setup_venvs(groups, args.venv_root, args.work_dir / "logs")
    run = make_run(args)
    if run is None:
        return 2
    run.setup_failures = failures
    split(args, run)
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entries = load_previous(args.out)
    for tool in args.selected:
        entries[tool.key] = run_tool(run, tool, date)
    results = results_document(args, run, entries, date)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    say(f"results written to {rel(args.out)}\n")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
