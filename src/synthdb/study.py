"""Hyperparameter studies of DP training: accuracy and training time against one parameter.

``synthdb study microbatches|noise|clip|learning-rate DATA`` trains the same table many times
at one fixed epsilon and a fixed number of epochs, changing one DP-SGD parameter, and fits the
product brief's trends by least squares: accuracy = a + b ln(x), time = c + d x.

Choices, and why:

- **Fixed epochs, fixed batch.** Accuracy must differ because of the swept parameter alone.
  The batch size is resolved once, before any run (``--batch-size``, or the DP default for the
  table's row count), so that "micro-batches up to the batch size" means the same for every run;
  the noise multiplier is ``auto`` (calibrated so that the epochs spend the budget) except in the
  noise sweep.
- **Noise sweep.** At a fixed epsilon an explicit noise multiplier sets how many steps the
  budget buys: less noise, fewer steps (training stops when the budget is spent), more noise,
  every epoch but noisier gradients. Its default values straddle the ``auto`` noise, and every
  run records the epochs it trained, which is the trade-off to show.
- **Accuracy** is :func:`synthdb.evaluate`'s ``overall`` (DESIGN.md section 5: the mean of
  univariate, bivariate and trivariate 1 - TVD of binned columns) of as many synthetic rows as
  DATA has, against DATA itself, the rows trained on: what ``synthdb evaluate DATA SYNTHETIC``
  prints and what the side-by-side benchmark quotes, and no rows are withheld from training
  (a holdout would shrink the table and so change the sampling rate and the noise). The
  reference binning is fitted once, then every run is scored against it. With ``holdout``
  (real rows not trained on), their accuracy is recorded once as the ceiling.
- **Time** is the wall-clock seconds of the DP-SGD loop (what the swept parameters change);
  the whole fit (with the DP statistics of the encoders) and its CPU seconds are recorded too.
- **Seeds.** Run seed ``s`` sets the model's initialisation, its batches and its privacy noise
  (``noise_seed``), so every run can be repeated and different values share the same random
  streams (less seed-to-seed noise between neighbouring points). Seeded noise is for studies
  only: the models are thrown away, and the figures kept (accuracy against the real rows) are
  not differentially private releases anyway.
- **Refusals.** ``train`` refuses settings whose noise would drown the averaged gradient (too
  few micro-batches for the budget); the study lifts that guard (``noise_guard=False``) and
  trains them, since where accuracy collapses is what it charts. A value the planner still
  refuses (too little noise for even one epoch) is recorded with its one-line reason and left
  out of the fits, rather than failing the whole study.
- **Fits** use every completed run (one point per seed), so R^2 includes the seed-to-seed
  spread. Accuracy also gets a quadratic in ln(x) where the sweep can have an optimum (noise,
  clip, learning rate): a log trend cannot turn.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthdb import __version__
from synthdb.config import NullPolicy, Privacy, make_config
from synthdb.errors import InputError, SynthdbError, UsageError
from synthdb.training.loop import QuietListener, TrainingListener

Sweep = Literal["microbatches", "noise", "clip", "learning-rate"]
FitModel = Literal["log", "linear", "log-quadratic"]
SWEEPS: tuple[Sweep, ...] = ("microbatches", "noise", "clip", "learning-rate")

#: The product brief's budget for the study.
DEFAULT_EPSILON = 3.0
DEFAULT_EPOCHS = 10
DEFAULT_SEEDS = 3
#: Multiples of the ``auto`` noise tried by the noise sweep: below 1 the budget buys fewer
#: epochs, above 1 every epoch runs with more noise.
#: Noise values of the noise sweep, spaced evenly on a log scale from just above the least noise
#: that buys one epoch up to ``auto``.
NOISE_VALUES = 5
#: How far above the one-epoch noise the sweep starts, so its first run trains at least one
#: whole epoch despite rounding.
ONE_EPOCH_MARGIN = 1.05
DEFAULT_CLIPS = (0.1, 0.3, 1.0, 3.0, 10.0)
DEFAULT_LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)

#: What each sweep is called on axes and in equations.
LABELS: dict[Sweep, tuple[str, str]] = {
    "microbatches": ("micro-batches", "m"),
    "noise": ("noise multiplier", "sigma"),
    "clip": ("clipping norm", "C"),
    "learning-rate": ("learning rate", "lr"),
}
#: Fits per sweep: (what is fitted, model). Time is linear in every sweep as the brief asks;
#: only the micro-batch count changes the work per step, so elsewhere expect a flat line.
FITS: dict[Sweep, tuple[tuple[str, FitModel], ...]] = {
    "microbatches": (("accuracy", "log"), ("seconds", "linear")),
    "noise": (("accuracy", "log"), ("accuracy", "log-quadratic"), ("seconds", "linear")),
    "clip": (("accuracy", "log"), ("accuracy", "log-quadratic"), ("seconds", "linear")),
    "learning-rate": (("accuracy", "log"), ("accuracy", "log-quadratic"), ("seconds", "linear")),
}
_COEFFICIENTS: dict[FitModel, tuple[str, ...]] = {
    "log": ("a", "b"),
    "linear": ("c", "d"),
    "log-quadratic": ("a", "b", "q"),
}

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Least squares


@dataclass(frozen=True)
class Fit:
    """``target = f(x)`` fitted by least squares; ``r2`` is 1 - SS_res / SS_tot."""

    target: str
    model: FitModel
    coefficients: dict[str, float]
    r2: float
    points: int

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        values = np.asarray(x, dtype=np.float64)
        return _design(self.model, values) @ np.array(list(self.coefficients.values()))

    def equation(self, symbol: str = "x") -> str:
        """Such as ``accuracy = 0.812 + 0.0123 ln(m)``."""
        log = f"ln({symbol})"
        basis = {"log": [log], "linear": [symbol], "log-quadratic": [log, f"{log}^2"]}
        first, *rest = self.coefficients.values()
        text = f"{self.target} = {first:.4g}"
        for value, term in zip(rest, basis[self.model], strict=True):
            text += f" {'-' if value < 0 else '+'} {abs(value):.4g} {term}"
        return text

    def to_dict(self, symbol: str = "x") -> dict[str, Any]:
        return {
            "target": self.target,
            "model": self.model,
            "coefficients": dict(self.coefficients),
            "r2": self.r2,
            "points": self.points,
            "equation": self.equation(symbol),
        }


def _design(model: FitModel, x: FloatArray) -> FloatArray:
    if model == "linear":
        return np.column_stack([np.ones_like(x), x])
    if np.any(~(x > 0)):
        raise ValueError("a log fit needs every x > 0 (ln is undefined at 0 and below)")
    log = np.log(x)
    if model == "log":
        return np.column_stack([np.ones_like(x), log])
    return np.column_stack([np.ones_like(x), log, log**2])


def fit(target: str, model: FitModel, x: npt.ArrayLike, y: npt.ArrayLike) -> Fit:
    """Least-squares ``y = f(x)`` for one of the models: log ``a + b ln x``, linear
    ``c + d x``, log-quadratic ``a + b ln x + q ln(x)^2``.

    Needs at least as many distinct x values as coefficients. R^2 is 1 for data the model
    reproduces exactly (constant y included) and may be negative for a model worse than the mean.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of one length (got {xs.shape}, {ys.shape})")
    names = _COEFFICIENTS[model]
    if len(np.unique(xs)) < len(names):
        raise ValueError(f"a {model} fit needs at least {len(names)} distinct x values")
    design = _design(model, xs)
    solution, *_ = np.linalg.lstsq(design, ys, rcond=None)
    residual = float(np.sum((ys - design @ solution) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    scale = max(float(np.sum(ys**2)), 1.0)
    if total <= 1e-24 * scale:
        r2 = 1.0 if residual <= 1e-20 * scale else 0.0
    else:
        r2 = 1.0 - residual / total
    coefficients = {n: float(v) for n, v in zip(names, solution, strict=True)}
    return Fit(target, model, coefficients, r2, len(xs))


# --------------------------------------------------------------------------------------------
# Settings and results


@dataclass(frozen=True)
class StudySettings:
    """One sweep: which parameter, its values, and everything held fixed."""

    sweep: Sweep
    values: tuple[float, ...]
    seeds: int = DEFAULT_SEEDS
    epsilon: float = DEFAULT_EPSILON
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 0
    nulls: NullPolicy = "drop"
    #: fixed DP-SGD settings of the parameters not swept (None: the product default)
    microbatches: int | None = None
    clip: float | None = None
    learning_rate: float | None = None

    def config_values(self, value: float, seed: int) -> dict[str, Any]:
        """The :func:`~synthdb.config.make_config` values of one run."""
        # The guard against hopeless noise is off: where training breaks down is the study's
        # subject (the brief's 1-4 micro-batches), not an input error.
        privacy: dict[str, Any] = {
            "epsilon": self.epsilon,
            "noise_seed": seed,
            "noise_guard": False,
        }
        if self.microbatches is not None:
            privacy["microbatches"] = self.microbatches
        if self.clip is not None:
            privacy["clip"] = self.clip
        values: dict[str, Any] = {
            "max_epochs": self.epochs,
            "nulls": self.nulls,
            "batch_size": self.batch_size,
            "seed": seed,
        }
        if self.learning_rate is not None:
            values["learning_rate"] = self.learning_rate
        if self.sweep == "microbatches":
            privacy["microbatches"] = int(value)
        elif self.sweep == "noise":
            privacy["noise_multiplier"] = float(value)
        elif self.sweep == "clip":
            privacy["clip"] = float(value)
        else:
            values["learning_rate"] = float(value)
        values["privacy"] = privacy
        return values


@dataclass(frozen=True)
class RunRecord:
    """One training run; ``refused`` holds the planner's reason when it did not train."""

    value: float
    seed: int
    accuracy: float | None = None
    univariate: float | None = None
    bivariate: float | None = None
    trivariate: float | None = None
    #: wall seconds of the DP-SGD loop
    seconds: float | None = None
    #: wall and CPU seconds of the whole fit (DP statistics of the encoders included)
    fit_seconds: float | None = None
    fit_cpu_seconds: float | None = None
    epochs: int | None = None
    steps: int | None = None
    #: the accountant's noise multiplier (noise std / sensitivity)
    noise_multiplier: float | None = None
    epsilon_spent: float | None = None
    stop_reason: str | None = None
    refused: str | None = None

    @property
    def completed(self) -> bool:
        return self.refused is None and self.accuracy is not None


@dataclass
class StudyResult:
    settings: StudySettings
    data: str
    rows: int
    columns: int
    runs: list[RunRecord] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    ceiling: float | None = None
    started: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: what the plots are drawn from and what the benchmark commits."""
        label, symbol = LABELS[self.settings.sweep]
        settings = asdict(self.settings)
        settings["values"] = list(self.settings.values)
        return {
            "study": self.settings.sweep,
            "parameter": label,
            "symbol": symbol,
            "synthdb_version": __version__,
            "data": self.data,
            "rows": self.rows,
            "columns": self.columns,
            "settings": settings,
            "accuracy_measure": "synthdb.evaluate overall (mean of univariate, bivariate and "
            "trivariate 1 - TVD) of as many synthetic rows as the data has, against the data "
            "trained on",
            "time_measure": "wall seconds of the DP-SGD loop",
            "ceiling": self.ceiling,
            "runs": [_finite(asdict(r)) for r in self.runs],
            "means": _means(self.runs),
            "fits": [f.to_dict(symbol) for f in self.fits],
            "refused": sorted({r.value for r in self.runs if r.refused is not None}),
            "machine": {"cpus": os.cpu_count(), "torch_threads": _torch_threads()},
            "started": self.started,
            "seconds": round(self.seconds, 1),
        }


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }


def _means(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each value's completed runs."""
    out = []
    for value in sorted({r.value for r in runs}):
        done = [r for r in runs if r.value == value and r.completed]
        accuracy = [float(r.accuracy) for r in done if r.accuracy is not None]
        seconds = [float(r.seconds) for r in done if r.seconds is not None]
        out.append(
            {
                "value": value,
                "runs": len(done),
                "accuracy": float(np.mean(accuracy)) if accuracy else None,
                "accuracy_std": float(np.std(accuracy)) if accuracy else None,
                "seconds": float(np.mean(seconds)) if seconds else None,
                "seconds_std": float(np.std(seconds)) if seconds else None,
            }
        )
    return out


def fits_of(sweep: Sweep, runs: Sequence[RunRecord]) -> list[Fit]:
    """The sweep's fits over its completed runs; a fit without enough distinct values is
    left out (the JSON then has fewer fits, never made-up ones)."""
    done = [r for r in runs if r.completed]
    out = []
    for target, model in FITS[sweep]:
        points = [(r.value, getattr(r, target)) for r in done if getattr(r, target) is not None]
        if len(points) < 2:
            continue
        try:
            out.append(fit(target, model, [p[0] for p in points], [p[1] for p in points]))
        except ValueError:
            continue
    return out


# --------------------------------------------------------------------------------------------
# Values


def default_batch(rows: int, batch_size: int | None) -> int:
    """``batch_size``, or the batch ``synthdb train --epsilon`` would use for ``rows``.

    The exact row count is read here (training uses the DP count): a study's figures are not
    private releases, and every run must share one batch size.
    """
    from synthdb.privacy.training import default_private_batch

    return batch_size if batch_size is not None else default_private_batch(rows)


def default_values(
    sweep: Sweep,
    *,
    rows: int,
    batch: int,
    epsilon: float,
    epochs: int,
    microbatches: int | None = None,
    columns: int = 1,
) -> tuple[float, ...]:
    """The values swept when none are given.

    Micro-batches: powers of two from 1 to the batch size (and the batch size itself, which is
    per-example clipping). Noise: :data:`NOISE_VALUES` values from the least noise that buys
    one epoch to the ``auto`` noise for ``epochs``, evenly on a log scale. At a fixed epsilon
    the noise only trades against steps while the budget binds: below ``auto`` a lower noise
    buys fewer epochs (training stops when the budget is spent), while a noise above ``auto``
    would train every epoch and leave budget unspent, which is not the same epsilon. Both ends
    compose DP-SGD with the preprocessing histograms the way training does (whose cost is set
    by the preprocessing share alone, whatever their number; three per column is assumed).
    """
    if sweep == "microbatches":
        powers = [2**k for k in range(int(math.log2(batch)) + 1)]
        return tuple(float(v) for v in sorted({*powers, batch}))
    if sweep == "clip":
        return DEFAULT_CLIPS
    if sweep == "learning-rate":
        return DEFAULT_LEARNING_RATES
    from synthdb.privacy import accounting
    from synthdb.privacy.dpsgd import steps_per_epoch
    from synthdb.privacy.mechanisms import gaussian_sigma_for
    from synthdb.privacy.preprocessing import default_delta

    rate = min(batch / rows, 1.0)
    share = Privacy.model_fields["preprocessing_share"].default
    delta = default_delta(rows)
    releases = 1 + 3 * max(columns, 1)
    histograms = (gaussian_sigma_for(share * epsilon, delta, releases), 1.0, releases)
    per_epoch = steps_per_epoch(rate)
    auto = accounting.calibrate_noise(epsilon, delta, rate, epochs * per_epoch, [histograms])
    one_epoch = accounting.calibrate_noise(epsilon, delta, rate, per_epoch, [histograms])
    if not math.isfinite(auto):
        raise UsageError(
            f"epsilon {epsilon:g} is too small for {rows:,} rows: no noise multiplier fits "
            "the budget",
            hint="raise --epsilon or lower --epochs",
        )
    grouped = microbatches is not None and microbatches < batch
    scale = 2.0 if grouped else 1.0  # the flag is noise std / clip; groups have sensitivity 2
    low = min(one_epoch * ONE_EPOCH_MARGIN, auto)
    values = np.geomspace(low * scale, auto * scale, NOISE_VALUES)
    return tuple(sorted({float(f"{v:.3g}") for v in values}))


def check_values(sweep: Sweep, values: Sequence[float], batch: int) -> tuple[float, ...]:
    """The values, sorted and checked; a :class:`UsageError` names the first bad one."""
    if not values:
        raise UsageError("--values: give at least one value")
    for value in values:
        if not math.isfinite(value) or value <= 0:
            raise UsageError(f"--values: every {LABELS[sweep][0]} must be > 0 (got {value:g})")
        if sweep == "microbatches":
            if value != int(value):
                raise UsageError(f"--values: micro-batches must be whole numbers (got {value:g})")
            if value > batch:
                raise UsageError(
                    f"--values: {value:g} micro-batches is more than the batch size {batch} "
                    f"(valid: 1 to {batch})",
                    hint="lower --values or raise --batch-size",
                )
        if sweep == "learning-rate" and value > 1:
            raise UsageError(f"--values: a learning rate must be at most 1 (got {value:g})")
    return tuple(sorted(set(float(v) for v in values)))


# --------------------------------------------------------------------------------------------
# Running


class StudyListener(Protocol):
    def on_run_start(self, index: int, total: int, value: float, seed: int) -> None: ...
    def training(self) -> TrainingListener: ...
    def on_run_done(self, index: int, total: int, record: RunRecord) -> None: ...


class QuietStudy:
    def on_run_start(self, index: int, total: int, value: float, seed: int) -> None:
        pass

    def training(self) -> TrainingListener:
        return QuietListener()

    def on_run_done(self, index: int, total: int, record: RunRecord) -> None:
        pass


class _Scorer:
    """``synthdb.evaluate(real, synthetic).overall`` with the real side prepared once.

    The same steps as :func:`synthdb.scoring.evaluate` (the real table's schema types both
    tables; the accuracy bins are fitted on the real rows) without its distributions and
    nearest-neighbour privacy figures, which the study does not need.
    """

    def __init__(self, real: pd.DataFrame, name: str) -> None:
        from synthdb.evaluation.accuracy import AccuracyReference
        from synthdb.evaluation.columns import display_kinds
        from synthdb.schema.inference import infer_schema

        self.schema = infer_schema(real, name)
        kinds = display_kinds(self.schema)
        self.columns = list(kinds)
        self.reference = AccuracyReference.fit(
            self._typed(real),
            {c: "categorical" if k == "categorical" else "numeric" for c, k in kinds.items()},
        )

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        from synthdb.schema.values import to_typed

        missing = [c for c in self.schema.names if c not in frame.columns]
        if missing:
            raise InputError(f"the holdout table lacks columns: {', '.join(missing)}")
        return to_typed(frame[self.schema.names], self.schema)[self.columns]

    def score(self, frame: pd.DataFrame) -> tuple[float, float, float, float | None]:
        report = self.reference.score(self._typed(frame), trivariate=True)
        return report.overall, report.univariate, report.bivariate, report.trivariate


def run_study(
    frame: pd.DataFrame,
    settings: StudySettings,
    *,
    name: str = "table",
    holdout: pd.DataFrame | None = None,
    listener: StudyListener | None = None,
) -> StudyResult:
    """Train ``settings.seeds`` models per value of the swept parameter and fit the trends.

    ``settings.batch_size`` must be resolved (:func:`default_batch`) and the values checked
    (:func:`check_values`). Runs go value by value, seeds 0, 1, ...; a run the DP planner
    refuses is recorded, not raised, unless every run is refused.
    """
    if settings.batch_size < 1:
        raise ValueError("resolve settings.batch_size first (default_batch)")
    listener = listener or QuietStudy()
    started = time.monotonic()
    result = StudyResult(
        settings,
        data=name,
        rows=len(frame),
        columns=frame.shape[1],
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    scorer = _Scorer(frame, name)
    if holdout is not None:
        result.ceiling = scorer.score(holdout)[0]
    _warm_up(frame, name)
    plan = [(value, seed) for value in settings.values for seed in range(settings.seeds)]
    for index, (value, seed) in enumerate(plan, start=1):
        listener.on_run_start(index, len(plan), value, seed)
        record = _one_run(frame, name, settings, value, seed, scorer, listener.training())
        result.runs.append(record)
        listener.on_run_done(index, len(plan), record)
    refusals = [r.refused for r in result.runs if r.refused is not None]
    if len(refusals) == len(result.runs):
        raise UsageError(f"every run was refused: {refusals[0]}")
    result.fits = fits_of(settings.sweep, result.runs)
    result.seconds = time.monotonic() - started
    return result


def _warm_up(frame: pd.DataFrame, name: str) -> None:
    """One short untimed fit, so the first timed run does not pay PyTorch's first-call costs
    (thread pools, allocator): without it the first run of a study trained about 1.5 s slower."""
    from synthdb.config import TrainingConfig
    from synthdb.synthesizer import Synthesizer

    sample = frame.head(512)
    config = TrainingConfig(max_epochs=1, batch_size=64, validation_share=0.1, nulls="keep")
    with contextlib.suppress(SynthdbError):  # the timed runs meet the same problem, and say so
        Synthesizer(config).fit(sample, table=name, listener=QuietListener())


def _one_run(
    frame: pd.DataFrame,
    name: str,
    settings: StudySettings,
    value: float,
    seed: int,
    scorer: _Scorer,
    listener: TrainingListener,
) -> RunRecord:
    from synthdb.synthesizer import Synthesizer

    config = make_config(**settings.config_values(value, seed))
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        model = Synthesizer(config).fit(frame, table=name, listener=listener)
    except UsageError as exc:  # the planner's refusal of this value: recorded, not fatal
        return RunRecord(value, seed, refused=str(exc))
    fit_seconds, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = model.training
    ledger = model.ledger
    sgd = next((e for e in ledger.entries if e.mechanism == "dp-sgd"), None) if ledger else None
    overall, univariate, bivariate, trivariate = scorer.score(model.sample(len(frame), seed=seed))
    return RunRecord(
        value,
        seed,
        accuracy=overall,
        univariate=univariate,
        bivariate=bivariate,
        trivariate=trivariate,
        seconds=result.seconds,
        fit_seconds=fit_seconds,
        fit_cpu_seconds=fit_cpu,
        epochs=len(result.epochs),
        steps=sgd.steps if sgd is not None else None,
        noise_multiplier=sgd.noise_multiplier if sgd is not None else None,
        epsilon_spent=ledger.total_epsilon if ledger is not None else None,
        stop_reason=result.stop_reason,
    )


def parse_values(text: str) -> list[float]:
    """``"1,2,4"`` or ``"0.5, 1e-3"``; a :class:`UsageError` names what does not parse."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise UsageError(
                f"--values must be numbers separated by commas (got {part!r})"
            ) from None
    return values


def summary(data: Mapping[str, Any]) -> list[str]:
    """The fits as lines for a terminal: equation and R^2."""
    return [f"{f['equation']}  (R^2 {f['r2']:.3f}, {f['points']} runs)" for f in data["fits"]]
