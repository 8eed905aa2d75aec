"""Empirical privacy audit: how much does the generated data reveal about single rows?

Canary rows are mixed into a fixed subsample of the Adult train split, each one included
independently with probability 1/2. synthdb trains on the result (at epsilon 1, at epsilon 8,
and without DP), generates rows, and a membership-inference attack that sees only the
generated rows guesses which canaries were in. The number of correct guesses, pooled over
independent seeded runs, gives a lower bound on epsilon at 95% confidence (Steinke, Nasr and
Jagielski, "Privacy Auditing with One (1) Training Run", NeurIPS 2023; the statistics are in
``benchmarks/audit_stats.py``). A DP setting whose bound exceeded its claimed epsilon would
be broken; without DP the bound shows the leak that DP removes.

Canaries: a real row from the train split outside the subsample, whose key columns are
redrawn independently and uniformly: age 20-60, education_num 8-16, hours_per_week among the
observed values 32-64, sex, marital_status (Married-civ-spouse or Never-married) and income.
Every one of those values is common, and each lies inside what the DP encoders keep at
epsilon 1 on 3,000 rows, so no canary is hidden by a vocabulary threshold or a clamped
range alone; the *combination* is redrawn until no row of the subsample and no other canary
of the run has it. The attack scores a canary by the number of generated rows that equal it
on the key columns (then by the number that miss it on one column only), after mapping a
canary value that the model cannot produce onto what the model produces instead (``_RARE_``),
so DP preprocessing earns no credit for hiding a value.

All settings use one network, larger than the default (hidden 256, no dropout, learning rate
0.01, 20 epochs, patience 20) so that a model allowed to memorise rows does so; with
the default small network and early stopping the no-DP leak is much weaker. 3,000 rows keep
each training short and make one row's share large; epsilon 1 needs at least about 2,300.

    .venv/bin/python benchmarks/privacy_audit.py [--runs 14] [--workers 2]
        [--settings 1 8 none] [--rows 3000] [--canaries 200] [--samples 500000]

Writes ``benchmarks/results/privacy_audit.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audit_stats
import split_adult

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TRAIN = split_adult.DEFAULT_WORK_DIR / split_adult.TRAIN_NAME
DEFAULT_JSON = REPO / "benchmarks" / "results" / "privacy_audit.json"
DEFAULT_SUBJECTS_JSON = REPO / "benchmarks" / "results" / "privacy_audit_subjects.json"

#: Columns the attack matches on; the canary's other columns are its donor row's.
KEYS = ("age", "education_num", "hours_per_week", "sex", "marital_status", "income")
NUMERIC_KEYS = ("age", "education_num", "hours_per_week")
MARITAL = ("Married-civ-spouse", "Never-married")
RARE = "_RARE_"
#: The guesses per run, fixed before any result is seen, as fractions of the canaries:
#: (k_in, k_out). Each is tested at beta / 5 (Bonferroni) and the best is reported.
CHOICES = ((0.05, 0.0), (0.1, 0.0), (0.25, 0.0), (0.25, 0.25), (0.5, 0.5))
BETA = 0.05
#: delta at which the no-DP runs are audited (the DP runs' default delta on 3,000 rows).
NO_DP_DELTA = 1e-5
MODEL = {"hidden": 256, "dropout": 0.0, "max_epochs": 20, "patience": 20, "learning_rate": 0.01}


@dataclass(frozen=True)
class Job:
    setting: str  # "1", "8", ... or "none"
    run: int
    seed: int
    train_csv: str
    rows: int
    canaries: int
    samples: int
    model: dict[str, Any]


def read_train(path: Path, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the fixed subsample the models learn, the other rows that lend canaries their
    non-key columns); rows with a NULL are left out of both."""
    frame = split_adult.read_csv(path).dropna().reset_index(drop=True)
    if len(frame) < rows + 100:
        raise SystemExit(f"{path} has {len(frame)} complete rows; --rows {rows} needs more")
    shuffled = frame.sample(frac=1, random_state=split_adult.SEED).reset_index(drop=True)
    return shuffled.iloc[:rows].reset_index(drop=True), shuffled.iloc[rows:].reset_index(drop=True)


def _keys(frame: pd.DataFrame) -> pd.Series:
    return frame[list(KEYS)].astype(str).agg("|".join, axis=1)


def draw_canaries(
    base: pd.DataFrame, donors: pd.DataFrame, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``count`` canaries with key combinations found neither in ``base`` nor twice."""
    hours = np.sort(base["hours_per_week"].unique())
    hours = hours[(hours >= 32) & (hours <= 64)]
    seen = set(_keys(base))
    kept: list[pd.DataFrame] = []
    while sum(len(k) for k in kept) < count:
        n = count - sum(len(k) for k in kept)
        draw = donors.iloc[rng.choice(len(donors), n, replace=False)].copy()
        draw["age"] = rng.integers(20, 61, n)
        draw["education_num"] = rng.integers(8, 17, n)
        draw["hours_per_week"] = rng.choice(hours, n)
        draw["sex"] = rng.choice(["Male", "Female"], n)
        draw["marital_status"] = rng.choice(MARITAL, n)
        draw["income"] = rng.choice(["<=50K", ">50K"], n)
        keys = _keys(draw)
        fresh = ~keys.isin(seen) & ~keys.duplicated()
        seen.update(keys[fresh])
        kept.append(draw[fresh.to_numpy()])
    return pd.concat(kept, ignore_index=True)


def _canonical(values: pd.Series, numeric: bool) -> pd.Series:
    if numeric:
        return pd.to_numeric(values, errors="coerce").round().astype("Int64").astype(str)
    return values.astype(str)


def score_canaries(
    synthetic: pd.DataFrame,
    canaries: pd.DataFrame,
    keys: Sequence[str] = KEYS,
    numeric_keys: Sequence[str] = NUMERIC_KEYS,
) -> tuple[np.ndarray, float]:
    """(per canary: generated rows equal on every key column, plus a fraction < 1 that grows
    with the rows that miss on exactly one; share of canary key values the model produces).

    A canary value that never occurs in the generated column is replaced by ``_RARE_`` when
    the model produces that placeholder, so the count is taken in the model's own vocabulary.
    """
    total = len(synthetic)
    gen_cols, can_cols, produced = [], [], []
    for column in keys:
        numeric = column in numeric_keys
        gen = _canonical(synthetic[column], numeric)
        can = _canonical(canaries[column], numeric)
        vocabulary = set(gen.unique())
        present = can.isin(vocabulary)
        produced.append(present.to_numpy())
        if RARE in vocabulary:
            can = can.where(present, RARE)
        gen_cols.append(gen.to_numpy())
        can_cols.append(can.to_numpy())
    codes_gen = np.empty((total, len(keys)), dtype=np.int64)
    codes_can = np.empty((len(canaries), len(keys)), dtype=np.int64)
    for j, (gen, can) in enumerate(zip(gen_cols, can_cols, strict=True)):
        index = pd.Index(pd.unique(np.concatenate([gen, can])))
        codes_gen[:, j] = index.get_indexer(gen)
        codes_can[:, j] = index.get_indexer(can)

    def counts(columns: list[int]) -> np.ndarray:
        radix = int(max(codes_gen.max(initial=0), codes_can.max(initial=0))) + 1
        hashed_gen = np.zeros(total, dtype=np.int64)
        hashed_can = np.zeros(len(canaries), dtype=np.int64)
        for j in columns:
            hashed_gen = hashed_gen * radix + codes_gen[:, j]
            hashed_can = hashed_can * radix + codes_can[:, j]
        unique, count = np.unique(hashed_gen, return_counts=True)
        where = np.clip(np.searchsorted(unique, hashed_can), 0, max(len(unique) - 1, 0))
        hit = unique[where] == hashed_can if len(unique) else np.zeros(len(canaries), bool)
        return np.where(hit, count[where] if len(unique) else 0, 0)

    every = list(range(len(keys)))
    exact = counts(every)
    near = sum(counts([c for c in every if c != j]) for j in every) - len(keys) * exact
    scores = exact + near / (len(keys) * total + 1.0)
    return scores.astype(np.float64), float(np.mean(produced))


def run_job(job: Job) -> dict[str, Any]:
    """Draw canaries, train one model on the subsample plus the included ones, score them."""
    import torch

    from synthdb import Synthesizer, TrainingConfig
    from synthdb.config import Privacy

    torch.set_num_threads(1)
    started, cpu = time.perf_counter(), time.process_time()
    base, donors = read_train(Path(job.train_csv), job.rows)
    rng = np.random.default_rng([job.seed, job.run])
    canaries = draw_canaries(base, donors, job.canaries, rng)
    included = rng.random(len(canaries)) < 0.5
    data = pd.concat([base, canaries[included]], ignore_index=True)
    data = data.sample(frac=1, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    train_seed = int(rng.integers(2**31))
    privacy = None
    if job.setting != "none":
        privacy = Privacy(epsilon=float(job.setting), noise_seed=int(rng.integers(2**62)))
    config = TrainingConfig(privacy=privacy, seed=train_seed, **job.model)
    model = Synthesizer(config).fit(data)
    synthetic = model.sample(job.samples, seed=int(rng.integers(2**31)))
    scores, produced = score_canaries(synthetic, canaries)
    ledger = model.ledger
    exact = np.floor(scores)
    return {
        "setting": job.setting,
        "run": job.run,
        "scores": [round(float(x), 6) for x in scores],
        "included": included.astype(int).tolist(),
        "ledger_epsilon": None if ledger is None else ledger.total_epsilon,
        "delta": NO_DP_DELTA if ledger is None else ledger.delta,
        "epochs": len(model.training.epochs),
        "best_epoch": model.training.best_epoch,
        "canary_values_produced": round(produced, 4),
        "mean_matches_in": round(float(exact[included].mean()), 3),
        "mean_matches_out": round(float(exact[~included].mean()), 3),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


#: The subject audit's invoice columns the attack matches on, and the values they take.
INVOICE_KEYS = ("product", "channel", "amount", "weekday")
PRODUCTS = tuple(f"P{i}" for i in range(10))
CHANNELS = ("web", "shop", "phone", "app")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Invoices of each canary customer, all alike: the most a subject may bring (the bound K).
CANARY_INVOICES = 4


def _shop(customers: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A customer table and 1-4 invoices each, with some structure for a model to learn:
    a segment favours products, a region favours channels, a product sets the amount."""
    region = rng.integers(0, 5, customers)
    segment = rng.integers(0, 3, customers)
    people = pd.DataFrame(
        {
            "customer_id": np.arange(customers),
            "region": [f"R{r}" for r in region],
            "segment": np.array(["retail", "pro", "student"])[segment],
        }
    )
    per = rng.choice([1, 2, 3, 4], customers, p=[0.4, 0.3, 0.2, 0.1])
    owner = np.repeat(np.arange(customers), per)
    n = len(owner)
    product = (segment[owner] * 3 + rng.integers(0, 5, n)) % len(PRODUCTS)
    channel = np.where(rng.random(n) < 0.6, region[owner] % 4, rng.integers(0, 4, n))
    amount = np.clip(product * 5 + rng.integers(1, 11, n), 1, 50)
    invoices = pd.DataFrame(
        {
            "invoice_id": np.arange(n),
            "customer_id": owner,
            "product": np.array(PRODUCTS)[product],
            "channel": np.array(CHANNELS)[channel],
            "amount": amount,
            "weekday": np.array(WEEKDAYS)[rng.integers(0, 7, n)],
        }
    )
    return people, invoices


def _combos(frame: pd.DataFrame) -> pd.Series:
    return frame[list(INVOICE_KEYS)].astype(str).agg("|".join, axis=1)


def draw_canary_subjects(
    invoices: pd.DataFrame, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``count`` canary customers' invoices: each customer's :data:`CANARY_INVOICES` invoices
    share one combination of common values that no base invoice and no other canary has."""
    seen = set(_combos(invoices))
    rows: list[dict[str, Any]] = []
    while len(rows) < count * CANARY_INVOICES:
        combo = {
            "product": str(rng.choice(PRODUCTS)),
            "channel": str(rng.choice(CHANNELS)),
            "amount": int(rng.integers(1, 51)),
            "weekday": str(rng.choice(WEEKDAYS)),
        }
        key = "|".join(str(combo[k]) for k in INVOICE_KEYS)
        if key in seen:
            continue
        seen.add(key)
        canary = len(rows) // CANARY_INVOICES
        rows.extend({"canary": canary, **combo} for _ in range(CANARY_INVOICES))
    return pd.DataFrame(rows)


def run_subject_job(job: Job) -> dict[str, Any]:
    """One database run: a shop of ``job.rows`` customers plus the included canary customers
    (each with :data:`CANARY_INVOICES` alike invoices), a database model trained with the
    customer as the subject, a twin ``SUBJECT_SCALE`` times as large, each canary scored by
    the twin's invoices equal to its combination."""
    import torch

    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel
    from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef

    torch.set_num_threads(1)
    started, cpu = time.perf_counter(), time.process_time()
    rng = np.random.default_rng([job.seed, job.run, 1])
    people, invoices = _shop(job.rows, rng)
    canaries = draw_canary_subjects(invoices, job.canaries, rng)
    included = rng.random(job.canaries) < 0.5
    ids = np.arange(job.rows, job.rows + job.canaries)
    extra_people = pd.DataFrame(
        {
            "customer_id": ids[included],
            "region": rng.choice([f"R{r}" for r in range(5)], int(included.sum())),
            "segment": rng.choice(["retail", "pro", "student"], int(included.sum())),
        }
    )
    extra = canaries[included[canaries["canary"].to_numpy()]].copy()
    extra["customer_id"] = ids[extra.pop("canary").to_numpy()]
    extra["invoice_id"] = np.arange(len(invoices), len(invoices) + len(extra))
    frames = {
        "customer": pd.concat([people, extra_people], ignore_index=True),
        "invoice": pd.concat([invoices, extra[invoices.columns]], ignore_index=True),
    }
    schema = DatabaseSchema.build(
        [
            TableDef(
                "customer",
                [ColumnDef(c) for c in frames["customer"].columns],
                primary_key=("customer_id",),
            ),
            TableDef(
                "invoice",
                [ColumnDef(c) for c in frames["invoice"].columns],
                primary_key=("invoice_id",),
                foreign_keys=[ForeignKey(("customer_id",), "customer")],
            ),
        ]
    )
    privacy = None
    if job.setting != "none":
        privacy = {
            "epsilon": float(job.setting),
            "delta": NO_DP_DELTA,
            "subject": "customer",
            "max_rows_per_subject": CANARY_INVOICES,
            "noise_seed": int(rng.integers(2**62)),
        }
    config = TrainingConfig(privacy=privacy, seed=int(rng.integers(2**31)), **job.model)
    model = DatabaseModel(config).fit(schema, frames)
    twin = model.generate(scale=job.samples / job.rows, seed=int(rng.integers(2**31)))
    one_each = canaries.groupby("canary").first().reset_index(drop=True)
    scores, produced = score_canaries(twin["invoice"], one_each, INVOICE_KEYS, ("amount",))
    exact = np.floor(scores)
    return {
        "setting": job.setting,
        "run": job.run,
        "scores": [round(float(x), 6) for x in scores],
        "included": included.astype(int).tolist(),
        "ledger_epsilon": None if model.ledger is None else model.ledger.total_epsilon,
        "delta": NO_DP_DELTA,
        "canary_values_produced": round(produced, 4),
        "mean_matches_in": round(float(exact[included].mean()), 3),
        "mean_matches_out": round(float(exact[~included].mean()), 3),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def choices_for(canaries: int) -> list[tuple[int, int]]:
    picks = [(round(a * canaries), round(b * canaries)) for a, b in CHOICES]
    return sorted({(max(k_in, 1), k_out) for k_in, k_out in picks})


def summarise(setting: str, runs: list[dict[str, Any]], canaries: int) -> dict[str, Any]:
    """One row of the table: the pooled bound and what it rests on."""
    delta = max(r["delta"] for r in runs)
    pooled = [(np.asarray(r["scores"]), np.asarray(r["included"], bool)) for r in runs]
    bound = audit_bound_for(pooled, canaries, delta)
    ledgers = [r["ledger_epsilon"] for r in runs if r["ledger_epsilon"] is not None]
    return {
        "setting": setting,
        "claimed_epsilon": None if setting == "none" else float(setting),
        "ledger_epsilon_max": max(ledgers) if ledgers else None,
        "empirical_epsilon_lower_bound": round(bound.epsilon_lower_bound, 3),
        "runs": len(runs),
        "canaries": bound.canaries,
        "guesses": bound.guesses,
        "correct": bound.correct,
        "k_in_per_run": bound.k_in,
        "k_out_per_run": bound.k_out,
        "choices_tested": bound.choices,
        "delta": delta,
        "confidence": bound.confidence,
        "canary_values_produced": round(
            float(np.mean([r["canary_values_produced"] for r in runs])), 4
        ),
        "mean_matches_in": round(float(np.mean([r["mean_matches_in"] for r in runs])), 3),
        "mean_matches_out": round(float(np.mean([r["mean_matches_out"] for r in runs])), 3),
        "cpu_s": round(sum(r["cpu_s"] for r in runs), 1),
    }


def audit_bound_for(
    pooled: list[tuple[np.ndarray, np.ndarray]], canaries: int, delta: float
) -> audit_stats.AuditBound:
    return audit_stats.audit_bound(pooled, choices_for(canaries), delta, BETA)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| claimed epsilon | empirical lower bound | runs | canaries | guesses | correct "
        "| confidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        claimed = "no DP" if row["claimed_epsilon"] is None else f"{row['claimed_epsilon']:g}"
        lines.append(
            f"| {claimed} | {row['empirical_epsilon_lower_bound']:.2f} | {row['runs']} "
            f"| {row['canaries']} | {row['guesses']} | {row['correct']} "
            f"| {row['confidence']:.0%} |"
        )
    return "\n".join(lines)


def ensure_train(path: Path) -> Path:
    if path.is_file():
        return path
    if path == DEFAULT_TRAIN and split_adult.DEFAULT_SOURCE.is_file():
        train, _ = split_adult.write_split(split_adult.DEFAULT_SOURCE, split_adult.DEFAULT_WORK_DIR)
        return train
    raise SystemExit(f"train split not found: {path} (run benchmarks/split_adult.py)")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="train split CSV")
    parser.add_argument("--settings", nargs="+", default=["1", "8", "none"])
    parser.add_argument("--runs", type=int, default=14, help="independent runs per setting")
    parser.add_argument("--rows", type=int, default=3000, help="rows of the fixed subsample")
    parser.add_argument("--canaries", type=int, default=200, help="canaries per run")
    parser.add_argument("--samples", type=int, default=500_000, help="rows generated per run")
    parser.add_argument("--epochs", type=int, default=MODEL["max_epochs"])
    parser.add_argument("--workers", type=int, default=2, help="trainings at once")
    parser.add_argument("--seed", type=int, default=7031)
    parser.add_argument("--json", type=Path, default=None, help=f"default {DEFAULT_JSON.name}")
    parser.add_argument(
        "--subjects",
        action="store_true",
        help="audit a database instead: canary customers with alike invoices, the customer "
        "the privacy subject (--rows customers, --samples customers in the twin)",
    )
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = DEFAULT_SUBJECTS_JSON if args.subjects else DEFAULT_JSON
    for setting in args.settings:
        if setting != "none" and not float(setting) > 0:
            parser.error(f"--settings: a positive epsilon or none (got {setting})")
    train = args.train if args.subjects else ensure_train(args.train)
    model = {**MODEL, "max_epochs": args.epochs, "patience": args.epochs}
    jobs = [
        Job(s, run, args.seed, str(train), args.rows, args.canaries, args.samples, model)
        for run in range(args.runs)
        for s in args.settings
    ]
    started = time.perf_counter()
    runner = run_subject_job if args.subjects else run_job
    results: list[dict[str, Any]] = []
    if args.workers <= 1:
        for job in jobs:
            results.append(runner(job))
            _progress(results[-1], len(results), len(jobs))
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            for result in pool.map(runner, jobs):
                results.append(result)
                _progress(result, len(results), len(jobs))
    rows = [
        summarise(s, [r for r in results if r["setting"] == s], args.canaries)
        for s in args.settings
    ]
    report = {
        "method": "Steinke, Nasr and Jagielski 2023, one-run audit (Theorem 5.2 with delta), "
        "runs pooled; best of the pre-registered guess counts, Bonferroni-corrected",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "command": " ".join(["benchmarks/privacy_audit.py", *(argv or sys.argv[1:])]),
        # relative to the repository where possible: the results file must not name this host
        "train_csv": "constructed shop (customers and invoices)"
        if args.subjects
        else str(train.resolve().relative_to(REPO))
        if train.resolve().is_relative_to(REPO)
        else train.name,
        "rows": args.rows,
        "canaries_per_run": args.canaries,
        "samples_per_run": args.samples,
        "keys": list(INVOICE_KEYS if args.subjects else KEYS),
        "model": model,
        "choices_per_run": choices_for(args.canaries),
        "beta": BETA,
        "wall_s": round(time.perf_counter() - started, 1),
        "results": rows,
        "runs": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(markdown(rows))
    return report


def _progress(result: dict[str, Any], done: int, total: int) -> None:
    epsilon = result["ledger_epsilon"]
    spent = "no DP" if epsilon is None or math.isnan(epsilon) else f"epsilon {epsilon:.3f}"
    print(
        f"[{done}/{total}] setting {result['setting']} run {result['run']}: {spent}, "
        f"matches in {result['mean_matches_in']} / out {result['mean_matches_out']}, "
        f"{result['cpu_s']} CPU s",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()
