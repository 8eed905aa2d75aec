"""What a rule is: a fact that holds in (nearly) every source row, kept in the twin by construction.

Applications rely on facts the statistics do not show: an invoice is billed to its customer's
city, a line costs what its track costs, an invoice's total is the sum of its lines, an order
ships after it is placed. A :class:`Rule` names one such fact and the share of source rows in
which it holds. Rules are found in the data (:mod:`synthdb.rules.table` within one table,
:mod:`synthdb.rules.database` across foreign keys), stored in the model file, kept at
generation, and measured again on the twin.

Every rule has a one-line text (:attr:`Rule.text`), which is its identity: ``synthdb inspect``
prints it, and a job file drops a rule by quoting it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

RuleKind = Literal[
    "copy",
    "lookup",
    "total",
    "order",
    "function",
    "part",
    "arithmetic",
    "precision",
    "format",
    "one_per_parent",
    "count_by_kind",
    "distinct_per_parent",
    "order_across",
]
#: Rules within one table (kept while a table's rows are drawn) and across tables (kept once
#: the whole database is drawn and its keys are filled).
TABLE_KINDS: tuple[RuleKind, ...] = (
    "order",
    "function",
    "part",
    "arithmetic",
    "precision",
    "format",
)
DATABASE_KINDS: tuple[RuleKind, ...] = (
    "copy",
    "lookup",
    "total",
    "one_per_parent",
    "count_by_kind",
    "distinct_per_parent",
    "order_across",
)
RULE_KINDS: tuple[RuleKind, ...] = TABLE_KINDS + DATABASE_KINDS

#: A rule is found when it holds in at least this share of the source rows it applies to: a
#: copy that holds in 98% of orders is a rule, one that holds in 60% or an order broken by one
#: row in ten is not.
MIN_SHARE = 0.95
#: ...and when it errs at most this fraction as often as chance would (the same columns with
#: one of them shuffled): ``loss <= gain`` holds in 95% of Adult's rows only because both are
#: mostly zero, and shuffled it holds in 96%; such a rule says nothing.
MAX_ERROR_VS_CHANCE = 0.25
#: ...and when chance alone breaks it in at least this share of rows: ``education_num <=
#: age`` holds in every row, shuffled or not (no one has 17 years of schooling at 16), so it
#: tells nothing about a row.
MIN_CHANCE_ERROR = 0.05
#: Parts of a datetime a number column may be: ``hour = hour(time_hour)``.
DATETIME_PARTS = ("year", "month", "day", "hour", "minute", "weekday")


@dataclass
class Rule:
    """One rule; which fields are set depends on ``kind`` (see :attr:`text`).

    ``path`` lists foreign keys from ``table`` upwards, each as its child-side columns:
    ``[["InvoiceId"], ["CustomerId"]]`` leads from InvoiceLine to Invoice to Customer.
    """

    kind: RuleKind
    #: the table whose column the rule sets (for totals: the parent holding the total)
    table: str
    #: the column the rule sets
    column: str
    #: share of the source rows (totals: parent rows; counts: parents) where it holds
    share: float = 1.0
    #: from the job file, not discovered
    declared: bool = False
    #: copy/lookup: the ancestor's column; order: the lower column; function: the column that
    #: determines ``column``; part: the datetime column; total: the child's summed column
    #: (None: the count of children)
    source: str | None = None
    #: total: a second factor (sum of source x other); arithmetic: the second operand
    other: str | None = None
    #: arithmetic: ``*`` or ``+`` (``column = source * other``)
    operator: str | None = None
    #: arithmetic: the result's decimals, to which it is rounded (None: compared to within
    #: a millionth)
    decimals: int | None = None
    #: order_across: the datetime formats of the ancestor's column and the child's, as read
    formats: list[str | None] | None = None
    #: copy/lookup: the ancestor table; total, one_per_parent, count_by_kind: the other table
    #: (the child for totals, the parent otherwise)
    related: str | None = None
    #: foreign keys followed from the child upwards (child-side columns of each)
    path: list[list[str]] = field(default_factory=list)
    #: part: which part of the datetime
    part: str | None = None
    #: count_by_kind: the category (and ``count``: how many rows of it each parent has);
    #: precision: the most decimals; format: the datetime format
    value: Any = None
    count: int | None = None
    #: function: [determining value, determined value] pairs
    mapping: list[list[Any]] | None = None
    #: function: kept by choosing the determining value to fit the determined one (a city
    #: drawn to fit the country), for a determining column of mostly one-row values, which
    #: the model pools and draws back at random
    reverse: bool = False
    #: order, order_across: quantiles (0%, 5%, ..., 100%) of ``column - source`` where the
    #: order holds, so a repaired row gets a gap the source would have
    gaps: list[float] | None = None

    @property
    def text(self) -> str:
        """The rule in one line, e.g. ``Invoice.BillingCity = Customer.City (via CustomerId)``."""
        via = f" (via {', '.join('+'.join(step) for step in self.path)})" if self.path else ""
        target = f"{self.table}.{self.column}"
        if self.kind in ("copy", "lookup"):
            return f"{target} = {self.related}.{self.source}{via}"
        if self.kind == "total":
            if self.source is None:
                return f"{target} = count({self.related}){via}"
            product = self.source + (f" * {self.other}" if self.other else "")
            return f"{target} = sum({self.related}.{product}){via}"
        if self.kind == "order":
            return f"{self.table}.{self.source} <= {target}"
        if self.kind == "order_across":
            return f"{self.related}.{self.source} <= {target}{via}"
        if self.kind == "function":
            return f"{self.table}.{self.source} -> {target}"
        if self.kind == "precision":
            return f"{target}: at most {self.value} decimals"
        if self.kind == "format":
            return f"{target}: written as {self.value}"
        if self.kind == "part":
            return f"{target} = {self.part}({self.table}.{self.source})"
        if self.kind == "arithmetic":
            operands = f"{self.table}.{self.source} {self.operator} {self.table}.{self.other}"
            return f"{target} = {operands}"
        if self.kind == "one_per_parent":
            return f"{target}: one value per {self.related}{via}"
        if self.kind == "distinct_per_parent":
            return f"{target}: distinct within each {self.related}{via}"
        return (
            f"{self.table}: {self.count} row(s) with {self.column} = {self.value} "
            f"per {self.related}{via}"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.text}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == [] or value is False:
                continue
            out[item.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        known = {item.name for item in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("kind") not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {values.get('kind')!r}")
        return cls(**values)


@dataclass
class RuleShare:
    """A rule's share in the source and in the twin (None where it cannot be measured)."""

    rule: str
    kind: str
    source_share: float | None
    synthetic_share: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "source_share": _rounded(self.source_share),
            "synthetic_share": _rounded(self.synthetic_share),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def passes(share: float, chance: float) -> bool:
    """Whether a candidate with ``share`` (and ``chance`` when shuffled) is a rule."""
    return (
        share >= MIN_SHARE
        and 1.0 - chance >= MIN_CHANCE_ERROR
        and (1.0 - share) <= MAX_ERROR_VS_CHANCE * (1.0 - chance)
    )


def select(
    found: Sequence[Rule], declared: Iterable[Rule], drop: Iterable[str], discover: bool
) -> list[Rule]:
    """The rules a model keeps: those found (unless discovery is off), less those dropped,
    plus those declared (a declared rule replaces a found one with the same text)."""
    dropped = {text.strip() for text in drop}
    declared = list(declared)
    texts = {rule.text for rule in declared}
    kept = [r for r in found if discover and r.text not in dropped and r.text not in texts]
    return kept + [r for r in declared if r.text not in dropped]


def rules_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Rule]:
    return [Rule.from_dict(item) for item in items]


def declared(items: Iterable[Mapping[str, Any]], table: str | None = None) -> list[Rule]:
    """Rules added in a job file, as :class:`Rule` objects (marked declared, share 1 unless
    given); ``table`` fills in a rule's table where it names none (a single-table job)."""
    out = []
    for item in items:
        values = {"share": 1.0, **dict(item), "declared": True}
        if table is not None:
            values.setdefault("table", table)
        if "table" not in values:
            raise ValueError(f"the added rule {dict(item)} names no table")
        out.append(Rule.from_dict(values))
    return out


def to_repair(
    broken: np.ndarray, applicable: int, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Which of the ``broken`` positions (rows or parents) to repair so that about ``share``
    of the ``applicable`` ones keep a rule: all of them for a rule that always held, else just
    enough, chosen at random; the others are left as drawn."""
    if len(broken) == 0 or applicable == 0:
        return broken[:0]
    if share >= 1.0:
        return broken
    repair = len(broken) - round((1.0 - share) * applicable)
    if repair <= 0:
        return broken[:0]
    return np.sort(rng.choice(broken, repair, replace=False))
