"""Every figure of the quality and privacy report, computed once, as one typed object.

:class:`QualityReport` is an :class:`AccuracyReport` (its accuracy fields and their meaning are
unchanged, so code that read ``evaluate(...).overall`` still does) plus what the report page
shows: per-column distributions, association matrices, privacy measures and ML utility. The
page is drawn from :meth:`QualityReport.to_dict`, so the page and the JSON cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from synthdb.errors import UsageError
from synthdb.evaluation.accuracy import AccuracyReference, AccuracyReport, ColumnKind
from synthdb.evaluation.distributions import (
    Associations,
    ColumnDistribution,
    DisplayKind,
    associations,
    column_distributions,
)
from synthdb.evaluation.privacy import MAX_ROWS, PrivacyReport, privacy
from synthdb.evaluation.sequences import SequenceCoherence
from synthdb.evaluation.utility import UtilityReport, ml_utility
from synthdb.rules.model import RuleShare

Progress = Callable[[str], None]


@dataclass(frozen=True)
class QualityReport(AccuracyReport):
    """Accuracy (inherited), plus distributions, associations, privacy and ML utility."""

    #: rows of each input as given (before any sampling)
    rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, ColumnDistribution] = field(default_factory=dict)
    associations: Associations | None = None
    privacy: PrivacyReport | None = None
    utility: UtilityReport | None = None
    #: caveats the page shows beside the figures (sampling, rows left out)
    notes: list[str] = field(default_factory=list)
    #: each rule's share of rows in the real and the synthetic table
    rules: list[RuleShare] = field(default_factory=list)
    #: for a table of sequences: their coherence figures (one entry), and what the page draws
    #: of them (lengths, a few sequences)
    sequences: list[SequenceCoherence] = field(default_factory=list)
    sequence_views: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (non-finite numbers become None); the accuracy keys come first."""
        data = super().to_dict()
        data.update(
            rows=dict(self.rows),
            columns={name: c.to_dict() for name, c in self.columns.items()},
            associations=self.associations.to_dict() if self.associations else None,
            privacy=self.privacy.to_dict() if self.privacy else None,
            utility=self.utility.to_dict() if self.utility else None,
            notes=list(self.notes),
            rules=[rule.to_dict() for rule in self.rules],
        )
        if self.sequences:
            data["sequences"] = [item.to_dict() for item in self.sequences]
            data["sequence_views"] = list(self.sequence_views)
        finite: dict[str, Any] = _finite(data)
        return finite


def assess(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: Mapping[str, DisplayKind],
    *,
    target: str | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    progress: Progress | None = None,
) -> QualityReport:
    """All report figures for typed frames holding the columns of ``kinds``.

    ``progress`` hears one line before each step that may take seconds.
    """
    say = progress or _silent
    if target is not None and holdout is None:
        raise UsageError(
            "ML utility needs real rows that the model did not see, to test on",
            hint="pass a holdout (--holdout) along with the target",
        )
    accuracy_kinds: dict[str, ColumnKind] = {
        c: "categorical" if k == "categorical" else "numeric" for c, k in kinds.items()
    }
    n = len(accuracy_kinds)
    say(
        f"accuracy: {n} columns, {math.comb(n, 2)} pairs and {min(math.comb(n, 3), 10_000):,} "
        f"triples of {len(real):,} real and {len(synthetic):,} synthetic rows"
    )
    reference = AccuracyReference.fit(real, accuracy_kinds)
    scores = reference.score(synthetic, trivariate=True)
    if holdout is not None:
        scores = replace(scores, holdout=reference.score(holdout, trivariate=True))

    say("distributions and associations")
    distributions = column_distributions(real, synthetic, kinds)
    matrices = associations(
        reference.names, reference.sizes, reference.real_codes, reference.encode(synthetic)
    )

    say(
        f"privacy: nearest neighbours of {min(len(synthetic), max_rows):,} synthetic rows"
        + (" (a sample)" if len(synthetic) > max_rows else "")
    )
    risk = privacy(real, synthetic, holdout, accuracy_kinds, max_rows=max_rows, seed=seed)
    notes: list[str] = []
    if risk.sampled:
        notes.append(
            f"privacy distances use seeded samples: {risk.synthetic_rows:,} synthetic rows "
            f"against {risk.reference_rows:,} training rows"
            + (" and as many holdout rows" if holdout is not None else "")
        )

    utility = None
    if target is not None and holdout is not None:
        say(f"ML utility: training models for {target!r} on synthetic and on real rows")
        utility = ml_utility(real, synthetic, holdout, target, accuracy_kinds, seed=seed)
        notes.extend(f"ML utility: {note}" for note in utility.notes)

    rows = {"real": len(real), "synthetic": len(synthetic)}
    if holdout is not None:
        rows["holdout"] = len(holdout)
    return QualityReport(
        overall=scores.overall,
        univariate=scores.univariate,
        bivariate=scores.bivariate,
        trivariate=scores.trivariate,
        per_column=scores.per_column,
        per_pair=scores.per_pair,
        holdout=scores.holdout,
        rows=rows,
        columns=distributions,
        associations=matrices,
        privacy=risk,
        utility=utility,
        notes=notes,
    )


def _silent(message: str) -> None:
    del message


def _finite(value: Any) -> Any:
    """The same structure with NaN and infinities as None: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
