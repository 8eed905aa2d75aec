"""The DP-SGD training plan (noise, sampling, steps within the budget) and its stop.

:func:`plan` calibrates the noise and checks the budget before training; :class:`BudgetSpent`
is the training loop's stopping policy under DP (the one loop is :mod:`synthdb.training.loop`,
the step :class:`synthdb.privacy.dpsgd.PoissonSteps`).

Early stopping is off under DP, and so is the learning-rate schedule on validation loss: both
read held-out rows, so each would need a DP validation signal charged to the budget, and a
signal noisy enough to be cheap is too noisy to stop on (a 10% slice of Adult scored at a
tenth of epsilon 1 moves by more than the epoch-to-epoch gains). Instead ``--noise-multiplier
auto`` calibrates the noise so that exactly ``max_epochs`` epochs spend the budget, and every
row trains. Losses are not recorded either: they are exact functions of the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

from synthdb.config import DEFAULT_PRIVATE_BATCH, Privacy
from synthdb.errors import UsageError
from synthdb.model.network import AutoregressiveNet
from synthdb.privacy import accounting
from synthdb.privacy.dpsgd import StepSettings, steps_per_epoch
from synthdb.privacy.ledger import Ledger, LedgerEntry
from synthdb.training.loop import EpochRecord, Measurement, StopReason, TrainingResult

#: Noise std of the averaged gradient, in units of ``clip``, beyond which training learns
#: nothing useful: the table is too small for the budget.
MAX_RELATIVE_NOISE = 0.5
#: A DP row count must exceed its own noise by this factor, or nothing else can be learned
#: either (the preprocessing histograms carry the same noise).
MIN_ROWS_PER_COUNT_NOISE = 10.0
#: Pseudo-count of the tokens past the first and last with a DP count (see ``_smoothed``).
TAIL_PSEUDO_COUNT = 0.01


@dataclass(frozen=True)
class PrivatePlan:
    sample_rate: float
    #: the accountant's noise multiplier (noise std / sensitivity)
    noise_multiplier: float
    steps: int
    steps_per_epoch: int
    max_epochs: int
    step: StepSettings

    @property
    def budget_limited(self) -> bool:
        return self.steps < self.max_epochs * self.steps_per_epoch


def default_private_batch(rows: float) -> int:
    """DP-SGD wants large batches (noise per averaged gradient falls as 1/batch): about
    rows/16 as a power of two, between 64 and 4096 (:data:`synthdb.config.DEFAULT_PRIVATE_BATCH`),
    and never more than a quarter of the rows."""
    rule = DEFAULT_PRIVATE_BATCH
    target = 2 ** round(math.log2(max(rows / rule.per, 1)))
    return int(max(1, min(max(rule.low, min(rule.high, target)), rows // 4)))


def plan(privacy: Privacy, ledger: Ledger, rows: float, batch: int, max_epochs: int) -> PrivatePlan:
    """Noise and steps for DP-SGD after the preprocessing entries already in ``ledger``."""
    if privacy.microbatches is not None and privacy.microbatches > batch:
        raise UsageError(
            f"--microbatches must be at most the batch size {batch} (got {privacy.microbatches})",
            hint="lower --microbatches or raise --batch-size",
        )
    count_noise = next(
        (e.noise_multiplier or 0.0 for e in ledger.entries if e.target == "row count"), 0.0
    )
    if rows < MIN_ROWS_PER_COUNT_NOISE * count_noise:
        needed = privacy.epsilon * MIN_ROWS_PER_COUNT_NOISE * count_noise / rows
        raise UsageError(
            f"the table is too small for epsilon {privacy.epsilon:g}: the DP row count alone "
            f"is uncertain by +-{count_noise:,.0f} rows; epsilon {needed:.3g} or more would do",
            hint="raise --epsilon, or train on more rows",
        )
    per_example = privacy.microbatches is None or privacy.microbatches == batch
    microbatches = None if per_example else privacy.microbatches
    groups = float(batch) if microbatches is None else float(microbatches)
    sensitivity_factor = 1.0 if per_example else 2.0
    rate = min(batch / rows, 1.0)
    per_epoch = steps_per_epoch(rate)
    wanted = max_epochs * per_epoch
    prior = ledger.mechanisms()
    delta = ledger.rdp_delta
    if privacy.noise_multiplier == "auto":
        noise = accounting.calibrate_noise(privacy.epsilon, delta, rate, wanted, prior)
        relative = noise * sensitivity_factor / groups
        too_noisy = privacy.noise_guard and relative > MAX_RELATIVE_NOISE
        if not math.isfinite(noise) or too_noisy:
            raise _too_noisy(
                privacy, rows, batch, relative, microbatches, delta, rate, wanted, prior
            )
        steps = wanted
    else:
        noise = float(privacy.noise_multiplier) / sensitivity_factor
        steps = accounting.affordable_steps(privacy.epsilon, delta, noise, rate, prior, wanted)
        if steps < per_epoch:
            least = accounting.calibrate_noise(privacy.epsilon, delta, rate, per_epoch, prior)
            raise UsageError(
                f"--noise-multiplier {privacy.noise_multiplier:g} is too small: epsilon "
                f"{privacy.epsilon:g} affords {steps} steps, less than one epoch ({per_epoch})",
                hint=f"use --noise-multiplier {least * sensitivity_factor:.3g} or more, or auto",
            )
    settings = StepSettings(
        clip=privacy.clip,
        noise_std=noise * sensitivity_factor * privacy.clip,
        microbatches=microbatches,
        expected_groups=groups,
    )
    return PrivatePlan(rate, noise, steps, per_epoch, max_epochs, settings)


def _too_noisy(
    privacy: Privacy,
    rows: float,
    batch: int,
    relative: float,
    microbatches: int | None,
    delta: float,
    rate: float,
    steps: int,
    prior: list[tuple[float, float, int]],
) -> UsageError:
    """The refusal of a plan whose averaged gradient would drown in noise, with the way out.

    With few micro-batches the noise is shared by few groups, so the cure is more groups, not
    more epsilon; otherwise the table is too small for the budget.
    """
    factor, groups = (1.0, float(batch)) if microbatches is None else (2.0, float(microbatches))
    noise = f"noise {relative:.2g} x clip per averaged gradient (at most {MAX_RELATIVE_NOISE} "
    if microbatches is not None and microbatches < batch:
        least = microbatches * 2
        while least < batch and relative * microbatches / least > MAX_RELATIVE_NOISE:
            least *= 2
        return UsageError(
            f"{microbatches} micro-batches are too few for epsilon {privacy.epsilon:g}: the "
            f"noise is shared by {microbatches} groups, {noise}learns anything)",
            hint=f"use --microbatches {min(least, batch)} or more, or raise --epsilon",
        )
    needed = _epsilon_needed(privacy, delta, rate, steps, prior, factor, groups)
    return UsageError(
        f"the table is too small for epsilon {privacy.epsilon:g}: about {rows:,.0f} rows in "
        f"batches of {batch} would need {noise}learns anything); epsilon {needed:.3g} would do",
        hint="raise --epsilon, lower --max-epochs, or train on more rows",
    )


def _epsilon_needed(
    privacy: Privacy,
    delta: float,
    rate: float,
    steps: int,
    prior: list[tuple[float, float, int]],
    factor: float,
    groups: float,
) -> float:
    """The smallest epsilon whose calibrated noise stays under :data:`MAX_RELATIVE_NOISE`."""
    noise = MAX_RELATIVE_NOISE * groups / factor
    return accounting.epsilon([*prior, (noise, rate, steps)], delta)


@torch.no_grad()
def init_heads(net: AutoregressiveNet, counts: list[np.ndarray | None]) -> None:
    """Start each head at the DP token frequencies (uniform where none were released).

    ``AutoregressiveNet.init_marginals`` reads exact counts, which DP forbids; these counts
    come from the preprocessing histograms, already charged.
    """
    for head, released in zip(net.heads, counts, strict=True):
        bias = cast(torch.nn.Linear, head).bias
        if released is None or released.size != bias.numel():
            bias.zero_()
            continue
        share = _smoothed(np.clip(released, 0.0, None))
        bias.copy_(torch.from_numpy(np.log(share)).float())


def head_targets(
    net: AutoregressiveNet, counts: list[np.ndarray | None]
) -> list[np.ndarray | None]:
    """The token frequencies the heads are raked to after training
    (:mod:`synthdb.privacy.calibration`): the DP counts, add-one smoothed only where a count
    survived denoising, :data:`TAIL_PSEUDO_COUNT` elsewhere.

    Unlike the starting point (:func:`_smoothed`, which fills every cell between the first and
    the last with a count, so that the network can still learn thin real cells from the data),
    the target gives nothing to a cell the DP counts cannot vouch for: filling the empty top of
    a too-wide range with a row per cell left 30-50 ages above 90 and hours above 99 in every
    epsilon-4 twin of Adult; this leaves 1-30, at the same accuracy (three noise seeds).

    None where nothing was measured: no count released, or a number's position within its bin,
    whose count is a uniform placeholder.
    """
    hidden = set(net.shape.hidden_inputs)
    return [
        None
        if released is None or j in hidden or released.size != net.cards[j]
        else _supported(np.clip(released, 0.0, None))
        for j, released in enumerate(counts)
    ]


def _supported(counts: np.ndarray) -> np.ndarray:
    """Frequencies from denoised counts: add-one where a count is left, almost none elsewhere."""
    smoothed = counts + np.where(counts > 0, 1.0, TAIL_PSEUDO_COUNT)
    return smoothed / smoothed.sum()


def _smoothed(counts: np.ndarray) -> np.ndarray:
    """Token frequencies from denoised counts, add-one smoothed between the first and the last
    token with a count and barely beyond: tokens past either end are the empty top (or bottom)
    of a DP range up to twice too wide, which add-one would seed with a row per cell."""
    pseudo = np.full(counts.size, TAIL_PSEUDO_COUNT)
    seen = np.flatnonzero(counts > 0)
    if seen.size:
        pseudo[seen[0] : seen[-1] + 1] = 1.0
    else:
        pseudo[:] = 1.0
    smoothed = counts + pseudo
    return smoothed / smoothed.sum()


class BudgetSpent:
    """The training loop's stopping policy under DP (:class:`synthdb.training.loop.
    StoppingPolicy`): no validation, every epoch trains until the plan's steps are spent, and
    the last weights are kept. After each epoch it reports the epsilon spent so far (the
    ledger's entries composed with the steps taken); at the end it charges the steps taken to
    the ledger, with everything needed to recompute their cost."""

    no_accuracy = float("nan")

    def __init__(
        self, plan: PrivatePlan, ledger: Ledger, learning_rate: float, *, label: str = ""
    ) -> None:
        self.plan = plan
        self.ledger = ledger
        self.learning_rate = learning_rate
        self.label = label
        self.max_epochs = math.ceil(plan.steps / plan.steps_per_epoch)

    def start(self, net: AutoregressiveNet) -> None:
        pass

    def may_step(self, steps: int) -> bool:
        return steps < self.plan.steps

    def measure(self, net: AutoregressiveNet, steps: int) -> Measurement:
        plan = self.plan
        spent = accounting.epsilon(
            [*self.ledger.mechanisms(), (plan.noise_multiplier, plan.sample_rate, steps)],
            self.ledger.rdp_delta,
        )
        return Measurement(epsilon=spent)

    def judge(self, net: AutoregressiveNet, record: EpochRecord, result: TrainingResult) -> bool:
        record.best = True
        result.best_epoch = record.epoch
        return False

    def exhausted(self) -> StopReason:
        return "privacy budget spent" if self.plan.budget_limited else "max epochs"

    def finish(self, net: AutoregressiveNet, steps: int) -> None:
        plan = self.plan
        self.ledger.add(
            LedgerEntry(
                mechanism="dp-sgd",
                target=f"{self.label}: model weights" if self.label else "model weights",
                epsilon=accounting.epsilon(
                    [(plan.noise_multiplier, plan.sample_rate, steps)], self.ledger.rdp_delta
                ),
                delta=self.ledger.rdp_delta,
                noise_multiplier=plan.noise_multiplier,
                sample_rate=plan.sample_rate,
                steps=steps,
                accountant=accounting.ACCOUNTANT,
                parameters={
                    "clip": plan.step.clip,
                    "noise_std": plan.step.noise_std,
                    "microbatches": "per subject"
                    if plan.step.by_subject
                    else plan.step.microbatches or "per example",
                    "sensitivity": plan.step.sensitivity,
                    "expected_groups": plan.step.expected_groups,
                    "learning_rate": self.learning_rate,
                    "optimizer": "adam",
                    "sampling": "poisson over subjects" if plan.step.by_subject else "poisson",
                },
            )
        )
