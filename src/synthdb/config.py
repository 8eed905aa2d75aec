"""Training parameters: typed, bounded and documented in one place.

The CLI flags, the job file keys and the Python API all resolve to one :class:`TrainingConfig`,
validated once at the edge. Purpose presets fill what the user left unset; anything set
explicitly wins over the preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from synthdb.errors import UsageError

Purpose = Literal["testing", "analytics", "ml"]
NullPolicy = Literal["replace", "drop", "keep"]

#: The product brief's ranges: testing 10-20 epochs, analytics 20-50, ML training 50-100.
PRESETS: dict[str, dict[str, Any]] = {
    "testing": {"max_epochs": 15, "nulls": "replace"},
    "analytics": {"max_epochs": 35, "nulls": "drop"},
    "ml": {"max_epochs": 75, "nulls": "drop"},
}
DEFAULT_PURPOSE: Purpose = "analytics"


@dataclass(frozen=True)
class BatchRule:
    """The default batch size: about ``rows / per``, a power of two within ``low``-``high``."""

    per: int
    low: int
    high: int

    def describe(self) -> str:
        return f"about rows/{self.per}, a power of two between {self.low} and {self.high}"


#: About 64 steps per epoch (training/loop.py's ``default_batch_size``).
DEFAULT_BATCH = BatchRule(per=64, low=32, high=1024)
#: DP-SGD wants large batches: noise per averaged gradient falls as 1/batch
#: (privacy/training.py's ``default_private_batch``).
DEFAULT_PRIVATE_BATCH = BatchRule(per=16, low=64, high=4096)

#: Dropout of the hidden layers without and with differential privacy.
DEFAULT_DROPOUT, DEFAULT_PRIVATE_DROPOUT = 0.1, 0.0

#: The product brief's bands: 0-3 high privacy, 3-15 medium, 15+ low.
PRIVACY_PRESETS: dict[str, float] = {"high": 1.0, "medium": 5.0, "low": 20.0}
#: Top-level keys (CLI flags, job file) that belong to :class:`Privacy`.
PRIVACY_KEYS = ("epsilon", "delta", "microbatches", "clip", "noise_multiplier")


class PublicColumn(BaseModel):
    """What the user declares public about one column: it is then used as is, not charged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bounds: tuple[float, float] | None = Field(
        None, description="[low, high] of a numeric or datetime column (seconds since the epoch)"
    )
    categories: list[str] | None = Field(
        None, description="every value a categorical column may take"
    )

    @model_validator(mode="after")
    def _ordered(self) -> PublicColumn:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds must be [low, high] with low < high (got {self.bounds})")
        return self


class Privacy(BaseModel):
    """Differential privacy for one table: an (epsilon, delta) budget and DP-SGD settings.

    Everything that reads the data is charged to this budget (see ``synthdb privacy MODEL``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: float = Field(
        gt=0.0, le=1000.0, description="privacy budget: 0-3 high, 3-15 medium, 15+ low privacy"
    )
    delta: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="failure probability; default min(1e-5, 1/(10 rows)); must be < 1/rows",
    )
    microbatches: int | None = Field(
        None,
        ge=1,
        description="groups per batch whose mean gradient is clipped; default: the batch size "
        "(per-example clipping)",
    )
    clip: float = Field(1.0, gt=0.0, description="L2 norm bound of each group's gradient")
    noise_multiplier: float | Literal["auto"] = Field(
        "auto",
        description="noise std / clip; auto: the least noise that lets max_epochs fit the budget",
    )
    preprocessing_share: float = Field(
        0.25,
        gt=0.0,
        lt=1.0,
        description="share of epsilon that the DP statistics behind the encoders (vocabularies, "
        "bounds, bin edges, row count) are calibrated to on their own; DP-SGD's noise then "
        "makes the composed total epsilon. Composed in RDP, 0.25 costs DP-SGD only a few "
        "percent more noise and keeps categories of a few hundred rows at epsilon 1",
    )
    public: dict[str, PublicColumn] = Field(
        default_factory=dict, description="per-column bounds or categories declared public"
    )
    subject: str | None = Field(
        None,
        description="databases: the table whose rows are the privacy unit, each protected with "
        "every row that references it directly or through other tables; default: the root "
        "table with the most rows below it",
    )
    max_rows_per_subject: int | None = Field(
        None,
        ge=1,
        description="databases: at most this many rows per subject in each table enter "
        "training (the rest are sampled out); default: chosen privately per table, the 95th "
        "percentile of a noisy histogram of rows per subject",
    )
    public_tables: tuple[str, ...] = Field(
        (),
        description="databases: tables copied as they are and not charged (job file "
        "`tables.NAME.public: true`); they may reference only public tables",
    )
    calibration: bool = Field(
        True,
        description="after DP-SGD, rake each output head's bias until the generated marginals "
        "match the DP counts released for the encoders (post-processing: no epsilon, no data "
        "read); off only to measure what it buys",
    )
    noise_guard: bool = Field(
        True,
        description="refuse training whose noise per averaged gradient exceeds 0.5 x clip "
        "(it learns next to nothing); `synthdb study` turns it off to chart where training "
        "breaks down",
    )
    noise_seed: int | None = Field(
        None,
        ge=0,
        description="seed of the privacy noise, for tests only: a known seed lets anyone "
        "subtract the noise. Default: fresh randomness from the operating system.",
    )

    @field_validator("noise_multiplier")
    @classmethod
    def _positive_noise(cls, value: float | str) -> float | str:
        if value != "auto" and not float(value) > 0:
            raise ValueError("must be greater than 0, or auto")
        return value


class RulesConfig(BaseModel):
    """Which rules a model keeps (see :mod:`synthdb.rules`): found in the data, dropped, added.

    A rule is named by its one-line text as ``synthdb inspect`` prints it. Under differential
    privacy discovery is off (it reads the data); declared rules are kept as given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    discover: bool = Field(True, description="find rules in the data on every run")
    drop: list[str] = Field(
        default_factory=list, description="rules to leave out, by their text as inspect shows it"
    )
    add: list[dict[str, Any]] = Field(
        default_factory=list,
        description="rules to keep although not found, e.g. {kind: order, table: orders, "
        "source: OrderDate, column: ShippedDate}",
    )

    @field_validator("add")
    @classmethod
    def _known(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from synthdb.rules.model import RULE_KINDS

        for item in value:
            if not isinstance(item, dict) or item.get("kind") not in RULE_KINDS:
                raise ValueError(f"each added rule needs a kind among {', '.join(RULE_KINDS)}")
            if not item.get("column"):
                raise ValueError("each added rule needs the column it sets")
        return value


class TrainingConfig(BaseModel):
    """How to train one table's model. Unset ``max_epochs``/``nulls`` come from ``purpose``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Purpose = Field(
        DEFAULT_PURPOSE,
        description="preset: testing (15 epochs, nulls replace), analytics (35, drop), "
        "ml (75, drop)",
    )
    max_epochs: int = Field(35, ge=1, le=100_000, description="upper bound on passes over the data")
    nulls: NullPolicy = Field("drop", description="replace | drop | keep")
    patience: int = Field(
        6, ge=1, le=1000, description="epochs without improvement before stopping early"
    )
    min_delta: float = Field(
        0.0, ge=0.0, le=1.0, description="smallest accuracy gain that counts as improvement"
    )
    max_time: float | None = Field(
        None, gt=0, description="stop training after this many seconds (best model kept)"
    )
    batch_size: int | None = Field(
        None, ge=1, le=1_000_000, description="rows per gradient step; default scales with rows"
    )
    learning_rate: float = Field(3e-3, gt=0.0, le=1.0, description="AdamW step size")
    validation_share: float = Field(
        0.1, gt=0.0, lt=0.5, description="share of rows held out for early stopping"
    )
    seed: int = Field(0, ge=0, description="seed for splitting, initialisation and batching")
    sample_rows: int | None = Field(
        None,
        ge=1,
        description="train on a uniform sample of this many rows (drawn with the seed); "
        "None: every row",
    )
    embedding_dim: int = Field(8, ge=1, le=512)
    hidden: int = Field(48, ge=4, le=4096)
    depth: int = Field(1, ge=1, le=8)
    dropout: float = Field(
        DEFAULT_DROPOUT,
        ge=0.0,
        lt=1.0,
        description="dropout of the hidden layers; default 0.1, and 0 under differential "
        "privacy, whose gradient noise already regularises (on Adult at epsilon 4, dropout 0.1 "
        "on top of it cost 0.008 accuracy)",
    )
    columns: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-column schema overrides, e.g. {'zip': {'kind': 'categorical'}}",
    )
    privacy: Privacy | None = Field(
        None, description="differential privacy budget and DP-SGD settings; None: no DP"
    )
    rules: RulesConfig = Field(
        default_factory=RulesConfig,
        description="rules kept in the twin: discovery on or off, rules dropped or added",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        values = _gather_privacy({k: v for k, v in data.items() if v is not None})
        purpose = values.get("purpose", DEFAULT_PURPOSE)
        preset = PRESETS.get(purpose)
        if preset is not None:
            for key, value in preset.items():
                values.setdefault(key, value)
        if values.get("privacy") is not None:
            values.setdefault("dropout", DEFAULT_PRIVATE_DROPOUT)
        return values


def _gather_privacy(values: dict[str, Any]) -> dict[str, Any]:
    """Fold ``privacy: high`` and the top-level privacy flags (``epsilon``, ...) into one dict."""
    privacy = values.get("privacy")
    flags = {k: values.pop(k) for k in PRIVACY_KEYS if k in values}
    if isinstance(privacy, str):
        if privacy not in PRIVACY_PRESETS:
            names = ", ".join(PRIVACY_PRESETS)
            raise UsageError(f"`privacy` must be one of {names} (got {privacy!r})")
        privacy = {"epsilon": PRIVACY_PRESETS[privacy]}
    if flags:
        base = privacy.model_dump() if isinstance(privacy, Privacy) else dict(privacy or {})
        privacy = {**base, **flags}
    if privacy is not None:
        values["privacy"] = privacy
    return values


def make_config(**values: Any) -> TrainingConfig:
    """Build a config, turning validation failures into one-line :class:`UsageError`s."""
    try:
        return TrainingConfig(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        if loc[:1] == ["privacy"] and len(loc) > 1 and loc[1] in PRIVACY_KEYS:
            loc = loc[1:2]  # `epsilon`, not `privacy.epsilon`
        where = ".".join(loc) or "configuration"
        given = error.get("input")
        message = error["msg"].lower().removeprefix("value error, ")
        # the parameter in backticks, as the library's errors name them; the CLI shows a flag
        raise UsageError(f"`{where}`: {message} (got {given!r})") from None
