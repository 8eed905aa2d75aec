"""How well a twin keeps the rules of its source: each rule's share in both.

Per-table accuracy can be 0.95 while invoices are billed to another customer's city: the
statistics hide broken logic, so every evaluation lists the rules (those a model kept, or, for
two tables or databases given without a model, those found in the real one) with the share of
rows keeping each in the source and in the twin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from synthdb.rules.database import Positions, discover_database_rules, key_columns
from synthdb.rules.database import rule_share as database_share
from synthdb.rules.model import TABLE_KINDS, Rule, RuleShare
from synthdb.rules.table import discover_table_rules, format_share
from synthdb.rules.table import rule_share as table_share
from synthdb.schema.inference import infer_schema
from synthdb.schema.relations import DatabaseSchema
from synthdb.schema.table import TableSchema
from synthdb.schema.values import to_typed


def table_rule_shares(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    rules: Sequence[Rule] | None = None,
    *,
    table: str = "table",
) -> list[RuleShare]:
    """Shares of ``rules`` (default: those found in ``real``) in both tables, as read."""
    schema = infer_schema(real, table)
    real_typed = to_typed(real, schema)
    synthetic_typed = to_typed(
        synthetic[[c for c in schema.names if c in synthetic]], _only(schema, synthetic)
    )
    if rules is None:
        rules = discover_table_rules(real_typed, schema)
    out = []
    for rule in rules:
        if rule.kind == "format":
            out.append(
                RuleShare(
                    rule.text, rule.kind, format_share(rule, real), format_share(rule, synthetic)
                )
            )
        elif rule.kind in TABLE_KINDS:
            out.append(
                RuleShare(
                    rule.text,
                    rule.kind,
                    table_share(rule, real_typed),
                    table_share(rule, synthetic_typed),
                )
            )
    return out


def _only(schema: TableSchema, frame: pd.DataFrame) -> TableSchema:
    """``schema`` less the columns ``frame`` lacks."""
    return TableSchema(schema.name, [c for c in schema.columns if c.name in frame], schema.rows)


def database_rule_shares(
    schema: DatabaseSchema,
    real: Mapping[str, pd.DataFrame],
    synthetic: Mapping[str, pd.DataFrame],
    rules: Sequence[Rule] | None = None,
) -> list[RuleShare]:
    """Shares of ``rules`` (default: every rule found in ``real``) in both databases."""
    found_tables = rules is None
    if rules is None:
        rules = discover_database_rules(schema, real)
    real_positions = Positions(schema, real)
    synthetic_positions = Positions(schema, synthetic)
    out = [
        RuleShare(
            rule.text,
            rule.kind,
            database_share(rule, real_positions),
            database_share(rule, synthetic_positions),
        )
        for rule in rules
        if rule.kind not in TABLE_KINDS
    ]
    for name in schema.order:
        frame = real[name]
        if name not in synthetic or not len(frame):
            continue
        keys = key_columns(schema.table(name))
        values = [c for c in frame.columns if c not in keys]
        if not values:
            continue
        mine = (
            None
            if found_tables
            else [r for r in rules if r.table == name and r.kind in TABLE_KINDS]
        )
        if mine == []:
            continue
        out += table_rule_shares(frame[values], synthetic[name], mine, table=name)
    return out


def identifier_copies(
    rules: Sequence[Rule], real: Mapping[str, pd.DataFrame]
) -> dict[str, list[str]]:
    """Per table, the columns that copy an identifier of an ancestor (a column whose real
    values are all distinct, such as a customer's street address on each invoice).

    The ancestor's identifier is regenerated in the twin, never copied, so its copies are new
    identifiers as well: like keys, they are left out of per-table accuracy (which would
    otherwise reward a twin that reproduced the real identifiers).
    """
    out: dict[str, list[str]] = {}
    for rule in rules:
        if rule.kind not in ("copy", "lookup") or rule.related not in real:
            continue
        values = real[str(rule.related)].get(str(rule.source))
        if values is None:
            continue
        present = values.dropna()
        if len(present) >= 2 and present.nunique() == len(present):
            out.setdefault(rule.table, []).append(rule.column)
    return out
