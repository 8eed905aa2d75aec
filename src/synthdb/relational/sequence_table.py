"""One table whose rows are sequences of an entity's events: flights per plane, visits per
patient (``--sequence-key tailnum --order-by time_hour``).

The table is learned as a database of two tables, so that sequences get everything ordered
children get (:mod:`synthdb.relational.sequences`: each event drawn given its entity, its
position, the sequence's length and the events before it; gaps learned; output in order):

- an *entity* table, one row per distinct sequence key, holding the columns that never vary
  within a sequence (a plane's carrier, a patient's birth date) and the sequence's length (its
  children count), learned together, so that a long sequence's entity is the kind that has long
  ones;
- the *events* table, every other column, each row pointing at its entity.

Generation draws entities, then their events position by position, and writes the two back as
one table, sequence after sequence, each in order. Sequence keys are new, in the source's
format (:func:`synthdb.encoding.keys.key_shapes`). Rows whose key is NULL are events of no
entity: sequences of one, as in the source, written with a NULL key.

Sequences are drawn in chunks of :data:`CHUNK` entities, each from its own seed, so memory
stays bounded by the chunk and the output is the same whatever reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdb.config import TrainingConfig
from synthdb.encoding.keys import generate_keys, key_shapes
from synthdb.errors import InputError, UsageError
from synthdb.relational.model import DatabaseModel, ListenerFactory
from synthdb.relational.sequences import SOURCE_ORDER
from synthdb.relational.summaries import group_summaries, hidden_column, summary_candidates
from synthdb.rules.model import DATABASE_KINDS, Rule
from synthdb.schema.inference import infer_column
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef
from synthdb.schema.table import ColumnSchema

#: Entities drawn at a time: each chunk is one draw of the two-table model, from its own seed.
CHUNK = 10_000
#: A column moves to the entity table when it has one value in every sequence of two or more
#: rows, and there are at least this many such sequences (fewer prove nothing).
MIN_REPEATED = 10
#: The entity table's name is the table's, with this suffix (never shown in the output).
ENTITY_SUFFIX = "__entities"


class SequenceModel:
    """Train on one table whose rows are sequences, one per value of ``sequence_key``;
    generate new sequences.

    ``order_by`` names the columns each sequence is sorted by (the first is learned as gaps
    between consecutive events); empty keeps the source's row order within each sequence.
    """

    def __init__(
        self,
        config: TrainingConfig | None = None,
        *,
        sequence_key: str,
        order_by: Sequence[str] = (),
    ) -> None:
        self.config = config or TrainingConfig()
        self.sequence_key = sequence_key
        self.order_by = [order_by] if isinstance(order_by, str) else list(order_by)
        self.table = "table"
        #: the source's columns, in order
        self.columns: list[str] = []
        #: columns with one value per sequence, learned with the entity
        self.entity_columns: list[str] = []
        #: category columns of the events summarised on the entity (hidden columns)
        self.summarised: list[str] = []
        #: how new sequence keys are made
        self.key: ColumnSchema | None = None
        #: sequences in the source (distinct keys) and rows without a key
        self.sequences = 0
        self.database: DatabaseModel | None = None
        self.notes: list[str] = []

    # ------------------------------------------------------------------ training
    def fit(
        self,
        frame: pd.DataFrame,
        *,
        table: str = "table",
        listener_for: ListenerFactory | None = None,
    ) -> SequenceModel:
        """Learn the sequences of ``frame`` (one row per event)."""
        self.table = table
        self.columns = [str(c) for c in frame.columns]
        check_sequence_input(frame, self.sequence_key, self.order_by, self.config)
        frame = frame.reset_index(drop=True)
        if self.config.nulls == "drop":
            before = len(frame)
            frame = frame.dropna().reset_index(drop=True)
            self.notes.append(f"nulls drop: removed {before - len(frame):,} of {before:,} rows")
            if frame.empty:
                raise InputError(
                    "--nulls drop removed every row", hint="use --nulls keep or replace"
                )
            check_sequence_input(frame, self.sequence_key, self.order_by, self.config)
        key = self.sequence_key
        has_key = frame[key].notna()
        entities = pd.DataFrame({key: pd.unique(frame.loc[has_key, key])})
        self.sequences = len(entities)
        self.entity_columns = (
            [] if not has_key.all() else per_entity_columns(frame, key, self.order_by)
        )
        if self.entity_columns:  # one value per sequence: its first row's
            first = frame.groupby(key, sort=False)[self.entity_columns].first()
            entities = entities.join(first, on=key)
        self.summarised = (
            []
            if not has_key.all()
            else summary_candidates(frame, [key, *self.order_by, *self.entity_columns])
        )
        if self.summarised:
            entities = entities.join(group_summaries(frame, key, self.summarised), on=key)
        events = frame[[c for c in frame.columns if c not in self.entity_columns]]
        key_column = infer_column(key, entities[key])
        self.key = _key_schema(key, entities[key], key_column)
        names = self._names()
        schema = DatabaseSchema.build(
            [
                TableDef(
                    names["entities"],
                    [ColumnDef(str(c)) for c in entities.columns],
                    primary_key=(key,),
                ),
                TableDef(
                    names["events"],
                    [ColumnDef(str(c)) for c in events.columns],
                    foreign_keys=[ForeignKey((key,), names["entities"], (key,))],
                ),
            ],
            location=table,
        )
        config = (
            self.config.model_copy(update={"nulls": "keep"})
            if (self.config.nulls == "drop")
            else self.config
        )
        # the events are summarised on the entity above (with the sequence's own measure)
        self.database = DatabaseModel(
            config, orders={names["events"]: self.order_by or [SOURCE_ORDER]}, summarise=False
        )
        self.database.fit(
            schema,
            {names["entities"]: entities, names["events"]: events},
            listener_for=listener_for,
        )
        self.notes.extend(n for n in self.database.notes if n not in self.notes)
        return self

    def _names(self) -> dict[str, str]:
        return {"entities": f"{self.table}{ENTITY_SUFFIX}", "events": self.table}

    def all_rules(self) -> list[Rule]:
        """The rules within the table the twin keeps (those of either part; rules between the
        two parts hold by construction once they are written back as one table)."""
        return [
            r
            for r in self._fitted().all_rules()
            if r.kind not in DATABASE_KINDS
            and not hidden_column(r.column)
            and not hidden_column(r.source)
        ]

    # ------------------------------------------------------------------ generation
    def _fitted(self) -> DatabaseModel:
        if self.database is None or self.key is None:
            raise InputError("the sequence model is not trained yet")
        return self.database

    def iter_sequences(
        self, sequences: int | None = None, *, seed: int = 0, chunks: range | None = None
    ) -> Iterator[pd.DataFrame]:
        """New sequences (default: as many as the source has), :data:`CHUNK` at a time, each
        chunk's rows sequence after sequence, in order, with the source's columns.

        ``chunks`` draws only those chunks (by index), exactly as the whole run draws them: a
        shard of a job split across machines."""
        database = self._fitted()
        assert self.key is not None
        total = self.sequences if sequences is None else int(sequences)
        if total < 1:
            raise UsageError(f"sequences to generate must be at least 1 (got {total})")
        names = self._names()
        every = range((total + CHUNK - 1) // CHUNK)
        indices = every if chunks is None else chunks
        if indices.step != 1 or not 0 <= indices.start <= indices.stop <= len(every):
            raise ValueError(f"chunks {indices} are not a run of the {len(every)} chunks")
        for chunk in indices:
            done = chunk * CHUNK
            count = min(CHUNK, total - done)
            twin = database.generate(
                scale=count / max(self.sequences, 1),
                seed=seed * 100_003 + chunk,
                roots={names["entities"]: count},
            )
            entities, events = twin[names["entities"]], twin[names["events"]]
            rng = np.random.default_rng([seed, chunk, 11])
            fresh = generate_keys(self.key, done, len(entities), rng)
            renamed = dict(zip(entities[self.sequence_key].tolist(), fresh.tolist(), strict=True))
            keys = events[self.sequence_key]
            out = events.copy()
            out[self.sequence_key] = keys.map(renamed).where(keys.notna(), None)
            if self.entity_columns:
                attributes = entities.set_index(self.sequence_key)[self.entity_columns]
                for column in self.entity_columns:
                    out[column] = keys.map(attributes[column]).to_numpy()
            yield out[self.columns].reset_index(drop=True)

    def generate(self, sequences: int | None = None, *, seed: int = 0) -> pd.DataFrame:
        """All of :meth:`iter_sequences` in one frame."""
        return pd.concat(list(self.iter_sequences(sequences, seed=seed)), ignore_index=True)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """What the model file keeps besides the two tables' models."""
        assert self.key is not None
        return {
            "table": self.table,
            "sequence_key": self.sequence_key,
            "order_by": self.order_by,
            "columns": self.columns,
            "entity_columns": self.entity_columns,
            "summarised": self.summarised,
            "key": self.key.to_dict(),
            "sequences": self.sequences,
            "notes": self.notes,
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> None:
        from synthdb.relational.modelfile import save_database_model

        save_database_model(self._fitted(), Path(path), overwrite=overwrite, sequences=self)

    @classmethod
    def load(cls, path: str | Path) -> SequenceModel:
        from synthdb.relational.modelfile import load_sequence_model

        return load_sequence_model(Path(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], database: DatabaseModel) -> SequenceModel:
        model = cls(
            database.config,
            sequence_key=str(data["sequence_key"]),
            order_by=[str(c) for c in data["order_by"]],
        )
        model.table = str(data["table"])
        model.columns = [str(c) for c in data["columns"]]
        model.entity_columns = [str(c) for c in data["entity_columns"]]
        model.summarised = [str(c) for c in data.get("summarised", [])]
        model.key = ColumnSchema.from_dict(data["key"])
        model.sequences = int(data["sequences"])
        model.notes = [str(n) for n in data.get("notes", [])]
        model.database = database
        return model


def check_sequence_settings(
    columns: Sequence[str], key: str, order_by: Sequence[str], config: TrainingConfig
) -> None:
    """The checks that need only the table's column names, not its rows: a service makes them
    when a model is asked for, before any job reads the data."""
    if config.privacy is not None:
        raise UsageError(
            "differential privacy is not available for sequences yet: an entity's whole "
            "sequence would have to be protected as one record",
            hint="train the table's rows one by one, or without differential privacy",
        )
    if key not in columns:
        raise UsageError(
            f"sequence key {key!r} is not a column of the table",
            hint=f"the table has: {', '.join(columns)}",
        )
    for name in order_by:
        if name not in columns:
            raise UsageError(
                f"order column {name!r} is not a column of the table",
                hint=f"the table has: {', '.join(columns)}",
            )
        if name == key:
            raise UsageError(
                f"order column {name!r} is the sequence key itself",
                hint="order by a date, a time or a number column of the events",
            )


def check_sequence_input(
    frame: pd.DataFrame, key: str, order_by: Sequence[str], config: TrainingConfig
) -> None:
    """One clear line for each way a table cannot be read as sequences."""
    check_sequence_settings([str(c) for c in frame.columns], key, order_by, config)
    if order_by:
        kind = infer_column(order_by[0], frame[order_by[0]]).kind
        if kind not in ("numeric", "datetime"):
            raise UsageError(
                f"order column {order_by[0]!r} is {kind}, not a number or a date, so it has no "
                "order to keep",
                hint="order by a date, a time or a number column, or by none to keep the rows' "
                "order",
            )
    keys = frame[key].dropna()
    if keys.empty:
        raise UsageError(f"sequence key {key!r} is empty (every value is NULL)")
    distinct = keys.nunique()
    if distinct == 1 and len(frame) > 1:
        raise UsageError(
            f"sequence key {key!r} holds one value ({keys.iloc[0]!r}): the whole table would "
            "be one sequence, too few to learn from",
            hint="name the column that tells the entities apart (a plane, a patient)",
        )
    if distinct == len(keys):
        raise UsageError(
            f"sequence key {key!r} is unique in every row: each sequence would have one row "
            "(it looks like the table's own key)",
            hint="name the column whose value repeats over an entity's rows, or learn the "
            "rows one by one",
        )


def per_entity_columns(frame: pd.DataFrame, key: str, order_by: Sequence[str]) -> list[str]:
    """Columns with one value (or NULL throughout) in every sequence of two or more rows,
    when at least :data:`MIN_REPEATED` sequences have two or more: an entity's attributes."""
    sizes = frame.groupby(key, sort=False)[key].transform("size")
    repeated = frame[sizes >= 2]
    if repeated[key].nunique() < MIN_REPEATED:
        return []
    out = []
    for column in frame.columns:
        if column == key or column in order_by:
            continue
        values = repeated[column]
        codes = pd.Series(pd.factorize(values, use_na_sentinel=False)[0], index=values.index)
        if codes.groupby(repeated[key], sort=False).nunique().max() <= 1 and values.nunique() > 1:
            out.append(str(column))
    return out


def _key_schema(name: str, values: pd.Series, column: ColumnSchema) -> ColumnSchema:
    """How new sequence keys are made: integers from the source's smallest, the source's
    shapes for text (``N14228``), UUIDs for UUIDs."""
    key = ColumnSchema(name=name, kind="key", storage=column.storage)
    text = values.astype(str)
    if pd.api.types.is_integer_dtype(values.dtype) or (
        values.dtype == object and text.str.fullmatch(r"-?\d{1,18}").all()
    ):
        numbers = pd.to_numeric(text)
        key.key_format = "integer"
        key.minimum, key.maximum = float(numbers.min()), float(numbers.max())
        return key
    if text.str.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}").all():
        key.key_format = "uuid"
        return key
    shapes = key_shapes(text)
    key.key_format = "pattern" if shapes else "string"
    key.key_shapes = shapes
    return key
