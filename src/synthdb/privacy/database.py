"""Differential privacy for a whole database: who is protected, how much each may contribute,
and one budget over every table.

The privacy unit is a *subject*: one row of the subject table with every row that references
it, directly or through other tables (a customer with their invoices and invoice lines). Two
databases are neighbours when one has a subject, with all of those rows, that the other lacks.
Every table is then one of:

- the subject table: each row is a subject;
- *under* the subject: each row belongs to the subject its foreign keys lead to (rows that lead
  to none are dropped, they belong to nobody the accounting can see);
- *public* (``tables.NAME.public: true``): copied as it is and not charged; it may reference
  public tables only, and a private table's key to it is learned as a category over its keys;
- *row-level*: neither; each of its rows is protected on its own, on the same budget.

Contribution bounding (as in user-level DP-SGD, McMahan et al. 2018; Amin et al. 2019 for the
bound): at most ``K`` rows of one subject enter each table under it, the rest sampled out at
random. ``K`` is set by the user (``max_rows_per_subject``) or chosen per table from a noisy
histogram of rows per subject (its 95th percentile). A subject then moves each histogram of that
table by at most ``K`` (the noise scales with ``K``) and DP-SGD clips each subject's rows as one
group (:class:`synthdb.privacy.dpsgd.PoissonSteps`), so a subject is one Poisson draw and one
clipped gradient whatever its number of rows.

The budget: every release of every table (row counts, vocabularies, bins, the rows-per-subject
histograms, the keys left NULL) and every table's DP-SGD are Gaussian mechanisms on the same
subject, so they compose in one Renyi-DP curve (:mod:`synthdb.privacy.accounting`). The split:
``preprocessing_share`` of epsilon sets one noise multiplier for all histograms of all tables
together, then one DP-SGD noise multiplier, shared by every table, is calibrated so that all of
them composed spend exactly the rest. A shared noise multiplier gives each table the same noise
per clipped subject gradient; what a table costs then follows from its sampling rate and steps
(about its epochs times its batch's share of the subjects), with no table's share tuned on its
data. The children-per-parent model is the count columns of each parent's model, paid for by
that parent's histograms and DP-SGD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from synthdb.config import DEFAULT_PRIVATE_BATCH, Privacy
from synthdb.errors import UsageError
from synthdb.privacy import accounting, mechanisms
from synthdb.privacy.dpsgd import StepSettings, steps_per_epoch
from synthdb.privacy.ledger import LedgerEntry
from synthdb.privacy.preprocessing import SharedNoise
from synthdb.privacy.training import MAX_RELATIVE_NOISE, PrivatePlan, default_private_batch
from synthdb.schema.references import parent_positions
from synthdb.schema.relations import DatabaseSchema

#: The private bound K is the smallest count of rows per subject that this share of the
#: subjects (by a noisy histogram) does not exceed.
BOUND_QUANTILE = 0.95
#: Cells of the rows-per-subject histogram: 1..MAX_BOUND, and one for more (fixed, public).
MAX_BOUND = 64
#: Cells of the rows-per-subject histogram within this many noise deviations of 0 are read as
#: empty: at 2 deviations about one of its 64 empty cells passed on Berka and dragged K to 54
#: for ``loan`` (one loan per account); 4 passes 0.003% of empty cells.
EMPTY_SIGMAS = 4.0
#: Below this many rows times epsilon per modelled column, a table gets a warning before
#: training. Measured on Berka's ``loan`` alone (682 rows, 6 columns): epsilon 1 (about 114)
#: gave garbage (accuracy 0.145), epsilon 4 (about 450) 0.665; ``account`` (4,500 rows, 3
#: columns, about 6,000) scored 0.846.
SMALL_TABLE_SIGNAL = 500.0


@dataclass
class Roles:
    """Which table is the subject, and each table's role (module docstring)."""

    subject: str
    public: list[str] = field(default_factory=list)
    #: tables under the subject, the subject first, in dependency order
    under: list[str] = field(default_factory=list)
    row_level: list[str] = field(default_factory=list)
    #: per table under the subject (not the subject): its foreign key leading to the subject
    path: dict[str, int] = field(default_factory=dict)

    def role(self, name: str) -> str:
        if name == self.subject:
            return "subject"
        if name in self.public:
            return "public"
        return "under subject" if name in self.under else "row-level"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "public": self.public,
            "under": self.under,
            "row_level": self.row_level,
            "path": self.path,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roles:
        return cls(
            subject=str(data["subject"]),
            public=list(data.get("public", [])),
            under=list(data.get("under", [])),
            row_level=list(data.get("row_level", [])),
            path={str(k): int(v) for k, v in data.get("path", {}).items()},
        )


def _under(
    schema: DatabaseSchema, subject: str, public: set[str]
) -> tuple[list[str], dict[str, int]]:
    """The tables under ``subject`` (it first) and each one's foreign key towards it."""
    under, path = [subject], dict[str, int]()
    for name in schema.order:
        if name == subject or name in public:
            continue
        for index, key in enumerate(schema.table(name).foreign_keys):
            if key.parent in under and key.parent != name and not schema.is_cycle_break(name, key):
                under.append(name)
                path[name] = index
                break
    return under, path


def assign_roles(schema: DatabaseSchema, privacy: Privacy, rows: Mapping[str, int]) -> Roles:
    """Check the privacy settings against ``schema`` (one-line errors) and give every table
    its role; without ``subject``, the root table with the most rows below it."""
    public = list(privacy.public_tables)
    tables = ", ".join(schema.order)
    for name in public:
        if name not in schema.tables:
            raise UsageError(f"`public_tables`: {name!r} is not a table (tables: {tables})")
    for name in public:
        for key in schema.table(name).foreign_keys:
            if key.parent not in public:
                raise UsageError(
                    f"table {name} is public but references {key.parent}, which is not: a "
                    f"public copy would reveal which {key.parent} rows exist",
                    hint=f"declare {key.parent} public too, or {name} private",
                )
    private = [name for name in schema.order if name not in public]
    for name in private:
        for key in schema.table(name).foreign_keys:
            if key.parent in public and len(key.columns) > 1:
                raise UsageError(
                    f"table {name}: a key of several columns to the public table {key.parent} "
                    "is not covered under differential privacy yet",
                    hint=f"declare {name} public too, or train without `epsilon`",
                )
    subject = privacy.subject
    if subject is not None and subject not in schema.tables:
        raise UsageError(f"`subject`: {subject!r} is not a table (tables: {tables})")
    if subject is not None and subject in public:
        raise UsageError(
            f"`subject`: {subject} is declared public; the subject is the table protected",
            hint=f"name another subject, or drop `public` from {subject}",
        )
    if not private:
        raise UsageError(
            "every table is declared public: there is nothing to protect",
            hint="drop `epsilon`, or `public` from a table",
        )
    if subject is None:
        roots = [
            name
            for name in private
            if all(
                key.parent in public or key.parent == name
                for key in schema.table(name).foreign_keys
            )
        ] or private
        below = {
            name: sum(rows.get(t, 0) for t in _under(schema, name, set(public))[0][1:])
            for name in roots
        }
        subject = max(roots, key=lambda name: (below[name], -roots.index(name)))
    under, path = _under(schema, subject, set(public))
    row_level = [name for name in private if name not in under]
    return Roles(subject, public, under, row_level, path)


def subjects_of_rows(
    schema: DatabaseSchema, roles: Roles, frames: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Each row's subject (its position in the subject table; -1: none), per table under the
    subject, following each table's key towards the subject."""
    out = {roles.subject: np.arange(len(frames[roles.subject]), dtype=np.int64)}
    for name in roles.under[1:]:
        key = schema.table(name).foreign_keys[roles.path[name]]
        parent = schema.table(key.parent)
        pointing = parent_positions(
            frames[name], key.columns, frames[key.parent], key.parent_columns or parent.primary_key
        )
        above = out[key.parent]
        out[name] = np.where(pointing >= 0, above[np.maximum(pointing, 0)], -1).astype(np.int64)
        if not len(above):
            out[name] = np.full(len(frames[name]), -1, dtype=np.int64)
    return out


def bound_rows(subjects: np.ndarray, bound: int, rng: np.random.Generator) -> np.ndarray:
    """Which rows to keep: at most ``bound`` per subject, chosen uniformly at random, and none
    without a subject (-1)."""
    order = rng.permutation(len(subjects))
    ranked = order[np.argsort(subjects[order], kind="stable")]
    ordered = subjects[ranked]
    starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(ordered)])
    rank = np.arange(len(ordered)) - np.repeat(starts, lengths)
    keep = np.zeros(len(subjects), dtype=bool)
    keep[ranked[(rank < bound) & (ordered >= 0)]] = True
    return keep


def rows_per_subject(subjects: np.ndarray) -> np.ndarray:
    """Histogram of rows per subject over the fixed cells 1..MAX_BOUND and more (subjects
    with no row here fall in no cell: adding or removing a subject moves one cell by 1)."""
    counts = np.bincount(subjects[subjects >= 0])
    counts = counts[counts > 0]
    return np.bincount(np.minimum(counts, MAX_BOUND + 1), minlength=MAX_BOUND + 2)[1:].astype(
        np.float64
    )


def private_bound(
    released: np.ndarray, sigma: float = 0.0, quantile: float = BOUND_QUANTILE
) -> int:
    """K from the noisy rows-per-subject histogram (post-processing): the smallest count that
    ``quantile`` of the subjects do not exceed, cells within :data:`EMPTY_SIGMAS` noise
    deviations of 0 read as empty (else the noise of the 60-odd empty cells above the real
    counts adds up to a tail that puts K near :data:`MAX_BOUND`: 48-61 on Berka, whose
    accounts have 1-6 orders)."""
    cells = np.where(released > EMPTY_SIGMAS * sigma, released, 0.0)
    total = cells.sum()
    if total <= 0:
        return 1
    reached = np.flatnonzero(np.cumsum(cells) >= quantile * total)
    return int(min(reached[0] + 1, MAX_BOUND)) if reached.size else MAX_BOUND


@dataclass(frozen=True)
class TableBudget:
    """One table's part of the database's budget: its histograms' noise and its DP-SGD."""

    noise: SharedNoise
    noise_multiplier: float
    sample_rate: float
    steps_per_epoch: int
    steps: int
    #: expected subjects (groups) per batch: the divisor of the noised sum
    expected_groups: float
    #: each row's subject renumbered 0..n-1 (None: each row is its own subject)
    subjects: np.ndarray | None
    seed: int

    def plan(self, privacy: Privacy, max_epochs: int) -> PrivatePlan:
        settings = StepSettings(
            clip=privacy.clip,
            noise_std=self.noise_multiplier * privacy.clip,
            microbatches=None,
            expected_groups=self.expected_groups,
            by_subject=self.subjects is not None,
        )
        return PrivatePlan(
            self.sample_rate,
            self.noise_multiplier,
            self.steps,
            self.steps_per_epoch,
            max_epochs,
            settings,
        )


@dataclass(frozen=True)
class Training:
    """What one table's DP-SGD needs before the noise is known."""

    name: str
    #: subjects with rows in the table (a DP count)
    subjects: float
    batch: int
    max_epochs: int

    @property
    def sample_rate(self) -> float:
        return min(self.batch / max(self.subjects, 1.0), 1.0)

    @property
    def steps(self) -> int:
        return self.max_epochs * steps_per_epoch(self.sample_rate)


def batch_for(subjects: float, batch_size: int | None) -> int:
    return batch_size or default_private_batch(subjects)


def calibrate(
    privacy: Privacy,
    delta: float,
    prior: Sequence[tuple[float, float, int]],
    trainings: Sequence[Training],
) -> float:
    """The noise multiplier shared by every table's DP-SGD (module docstring), checked."""
    samplings = [(t.sample_rate, t.steps) for t in trainings]
    noise = accounting.calibrate_shared(privacy.epsilon, delta, samplings, prior)
    noisy = [
        t for t in trainings if not math.isfinite(noise) or noise / t.batch > MAX_RELATIVE_NOISE
    ]
    if not noisy or not privacy.noise_guard:
        return noise
    # the epsilon at which the worst table's noise per averaged gradient is at the limit
    least = min(MAX_RELATIVE_NOISE * t.batch for t in trainings)
    needed = accounting.epsilon(
        [*prior, *((least, rate, steps) for rate, steps in samplings)], delta
    )
    if len(noisy) == len(trainings):
        raise UsageError(
            f"epsilon {privacy.epsilon:g} is too small to train any table: every table's "
            f"gradient would drown in noise; epsilon {needed:.3g} or more would do",
            hint="raise `epsilon`, declare lookup tables public, or lower `max_epochs`",
        )
    names = ", ".join(t.name for t in noisy)
    return _refuse(privacy, names, noise, noisy[0], needed)


def calibrate_widening(
    privacy: Privacy,
    delta: float,
    prior: Sequence[tuple[float, float, int]],
    trainings: Sequence[Training],
    fixed: Sequence[str] = (),
) -> tuple[float, list[Training]]:
    """:func:`calibrate`, and when it refuses, again with every table of few subjects (its
    default batch capped at a quarter of them) trained on all its subjects at each step:
    sample rate 1, one step an epoch. The noise per averaged gradient falls as 1 / batch, so
    this is what lets 59 customers train at all (Chinook: epsilon 4 instead of 279). Batches
    are chosen from released counts, so choosing them costs nothing; ``fixed`` tables (a
    batch size set by the user) keep theirs."""
    try:
        return calibrate(privacy, delta, prior, trainings), list(trainings)
    except UsageError:
        widened = [
            t
            if t.name in fixed or t.batch >= DEFAULT_PRIVATE_BATCH.low
            else replace(t, batch=max(round(t.subjects), 1))
            for t in trainings
        ]
        if widened == list(trainings):
            raise
        return calibrate(privacy, delta, prior, widened), widened


def _refuse(privacy: Privacy, names: str, noise: float, worst: Training, needed: float) -> float:
    raise UsageError(
        f"too few subjects for epsilon {privacy.epsilon:g} in {names}: about "
        f"{worst.subjects:,.0f} in batches of {worst.batch} leave noise "
        f"{noise / worst.batch:.2g} x clip per averaged gradient (at most {MAX_RELATIVE_NOISE}); "
        f"epsilon {needed:.3g} would do",
        hint="raise `epsilon`, declare the table public, or lower `max_epochs`",
    )


#: What rows x epsilon per modelled column has given, as (floor of the signal, words):
#: measured per table on two public databases under DP (BENCHMARKS.md, issue 19).
EXPECTED_LOSS = (
    (0.0, "large: most columns lose their shape (measured accuracy 0.15-0.67)"),
    (SMALL_TABLE_SIGNAL, "moderate (measured accuracy 0.80-0.89)"),
    (2_000.0, "small (measured accuracy 0.94-1.00)"),
)


def expected_loss(rows: float, epsilon: float, columns: int) -> dict[str, Any]:
    """What DP is expected to cost a table's accuracy, from its released rows, epsilon and
    modelled columns (all public or released): for the report, before any score is seen."""
    signal = rows * epsilon / max(columns, 1)
    words = next(text for floor, text in reversed(EXPECTED_LOSS) if signal >= floor)
    return {
        "rows": round(rows),
        "epsilon": epsilon,
        "columns": columns,
        "signal": round(signal, 1),
        "expected": words,
    }


def small_table_warning(name: str, rows: float, epsilon: float, columns: int) -> str | None:
    """A line when ``rows`` x ``epsilon`` are too few for ``columns``, with what would help."""
    if columns == 0:
        return None
    signal = rows * epsilon / columns
    if signal >= SMALL_TABLE_SIGNAL:
        return None
    wanted = SMALL_TABLE_SIGNAL * columns / max(rows, 1.0)
    return (
        f"{name}: about {rows:,.0f} rows x epsilon {epsilon:g} over {columns} columns is "
        f"{signal:,.0f} per column (under {SMALL_TABLE_SIGNAL:,.0f}): expect a large loss of "
        f"accuracy (on 682 rows, epsilon 1 scored 0.15-0.20 and 4 scored 0.67); epsilon "
        f"{wanted:.3g}, public bounds or categories (`public`), fewer columns, or a larger "
        f"`preprocessing_share` (0.6-0.8 took those 682 rows at epsilon 1 to 0.45-0.60: the "
        f"statistics, not DP-SGD, are what a small table lacks) would help"
    )


def noise_entry(
    target: str, sigma: float, sensitivity: float, rdp_delta: float, **params: Any
) -> LedgerEntry:
    """A ledger entry for one Gaussian count release of the database's own (not an encoder's)."""
    return LedgerEntry(
        mechanism="gaussian histogram",
        target=target,
        epsilon=accounting.epsilon([(sigma, 1.0, 1)], rdp_delta),
        delta=rdp_delta,
        noise_multiplier=sigma,
        sample_rate=1.0,
        steps=1,
        accountant=accounting.ACCOUNTANT,
        parameters={"sensitivity": sensitivity, **params},
    )


def histogram_sigma(privacy: Privacy, rdp_delta: float, releases: int) -> float:
    """One noise multiplier for every histogram of every table, costing ``preprocessing_share``
    of epsilon together."""
    return mechanisms.gaussian_sigma_for(
        privacy.preprocessing_share * privacy.epsilon, rdp_delta, max(releases, 1)
    )
