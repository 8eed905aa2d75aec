"""Training parameters: typed, bounded and documented in one place.

The CLI flags, the job file keys and the Python API all resolve to one :class:`TrainingConfig`,
validated once at the edge. Purpose presets fill what the user left unset; anything set
explicitly wins over the preset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    embedding_dim: int = Field(8, ge=1, le=512)
    hidden: int = Field(48, ge=4, le=4096)
    depth: int = Field(1, ge=1, le=8)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    columns: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-column schema overrides, e.g. {'zip': {'kind': 'categorical'}}",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        values = {k: v for k, v in data.items() if v is not None}
        purpose = values.get("purpose", DEFAULT_PURPOSE)
        preset = PRESETS.get(purpose)
        if preset is not None:
            for key, value in preset.items():
                values.setdefault(key, value)
        return values


def make_config(**values: Any) -> TrainingConfig:
    """Build a config, turning validation failures into one-line :class:`UsageError`s."""
    try:
        return TrainingConfig(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "configuration"
        flag = "--" + where.replace("_", "-")
        given = error.get("input")
        raise UsageError(f"{flag}: {error['msg'].lower()} (got {given!r})") from None
