"""The encoders' statistics under differential privacy, charged to the model's ledger.

Without DP the encoders read exact facts off the data: category lists, numeric ranges, bin
edges, point masses, the row count, the means that replace NULLs. Each of those can single out
a person (a category held by one row, a maximum that is one person's income), so under DP they
all come from noisy Gaussian histograms (:mod:`synthdb.privacy.mechanisms`). Each encoder's
private fit (``fit_private`` in :mod:`synthdb.encoding`) says what it needs through the
:class:`~synthdb.encoding.private.NoisyCounts` interface; :class:`ChargedCounts` here answers
with the mechanisms and writes every release into the ledger:

- the row count: one noisy count;
- a categorical column: noisy counts of its observed values, released only above a stability
  threshold, so a value held by one row never appears except with probability ``delta``;
  values below the threshold become the placeholder ``_RARE_``; a boolean column's two values
  are public (the schema's spelling), so its counts need no threshold;
- a numeric or datetime column: a range from noisy counts of fixed power-of-two buckets
  (skipped when the user declares bounds public), then noisy counts on a fixed grid over that
  range, and point masses from a thresholded histogram of the exact values.

NULL counts ride in the same histograms (a NULL row falls into the NULL cell and no other), as
does the most frequent category that ``--nulls replace`` uses. The mean is a post-processing of
the grid: the Laplace mechanism on clamped values would cost extra budget for the same answer.

All histograms share one noise level, calibrated before any is released so that together they
cost ``preprocessing_share`` of epsilon: the encoders say how many they release at most
(``TableEncoder.private_releases``).

What is *not* protected, and says so in the ledger with epsilon 0: the schema (column names,
kinds, integer or not, decimals, date formats, boolean spellings), which the user can pin in the
job file; and the order of magnitude of the row count behind the default delta.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdb.config import Privacy
from synthdb.encoding.marked import MarkedDateEncoder
from synthdb.encoding.nulls import NullPolicy
from synthdb.encoding.numeric import NumericEncoder
from synthdb.encoding.prepare import PreparedTable, prepare_table
from synthdb.encoding.table import TableEncoder
from synthdb.privacy import accounting, mechanisms
from synthdb.privacy.ledger import Ledger, LedgerEntry
from synthdb.schema.inference import MARK_SHIFT
from synthdb.schema.table import ColumnSchema, TableSchema
from synthdb.schema.values import typed_column

#: Share of delta set aside for the stability thresholds (the rest converts the RDP curve).
THRESHOLD_DELTA_SHARE = 0.1


def default_delta(rows: int) -> float:
    """min(1e-5, 1/(10 n)) with n rounded up to a power of ten, so that only the row count's
    order of magnitude shapes the (public) delta."""
    magnitude = 10 ** int(np.ceil(np.log10(max(rows, 1))))
    return float(min(1e-5, 1.0 / (10 * magnitude)))


@dataclass
class PrivatePreparation:
    """Everything the DP pipeline hands to training, all of it safe to publish."""

    #: the rows after the NULL policy, their encoder, the NULL report and the DP counts
    table: PreparedTable
    #: the schema without exact data facts (DP ranges, no counts)
    schema: TableSchema
    ledger: Ledger


@dataclass(frozen=True)
class SharedNoise:
    """One table's part of a database's budget, calibrated once for every table
    (:mod:`synthdb.privacy.database`): the releases go to the database's ledger."""

    ledger: Ledger
    #: noise multiplier of every histogram (noise std over sensitivity)
    sigma: float
    key_delta: float
    rdp_delta: float
    #: the sensitivity: at most this many rows of one subject in the table
    scale: int
    #: the table's row count, released already (with the same noise)
    rows: float
    #: the table's name, written before each release's target
    label: str
    #: each row's subject (0..n-1) in a table under the subject whose bound is above 1:
    #: the histograms then read one random row per subject (sensitivity 1, not ``scale``)
    subjects: np.ndarray | None = None
    #: the released count of subjects with rows in the table (the rows those histograms read)
    subject_rows: float | None = None


class ChargedCounts:
    """Noisy counts for the encoders' private fits (:class:`~synthdb.encoding.private.
    NoisyCounts`), each release written to ``ledger`` as a Gaussian histogram.

    ``scale`` is the sensitivity of every histogram: a subject with up to ``scale`` rows in the
    table moves a histogram by at most ``scale`` in L2 (all its rows in one cell), so the noise
    std is ``sigma * scale`` and the accountant sees multiplier ``sigma``; a key held by one
    subject alone counts up to ``scale``, so the stability threshold scales alike.
    """

    def __init__(
        self,
        sigma: float,
        threshold: float,
        key_delta: float,
        rdp_delta: float,
        ledger: Ledger,
        rng: np.random.Generator,
        *,
        scale: int = 1,
        released_rows: float | None = None,
        label: str = "",
    ) -> None:
        self.multiplier = sigma
        self.sigma = sigma * scale
        self.scale = scale
        self.threshold = threshold
        self.key_delta = key_delta
        self.rdp_delta = rdp_delta
        self.ledger = ledger
        self.rng = rng
        self.released_rows = released_rows
        self.label = label
        #: each histogram's own guarantee, at the delta left after the thresholds' share
        self._single = accounting.epsilon([(sigma, 1.0, 1)], rdp_delta)

    def rows(self, count: int) -> float:
        if self.released_rows is not None:  # released (and charged) with the database's counts
            return self.released_rows
        rows = max(float(count + self.rng.normal(0.0, self.sigma)), 1.0)
        self._charge("row count", released=round(rows))
        return rows

    def cells(self, target: str, counts: np.ndarray) -> np.ndarray:
        released = mechanisms.noisy(counts, self.sigma, self.rng)
        self._charge(target)
        return released

    def vocabulary(
        self, target: str, values: Iterable[Hashable], nulls: int
    ) -> tuple[dict[Hashable, float], float]:
        kept = mechanisms.stable_histogram(values, self.sigma, self.threshold, self.rng)
        released_nulls = float(nulls + self.rng.normal(0.0, self.sigma))
        self._charge(target, thresholded=True, threshold=self.threshold)
        return kept, released_nulls

    def frequent(
        self, target: str, values: Iterable[Hashable], threshold: float
    ) -> dict[Hashable, float]:
        kept = mechanisms.stable_histogram(values, self.sigma, threshold, self.rng)
        self._charge(target, thresholded=True, threshold=threshold)
        return kept

    def bounds(self, target: str, numbers: np.ndarray) -> tuple[float, float] | None:
        bounds = mechanisms.dp_bounds(numbers, self.sigma, self.rng)
        self._charge(target)
        return bounds

    def grid(
        self, target: str, numbers: np.ndarray, edges: np.ndarray, nulls: int
    ) -> tuple[np.ndarray, float]:
        released = mechanisms.grid_counts(numbers, edges, self.sigma, self.rng)
        released_nulls = float(nulls + self.rng.normal(0.0, self.sigma))
        self._charge(target, low=float(edges[0]), high=float(edges[-1]))
        return released, released_nulls

    def empty_below(self) -> float:
        return mechanisms.utility_threshold(self.sigma)

    def _charge(self, target: str, *, thresholded: bool = False, **parameters: Any) -> None:
        self.ledger.add(
            LedgerEntry(
                mechanism="gaussian histogram",
                target=f"{self.label}: {target}" if self.label else target,
                epsilon=self._single,
                delta=self.rdp_delta,
                noise_multiplier=self.multiplier,
                sample_rate=1.0,
                steps=1,
                threshold_delta=self.key_delta if thresholded else 0.0,
                accountant=accounting.ACCOUNTANT,
                parameters={"sensitivity": float(self.scale), **parameters},
            )
        )


def prepare(
    typed: pd.DataFrame,
    schema: TableSchema,
    policy: NullPolicy,
    privacy: Privacy,
    delta: float,
    rng: np.random.Generator,
    shared: SharedNoise | None = None,
) -> PrivatePreparation:
    """Fit DP encoders on ``typed`` (the typed view), apply ``policy``, charge the ledger.

    With ``shared`` (a table of a database), the noise was calibrated for the whole database
    and the releases go to its ledger."""
    schema = public_kinds(schema)
    typed = typed.copy()
    for column in schema.columns:
        if column.kind == "categorical" and column.name in typed:
            typed[column.name] = typed_column(typed[column.name], column)
    if shared is not None:
        label = shared.label
        for name, declared in privacy.public.items():
            shared.ledger.add(
                LedgerEntry(
                    mechanism="declared public",
                    target=f"{label}: column {name}",
                    epsilon=0.0,
                    parameters=declared.model_dump(exclude_none=True),
                    note="declared public: used as given, not charged",
                )
            )
        scale, released, fit_rows = shared.scale, shared.rows, None
        if shared.subjects is not None and shared.scale > 1 and policy != "drop":
            # One row per subject: a subject then moves each histogram by at most 1 (not K),
            # so the noise and the vocabulary threshold shrink K-fold; the statistics read a
            # uniform draw over subjects, as a histogram weighting each subject's rows 1/n
            # would, while DP-SGD still learns from all K rows of each subject.
            fit_rows = one_row_per_subject(shared.subjects, rng)
            scale = 1
            released = shared.subject_rows if shared.subject_rows is not None else len(fit_rows)
            shared.ledger.add(
                LedgerEntry(
                    mechanism="one row per subject",
                    target=f"{label}: histograms",
                    epsilon=0.0,
                    parameters={"rows_read": "one per subject, at random", "sensitivity": 1},
                    note=f"the histograms below read one random row of each subject (up to "
                    f"{shared.scale} enter training), so each has sensitivity 1",
                )
            )
        threshold = scale * mechanisms.stability_threshold(shared.sigma, shared.key_delta)
        counts = ChargedCounts(
            shared.sigma,
            threshold,
            shared.key_delta,
            shared.rdp_delta,
            shared.ledger,
            rng,
            scale=scale,
            released_rows=released,
            label=label,
        )
        table = prepare_table(typed, schema, policy, counts, privacy.public, fit_rows=fit_rows)
        scrubbed = _scrubbed(schema, table.encoder, round(table.rows))
        return PrivatePreparation(table, scrubbed, shared.ledger)
    ledger = Ledger(delta=delta, target_epsilon=privacy.epsilon)
    ledger.add(
        LedgerEntry(
            mechanism="assumed public",
            target="schema",
            epsilon=0.0,
            note="column names, kinds, integer or not, decimals, date formats and boolean "
            "spellings are read from the data and treated as public metadata (pin them in the "
            "job file's columns section); the default delta uses the row count's order of "
            "magnitude; key columns are regenerated, never learned",
        )
    )
    for name, declared in privacy.public.items():
        ledger.add(
            LedgerEntry(
                mechanism="declared public",
                target=f"column {name}",
                epsilon=0.0,
                parameters=declared.model_dump(exclude_none=True),
                note="declared public in the job file: used as given, not charged",
            )
        )
    thresholded, releases = TableEncoder.private_releases(schema, privacy.public)
    key_share = THRESHOLD_DELTA_SHARE * delta if thresholded else 0.0
    key_delta = key_share / max(thresholded, 1)
    rdp_delta = delta - key_share
    sigma = mechanisms.gaussian_sigma_for(
        privacy.preprocessing_share * privacy.epsilon, rdp_delta, releases
    )
    threshold = mechanisms.stability_threshold(sigma, key_delta) if thresholded else 0.0
    counts = ChargedCounts(sigma, threshold, key_delta, rdp_delta, ledger, rng)
    table = prepare_table(typed, schema, policy, counts, privacy.public)
    return PrivatePreparation(table, _scrubbed(schema, table.encoder, round(table.rows)), ledger)


def one_row_per_subject(subjects: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of one row per subject, chosen uniformly at random among its rows, in the
    rows' order."""
    order = rng.permutation(len(subjects))
    _, first = np.unique(subjects[order], return_index=True)
    return np.sort(order[first])


def public_kinds(schema: TableSchema) -> TableSchema:
    """A constant column's value is data: under DP it is learned as a category instead."""
    columns = []
    for column in schema.columns:
        if column.kind == "constant":
            column = ColumnSchema(
                name=column.name, kind="categorical", storage="text", nullable=True
            )
        columns.append(column)
    return TableSchema(name=schema.name, columns=columns, rows=schema.rows)


def _scrubbed(schema: TableSchema, encoder: TableEncoder, rows: int) -> TableSchema:
    """The schema without exact data facts: ranges become the DP ones, counts disappear."""
    ranges = {
        e.column: (e.minimum, e.maximum) for e in encoder.encoders if isinstance(e, NumericEncoder)
    }
    for e in encoder.encoders:
        if isinstance(e, MarkedDateEncoder):
            ranges[e.column] = (e.date.minimum, e.date.maximum + MARK_SHIFT)
    columns = []
    for column in schema.columns:
        values = dict(column.to_dict())
        values.update(distinct=0, null_count=0)
        if column.kind in ("numeric", "datetime"):
            values["minimum"], values["maximum"] = ranges.get(column.name, (None, None))
        else:
            values.pop("minimum", None)
            values.pop("maximum", None)
        columns.append(ColumnSchema.from_dict(values))
    return TableSchema(name=schema.name, columns=columns, rows=rows)
