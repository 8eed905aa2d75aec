"""The command-line options shared by several commands, each documenting its range and default.

Typer's own ``[default: x]`` is switched off: it cannot say "from --purpose" or "none", and two
spellings of the same fact in one help screen would disagree sooner or later.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast, get_type_hints

import typer

from synthdb.config import (
    DEFAULT_BATCH,
    DEFAULT_PURPOSE,
    PRESETS,
    PRIVACY_PRESETS,
    Privacy,
    TrainingConfig,
)
from synthdb.errors import UsageError
from synthdb.pipeline.inputs import MAX_SCALE

if TYPE_CHECKING:
    from synthdb.pipeline.events import Listener

Purpose = Literal["testing", "analytics", "ml"]
Nulls = Literal["replace", "drop", "keep"]
PrivacyLevel = Literal["high", "medium", "low"]

_DEFAULTS = TrainingConfig.model_fields


def _preset(key: str) -> str:
    return ", ".join(f"{name} {values[key]}" for name, values in PRESETS.items())


def _option(*names: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, show_default=False)


InputArg = Annotated[
    str,
    typer.Argument(
        help="the table to learn from: CSV/TSV (.csv, .tsv, optionally .gz/.bz2/.xz/.zst), "
        "Parquet (.parquet) or a database URL such as sqlite:///file.db",
        show_default=False,
    ),
]
TableOpt = Annotated[
    str | None,
    _option(
        "--table",
        help="table to read when the input is a database, and the table to write when the "
        "output is one. Default: the database's only table / the input's name.",
    ),
]
PurposeOpt = Annotated[
    Purpose | None,
    _option(
        "--purpose",
        help=f"preset for --max-epochs and --nulls: testing (max epochs 10-20: "
        f"{PRESETS['testing']['max_epochs']}, nulls {PRESETS['testing']['nulls']}), analytics "
        f"(20-50: {PRESETS['analytics']['max_epochs']}, {PRESETS['analytics']['nulls']}), ml "
        f"(50-100: {PRESETS['ml']['max_epochs']}, {PRESETS['ml']['nulls']}); flags given "
        f"explicitly win. Default: {DEFAULT_PURPOSE}.",
    ),
]
MaxEpochsOpt = Annotated[
    int | None,
    _option(
        "--max-epochs",
        help="upper bound on passes over the data; training stops earlier once validation "
        f"accuracy stops improving. Range: 1-100000. Default: from --purpose "
        f"({_preset('max_epochs')}).",
    ),
]
NullsOpt = Annotated[
    Nulls | None,
    _option(
        "--nulls",
        help="what to do with NULL cells. replace: numbers -> mean (rounded for integers), "
        "dates -> mean instant, categories/booleans -> most frequent value; drop: remove every "
        "row that has a NULL; keep: learn NULL as a value of its own. "
        f"Default: from --purpose ({_preset('nulls')}).",
    ),
]
PatienceOpt = Annotated[
    int | None,
    _option(
        "--patience",
        help="epochs without improvement before training stops. "
        f"Range: 1-1000. Default: {_DEFAULTS['patience'].default}.",
    ),
]
MinDeltaOpt = Annotated[
    float | None,
    _option(
        "--min-delta",
        help="validation accuracy gain that counts as an improvement. "
        f"Range: 0-1. Default: {_DEFAULTS['min_delta'].default}.",
    ),
]
MaxTimeOpt = Annotated[
    float | None,
    _option(
        "--max-time",
        help="stop training after this many seconds, keeping the best epoch. "
        "Range: > 0. Default: no limit.",
    ),
]
BatchOpt = Annotated[
    int | None,
    _option(
        "--batch-size",
        help=f"rows per gradient step. Range: 1-1000000. Default: {DEFAULT_BATCH.describe()}.",
    ),
]
LrOpt = Annotated[
    float | None,
    _option(
        "--learning-rate",
        help="AdamW step size. Range: > 0 and <= 1. "
        f"Default: {_DEFAULTS['learning_rate'].default}.",
    ),
]
SeedOpt = Annotated[
    int | None,
    _option(
        "--seed",
        help="training seed: the same data and seed give the same model. "
        f"Range: >= 0. Default: {_DEFAULTS['seed'].default}.",
    ),
]
SampleRowsOpt = Annotated[
    int | None,
    _option(
        "--sample-rows",
        help="train on a uniform sample of this many rows, drawn with the seed; a table "
        "of over 1,000,000 rows (or sample) is streamed from disk either way. Range: >= 1. "
        "Default: every row.",
    ),
]
EpsilonOpt = Annotated[
    float | None,
    _option(
        "--epsilon",
        help="train with differential privacy within this budget: 0-3 high, 3-15 medium, "
        "15+ low privacy. Everything that reads the data is charged to it ('synthdb privacy "
        "MODEL' shows the ledger). Range: > 0. Default: no differential privacy.",
    ),
]
PrivacyOpt = Annotated[
    PrivacyLevel | None,
    _option(
        "--privacy",
        help="differential privacy preset: "
        + ", ".join(f"{k} (epsilon {v:g})" for k, v in PRIVACY_PRESETS.items())
        + "; --epsilon wins. Default: none.",
    ),
]
DeltaOpt = Annotated[
    float | None,
    _option(
        "--delta",
        help="DP failure probability. Range: > 0 and < 1/rows. "
        "Default: min(1e-5, 1/(10 x rows rounded up to a power of ten)).",
    ),
]
MicrobatchesOpt = Annotated[
    int | None,
    _option(
        "--microbatches",
        help="DP: groups per batch whose mean gradient is clipped; fewer groups are faster to "
        "clip but count twice the clip as sensitivity. Range: 1 to the batch size. "
        "Default: the batch size (per-example clipping).",
    ),
]
ClipOpt = Annotated[
    float | None,
    _option(
        "--clip",
        help="DP: L2 norm bound of each group's gradient. Range: > 0. "
        f"Default: {Privacy.model_fields['clip'].default}.",
    ),
]
NoiseOpt = Annotated[
    str | None,
    _option(
        "--noise-multiplier",
        help="DP: noise std divided by --clip, or auto (the least noise with which "
        "--max-epochs fit the budget). With a number, training stops when the budget is "
        "spent. Range: > 0 or auto. Default: auto.",
    ),
]
JobOpt = Annotated[
    Path | None,
    _option(
        "--job",
        help="YAML or TOML job file with the same keys as these flags, plus per-column "
        "overrides; flags given explicitly win. Default: none.",
    ),
]
EncodingOpt = Annotated[
    str,
    _option(
        "--encoding",
        help="text encoding of CSV input, such as utf-8, latin-1 or cp1252. Default: utf-8.",
    ),
]
OverwriteOpt = Annotated[
    bool,
    _option(
        "--overwrite",
        help="replace outputs that already exist. Default: off (an existing output is refused).",
    ),
]
QuietOpt = Annotated[
    bool,
    _option("--quiet", "-q", help="print nothing but errors. Default: off."),
]
RowsOpt = Annotated[
    int | None,
    _option(
        "--rows",
        "-n",
        help="rows to generate. Range: >= 1. Default: as many as the training data had.",
    ),
]
RayOpt = Annotated[
    str | None,
    _option(
        "--ray",
        help="draw the rows on a Ray cluster: auto (the cluster this machine belongs to) or its "
        "address, such as ray://head:10001. Same output as without it. Needs "
        "pip install 'synthdb[ray]'. Default: this process.",
    ),
]
RayTrainOpt = Annotated[
    str | None,
    _option(
        "--ray",
        help="train data-parallel on a Ray cluster (a table's model without DP): auto (the "
        "cluster this machine belongs to) or its address. Each worker takes its part of every "
        "batch; the result matches one process's within noise. Needs pip install "
        "'synthdb[ray]'. Default: this process.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    _option(
        "--workers",
        help="Ray workers, each on one CPU (with --ray only). Range: >= 1. Default: one per "
        "CPU of the cluster.",
    ),
]
#: the generation seed when none is given, in ``generate`` and ``run`` alike
SAMPLE_SEED = 0
SAMPLE_SEED_HELP = (
    "generation seed: the same model and seed give byte-identical output. Range: >= 0. "
    f"Default: {SAMPLE_SEED}."
)
HoldoutOpt = Annotated[
    str | None,
    _option(
        "--holdout",
        help="real rows NOT used for training (same columns): scored like the synthetic rows, "
        "they show the accuracy ceiling. Default: none.",
    ),
]
JsonOpt = Annotated[
    Path | None,
    _option("--json", help="also write every accuracy figure to this JSON file. Default: none."),
]
TargetOpt = Annotated[
    str | None,
    _option(
        "--target",
        help="column to predict for ML utility: a model trained on synthetic rows and one "
        "trained on real rows are scored on --holdout (ROC AUC for two classes, accuracy for "
        "more, R^2 for numbers). Needs --holdout. Default: none.",
    ),
]
TablesOpt = Annotated[
    str | None,
    _option(
        "--tables",
        help="tables of a database to learn, comma-separated (with every table they reference "
        "needed too). Default: all.",
    ),
]
ScaleOpt = Annotated[
    float | None,
    _option(
        "--scale",
        help="for a database: multiply the root tables' row counts by this; child tables follow "
        f"through the learned children per parent. Range: above 0, at most {MAX_SCALE:g}. "
        "Default: 1.",
    ),
]
SequenceKeyOpt = Annotated[
    str | None,
    _option(
        "--sequence-key",
        help="for one table: the column naming the entity each row belongs to (a plane, a "
        "patient); its rows are learned and drawn as one ordered sequence, with new keys in "
        "the source's format. Job file: sequence_key. Default: none (rows one by one).",
    ),
]
OrderByOpt = Annotated[
    str | None,
    _option(
        "--order-by",
        help="with --sequence-key: the columns each sequence is sorted by, comma-separated "
        "(a date, a time or a number first; its gaps between events are learned). Job file: "
        "order_by. Default: the rows' order in the source.",
    ),
]
SequencesOpt = Annotated[
    int | None,
    _option(
        "--sequences",
        help="for a model of sequences (--sequence-key): sequences to generate, each as long "
        "as the model draws it. Range: >= 1. Default: as many as the training data had.",
    ),
]


@dataclass(frozen=True)
class TrainingFlags:
    """The training flags of ``train`` and ``run``, defined once: each field is a flag, its
    annotation the option (help, range, default). :func:`training_flags` puts them on a
    command in this order; a flag added here is on both commands."""

    purpose: PurposeOpt = None
    max_epochs: MaxEpochsOpt = None
    nulls: NullsOpt = None
    patience: PatienceOpt = None
    min_delta: MinDeltaOpt = None
    max_time: MaxTimeOpt = None
    batch_size: BatchOpt = None
    learning_rate: LrOpt = None
    seed: SeedOpt = None
    sample_rows: SampleRowsOpt = None
    epsilon: EpsilonOpt = None
    privacy: PrivacyOpt = None
    delta: DeltaOpt = None
    microbatches: MicrobatchesOpt = None
    clip: ClipOpt = None
    noise_multiplier: NoiseOpt = None
    job: JobOpt = None
    sequence_key: SequenceKeyOpt = None
    order_by: OrderByOpt = None

    def config(self, source: str, listener: Listener | None = None) -> TrainingConfig:
        """The job files' settings (``source`` if it is one, then --job), overridden by the
        flags given, validated once."""
        from synthdb.pipeline.inputs import training_config

        settings = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("job", "sequence_key", "order_by")
        }
        settings["noise_multiplier"] = noise_multiplier(self.noise_multiplier)
        return training_config(source, self.job, listener=listener, **settings)


def noise_multiplier(value: str | None) -> float | str | None:
    """``auto`` or a number; anything else is a usage error naming the flag."""
    if value is None or value.strip().lower() == "auto":
        return None if value is None else "auto"
    try:
        return float(value)
    except ValueError:
        raise UsageError(
            f"--noise-multiplier must be a number > 0 or auto (got {value!r})"
        ) from None


Command = TypeVar("Command", bound=Callable[..., None])


def training_flags(command: Command) -> Command:
    """Put the :class:`TrainingFlags` options on ``command`` where its keyword-only
    ``flags: TrainingFlags`` parameter stands, and hand them to it as one object."""
    shared = [f.name for f in fields(TrainingFlags)]
    hints = get_type_hints(TrainingFlags, include_extras=True)
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "flags":
            parameters += [
                inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=getattr(TrainingFlags, name),
                    annotation=hints[name],
                )
                for name in shared
            ]
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        flags = TrainingFlags(**{name: values.pop(name) for name in shared})
        command(flags=flags, **values)

    # Typer reads the signature: the shared options in place of ``flags``
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return cast(Command, wrapper)
