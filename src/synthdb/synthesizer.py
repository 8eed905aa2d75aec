"""The single-table pipeline: read -> schema -> null policy -> encode -> train -> sample.

:class:`Synthesizer` is the library's front door; the CLI is a thin layer over it. It holds
plain data only (schema, encoders, network shape, history), which is what makes the model
file pickle-free.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from synthdb import conditioning
from synthdb.config import NullPolicy, Privacy, TrainingConfig
from synthdb.encoding.keys import generate_keys
from synthdb.encoding.nulls import NullReport, apply_null_policy
from synthdb.encoding.prepare import PreparedTable, prepare_table
from synthdb.encoding.table import MODELLED_KINDS, TableEncoder
from synthdb.errors import InputError, UsageError
from synthdb.evaluation.accuracy import AccuracyReference
from synthdb.evaluation.columns import accuracy_kinds
from synthdb.io.sources import Source, open_source, read_table
from synthdb.model.conditional import sample_given
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.model.sampler import Sampler
from synthdb.parallel import available_cores, ordered_map
from synthdb.rules.model import TABLE_KINDS, Rule, declared, select
from synthdb.rules.table import complete, discover_table_rules, keep_table_rules
from synthdb.schema.inference import infer_schema
from synthdb.schema.relations import SqlType
from synthdb.schema.table import TableSchema
from synthdb.schema.values import source_column, to_source, to_typed, typed_column
from synthdb.streaming import (
    STREAM_ROWS,
    Progress,
    sample_positions,
    source_rows,
    stream_table,
    validator,
)
from synthdb.training.loop import (
    Patience,
    Runner,
    ShuffledBatches,
    StepStrategy,
    StoppingPolicy,
    TrainingListener,
    TrainingResult,
    default_batch_size,
    run,
)
from synthdb.training.store import StoredBatches

if TYPE_CHECKING:
    from synthdb.privacy.database import TableBudget
    from synthdb.privacy.ledger import Ledger
    from synthdb.privacy.preprocessing import PrivatePreparation

#: Rows generated per batch: memory stays flat in the number of rows asked for.
SAMPLE_BATCH = 65_536
#: Given rows per batch: each row is drawn with 64 copies or more, so a batch this size
#: already holds half a million copies, and smaller batches let every core draw (9,768 rows
#: given on 2 cores: one batch of 65,536 used one).
GIVEN_BATCH = 2_048
#: Unconditional rows drawn to learn the model's proportions of the values a rebalance does
#: not list (at most; fewer when fewer rows are asked for).
REBALANCE_PROBE = 20_000
#: Below this many rows a 10% slice is too small to tell one epoch from the next (on Chinook's
#: 412 invoices, 41 rows stop training at epoch 5 with accuracy 0.87): validation scores
#: against the training rows instead (0.92 there, what a bootstrap of the real rows scores).
MIN_ROWS_FOR_HOLDOUT = 1_000
#: Synthetic rows scored against the validation slice after each epoch: five per validation
#: row, within these bounds (more rows, less noise in the stopping signal).
VALIDATION_SAMPLE = (2_000, 20_000)


@dataclass
class FittedState:
    schema: TableSchema
    encoder: TableEncoder
    shape: NetworkShape
    net: AutoregressiveNet
    result: TrainingResult
    nulls: NullReport
    #: the epsilon ledger of a model trained with differential privacy
    ledger: Ledger | None = None
    #: rules within the table kept while drawing (:mod:`synthdb.rules.table`)
    rules: list[Rule] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a child table's rows are generated under: their parent rows, as tokens.

    ``tokens`` has one row per training row (the parent row it belongs to, as the parent's
    model encodes it) and ``cardinalities`` gives each column's number of values. A model
    trained with a context draws rows given a context row (:meth:`Synthesizer.sample_given`).
    """

    tokens: np.ndarray
    cardinalities: tuple[int, ...]
    #: the context holds the elements before each row (ordered children): training then also
    #: counts a better validation loss as progress (see ``LoopSettings.loss_counts``)
    sequential: bool = False

    @property
    def width(self) -> int:
        return len(self.cardinalities)


class Synthesizer:
    """Train on one table, then sample any number of synthetic rows.

    >>> from synthdb import Synthesizer, TrainingConfig
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1, 2, 3, 4] * 10, "y": ["a", "b", "a", "b"] * 10})
    >>> model = Synthesizer(TrainingConfig(max_epochs=2)).fit(frame)
    >>> model.sample(5, seed=1).shape
    (5, 2)
    """

    def __init__(self, config: TrainingConfig | None = None) -> None:
        self.config = config or TrainingConfig()
        self._state: FittedState | None = None
        #: the sampler of the trained network, built once: a database draws a small table up
        #: to 128 times, and building the lookup tables cost more than drawing (87 of 168 s
        #: of Chinook's generation)
        self._sampler: tuple[AutoregressiveNet, Sampler] | None = None
        #: after a streamed fit: a uniform sample of the rows read (the table is not kept)
        self.training_sample: pd.DataFrame | None = None

    # ----------------------------------------------------------------- training
    def fit(
        self,
        data: pd.DataFrame | str | Path,
        *,
        table: str | None = None,
        listener: TrainingListener | None = None,
        context: Context | None = None,
        types: Mapping[str, SqlType] | None = None,
        budget: TableBudget | None = None,
        stream_above: int = STREAM_ROWS,
        progress: Progress | None = None,
        runner: Runner | None = None,
    ) -> Synthesizer:
        """Learn ``data`` (a DataFrame, a CSV/Parquet path or a database URL).

        With ``context`` (one parent row per row of ``data``), learn the rows given their
        parent's, as a child table's model does. ``types`` are the columns' declared SQL types
        when the rows come from a database whose schema was read (a ``numeric(10,2)`` column
        then keeps 2 decimals whatever its values show). ``budget`` is this table's part of a
        database's privacy budget (:mod:`synthdb.privacy.database`), which holds the ledger.

        A Parquet file, a CSV file (of 16 MB or more: smaller ones are not counted) or a
        database table of more than ``stream_above`` rows (after
        ``sample_rows``) is never held in memory: it is read in chunks and its tokens kept on
        disk (:mod:`synthdb.streaming`); ``progress`` hears how far each pass over it is.

        ``runner`` runs the training loop (default: :func:`~synthdb.training.loop.run`, in
        this process); :mod:`synthdb.pipeline.cluster_training` runs it on a Ray cluster.
        """
        if isinstance(data, pd.DataFrame):
            frame, name = data, table or "table"
        else:
            name = table or Path(str(data).split("?")[0]).name.split(".")[0]
            source = open_source(data, table=table)
            total = source_rows(source, table)
            if total is not None and context is None:
                wanted = min(total, self.config.sample_rows or total)
                if wanted > stream_above:
                    return self._fit_streamed(
                        source, table, name, total, listener, types, progress, runner
                    )
            frame = read_table(data, table)
        positions = sample_positions(len(frame), self.config.sample_rows, self.config.seed)
        if positions is not None:
            if context is not None:
                raise UsageError("`sample_rows` is for a table on its own, not a child table")
            frame = frame.iloc[positions].reset_index(drop=True)
        if frame.shape[1] == 0:
            raise InputError("the table has no columns", hint="check the file's header line")
        if len(frame) == 0:
            raise InputError(
                "the table has no rows", hint="synthdb needs at least one row to learn from"
            )
        config = self.config
        schema = infer_schema(frame, name, config.columns, types=types)
        typed = to_typed(frame, schema)
        rules = _table_rules(config, typed, schema)
        if config.privacy is not None and context is not None and budget is None:
            raise UsageError(
                "differential privacy is not available for related tables yet",
                hint="train each table on its own with `epsilon`, or drop `epsilon`",
            )
        if context is not None and context.tokens.shape[0] != len(typed):
            raise ValueError(f"{context.tokens.shape[0]} context rows for {len(typed)} rows")

        # Statistics: exact, or (under DP) noisy counts charged to the model's ledger.
        private = _prepare_private(config, schema, typed, budget) if config.privacy else None
        if private is None:
            prepared = prepare_table(typed, schema, config.nulls)
        else:
            prepared, schema = private.table, private.schema
        encoder = prepared.encoder
        tokens = encoder.encode(prepared.frame)
        if context is not None:
            kept = ~typed.isna().any(axis=1).to_numpy() if config.nulls == "drop" else None
            parent = context.tokens if kept is None else context.tokens[kept]
            tokens = np.concatenate([parent.astype(tokens.dtype), tokens], axis=1)

        torch.manual_seed(config.seed)
        shape = _network_shape(config, encoder, context)
        net = AutoregressiveNet(shape)
        if not encoder.encoders:
            result = TrainingResult("converged", 0, 1.0 if private is None else float("nan"))
        else:
            # One loop: shuffled AdamW steps stopped by patience, or DP-SGD steps stopped
            # when the budget is spent.
            steps, stopping = (
                _plain_training(config, schema, prepared, tokens, context)
                if private is None
                else private.training(config, tokens, net)
            )
            result = (runner or run)(net, steps, stopping, listener, config.max_time)
            if private is not None:
                private.calibrate(net, config.seed)
        self._state = FittedState(
            schema,
            encoder,
            shape,
            net,
            result,
            prepared.nulls,
            private.ledger if private is not None else None,
            rules=rules,
        )
        _charge_rules(self._state, rules, budget.noise.label if budget is not None else "")
        if budget is not None:  # the database's model holds its one ledger
            self._state.ledger = None
        return self

    def _fit_streamed(
        self,
        source: Source,
        table: str | None,
        name: str,
        total: int,
        listener: TrainingListener | None,
        types: Mapping[str, SqlType] | None,
        progress: Progress | None,
        runner: Runner | None = None,
    ) -> Synthesizer:
        """Learn a table too large for memory (:mod:`synthdb.streaming`); ``runner`` as
        :meth:`fit`'s (the store's rows are shipped to a cluster's workers from its file)."""
        config = self.config
        streamed = stream_table(
            source,
            table,
            name,
            config,
            total=total,
            types=dict(types) if types else None,
            progress=progress,
        )
        with streamed.store as store:
            schema, encoder = streamed.schema, streamed.encoder
            rules = _table_rules(config, streamed.typed_sample, schema)
            torch.manual_seed(config.seed)
            shape = _network_shape(config, encoder, None)
            net = AutoregressiveNet(shape)
            if not encoder.encoders:
                result = TrainingResult("converged", 0, 1.0)
            else:
                low, high = VALIDATION_SAMPLE
                probe_rows = int(min(max(5 * len(streamed.val_frame), low), high))
                validate = validator(
                    config, encoder, streamed.val_frame, streamed.kinds, probe_rows
                )
                batch = config.batch_size or default_batch_size(store.rows)
                steps = StoredBatches(store, batch, config.learning_rate, config.seed)
                stopping = Patience(
                    streamed.val_tokens,
                    validate,
                    max_epochs=config.max_epochs,
                    patience=config.patience,
                    min_delta=config.min_delta,
                )
                result = (runner or run)(net, steps, stopping, listener, config.max_time)
        self._state = FittedState(
            schema, encoder, shape, net, result, streamed.nulls, None, rules=rules
        )
        self.training_sample = streamed.sample
        return self

    @property
    def ledger(self) -> Ledger | None:
        """The epsilon ledger (None without differential privacy)."""
        return self._fitted().ledger

    # ----------------------------------------------------------------- sampling
    def sample(
        self,
        rows: int | None = None,
        *,
        seed: int = 0,
        given: pd.DataFrame | None = None,
        rebalance: Mapping[str, Mapping[str, float]] | None = None,
    ) -> pd.DataFrame:
        """``rows`` synthetic rows with the source's columns; the same seed, the same rows.

        With ``given`` (a frame of any of the model's columns), one row per given row: its
        given values kept exactly, NULL included, the other columns drawn from the model
        given them (:mod:`synthdb.model.conditional`). With ``rebalance`` (``{column:
        {value: share}}``), each listed category on its share of the ``rows``, the rest of
        every row following the model. :mod:`synthdb.conditioning` says which values are
        refused.
        """
        if given is not None and rebalance is not None:
            raise UsageError("give either `given` or `rebalance`, not both")
        if given is not None:
            if rows is not None and rows != len(given):
                raise UsageError(
                    f"`rows` ({rows}) must be left out with `given`: one row per given row "
                    f"({len(given)})"
                )
            parts = list(self.iter_given(given, seed=seed))
        elif rows is None:
            raise UsageError("`rows` is needed unless rows are `given`")
        elif rebalance is not None:
            parts = list(self.iter_given(self.rebalanced(rows, rebalance, seed=seed), seed=seed))
        else:
            parts = list(self.iter_samples(rows, seed=seed))
        return pd.concat(parts, ignore_index=True) if parts else self._empty()

    def rebalanced(
        self, rows: int, rebalance: Mapping[str, Mapping[str, float]], *, seed: int = 0
    ) -> pd.DataFrame:
        """The given columns of ``rows`` rebalanced rows (:func:`~synthdb.conditioning.
        rebalanced`): pass them to :meth:`iter_given` to draw the rows."""
        if rows < 1:
            raise UsageError(f"`rows` must be at least 1 (got {rows})")
        if not rebalance:
            raise UsageError("`rebalance` names no column")
        state = self._fitted()
        # the columns' other values come in the model's own proportions
        drawn = self.sample(min(rows, REBALANCE_PROBE), seed=seed + 1)
        rng = np.random.default_rng([seed, 17])
        return conditioning.rebalanced(rebalance, rows, state.schema, state.encoder, drawn, rng)

    def iter_given(
        self,
        given: pd.DataFrame,
        *,
        seed: int = 0,
        batch_rows: int = GIVEN_BATCH,
        workers: int | None = None,
        finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """One row per row of ``given``, in batches as :meth:`iter_samples` yields them.

        Every value is checked here, before the first row is drawn, so a refused file
        writes nothing.
        """
        state = self._fitted()
        if state.shape.context:
            raise UsageError("this model draws rows under parent rows: `given` is for a table")
        checked = conditioning.conditions(given, state.schema, state.encoder, "given")
        return self._iter_conditioned(state, checked, seed, batch_rows, workers, finish)

    def impute(self, data: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
        """``data`` with each NULL of a modelled column replaced by a draw given the row's
        other values; the rows, their order and every non-NULL value are kept.

        Values the model never saw are kept and condition nothing (a number out of range
        conditions as the nearest value learned): see :mod:`synthdb.conditioning`.
        """
        state = self._fitted()
        if state.shape.context:
            raise UsageError("this model draws rows under parent rows: impute its table alone")
        modelled = [c for c in state.encoder.columns if c in data.columns]
        checked = conditioning.conditions(data[modelled], state.schema, state.encoder, "impute")
        parts = list(self._iter_conditioned(state, checked, seed, GIVEN_BATCH, None, None))
        drawn = pd.concat(parts, ignore_index=True) if parts else self._empty()
        out = data.copy()
        by_name = {c.name: c for c in state.schema.columns}
        for name in modelled:
            missing = data[name].isna().to_numpy()
            if missing.any():
                # filled in the typed view, then written as the model writes the column (a
                # NULL read as float had turned its integers into 45.0s)
                column = by_name[name]
                typed = typed_column(data[name], column).to_numpy(dtype=object, copy=True)
                typed[missing] = typed_column(drawn[name], column).to_numpy(dtype=object)[missing]
                values = pd.Series(typed, index=out.index)
                if column.kind in ("numeric", "datetime"):
                    values = values.astype(np.float64)
                out[name] = source_column(values, column).to_numpy()
        return out

    def given_with_tokens(
        self, given: pd.DataFrame, *, seed: int = 0
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Like :meth:`sample` with ``given``, with the rows' tokens: the parent rows a
        database's children are then generated under."""
        state = self._fitted()
        checked = conditioning.conditions(given, state.schema, state.encoder, "given")
        parts = list(self._iter_drawn(state, checked, seed, GIVEN_BATCH, None, None))
        if not parts:
            width = len(state.encoder.sub_columns)
            return self._empty(), np.zeros((0, width), dtype=np.int64)
        frame = pd.concat([p[0] for p in parts], ignore_index=True)
        return frame, np.concatenate([p[1] for p in parts])

    def _iter_conditioned(
        self,
        state: FittedState,
        given: conditioning.Conditions,
        seed: int,
        batch_rows: int,
        workers: int | None,
        finish: Callable[[pd.DataFrame], pd.DataFrame] | None,
    ) -> Iterator[pd.DataFrame]:
        for frame, _ in self._iter_drawn(state, given, seed, batch_rows, workers, finish):
            yield frame

    def _iter_drawn(
        self,
        state: FittedState,
        given: conditioning.Conditions,
        seed: int,
        batch_rows: int,
        workers: int | None,
        finish: Callable[[pd.DataFrame], pd.DataFrame] | None,
    ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        sampler = self._sampler_of(state)
        starts = range(0, given.rows, batch_rows)
        if workers is None:
            workers = max(1, min(available_cores(), len(starts)))

        def batch(index: int) -> tuple[pd.DataFrame, np.ndarray]:
            start = starts[index]
            part = given.slice(start, min(start + batch_rows, given.rows))
            frame, tokens = self._draw(state, sampler, start, part.rows, seed, index, None, part)
            frame = conditioning.merged(frame, part)
            return (finish(frame) if finish is not None else frame), tokens

        yield from ordered_map(batch, range(len(starts)), workers=workers)

    def iter_samples(
        self,
        rows: int,
        *,
        seed: int = 0,
        batch_rows: int = SAMPLE_BATCH,
        workers: int | None = None,
        finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        batches: range | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the rows in batches of ``batch_rows`` so memory is flat in ``rows``.

        Batches are drawn by ``workers`` threads (default: one per core) while the caller
        consumes earlier ones; each batch has its own seed, so the rows do not depend on the
        number of workers. ``finish`` runs on each batch on the same thread that drew it (a
        sink's ``prepare``: formatting CSV there keeps the writing thread free). ``batches``
        draws only those batches (by index) of the ``rows``, exactly as the whole run draws
        them: a shard of a job split across machines.
        """
        state = self._fitted()
        if rows < 1:
            raise UsageError(f"`rows` must be at least 1 (got {rows})")
        if state.shape.context:
            raise UsageError("this model draws rows under parent rows: use sample_given")
        sampler = self._sampler_of(state)
        starts = range(0, rows, batch_rows)
        indices = range(len(starts)) if batches is None else batches
        if indices.step != 1 or not 0 <= indices.start <= indices.stop <= len(starts):
            raise ValueError(f"batches {indices} are not a run of the {len(starts)} batches")
        if workers is None:
            workers = max(1, min(available_cores(), len(indices)))

        def batch(index: int) -> pd.DataFrame:
            start = starts[index]
            count = min(batch_rows, rows - start)
            frame = self._draw(state, sampler, start, count, seed, index, None)[0]
            return finish(frame) if finish is not None else frame

        yield from ordered_map(batch, indices, workers=workers)

    def sample_given(
        self, context: np.ndarray, *, seed: int = 0, batch_rows: int = SAMPLE_BATCH
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """One row per context row (a conditional model's parent tokens), and its own tokens.

        The tokens are what this table's children are generated under in turn.
        """
        return self.joined(self.given_batches(context, seed=seed, batch_rows=batch_rows))

    def given_batches(
        self,
        context: np.ndarray,
        *,
        seed: int = 0,
        batch_rows: int = SAMPLE_BATCH,
        first_batch: int = 0,
        workers: int | None = None,
    ) -> list[tuple[pd.DataFrame, np.ndarray]]:
        """:meth:`sample_given`'s batches, not yet joined (:meth:`joined` joins them).

        ``context`` holds the rows of batches ``first_batch``, ``first_batch + 1``, ... of a
        larger draw, and each is drawn exactly as that whole draw draws it (batch ``i`` from
        its own seeds): a shard of a draw split across machines. ``workers`` threads draw
        (default: one per core).
        """
        state = self._fitted()
        given = state.shape.context
        if context.ndim != 2 or context.shape[1] != given:
            raise ValueError(f"this model needs {given} context columns, got {context.shape}")
        sampler = self._sampler_of(state)
        starts = range(0, len(context), batch_rows)

        def batch(index: int) -> tuple[pd.DataFrame, np.ndarray]:
            start = starts[index]
            part = context[start : start + batch_rows]
            at = first_batch * batch_rows + start
            return self._draw(state, sampler, at, len(part), seed, first_batch + index, part)

        if workers is None:
            workers = min(available_cores(), len(starts))
        return list(ordered_map(batch, range(len(starts)), workers=max(1, workers)))

    def joined(
        self, parts: Sequence[tuple[pd.DataFrame, np.ndarray]]
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Batches of :meth:`given_batches`, in order, as one frame and one token array."""
        if not parts:
            width = sum(1 for _ in self._fitted().encoder.sub_columns)
            return self._empty(), np.zeros((0, width), dtype=np.int64)
        frame = pd.concat([p[0] for p in parts], ignore_index=True)
        return frame, np.concatenate([p[1] for p in parts])

    def _sampler_of(self, state: FittedState) -> Sampler | None:
        """The network's sampler, built on first use and kept while the network is the same."""
        if not state.encoder.encoders:
            return None
        if self._sampler is None or self._sampler[0] is not state.net:
            self._sampler = (state.net, state.net.sampler())
        return self._sampler[1]

    def encode_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """The tokens of source rows as the model sees them (the context of child tables).

        NULLs are replaced as in training under ``--nulls replace`` and kept otherwise; every
        row is encoded, none dropped.
        """
        state = self._fitted()
        typed = to_typed(frame, state.schema)
        policy: NullPolicy = "replace" if self.config.nulls == "replace" else "keep"
        prepared, _ = apply_null_policy(typed, state.schema, policy)
        return state.encoder.encode(prepared)

    def sample_with_tokens(self, rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
        """Like :meth:`sample`, with the rows' tokens (the context of child tables)."""
        state = self._fitted()
        if state.shape.context:
            raise UsageError("this model draws rows under parent rows: use sample_given")
        return self.sample_given(np.zeros((rows, 0), dtype=np.int64), seed=seed)

    def _draw(
        self,
        state: FittedState,
        sampler: Sampler | None,
        start: int,
        count: int,
        seed: int,
        batch_index: int,
        context: np.ndarray | None,
        conditions: conditioning.Conditions | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        generator = torch.Generator().manual_seed((seed * 1_000_003 + batch_index) % 2**63)
        rng = np.random.default_rng([seed, batch_index])
        given = state.shape.context
        if sampler is not None:
            parent = (
                torch.from_numpy(context.astype(np.int64))
                if given and context is not None
                else None
            )
            if conditions is None:
                tokens = sampler.sample(count, generator, parent).numpy()[:, given:]
            else:
                tokens = sample_given(
                    sampler,
                    torch.from_numpy(conditions.tokens),
                    torch.from_numpy(conditions.known),
                    generator,
                    not_null=torch.from_numpy(conditions.not_null),
                    adaptive=conditions.mode == "given",
                ).numpy()
            typed = state.encoder.decode(tokens, rng)
            if state.rules:
                typed = keep_table_rules(
                    state.rules, typed, np.random.default_rng([seed, batch_index, 7]), state.schema
                )
        else:
            tokens = np.zeros((count, 0), dtype=np.int64)
            typed = pd.DataFrame(index=range(count))
        columns: dict[str, Any] = {}
        for column in state.schema.columns:
            if column.kind == "key":
                columns[column.name] = generate_keys(column, start, count, rng)
            elif column.kind == "constant":
                columns[column.name] = pd.Series([column.constant] * count, dtype=object)
            elif column.kind in MODELLED_KINDS:
                columns[column.name] = typed[column.name].reset_index(drop=True)
        return to_source(pd.DataFrame(columns), state.schema), tokens

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame(columns=self._fitted().schema.names)

    # ----------------------------------------------------------------- state
    def _fitted(self) -> FittedState:
        if self._state is None:
            raise UsageError("the synthesizer is not trained yet", hint="call fit() or load()")
        return self._state

    @property
    def schema(self) -> TableSchema:
        return self._fitted().schema

    @property
    def training(self) -> TrainingResult:
        return self._fitted().result

    @property
    def null_report(self) -> NullReport:
        return self._fitted().nulls

    @property
    def state(self) -> FittedState:
        return self._fitted()

    def save(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Write one model file: a zip of ``manifest.json`` and safetensors weights."""
        from synthdb.modelfile import save_model

        save_model(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Read a model file written by :meth:`save`; never unpickles anything."""
        from synthdb.modelfile import load_model

        return load_model(Path(path))

    @classmethod
    def from_state(cls, config: TrainingConfig, state: FittedState) -> Synthesizer:
        synthesizer = cls(config)
        synthesizer._state = state
        return synthesizer


def _table_rules(config: TrainingConfig, typed: pd.DataFrame, schema: TableSchema) -> list[Rule]:
    """The rules within this table the model keeps: found (unless off, or under DP, where
    finding them would read the data uncharged), less those dropped, plus those declared."""
    private = config.privacy is not None
    settings = config.rules
    visible = typed[[c for c in typed.columns if not str(c).startswith("__synthdb")]]
    found: list[Rule] = []
    if settings.discover and not private:
        found = discover_table_rules(visible, schema, seed=config.seed)
    mine = [
        item
        for item in settings.add
        if item.get("kind") in TABLE_KINDS and item.get("table", schema.name) == schema.name
    ]
    try:
        given = [
            complete(rule, None if private else visible) for rule in declared(mine, schema.name)
        ]
    except ValueError as exc:
        raise UsageError(f"job file rules: {exc}") from None
    return select(found, given, settings.drop, settings.discover and not private)


def _charge_rules(state: FittedState, rules: list[Rule], label: str = "") -> None:
    """Say in the DP ledger how rules were chosen: only declared ones, at no cost."""
    from synthdb.privacy.ledger import LedgerEntry

    if state.ledger is None:
        return
    state.ledger.add(
        LedgerEntry(
            mechanism="declared only",
            target=f"{label}: rules" if label else "rules",
            epsilon=0.0,
            parameters={"rules": len(rules), "discovery": "off"},
            note="rules found in the data would depend on it, so under DP none are found; "
            "only rules the job file declares are kept (their pairs and bounds come from the "
            "job file, and a broken order is repaired by mirroring the row's own gap)",
        )
    )


def _network_shape(
    config: TrainingConfig, encoder: TableEncoder, context: Context | None
) -> NetworkShape:
    """The network for ``encoder``'s sub-columns, after the context's given ones."""
    given = context.width if context is not None else 0
    return NetworkShape(
        cardinalities=(context.cardinalities if context else ())
        + tuple(s.cardinality for s in encoder.sub_columns),
        hidden_inputs=tuple(given + i for i, s in enumerate(encoder.sub_columns) if not s.context),
        embedding_dim=config.embedding_dim,
        hidden=config.hidden,
        depth=config.depth,
        dropout=config.dropout,
        context=given,
    )


def _plain_training(
    config: TrainingConfig,
    schema: TableSchema,
    prepared: PreparedTable,
    tokens: np.ndarray,
    context: Context | None,
) -> tuple[StepStrategy, StoppingPolicy]:
    """Shuffled AdamW steps on most rows, stopped by patience on the validation accuracy of
    the rest (on the training rows themselves for small tables)."""
    encoder = prepared.encoder
    given = context.width if context is not None else 0
    rows = len(prepared.frame)
    order = np.random.default_rng(config.seed).permutation(rows)
    holdout = round(rows * config.validation_share)
    if rows < MIN_ROWS_FOR_HOLDOUT or holdout == 0:
        train_idx = val_idx = order
    else:
        val_idx, train_idx = order[:holdout], order[holdout:]
    kinds = {c: k for c, k in accuracy_kinds(schema).items() if c in encoder.columns}
    val_frame = prepared.frame.iloc[val_idx][list(kinds)].reset_index(drop=True)
    reference = AccuracyReference.fit(val_frame, kinds)
    low, high = VALIDATION_SAMPLE
    probe_rows = int(min(max(5 * len(val_idx), low), high))

    # a conditional model is scored given the validation rows' own parents
    probe_context = None
    if given:
        picks = np.random.default_rng(config.seed + 1).choice(val_idx, probe_rows)
        probe_context = torch.from_numpy(tokens[picks, :given].astype(np.int64))

    def validate(model: AutoregressiveNet) -> float:
        generator = torch.Generator().manual_seed(config.seed + 1)
        sampled = model.sample(probe_rows, generator, probe_context)[:, given:]
        decoded = encoder.decode(sampled.numpy(), np.random.default_rng(config.seed + 1))
        return reference.score(decoded[list(kinds)]).overall

    batch = config.batch_size or default_batch_size(len(train_idx))
    steps = ShuffledBatches(tokens[train_idx], batch, config.learning_rate, config.seed)
    stopping = Patience(
        tokens[val_idx],
        validate,
        max_epochs=config.max_epochs,
        patience=config.patience,
        min_delta=config.min_delta,
        # only against held-out rows: on its training rows the loss always falls
        loss_counts=bool(context and context.sequential) and val_idx is not train_idx,
    )
    return steps, stopping


@dataclass
class _Private:
    """A fit under differential privacy: its budget, its noise, and the DP statistics."""

    privacy: Privacy
    preparation: PrivatePreparation
    #: DP-SGD's noise and Poisson sampling (the statistics' noise came from the same seed)
    generator: torch.Generator
    #: a database table's part of the database's budget (None: a table of its own)
    budget: TableBudget | None = None

    @property
    def table(self) -> PreparedTable:
        return self.preparation.table

    @property
    def schema(self) -> TableSchema:
        return self.preparation.schema

    @property
    def ledger(self) -> Ledger:
        return self.preparation.ledger

    def training(
        self, config: TrainingConfig, tokens: np.ndarray, net: AutoregressiveNet
    ) -> tuple[StepStrategy, StoppingPolicy]:
        """DP-SGD steps on every row, the heads started at the DP counts, stopped when the
        planned steps are spent (no early stopping: it would read data outside the budget)."""
        from synthdb.privacy.dpsgd import PoissonSteps
        from synthdb.privacy.training import BudgetSpent, default_private_batch, init_heads, plan

        given = net.shape.context
        counts: list[np.ndarray | None] = [None] * given
        init_heads(net, counts + list(self.table.token_counts or []))
        if self.budget is not None:
            budget = self.budget
            planned = budget.plan(self.privacy, config.max_epochs)
            steps = PoissonSteps(
                tokens,
                planned.sample_rate,
                planned.steps_per_epoch,
                planned.step,
                config.learning_rate,
                self.generator,
                subjects=budget.subjects,
            )
            return steps, BudgetSpent(
                planned, self.ledger, config.learning_rate, label=budget.noise.label
            )
        rows = self.table.rows
        batch = config.batch_size or default_private_batch(rows)
        planned = plan(self.privacy, self.ledger, rows, batch, config.max_epochs)
        steps = PoissonSteps(
            tokens,
            planned.sample_rate,
            planned.steps_per_epoch,
            planned.step,
            config.learning_rate,
            self.generator,
        )
        return steps, BudgetSpent(planned, self.ledger, config.learning_rate)

    def calibrate(self, net: AutoregressiveNet, seed: int) -> None:
        """Rake the DP-trained heads to the DP marginals (unless switched off), and say so in
        the ledger (epsilon 0)."""
        if not self.privacy.calibration or net.shape.context:
            # a child table's heads depend on its parent rows: raking them to the marginals
            # would need the real parents, so child tables are left as DP-SGD made them
            return
        from synthdb.privacy.calibration import ROWS, TOLERANCE, calibrate_heads
        from synthdb.privacy.ledger import LedgerEntry
        from synthdb.privacy.training import head_targets

        targets = head_targets(net, self.table.token_counts or [])
        done = calibrate_heads(net, targets, torch.Generator().manual_seed(seed))
        label = self.budget.noise.label if self.budget is not None else ""
        self.ledger.add(
            LedgerEntry(
                mechanism="post-processing",
                target=f"{label}: output biases" if label else "output biases",
                epsilon=0.0,
                parameters={
                    "rounds": done.rounds,
                    "rows_per_round": ROWS,
                    "tolerance": TOLERANCE,
                    "sub_columns": done.columns,
                    "mean_tvd_before": round(done.tvd_before, 5),
                    "mean_tvd_after": round(done.tvd_after, 5),
                    "max_tvd_after": round(done.max_tvd_after, 5),
                },
                note="each head's bias raked until the generated marginals match the DP token "
                "counts released above; reads only the model and those counts, no data, so it "
                "costs nothing",
            )
        )


def _prepare_private(
    config: TrainingConfig,
    schema: TableSchema,
    typed: pd.DataFrame,
    budget: TableBudget | None = None,
) -> _Private:
    """The DP statistics behind the encoders, charged to a new ledger (or, for a table of a
    database, to the database's)."""
    from synthdb.privacy.preprocessing import default_delta, prepare

    privacy = config.privacy
    assert privacy is not None
    if budget is not None:
        rng = np.random.default_rng(budget.seed)
        generator = torch.Generator().manual_seed(budget.seed)
        noise = budget.noise
        preparation = prepare(
            typed, schema, config.nulls, privacy, noise.ledger.delta, rng, shared=noise
        )
        return _Private(privacy, preparation, generator, budget)
    rows = len(typed)
    delta = privacy.delta if privacy.delta is not None else default_delta(rows)
    if not delta < 1.0 / rows:
        raise UsageError(
            f"`delta` must be below 1/rows = {1.0 / rows:.3g} (got {delta:g})",
            hint="a delta of 1/rows or more lets a mechanism publish one row outright",
        )
    # The noise must be unpredictable: a seed stored in the model file would let anyone
    # subtract it. ``noise_seed`` exists for tests only.
    seed = privacy.noise_seed if privacy.noise_seed is not None else secrets.randbits(63)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    preparation = prepare(typed, schema, config.nulls, privacy, delta, rng)
    return _Private(privacy, preparation, generator)
