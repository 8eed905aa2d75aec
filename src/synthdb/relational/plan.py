"""Which relation each table is generated under, and which key columns are never learned.

A child table's rows are drawn *under* one parent row (its context): the parent's model learns
how many children each parent row has, and the child's model learns the child's values given
the parent's. Every other foreign key (a second parent, a self-reference, a cycle break) is
filled from the synthetic parent's keys afterwards, with each parent row's share of references
learned by the parent's model, so popular parents stay popular.

The context is the first foreign key in column order (schema designers put the owning parent
first: ``InvoiceLine(InvoiceId, TrackId)``, ``Track(AlbumId, MediaTypeId, GenreId)``); a job
file can name another with ``context: PARENT``. Rows whose context key is NULL are drawn too,
flagged as having no parent. Self-references and cycle breaks are never a
context: their parent is not generated yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from synthdb.errors import UsageError
from synthdb.schema.relations import DatabaseSchema, ForeignKey

#: Names of the hidden columns that hold children counts in a parent's model.
COUNT_PREFIX = "__synthdb_children_"


@dataclass(frozen=True)
class Relation:
    """``child.columns -> parent`` with its index in the child's foreign keys."""

    child: str
    index: int
    key: ForeignKey

    @property
    def parent(self) -> str:
        return self.key.parent

    @property
    def count_column(self) -> str:
        """The parent-side column that holds how many children each parent row has."""
        return f"{COUNT_PREFIX}{self.child}_{self.index}"

    def describe(self) -> str:
        return self.key.describe(self.child)


@dataclass
class TablePlan:
    name: str
    #: the relation this table's rows are drawn under (None: a root table)
    context: Relation | None = None
    #: foreign keys filled from synthetic parents after drawing
    others: list[Relation] = field(default_factory=list)
    #: relations whose parent is this table (their counts are learned with it)
    children: list[Relation] = field(default_factory=list)
    #: key columns: primary key and foreign key columns, never learned
    key_columns: list[str] = field(default_factory=list)


def make_plans(
    schema: DatabaseSchema, contexts: Mapping[str, str] | None = None
) -> dict[str, TablePlan]:
    """One plan per table, in the schema's dependency order; ``contexts`` maps table -> parent."""
    contexts = dict(contexts or {})
    unknown = sorted(set(contexts) - set(schema.tables))
    if unknown:
        raise UsageError(f"the job file sets a context for unknown table '{unknown[0]}'")
    plans = {name: TablePlan(name) for name in schema.order}
    for name, table in schema.tables.items():
        plan = plans[name]
        relations = [Relation(name, i, key) for i, key in enumerate(table.foreign_keys)]
        candidates = [
            r for r in relations if r.parent != name and not schema.is_cycle_break(name, r.key)
        ]
        wanted = contexts.get(name)
        if wanted is not None:
            chosen = [r for r in candidates if r.parent == wanted]
            if not chosen:
                raise UsageError(
                    f"table '{name}' cannot be generated under '{wanted}'",
                    hint="the context must be a parent it has a foreign key to "
                    f"({', '.join(sorted({r.parent for r in candidates})) or 'none'})",
                )
            plan.context = chosen[0]
        elif candidates:
            plan.context = candidates[0]
        plan.others = [r for r in relations if r is not plan.context]
        keys = list(table.primary_key)
        for key in table.foreign_keys:
            keys.extend(c for c in key.columns if c not in keys)
        plan.key_columns = keys
        for relation in relations:
            plans[relation.parent].children.append(relation)
    return plans
