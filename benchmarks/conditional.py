"""Conditional generation on UCI Adult: the figures behind BENCHMARKS.md's section on ``--given``.

What it measures, on the usual split (split_adult.py: seed 42, 80/20):

1. The holdout's ``income`` and ``sex`` given (9,768 rows; ``income`` is the last column in the
   model's order): synthdb's accuracy of the whole output against the holdout and of its
   ``>50K`` rows against the holdout's, for each way of conditioning:
   - ``forced``: one copy per row, the given cells overwritten (what a plain autoregressive
     draw gives; the columns before ``income`` keep their unconditional distribution);
   - ``smc-K``: sequential Monte Carlo with K copies per row (synthdb.model.conditional);
   - ``default``: what ``model.sample(given=...)`` does (64 copies and more for rare rows);
   - ``given-first``: a second model trained with ``income`` and ``sex`` first in its order,
     so that the condition is exact and free: the best that any-order (random-order)
     training can reach on this condition, at the price of a model per order;
   - ``real``: train rows matched to each holdout row's income and sex (the ceiling).
2. 500 rows given ``occupation = Armed-Forces`` (11 training rows, all ``Federal-gov``): time
   and the share of each ``workclass``, with a fixed 64 copies and with the default.
3. Whether every given value was kept.

Run from the repository root with the project's venv (about 3 minutes on 2 cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/conditional.py [--source PATH] [--out JSON]

The rivals run in their own venvs (benchmarks/rival_conditional.py) and write their rows to a
folder; ``--rivals FOLDER`` scores those rows the same way and adds them to the results JSON
(without training synthdb again)::

    .venv/bin/python benchmarks/conditional.py --rivals benchmarks/work/cond
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from split_adult import DEFAULT_SOURCE, read_csv, split  # noqa: E402
from synthdb import Synthesizer, TrainingConfig  # noqa: E402
from synthdb.conditioning import conditions, merged  # noqa: E402
from synthdb.evaluation.accuracy import accuracy  # noqa: E402
from synthdb.model.conditional import sample_given  # noqa: E402
from synthdb.schema.values import to_source  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "conditional.json"
GIVEN = ["income", "sex"]
RICH = ">50K"
SEED = 1
RARE_ROWS = 500


def _scores(holdout: pd.DataFrame, rows: pd.DataFrame) -> dict[str, float]:
    rows = rows[holdout.columns]
    return {
        "accuracy": round(accuracy(holdout, rows).overall, 4),
        "accuracy_rich": round(
            accuracy(holdout[holdout.income == RICH], rows[rows.income == RICH]).overall, 4
        ),
        "kept": bool((rows[GIVEN].to_numpy() == holdout[GIVEN].to_numpy()).all()),
    }


def _fixed(model: Synthesizer, given: pd.DataFrame, copies: int) -> pd.DataFrame:
    """Rows drawn with a fixed number of copies per row (no pilot, no adaptive copies)."""
    state = model.state
    checked = conditions(given, state.schema, state.encoder, "given")
    tokens = sample_given(
        state.net.sampler(),
        torch.from_numpy(checked.tokens),
        torch.from_numpy(checked.known),
        torch.Generator().manual_seed(SEED),
        copies,
        adaptive=False,
    ).numpy()
    decoded = state.encoder.decode(tokens, np.random.default_rng(SEED))
    return merged(to_source(decoded, state.schema), checked)


def _train(frame: pd.DataFrame) -> tuple[Synthesizer, float]:
    started = time.perf_counter()
    model = Synthesizer(TrainingConfig(nulls="keep")).fit(frame, table="adult")
    return model, time.perf_counter() - started


def _timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    return work(), time.perf_counter() - started


def _score_rivals(folder: Path, train: pd.DataFrame, holdout: pd.DataFrame, out: Path) -> int:
    """Score rival_conditional.py's rows; merge them into the results under ``rivals``."""
    results = json.loads(out.read_text()) if out.exists() else {}
    rivals: dict[str, Any] = results.setdefault("rivals", {})
    for tool in ("mostly", "sdv"):
        timings = folder / f"{tool}.json"
        if not timings.exists():
            continue
        figures = json.loads(timings.read_text())
        rows_path = folder / f"{tool}_income_sex.csv"
        if rows_path.exists():
            rows = read_csv(rows_path).reset_index(drop=True)
            figures["income_sex"].update(_scores(holdout, rows))
        rare_path = folder / f"{tool}_armed_forces.csv"
        if rare_path.exists():
            rare = read_csv(rare_path)
            counts = rare.workclass.value_counts(dropna=False).head(4)
            figures["armed_forces"]["workclass"] = {str(k): int(v) for k, v in counts.items()}
            figures["armed_forces"]["kept"] = bool((rare.occupation == "Armed-Forces").all())
        rivals[tool] = figures
        print(tool, figures, flush=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--rivals", type=Path, help="score the rivals' rows in this folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, holdout = split(read_csv(args.source))
    holdout = holdout.reset_index(drop=True)
    if args.rivals is not None:
        return _score_rivals(args.rivals, train, holdout, args.out)
    given = holdout[GIVEN]
    out: dict[str, Any] = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)",
        "rows_given": len(given),
    }

    model, seconds = _train(train)
    out["train_s"] = round(seconds, 1)
    methods: dict[str, Any] = {}
    for name, copies in (("forced", 1), ("smc-4", 4), ("smc-16", 16), ("smc-64", 64)):
        rows, seconds = _timed(lambda c=copies: _fixed(model, given, c))
        methods[name] = {**_scores(holdout, rows), "seconds": round(seconds, 2)}
        print(name, methods[name], flush=True)
    rows, seconds = _timed(lambda: model.sample(given=given, seed=SEED))
    methods["default"] = {**_scores(holdout, rows), "seconds": round(seconds, 2)}
    print("default", methods["default"], flush=True)

    first, seconds = _train(train[GIVEN + [c for c in train.columns if c not in GIVEN]])
    rows, sample_s = _timed(lambda: _fixed(first, given, 1))
    methods["given-first"] = {
        **_scores(holdout, rows),
        "seconds": round(sample_s, 2),
        "train_s": round(seconds, 1),
        "unconditional_accuracy": round(
            accuracy(holdout, first.sample(len(holdout), seed=SEED)[holdout.columns]).overall, 4
        ),
    }
    print("given-first", methods["given-first"], flush=True)
    methods["default"]["unconditional_accuracy"] = round(
        accuracy(holdout, model.sample(len(holdout), seed=SEED)).overall, 4
    )
    matched = pd.concat(
        [
            train[(train.income == income) & (train.sex == sex)].sample(len(g), random_state=1)
            for (income, sex), g in holdout.groupby(GIVEN)
        ]
    )
    methods["real"] = _scores(holdout, matched.sort_values(GIVEN).reset_index(drop=True))
    methods["real"]["kept"] = None  # matched rows, not the holdout's order
    out["given_income_sex"] = methods

    rare = pd.DataFrame({"occupation": ["Armed-Forces"] * RARE_ROWS})
    source = train[train.occupation == "Armed-Forces"].workclass.value_counts(dropna=False)
    armed: dict[str, Any] = {"source_rows": int(source.sum())}
    armed["source_workclass"] = {str(k): int(v) for k, v in source.items()}
    for name, work in (
        ("smc-64", lambda: _fixed(model, rare, 64)),
        ("default", lambda: model.sample(given=rare, seed=SEED)),
    ):
        rows, seconds = _timed(work)
        counts = rows.workclass.value_counts(dropna=False).head(4)
        armed[name] = {
            "seconds": round(seconds, 2),
            "workclass": {str(k): int(v) for k, v in counts.items()},
            "kept": bool((rows.occupation == "Armed-Forces").all()),
        }
        print("armed forces", name, armed[name], flush=True)
    out["armed_forces"] = armed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
