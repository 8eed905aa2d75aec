"""A database trained under differential privacy: the preparation before any table trains.

:mod:`synthdb.privacy.database` says who is protected and how the budget is split; this module
applies it to a database model's plan, in the order the accounting needs:

1. roles (subject, under it, row-level, public) and the refusals of what DP does not cover;
2. the plans restricted to the private tables: a key to a public table becomes a column learned
   as a category over the public keys, and a table under the subject is drawn under its parent
   towards the subject (so a parent row and its children belong to the same subject);
3. the number of releases of every table, so one histogram noise is calibrated for all;
4. contribution bounding, table by table from the subject down, with the rows-per-subject
   histograms that choose each bound;
5. every table's row count and NULL-key counts, released once;
6. the DP-SGD noise shared by every table, calibrated so that everything composes to epsilon.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdb.config import Privacy, PublicColumn, TrainingConfig
from synthdb.encoding.table import MODELLED_KINDS, TableEncoder
from synthdb.errors import UsageError
from synthdb.privacy import database as dp
from synthdb.privacy.ledger import Ledger, LedgerEntry
from synthdb.privacy.preprocessing import THRESHOLD_DELTA_SHARE, SharedNoise, public_kinds
from synthdb.relational.plan import Relation, TablePlan
from synthdb.schema.inference import infer_schema
from synthdb.schema.relations import DatabaseSchema

#: ``values_of(name, frame)`` -> the table's modelled columns with its count columns, and the
#: column overrides (as the database model builds them for training)
ValuesOf = Callable[[str, pd.DataFrame], tuple[pd.DataFrame, dict[str, dict[str, Any]]]]


def private_contexts(schema: DatabaseSchema, roles: dp.Roles) -> dict[str, str]:
    """The parent each private table is drawn under: towards the subject for a table under
    it, else its first private parent (a public parent is no context: it is not modelled)."""
    contexts: dict[str, str] = {}
    for name in schema.order:
        if name in roles.public:
            continue
        table = schema.table(name)
        if name in roles.path:
            contexts[name] = table.foreign_keys[roles.path[name]].parent
            continue
        for key in table.foreign_keys:
            if (
                key.parent not in roles.public
                and key.parent != name
                and not schema.is_cycle_break(name, key)
            ):
                contexts[name] = key.parent
                break
    return contexts


def private_plans(plans: Mapping[str, TablePlan], roles: dp.Roles) -> dict[str, TablePlan]:
    """``plans`` without the public tables: a key to a public table is a learned column, and
    a row-level parent learns no children counts for rows under the subject (they would be
    the subjects' data in a model protected per row); those keys are drawn uniformly."""
    public = set(roles.public)
    out: dict[str, TablePlan] = {}
    for name, plan in plans.items():
        if name in public:
            out[name] = TablePlan(name)
            continue
        to_public = [r for r in [plan.context, *plan.others] if r and r.parent in public]
        learned = {c for r in to_public for c in r.key.columns}
        context = plan.context if plan.context and plan.context.parent not in public else None
        out[name] = TablePlan(
            name,
            context=context,
            others=[r for r in plan.others if r.parent not in public],
            children=[r for r in plan.children if counted(r, roles)],
            key_columns=[c for c in plan.key_columns if c not in learned],
        )
    return out


def counted(relation: Relation, roles: dp.Roles) -> bool:
    """Whether the parent's model learns this relation's children counts."""
    if relation.child in roles.public:
        return False
    return not (relation.child in roles.under and relation.parent in roles.row_level)


def public_keys(
    schema: DatabaseSchema, roles: dp.Roles, frames: Mapping[str, pd.DataFrame], name: str
) -> dict[str, PublicColumn]:
    """A private table's key columns to public tables, with the public keys as categories."""
    out = {}
    for key in schema.table(name).foreign_keys:
        if key.parent in roles.public:
            parent = schema.table(key.parent)
            column = (key.parent_columns or parent.primary_key)[0]
            values = frames[key.parent][column].dropna().astype(str).unique().tolist()
            out[key.columns[0]] = PublicColumn(categories=values)
    return out


@dataclass
class PrivateDatabase:
    """The database's privacy: roles, its one ledger, bounded rows and each table's budget."""

    roles: dp.Roles
    ledger: Ledger
    budgets: dict[str, dp.TableBudget] = field(default_factory=dict)
    #: the released row count of every private table
    rows: dict[str, float] = field(default_factory=dict)
    #: per (table, foreign-key index): the released count of rows with a NULL or dangling key
    nulls: dict[tuple[str, int], float] = field(default_factory=dict)
    #: the rows-per-subject bound of each table under the subject
    bounds: dict[str, int] = field(default_factory=dict)
    #: warnings for the user before training, one line each
    warnings: list[str] = field(default_factory=list)
    #: per private table with a model: its expected loss of accuracy (for the report)
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per private table, its keys to public tables as public categories
    public_columns: dict[str, dict[str, PublicColumn]] = field(default_factory=dict)
    #: per private table, its key columns to public tables and each one's foreign-key index
    public_indexes: dict[str, dict[str, int]] = field(default_factory=dict)

    def public_relations(self, name: str) -> list[int]:
        """The table's foreign keys (by index) to public tables."""
        return sorted(self.public_indexes.get(name, {}).values())

    def overrides(self, name: str) -> dict[str, dict[str, Any]]:
        """Keys to public tables are learned as categories over the public keys."""
        return {column: {"kind": "categorical"} for column in self.public_columns.get(name, {})}

    def config(self, name: str, config: TrainingConfig) -> TrainingConfig:
        """The table's config with its keys to public tables declared public categories."""
        privacy = config.privacy
        assert privacy is not None
        public = {**privacy.public, **self.public_columns.get(name, {})}
        return config.model_copy(update={"privacy": privacy.model_copy(update={"public": public})})


def prepare_database(
    schema: DatabaseSchema,
    frames: dict[str, pd.DataFrame],
    plans: Mapping[str, TablePlan],
    roles: dp.Roles,
    privacy: Privacy,
    config_of: Callable[[str], TrainingConfig],
    values_of: ValuesOf,
) -> PrivateDatabase:
    """Steps 3-6 of the module docstring; ``frames`` are bounded in place."""
    delta = privacy.delta if privacy.delta is not None else 1e-5
    total_rows = sum(len(frames[n]) for n in schema.order if n not in roles.public)
    if total_rows and not delta < 1.0 / max(len(frames[roles.subject]), 1):
        raise UsageError(
            f"`delta` must be below 1/subjects = {1.0 / len(frames[roles.subject]):.3g} "
            f"(got {delta:g})",
            hint="a delta of 1/subjects or more lets a mechanism publish one subject outright",
        )
    seed = privacy.noise_seed if privacy.noise_seed is not None else secrets.randbits(63)
    rng = np.random.default_rng(seed)
    ledger = Ledger(delta=delta, target_epsilon=privacy.epsilon)
    private = PrivateDatabase(roles, ledger)
    _describe_roles(private, schema)
    names = [n for n in schema.order if n not in roles.public]
    for name in names:
        private.public_columns[name] = public_keys(schema, roles, frames, name)
        private.public_indexes[name] = {
            key.columns[0]: index
            for index, key in enumerate(schema.table(name).foreign_keys)
            if key.parent in roles.public
        }

    # 3. every release, counted before any is made
    thresholded, releases, columns = 0, 0, {}
    null_keys: dict[str, list[int]] = {}
    for name in names:
        values, overrides = values_of(name, frames[name])
        overrides.update(private.overrides(name))
        config = private.config(name, config_of(name))
        assert config.privacy is not None
        table_schema = public_kinds(infer_schema(values, name, {**config.columns, **overrides}))
        more = TableEncoder.private_releases(table_schema, config.privacy.public)
        thresholded, releases = thresholded + more[0], releases + more[1]
        columns[name] = sum(1 for c in table_schema.columns if c.kind in MODELLED_KINDS)
        plan = plans[name]
        # rows under the subject without their path key were dropped: no NULL count to release
        # keys to public tables too: the twin keeps about as many of them NULL
        null_keys[name] = [
            r.index
            for r in [plan.context, *plan.others]
            if r is not None and roles.path.get(name) != r.index
        ] + private.public_relations(name)
        releases += len(null_keys[name]) + (1 if name in roles.path else 0)
    key_share = THRESHOLD_DELTA_SHARE * delta if thresholded else 0.0
    key_delta = key_share / max(thresholded, 1)
    rdp_delta = delta - key_share
    sigma = dp.histogram_sigma(privacy, rdp_delta, releases)

    # 4. contribution bounds, from the subject down
    subjects: dict[str, np.ndarray] = {}
    for name in roles.under:
        subjects = dp.subjects_of_rows(schema, roles, frames)
        if name == roles.subject:
            continue
        released = rows_histogram = dp.rows_per_subject(subjects[name])
        released = rows_histogram + rng.normal(0.0, sigma, rows_histogram.shape)
        ledger.add(dp.noise_entry(f"{name}: rows per {roles.subject}", sigma, 1.0, rdp_delta))
        bound = privacy.max_rows_per_subject or dp.private_bound(released, sigma)
        private.bounds[name] = bound
        keep = dp.bound_rows(subjects[name], bound, rng)
        frames[name] = frames[name].loc[keep].reset_index(drop=True)
        subjects[name] = subjects[name][keep]
        ledger.add(
            LedgerEntry(
                mechanism="contribution bound",
                target=f"{name}: rows per {roles.subject}",
                epsilon=0.0,
                parameters={
                    "max_rows": bound,
                    "chosen": "set (`max_rows_per_subject`)"
                    if privacy.max_rows_per_subject
                    else f"privately: {dp.BOUND_QUANTILE:g} quantile of the histogram above",
                },
                note=f"at most {bound} rows of one {roles.subject} enter training, sampled at "
                f"random; rows without a {roles.subject} are left out",
            )
        )
        private.rows[f"{name}/subjects"] = float(
            np.where(released > dp.EMPTY_SIGMAS * sigma, released, 0.0).sum()
        )
    subjects = dp.subjects_of_rows(schema, roles, frames)

    # 5. row counts and NULL keys
    for name in names:
        scale = private.bounds.get(name, 1)
        noisy = float(len(frames[name]) + rng.normal(0.0, sigma * scale))
        private.rows[name] = max(noisy, 1.0)
        ledger.add(
            dp.noise_entry(
                f"{name}: row count", sigma, float(scale), rdp_delta, released=round(noisy)
            )
        )
        table = schema.table(name)
        for index in null_keys[name]:
            key = table.foreign_keys[index]
            parent = schema.table(key.parent)
            from synthdb.schema.references import parent_positions

            pointing = parent_positions(
                frames[name],
                key.columns,
                frames[key.parent],
                key.parent_columns or parent.primary_key,
            )
            exact = int((pointing < 0).sum())
            noisy = float(exact + rng.normal(0.0, sigma * scale))
            # post-processing: a count within two noise deviations of 0 is read as none, or
            # every twin would hold a few rows without a parent that the source may not have
            private.nulls[(name, index)] = noisy if noisy > 2.0 * sigma * scale else 0.0
            ledger.add(
                dp.noise_entry(
                    f"{name}: rows without a {key.parent}", sigma, float(scale), rdp_delta
                )
            )
        if name in roles.row_level or name == roles.subject:
            private.rows[f"{name}/subjects"] = private.rows[name]
        warning = dp.small_table_warning(name, private.rows[name], privacy.epsilon, columns[name])
        if columns[name]:
            private.expected[name] = dp.expected_loss(
                private.rows[name], privacy.epsilon, columns[name]
            )
        if warning is not None and columns[name]:
            private.warnings.append(warning)

    # Subjects with rows in a table under the subject: its denoised histogram reads cells
    # within a few noise deviations of 0 as empty, which with few subjects (59 customers)
    # empties all of them; each subject holds at most K rows, so the released row count over
    # K is a floor, and the subject table's count a ceiling (post-processing only).
    for name in roles.under[1:]:
        floor = private.rows[name] / private.bounds.get(name, 1)
        estimate = max(private.rows.get(f"{name}/subjects", 0.0), floor)
        private.rows[f"{name}/subjects"] = min(estimate, private.rows[roles.subject])

    # 6. one DP-SGD noise for every table
    trainings = []
    for name in names:
        if not columns[name] or not len(frames[name]):
            continue
        config = config_of(name)
        count = private.rows[f"{name}/subjects"]
        trainings.append(
            dp.Training(name, count, dp.batch_for(count, config.batch_size), config.max_epochs)
        )
    pending = releases - len(ledger.mechanisms())
    prior = [*ledger.mechanisms(), *([(sigma, 1.0, pending)] if pending > 0 else [])]
    noise = 1.0
    if trainings:
        fixed = [t.name for t in trainings if config_of(t.name).batch_size]
        noise, trainings = dp.calibrate_widening(privacy, rdp_delta, prior, trainings, fixed)
    for training in trainings:
        name = training.name
        groups = None
        if name in roles.path:
            _, groups = np.unique(subjects[name], return_inverse=True)
        private.budgets[name] = dp.TableBudget(
            noise=SharedNoise(
                ledger,
                sigma,
                key_delta,
                rdp_delta,
                private.bounds.get(name, 1),
                private.rows[name],
                name,
                subjects=groups,
                subject_rows=private.rows[f"{name}/subjects"],
            ),
            noise_multiplier=noise,
            sample_rate=training.sample_rate,
            steps_per_epoch=training.steps // training.max_epochs,
            steps=training.steps,
            expected_groups=training.sample_rate * training.subjects,
            subjects=groups,
            seed=int(rng.integers(2**62)),
        )
    ledger.add(
        LedgerEntry(
            mechanism="budget split",
            target="all tables",
            epsilon=0.0,
            parameters={
                "histogram_noise_multiplier": round(sigma, 4),
                "histograms": releases,
                "dp_sgd_noise_multiplier": round(noise, 4),
                "tables_trained": len(trainings),
            },
            note=f"{privacy.preprocessing_share:g} of epsilon calibrates one noise for every "
            "histogram of every table; one DP-SGD noise multiplier, shared by every table, "
            "spends the rest, so each table gets the same noise per clipped subject gradient "
            "and costs what its sampling rate and steps cost; all entries compose in one "
            "Renyi-DP curve",
        )
    )
    return private


def _describe_roles(private: PrivateDatabase, schema: DatabaseSchema) -> None:
    roles, ledger = private.roles, private.ledger
    ledger.add(
        LedgerEntry(
            mechanism="assumed public",
            target="schema",
            epsilon=0.0,
            note="table and column names, kinds, keys and their relations are public "
            "metadata; so is which table has the most rows below it, which picks the default "
            "subject; key columns are regenerated, never learned",
        )
    )
    ledger.add(
        LedgerEntry(
            mechanism="privacy unit",
            target=roles.subject,
            epsilon=0.0,
            parameters={"under": ", ".join(roles.under[1:]) or "none"},
            note=f"each {roles.subject} row is protected with every row that references it, "
            "directly or through other tables",
        )
    )
    for name in roles.public:
        ledger.add(
            LedgerEntry(
                mechanism="declared public",
                target=name,
                epsilon=0.0,
                note="copied as it is into the twin and not charged",
            )
        )
    for name in roles.row_level:
        ledger.add(
            LedgerEntry(
                mechanism="row-level",
                target=name,
                epsilon=0.0,
                note=f"not under {roles.subject}: each row is protected on its own, on the same "
                "budget (its entries are below); a row's children, if any, are not protected "
                "together with it",
            )
        )
