"""Every figure of a whole-database report, computed once, as one typed object.

:class:`DatabaseQuality` holds three things:

- ``accuracy``: :func:`synthdb.evaluation.relations.database_accuracy` on all rows, the same
  figures ``synthdb run`` prints for a database and writes with ``--json``;
- per table, a :class:`~synthdb.evaluation.quality.QualityReport` of the table's non-key
  columns (distributions, bivariate accuracy, correlations, privacy), as the single-table
  report has it, so the page reuses the single-table sections;
- per relationship, the children-per-parent distribution binned for a picture.

Keys are left out of the per-table figures: the twin's keys are new identifiers by design
(regenerated), so comparing their values would only measure that they differ. Tables above
``max_rows`` rows are compared on seeded samples of that many rows for the per-table sections,
because nearest neighbours and trivariate marginals grow with rows; the summary's accuracy is
always on every row, and the notes say which tables were sampled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.evaluation.distributions import DisplayKind
from synthdb.evaluation.quality import QualityReport, _finite, assess
from synthdb.evaluation.relations import DatabaseAccuracy, RelationAccuracy, database_accuracy
from synthdb.evaluation.rules import identifier_copies
from synthdb.evaluation.sequences import OrderedTable
from synthdb.rules.database import discover_database_rules
from synthdb.rules.model import Rule
from synthdb.schema.relations import DatabaseSchema, TableDef

Progress = Callable[[str], None]

#: Rows of each side a table's sections compare; larger tables are sampled (seeded).
MAX_TABLE_ROWS = 20_000
#: Children-per-parent counts up to this many get one bar each; beyond, equal-width bins.
MAX_COUNT_BARS = 30
#: Bins of a children-per-parent histogram when the counts reach beyond :data:`MAX_COUNT_BARS`.
COUNT_BINS = 25


@dataclass(frozen=True)
class RelationDistribution:
    """How many children each parent row has, as shares of parent rows, real and synthetic.

    ``labels`` name the bars: single counts (``"0"``, ``"1"``, ...) while the largest count is
    at most :data:`MAX_COUNT_BARS`, otherwise ranges ``"a-b"`` of equal width (``edges``).
    """

    labels: list[str]
    edges: list[float] | None
    real: list[float]
    synthetic: list[float]
    real_parents: int
    synthetic_parents: int
    real_max: int
    synthetic_max: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatabaseQuality:
    """The figures of the database report page; :meth:`to_dict` is what ``--json`` holds."""

    accuracy: DatabaseAccuracy
    #: per table with columns besides keys: the single-table figures of those columns
    tables: dict[str, QualityReport]
    #: key columns per table (primary and foreign), regenerated in the twin
    keys: dict[str, list[str]]
    #: per relationship, in the order of ``accuracy.relations``
    distributions: list[RelationDistribution]
    #: tables whose sections compare samples: table -> rows compared per side
    sampled: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``tables`` and ``relations`` as :meth:`DatabaseAccuracy.to_dict` has them (each
        relation with its ``distribution`` added), ``table_reports`` per table, then the rest."""
        data = self.accuracy.to_dict()
        for relation, distribution in zip(data["relations"], self.distributions, strict=True):
            relation["distribution"] = distribution.to_dict()
        data.update(
            keys={name: list(columns) for name, columns in self.keys.items()},
            table_reports={name: report.to_dict() for name, report in self.tables.items()},
            sampled=dict(self.sampled),
            notes=list(self.notes),
        )
        finite: dict[str, Any] = _finite(data)
        return finite


def key_columns(table: TableDef) -> list[str]:
    """Primary and foreign key columns, in the table's column order."""
    keys = set(table.primary_key) | {c for k in table.foreign_keys for c in k.columns}
    return [c for c in table.names if c in keys]


def align(real: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """``synthetic`` with each column read as the real column is typed.

    A twin written to CSV comes back as text where the real database had numbers and dates;
    compared as text, every value would be a category of its own.
    """
    out = synthetic.copy()
    for name in real.columns:
        if name not in out.columns:
            continue
        kind, values = real[name].dtype, out[name]
        if values.dtype == kind:
            continue
        if pd.api.types.is_datetime64_any_dtype(kind):
            out[name] = pd.to_datetime(values, errors="coerce")
        elif pd.api.types.is_bool_dtype(kind):
            continue  # compared by text ("True"/"False") either way
        elif pd.api.types.is_numeric_dtype(kind):
            out[name] = pd.to_numeric(values, errors="coerce")
    return out


def assess_database(
    schema: DatabaseSchema,
    real: Mapping[str, pd.DataFrame],
    synthetic: Mapping[str, pd.DataFrame],
    *,
    max_rows: int = MAX_TABLE_ROWS,
    seed: int = 0,
    progress: Progress | None = None,
    rules: Sequence[Rule] | None = None,
    ordered: Sequence[OrderedTable] = (),
) -> DatabaseQuality:
    """All figures of the database report for the tables of ``schema``; ``rules`` are those a
    model kept (default: those found in ``real``); ``ordered`` the tables drawn as sequences,
    whose coherence is measured."""
    say = progress or _silent
    aligned = {name: align(real[name], synthetic[name]) for name in schema.order}
    say(f"accuracy of {len(schema.tables)} tables and {schema.foreign_key_count} foreign keys")
    if rules is None:
        rules = discover_database_rules(schema, real)
    accuracy = database_accuracy(schema, real, aligned, rules, ordered)
    reports: dict[str, QualityReport] = {}
    keys: dict[str, list[str]] = {}
    sampled: dict[str, int] = {}
    notes: list[str] = []
    copies = identifier_copies(rules if rules is not None else [], real)
    for name in schema.order:
        table = schema.table(name)
        keys[name] = key_columns(table) + copies.get(name, [])
        values = [c for c in table.names if c not in keys[name] and c in real[name].columns]
        if not values or not len(real[name]) or not len(aligned[name]):
            continue
        real_rows = _sample(real[name], max_rows, seed)
        synthetic_rows = _sample(aligned[name], max_rows, seed)
        if len(real_rows) < len(real[name]) or len(synthetic_rows) < len(aligned[name]):
            sampled[name] = max_rows
            notes.append(
                f"{name}: the table's sections compare seeded samples of {max_rows:,} rows "
                f"({len(real[name]):,} real, {len(aligned[name]):,} synthetic); the summary's "
                "accuracy uses every row"
            )
        kinds = display_kinds(real_rows[values])
        say(f"table {name}: {len(values)} columns besides keys")
        report = assess(
            _typed(real_rows[values], kinds),
            _typed(synthetic_rows[values], kinds),
            None,
            kinds,
            seed=seed,
        )
        reports[name] = report
        notes.extend(f"{name}: {note}" for note in report.notes)
    distributions = [relation_distribution(r) for r in accuracy.relations]
    return DatabaseQuality(accuracy, reports, keys, distributions, sampled, notes)


def display_kinds(frame: pd.DataFrame) -> dict[str, DisplayKind]:
    """Each column's kind as :func:`database_accuracy` bins it, dates told apart."""
    kinds: dict[str, DisplayKind] = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds[name] = "categorical"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[name] = "datetime"
        elif pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
            kinds[name] = "numeric"
        else:
            kinds[name] = "categorical"
    return kinds


def relation_distribution(relation: RelationAccuracy) -> RelationDistribution:
    """The counts of ``relation`` as bars of shares of parent rows, real and synthetic alike."""
    real = np.asarray(relation.real_counts, dtype=np.int64)
    synthetic = np.asarray(relation.synthetic_counts, dtype=np.int64)
    real_max = int(real.max()) if len(real) else 0
    synthetic_max = int(synthetic.max()) if len(synthetic) else 0
    top = max(real_max, synthetic_max)
    edges: list[float] | None = None
    if top <= MAX_COUNT_BARS:
        labels = [str(i) for i in range(top + 1)]
        real_shares = _shares(np.bincount(real, minlength=top + 1), len(real))
        synthetic_shares = _shares(np.bincount(synthetic, minlength=top + 1), len(synthetic))
    else:
        width = math.ceil((top + 1) / COUNT_BINS)
        cuts = np.arange(0, top + width + 1, width)
        edges = [float(c) for c in cuts]
        labels = [f"{a}-{b - 1}" for a, b in itertools.pairwise(int(c) for c in cuts)]
        real_shares = _shares(np.histogram(real, bins=cuts)[0], len(real))
        synthetic_shares = _shares(np.histogram(synthetic, bins=cuts)[0], len(synthetic))
    return RelationDistribution(
        labels=labels,
        edges=edges,
        real=real_shares,
        synthetic=synthetic_shares,
        real_parents=len(real),
        synthetic_parents=len(synthetic),
        real_max=real_max,
        synthetic_max=synthetic_max,
    )


def _shares(counts: np.ndarray, total: int) -> list[float]:
    if total == 0:
        return [0.0] * len(counts)
    return [float(c) / total for c in counts]


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=rows, random_state=seed).reset_index(drop=True)


def _typed(frame: pd.DataFrame, kinds: Mapping[str, DisplayKind]) -> pd.DataFrame:
    """The typed view :func:`assess` reads: numbers as floats, dates as seconds since 1970,
    categories as text with NULL as None."""
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = frame[name]
        if kind == "datetime":
            stamps = pd.to_datetime(values, errors="coerce")
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            raw = stamps.to_numpy(dtype="datetime64[us]")
            seconds = raw.astype(np.int64).astype(np.float64) / 1e6
            seconds[np.isnat(raw)] = np.nan
            out[name] = seconds
        elif kind == "numeric":
            out[name] = pd.to_numeric(values, errors="coerce").astype(np.float64)
        else:
            out[name] = values.map(
                lambda v: None if v is None or v is pd.NA or v != v else str(v)
            ).astype(object)
    return pd.DataFrame(out, index=frame.index)


def _silent(message: str) -> None:
    del message
