"""Accuracy of a synthetic database: per table, and per relationship.

Per table, the accuracy of DESIGN.md section 5 on the columns that are not keys (keys are new
identifiers by design). Per relationship, how many children each parent row has: real and
synthetic counts binned alike (as a numeric column is), scored 1 - total variation distance.
Keys are matched as text, so ``1`` and ``"1"`` are the same key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.evaluation.accuracy import AccuracyReference
from synthdb.evaluation.quality import _finite
from synthdb.evaluation.rules import database_rule_shares, identifier_copies
from synthdb.evaluation.sequences import (
    OrderedTable,
    SequenceCoherence,
    sequence_coherence,
    sequence_views,
    value_kinds,
)
from synthdb.rules.database import discover_database_rules
from synthdb.rules.model import Rule, RuleShare
from synthdb.schema.references import children_per_parent, parent_positions
from synthdb.schema.relations import DatabaseSchema, ForeignKey


@dataclass
class RelationAccuracy:
    child: str
    parent: str
    columns: list[str]
    accuracy: float
    real_mean: float
    synthetic_mean: float
    #: children per parent row, real and synthetic, for the report's pictures
    real_counts: list[int] = field(default_factory=list, repr=False)
    synthetic_counts: list[int] = field(default_factory=list, repr=False)


@dataclass
class TableAccuracy:
    table: str
    real_rows: int
    synthetic_rows: int
    #: None when the table has no columns besides keys
    overall: float | None
    univariate: float | None
    bivariate: float | None


@dataclass
class DatabaseAccuracy:
    tables: list[TableAccuracy]
    relations: list[RelationAccuracy]
    #: each rule's share of rows in the source and the twin
    rules: list[RuleShare] = field(default_factory=list)
    #: per child table drawn as sequences: coherence along them (evaluation/sequences.py)
    sequences: list[SequenceCoherence] = field(default_factory=list)
    #: per ordered table: what the report draws of its sequences (lengths, a few of each)
    sequence_views: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures: NaN (bivariate accuracy of a table with one column besides keys)
        becomes None, since JSON has no NaN and ``synthdb run --json`` writes this."""
        data: dict[str, Any] = _finite(
            {
                "tables": [asdict(t) for t in self.tables],
                "relations": [
                    {k: v for k, v in asdict(r).items() if not k.endswith("_counts")}
                    for r in self.relations
                ],
                "rules": [rule.to_dict() for rule in self.rules],
                "sequences": [sequence.to_dict() for sequence in self.sequences],
                "sequence_views": list(self.sequence_views),
            }
        )
        return data


def children_counts(child: pd.DataFrame, key: ForeignKey, parent: pd.DataFrame) -> np.ndarray:
    """How many ``child`` rows point at each ``parent`` row (zero included)."""
    positions = parent_positions(child, key.columns, parent, key.parent_columns)
    return children_per_parent(positions, len(parent))


#: Counts up to this are each their own bin (a constant "2 per parent" must not share a bin
#: with 0 and 4); larger counts (16 airlines with 10,000s of flights each) are binned as a
#: numeric column, or no two parents would ever share a bin.
COUNT_CATEGORIES = 30


def count_accuracy(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - TVD of two count distributions: one bin per count when counts are small, else
    binned as a numeric column is."""
    if len(real) == 0 or len(synthetic) == 0:
        return float(len(real) == len(synthetic))
    values = np.union1d(real, synthetic)
    if values.max() <= COUNT_CATEGORIES:
        real_share = np.array([(real == v).mean() for v in values])
        synthetic_share = np.array([(synthetic == v).mean() for v in values])
        return float(1.0 - 0.5 * np.abs(real_share - synthetic_share).sum())
    name = "children"
    reference = AccuracyReference.fit(pd.DataFrame({name: real}), {name: "numeric"})
    return float(reference.score(pd.DataFrame({name: synthetic})).univariate)


def database_accuracy(
    schema: DatabaseSchema,
    real: Mapping[str, pd.DataFrame],
    synthetic: Mapping[str, pd.DataFrame],
    rules: Sequence[Rule] | None = None,
    ordered: Sequence[OrderedTable] = (),
) -> DatabaseAccuracy:
    """Per-table accuracy, children per parent, the shares of ``rules`` (default: the rules
    found in ``real``) in both databases, and the coherence of the ``ordered`` tables'
    sequences. Per-table accuracy leaves out keys and the columns that copy an ancestor's
    identifier (:func:`identifier_copies`)."""
    tables = []
    relations = []
    if rules is None:
        rules = discover_database_rules(schema, real)
    copies = identifier_copies(rules, real)
    for name, table in schema.tables.items():
        keys = set(table.primary_key) | {c for k in table.foreign_keys for c in k.columns}
        keys |= set(copies.get(name, []))
        values = [c for c in table.names if c not in keys and c in real[name].columns]
        overall = univariate = bivariate = None
        if values and len(real[name]) and len(synthetic[name]):
            reference = AccuracyReference.fit(real[name][values].reset_index(drop=True))
            report = reference.score(synthetic[name][values].reset_index(drop=True))
            overall, univariate = report.overall, report.univariate
            bivariate = report.bivariate
        tables.append(
            TableAccuracy(
                name, len(real[name]), len(synthetic[name]), overall, univariate, bivariate
            )
        )
        for key in table.foreign_keys:
            if key.parent == name:
                continue
            real_counts = children_counts(real[name], key, real[key.parent])
            synthetic_counts = children_counts(synthetic[name], key, synthetic[key.parent])
            relations.append(
                RelationAccuracy(
                    child=name,
                    parent=key.parent,
                    columns=list(key.columns),
                    accuracy=count_accuracy(real_counts, synthetic_counts),
                    real_mean=float(real_counts.mean()) if len(real_counts) else 0.0,
                    synthetic_mean=float(synthetic_counts.mean()) if len(synthetic_counts) else 0.0,
                    real_counts=real_counts.tolist(),
                    synthetic_counts=synthetic_counts.tolist(),
                )
            )
    shares = database_rule_shares(schema, real, synthetic, rules)
    sequences, views = [], []
    for chain in ordered:
        name = chain.table
        if not len(real[name]) or not len(synthetic[name]):
            continue
        keys = key_columns_of(schema, name) | set(copies.get(name, []))
        values = [c for c in real[name].columns if c not in keys]
        kinds = value_kinds(real[name][values])
        by_key = bool(chain.order_by) and chain.order_by[0] in keys
        sequences.append(
            sequence_coherence(chain, real[name], synthetic[name], kinds, gaps=not by_key)
        )
        # an order by the table's own key (Berka's order_id) is shown, though not compared
        shown = [*chain.key_columns, *[c for c in chain.order_by if c not in values], *values]
        views.append(
            sequence_views(
                real[name][shown],
                synthetic[name][[c for c in shown if c in synthetic[name]]],
                chain.key_columns,
                chain.order_by,
            )
            | {"table": name}
        )
    return DatabaseAccuracy(tables, relations, shares, sequences, views)


def key_columns_of(schema: DatabaseSchema, name: str) -> set[str]:
    table = schema.table(name)
    return set(table.primary_key) | {c for k in table.foreign_keys for c in k.columns}
