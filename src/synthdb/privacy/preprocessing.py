"""The encoders' statistics under differential privacy, charged to the model's ledger.

Without DP the encoders read exact facts off the data: category lists, numeric ranges, bin
edges, point masses, the row count, the means that replace NULLs. Each of those can single out
a person (a category held by one row, a maximum that is one person's income), so under DP they
all come from noisy Gaussian histograms (:mod:`synthdb.privacy.mechanisms`):

- the row count: one noisy count;
- a categorical column: noisy counts of its observed values, released only above a stability
  threshold, so a value held by one row never appears except with probability ``delta``;
  values below the threshold become the placeholder ``_RARE_``; a boolean column's two values
  are public (the schema's spelling), so its counts need no threshold;
- a numeric or datetime column: a range from noisy counts of fixed power-of-two buckets
  (skipped when the user declares bounds public), then noisy counts on a fixed grid over that
  range (one cell per integer when the range holds at most 150 integers, which then all get
  an exact token), from which bin edges, the final range and the NULL-replacing mean follow;
  point masses (values held by at least 1% of rows, such as the zeros of ``capital_gain``)
  come from a thresholded histogram of the exact values.

NULL counts ride in the same histograms (a NULL row falls into the NULL cell and no other), as
does the most frequent category that ``--nulls replace`` uses. The mean is a post-processing of
the grid: the Laplace mechanism on clamped values would cost extra budget for the same answer.

What is *not* protected, and says so in the ledger with epsilon 0: the schema (column names,
kinds, integer or not, decimals, date formats, boolean spellings), which the user can pin in the
job file; and the order of magnitude of the row count behind the default delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.config import Privacy, PublicColumn
from synthdb.encoding.base import ColumnEncoder
from synthdb.encoding.categorical import MAX_CATEGORIES, CategoricalEncoder
from synthdb.encoding.marked import MarkedDateEncoder, split_marks
from synthdb.encoding.nulls import NullPolicy, NullReport
from synthdb.encoding.numeric import BINS, FINE, MAX_EXACT_VALUES, POINT_MASS_SHARE, NumericEncoder
from synthdb.encoding.table import MODELLED_KINDS, TableEncoder
from synthdb.privacy import accounting, mechanisms
from synthdb.privacy.ledger import Ledger, LedgerEntry
from synthdb.schema.inference import MARK_SHIFT, split_marked
from synthdb.schema.table import ColumnSchema, TableSchema
from synthdb.schema.values import typed_column

#: What a category below the vocabulary threshold is generated as.
RARE = "_RARE_"
#: Cells of the grid that a continuous column's bin edges are read from.
GRID_CELLS = 256
#: The noisy counts of an integer column's cells seed the network soft-thresholded by this
#: many noise standard deviations (post-processing, free): a cell with no rows then seeds
#: about 0.01 sigma of mass instead of 0.4 sigma, while cells of many rows barely change.
SOFT_THRESHOLD_SIGMAS = 2.0
#: ... and a cell left with a count while both its neighbours have none must clear this many
#: sigmas on its own: the largest noise among the 80-odd empty cells of Adult's too-wide
#: integer ranges passes 2 sigma in most releases (2.3% a cell) and put a cluster of
#: impossible values (``education_num`` 17-31, ages above 90) into most twins; 3.5 sigma
#: passes 0.02% a cell. A real value held alone by fewer rows than that is dropped with them.
ISOLATED_SIGMAS = 3.5
#: Share of delta set aside for the stability thresholds (the rest converts the RDP curve).
THRESHOLD_DELTA_SHARE = 0.1


def default_delta(rows: int) -> float:
    """min(1e-5, 1/(10 n)) with n rounded up to a power of ten, so that only the row count's
    order of magnitude shapes the (public) delta."""
    magnitude = 10 ** int(np.ceil(np.log10(max(rows, 1))))
    return float(min(1e-5, 1.0 / (10 * magnitude)))


@dataclass
class Prepared:
    """Everything the DP pipeline hands to training, all of it safe to publish."""

    schema: TableSchema
    prepared: pd.DataFrame
    encoder: TableEncoder
    nulls: NullReport
    rows: float
    #: noisy token counts per sub-column (None: unknown), for the heads' starting biases
    token_counts: list[np.ndarray | None]
    ledger: Ledger
    warnings: list[str] = field(default_factory=list)


class _Budget:
    """Noise and thresholds for the preprocessing histograms, and their ledger entries."""

    def __init__(
        self, sigma: float, threshold: float, key_delta: float, rdp_delta: float, ledger: Ledger
    ) -> None:
        self.sigma = sigma
        self.threshold = threshold
        self.key_delta = key_delta
        self.rdp_delta = rdp_delta
        self.ledger = ledger
        #: each histogram's own guarantee, at the delta left after the thresholds' share
        self._single = accounting.epsilon([(sigma, 1.0, 1)], rdp_delta)

    def charge(self, target: str, *, thresholded: bool = False, **parameters: Any) -> None:
        self.ledger.add(
            LedgerEntry(
                mechanism="gaussian histogram",
                target=target,
                epsilon=self._single,
                delta=self.rdp_delta,
                noise_multiplier=self.sigma,
                sample_rate=1.0,
                steps=1,
                threshold_delta=self.key_delta if thresholded else 0.0,
                accountant=accounting.ACCOUNTANT,
                parameters={"sensitivity": 1.0, **parameters},
            )
        )


def prepare(
    typed: pd.DataFrame,
    schema: TableSchema,
    policy: NullPolicy,
    privacy: Privacy,
    delta: float,
    rng: np.random.Generator,
) -> Prepared:
    """Fit DP encoders on ``typed`` (the typed view), apply ``policy``, charge ``ledger``."""
    schema = _public_kinds(schema)
    typed = typed.copy()
    for column in schema.columns:
        if column.kind == "categorical" and column.name in typed:
            typed[column.name] = typed_column(typed[column.name], column)
    if policy == "drop":
        typed = typed.loc[~typed[_modelled(schema)].isna().any(axis=1)].reset_index(drop=True)

    plan = _plan(schema, privacy)
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
    thresholded, releases = plan
    key_share = THRESHOLD_DELTA_SHARE * delta if thresholded else 0.0
    key_delta = key_share / max(thresholded, 1)
    rdp_delta = delta - key_share
    sigma = mechanisms.gaussian_sigma_for(
        privacy.preprocessing_share * privacy.epsilon, rdp_delta, releases
    )
    threshold = mechanisms.stability_threshold(sigma, key_delta) if thresholded else 0.0
    budget = _Budget(sigma, threshold, key_delta, rdp_delta, ledger)

    rows = max(float(len(typed) + rng.normal(0.0, sigma)), 1.0)
    budget.charge("row count", released=round(rows))

    encoders: list[ColumnEncoder] = []
    counts: list[np.ndarray | None] = []
    replacements: dict[str, Any] = {}
    null_estimates: dict[str, int] = {}
    warnings: list[str] = []
    for column in schema.columns:
        if column.kind not in MODELLED_KINDS:
            continue
        values = typed[column.name]
        public = privacy.public.get(column.name)
        fitted: _Fitted
        if _is_marked(column):
            fitted = _fit_marked(column, values, rows, budget, rng, public, policy)
        elif column.kind in ("numeric", "datetime"):
            fitted = _fit_numeric(column, values, rows, budget, rng, public, policy)
        else:
            fitted = _fit_categorical(column, values, rows, budget, rng, public, policy)
        encoders.append(fitted.encoder)
        counts.extend(fitted.counts)
        null_estimates[column.name] = max(round(fitted.nulls), 0)
        # Every column gets its DP average, NULLs or not: listing only the columns that have
        # NULLs would publish that fact exactly.
        if policy == "replace":
            if fitted.replacement is None:
                warnings.append(
                    f"column {column.name!r}: no DP average could be released, NULLs stay NULL"
                )
            else:
                replacements[column.name] = fitted.replacement
    if policy == "replace":
        for name, value in replacements.items():
            typed[name] = typed[name].where(typed[name].notna(), value)
            if typed[name].dtype == object:
                typed[name] = typed[name].astype(object)
    report = NullReport(
        policy=policy,
        rows_before=round(rows),
        rows_after=round(rows),
        replaced_with=replacements if policy == "replace" else {},
        cells_replaced={c: n for c, n in null_estimates.items() if c in replacements},
        warnings=[
            "differential privacy: row and cell counts here are DP estimates, "
            "exact counts are not recorded",
            *warnings,
        ],
        estimated=True,
    )
    encoder = TableEncoder(encoders)
    return Prepared(
        schema=_scrubbed(schema, encoder, round(rows)),
        prepared=typed,
        encoder=encoder,
        nulls=report,
        rows=rows,
        token_counts=counts,
        ledger=ledger,
        warnings=warnings,
    )


def _modelled(schema: TableSchema) -> list[str]:
    return [c.name for c in schema.columns if c.kind in MODELLED_KINDS]


def _public_kinds(schema: TableSchema) -> TableSchema:
    """A constant column's value is data: under DP it is learned as a category instead."""
    columns = []
    for column in schema.columns:
        if column.kind == "constant":
            column = ColumnSchema(
                name=column.name, kind="categorical", storage="text", nullable=True
            )
        columns.append(column)
    return TableSchema(name=schema.name, columns=columns, rows=schema.rows)


def _plan(schema: TableSchema, privacy: Privacy) -> tuple[int, int]:
    """(thresholded histograms, all histograms) the preprocessing may release, at most."""
    thresholded, releases = 0, 1  # the row count
    for column in schema.columns:
        public = privacy.public.get(column.name)
        if column.kind in ("numeric", "datetime"):
            releases += 2 if public is None or public.bounds is None else 1
            thresholded += 1
            releases += 1
            releases += 1 if _is_marked(column) else 0  # the marks' counts
        elif column.kind == "boolean":
            releases += 1
        elif column.kind == "categorical" and (public is None or public.categories is None):
            thresholded += 1
            releases += 1
    return thresholded, releases


@dataclass
class _Fitted:
    encoder: ColumnEncoder
    counts: list[np.ndarray | None]
    nulls: float
    replacement: Any = None


def _fit_categorical(
    column: ColumnSchema,
    values: pd.Series,
    rows: float,
    budget: _Budget,
    rng: np.random.Generator,
    public: PublicColumn | None,
    policy: NullPolicy,
) -> _Fitted:
    present = values.dropna()
    null_count = float(len(values) - len(present))
    if public is not None and public.categories is not None:
        categories, released = list(public.categories), None
        nulls = null_count if policy == "keep" else 0.0  # unused: no release
        has_null = policy == "keep"
        mode = categories[0] if categories else None
        encoder = CategoricalEncoder(
            column.name, categories, has_null, rare_values=[RARE], rare_counts=[1], kind=column.kind
        )
        return _Fitted(encoder, [None], 0.0 if not has_null else nulls, mode)
    if column.kind == "boolean":
        domain = column.boolean_tokens or ["False", "True"]
        counts = present.value_counts()
        raw = np.array([counts.get(v, 0) for v in domain] + [null_count], dtype=np.float64)
        noisy = mechanisms.noisy(raw, budget.sigma, rng)
        budget.charge(f"{column.name}: counts of {domain} + NULLs")
        categories, released, nulls = list(domain), noisy[:-1], float(noisy[-1])
        rare: list[str] = []
    else:
        kept = mechanisms.stable_histogram(present, budget.sigma, budget.threshold, rng)
        nulls = float(null_count + rng.normal(0.0, budget.sigma))
        budget.charge(
            f"{column.name}: vocabulary + NULLs",
            thresholded=True,
            threshold=budget.threshold,
        )
        items = list(kept.items())[:MAX_CATEGORIES]
        categories = [str(k) for k, _ in items]
        released = np.array([v for _, v in items], dtype=np.float64)
        rare = [RARE]
    has_null = policy == "keep" and nulls > mechanisms.utility_threshold(budget.sigma)
    encoder = CategoricalEncoder(
        column.name,
        categories,
        has_null,
        rare_values=rare,
        rare_counts=[1] * len(rare),
        kind=column.kind,
    )
    parts = [np.array([max(nulls, 0.0)])] if has_null else []
    parts.append(np.clip(released, 0.0, None))
    if rare:
        rest = rows - float(np.clip(released, 0, None).sum()) - max(nulls, 0.0)
        parts.append(np.array([max(rest, 0.0)]))
    mode = categories[int(np.argmax(released))] if len(categories) else None
    return _Fitted(encoder, [np.concatenate(parts)], nulls, mode)


def _fit_numeric(
    column: ColumnSchema,
    values: pd.Series,
    rows: float,
    budget: _Budget,
    rng: np.random.Generator,
    public: PublicColumn | None,
    policy: NullPolicy,
) -> _Fitted:
    numbers = np.asarray(values, dtype=np.float64)
    is_null = np.isnan(numbers)
    present = numbers[~is_null]
    integer = column.integer or column.kind == "datetime"
    sigma = budget.sigma
    empty = NumericEncoder(column.name, integer, 0.0, 0.0, policy == "keep", [], [], column.kind)
    if public is not None and public.bounds is not None:
        bounds: tuple[float, float] | None = (float(public.bounds[0]), float(public.bounds[1]))
    else:
        bounds = mechanisms.dp_bounds(present, sigma, rng)
        budget.charge(f"{column.name}: range")
    if bounds is None:
        return _Fitted(empty, [None] * len(empty.sub_columns), 0.0)
    low, high = bounds
    if integer:
        low, high = float(np.floor(low)), float(np.ceil(high))
    small = integer and high - low + 1 <= MAX_EXACT_VALUES
    if small:
        grid = np.arange(low - 0.5, high + 1.0, 1.0)
    else:
        grid = np.linspace(low, high, GRID_CELLS + 1)
    released = mechanisms.grid_counts(present, grid, sigma, rng)
    nulls = float(is_null.sum() + rng.normal(0.0, sigma))
    budget.charge(
        f"{column.name}: grid of {grid.size - 1} + NULLs",
        low=float(grid[0]),
        high=float(grid[-1]),
    )
    has_null = policy == "keep" and nulls > mechanisms.utility_threshold(sigma)
    # The range stays the bucket range (at most twice too wide): trimming cells by their noisy
    # counts cuts real tails (ages past 51 at epsilon 1), and the network learns empty cells.
    # Seeding the network with the clipped noisy counts would give every empty cell of a range
    # up to twice too wide the mass of its noise (ages of 91-128 for 1% of rows at epsilon 4).
    seeded = _denoised(released, sigma)
    centres = (grid[:-1] + grid[1:]) / 2
    # The NULL-replacing mean weighs each cell by its share of the running-maximum CDF, as the
    # bin masses do: counts clipped at zero put about 0.4 sigma in every empty cell of a range
    # up to twice too wide, which pulled the mean of 2,000 ages 18-79 up by 13 years at
    # epsilon 1 (4-5 this way; the raw counts are unbiased but swing by 9).
    mass = np.diff(mechanisms.grid_cumulative(released))
    mean = float((centres * mass).sum() / mass.sum()) if mass.sum() > 0 else None
    if mean is not None and integer:
        mean = float(np.round(mean))
    null_part = [np.array([max(nulls, 0.0)])] if has_null else []
    if small:
        encoder = NumericEncoder(
            column.name,
            integer,
            float(centres[0]),
            float(centres[-1]),
            has_null,
            [float(v) for v in centres],
            [],
            column.kind,
        )
        counts = np.concatenate([*null_part, seeded])
        return _Fitted(encoder, [counts], nulls, mean)

    minimum, maximum = float(grid[0]), float(grid[-1])
    share = max(POINT_MASS_SHARE * rows, budget.threshold)
    points = mechanisms.stable_histogram(present, sigma, share, rng)
    budget.charge(
        f"{column.name}: point masses",
        thresholded=True,
        threshold=share,
    )
    exact_values: list[float] = sorted(
        float(v)  # type: ignore[arg-type]
        for v in points
        if minimum <= float(v) <= maximum  # type: ignore[arg-type]
    )
    rest = released.copy()
    for value in exact_values:
        cell = int(np.clip(np.searchsorted(grid, value, side="right") - 1, 0, rest.size - 1))
        rest[cell] -= points[value]
    # Raw, unclipped counts: see mechanisms.grid_cumulative (clipping spent bins on nothing).
    edges = np.unique(mechanisms.grid_quantiles(rest, grid, np.linspace(0.0, 1.0, BINS + 1)))
    edges = np.unique(np.clip(edges, minimum, maximum))
    if edges.size < 2:
        edges = np.array([minimum, maximum]) if maximum > minimum else np.empty(0)
    edges[0], edges[-1] = minimum, maximum
    encoder = NumericEncoder(
        column.name,
        integer,
        minimum,
        maximum,
        has_null,
        exact_values,
        [float(v) for v in edges],
        column.kind,
    )
    bins = max(edges.size - 1, 0)
    point_counts = np.array([max(points[v], 0.0) for v in exact_values])
    rest_mass = max(rows - point_counts.sum() - max(nulls, 0.0), 0.0)
    first_counts = np.concatenate(
        [*null_part, point_counts, _bin_mass(rest, grid, edges, rest_mass)]
    )
    fine: list[np.ndarray | None] = [np.ones(FINE)] if bins else []
    return _Fitted(encoder, [first_counts, *fine], nulls, mean)


def _is_marked(column: ColumnSchema) -> bool:
    return column.kind == "datetime" and split_marked(column.datetime_format)[1] is not None


def _fit_marked(
    column: ColumnSchema,
    values: pd.Series,
    rows: float,
    budget: _Budget,
    rng: np.random.Generator,
    public: PublicColumn | None,
    policy: NullPolicy,
) -> _Fitted:
    """A marked date (:mod:`synthdb.encoding.marked`): noisy counts of its two marks, as a
    boolean's, then the date without its shift, as any datetime's."""
    labels, seconds = split_marks(values)
    as_mark = ColumnSchema(
        name=f"{column.name}#mark", kind="boolean", boolean_tokens=["plain", "marked"]
    )
    mark = _fit_categorical(as_mark, labels, rows, budget, rng, None, policy)
    date = _fit_numeric(column, pd.Series(seconds), rows, budget, rng, public, policy)
    assert isinstance(mark.encoder, CategoricalEncoder)
    assert isinstance(date.encoder, NumericEncoder)
    encoder = MarkedDateEncoder(column.name, mark.encoder, date.encoder)
    return _Fitted(encoder, [*mark.counts, *date.counts], date.nulls, date.replacement)


def _denoised(released: np.ndarray, sigma: float) -> np.ndarray:
    """An integer grid's noisy counts as the heads see them: soft-thresholded by
    :data:`SOFT_THRESHOLD_SIGMAS`, and an isolated survivor kept only above
    :data:`ISOLATED_SIGMAS` (post-processing, free)."""
    seeded = np.clip(released - SOFT_THRESHOLD_SIGMAS * sigma, 0.0, None)
    alive = seeded > 0
    neighbour = np.zeros_like(alive)
    neighbour[1:] |= alive[:-1]
    neighbour[:-1] |= alive[1:]
    weak = alive & ~neighbour & (released < ISOLATED_SIGMAS * sigma)
    seeded[weak] = 0.0
    return seeded


def _bin_mass(cells: np.ndarray, grid: np.ndarray, edges: np.ndarray, total: float) -> np.ndarray:
    """Mass of each bin between ``edges``, read off the noisy histogram ``cells`` on ``grid``
    the same way the edges were (:func:`mechanisms.grid_cumulative`) and scaled to ``total``:
    quantile bins hold about equal shares, except a last bin stretched over an empty top of
    the range, which gets (almost) none."""
    bins = max(edges.size - 1, 0)
    if bins == 0:
        return np.empty(0)
    at_edges = np.interp(edges, grid, mechanisms.grid_cumulative(cells))
    mass = np.clip(np.diff(at_edges), 0.0, None)
    if mass.sum() <= 0:
        return np.full(bins, total / bins)
    return mass * (total / mass.sum())


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
