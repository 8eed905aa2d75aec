"""The model file: one zip holding ``manifest.json`` and ``weights.safetensors``, no pickle.

SDV pickles whole objects and its users lose models across versions (SDV#1789); a JSON
manifest with a format version plus safetensors weights can be read by any later synthdb, and
loading a file from a stranger cannot run code. The manifest records everything needed to
rebuild the model and to explain it: schema, encoders, config, training history, stop reason,
the null policy's effect, and library versions.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from synthdb import __version__
from synthdb.config import TrainingConfig
from synthdb.encoding.nulls import NullReport
from synthdb.encoding.table import TableEncoder
from synthdb.errors import ModelFileError
from synthdb.io.sinks import atomic_path, check_output
from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.rules.model import rules_from_dicts
from synthdb.schema.table import TableSchema
from synthdb.synthesizer import FittedState, Synthesizer
from synthdb.training.loop import TrainingResult

if TYPE_CHECKING:
    from synthdb.privacy.ledger import Ledger

FORMAT_VERSION = "1.0"
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"


def save_model(synthesizer: Synthesizer, path: Path, *, overwrite: bool = False) -> None:
    check_output(path, overwrite=overwrite)
    weights = save_tensors(synthesizer_tensors(synthesizer))
    manifest = header() | synthesizer_manifest(synthesizer)
    write_model_file(path, manifest, weights)


def header() -> dict[str, Any]:
    """What every model file starts with: format, version, date and library versions."""
    return {
        "format": "synthdb-model",
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "synthdb": __version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }


def synthesizer_tensors(synthesizer: Synthesizer, prefix: str = "") -> dict[str, torch.Tensor]:
    state = synthesizer.state.net.state_dict()
    return {prefix + k: v.contiguous() for k, v in state.items()}


def write_model_file(path: Path, manifest: dict[str, Any], weights: bytes) -> None:
    """Write the zip under a temporary name and rename it: never a half-written model."""
    manifest = manifest | {"weights_sha256": hashlib.sha256(weights).hexdigest()}
    with (
        atomic_path(path) as temporary,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, allow_nan=True))
        zf.writestr(WEIGHTS, weights)


def synthesizer_manifest(synthesizer: Synthesizer) -> dict[str, Any]:
    """One table's model as plain data: everything but the weights."""
    state = synthesizer.state
    return {
        "config": synthesizer.config.model_dump(mode="json"),
        "schema": state.schema.to_dict(),
        "encoder": state.encoder.to_dict(),
        "network": state.shape.to_dict(),
        "training": state.result.to_dict(),
        "stop_reason": state.result.stop_reason,
        "nulls": state.nulls.to_dict(),
        "privacy": state.ledger.to_dict() if state.ledger is not None else None,
        "rules": [rule.to_dict() for rule in state.rules],
    }


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest alone (for ``synthdb inspect`` and reports), with the same checks as load."""
    manifest, _ = _read(path, weights=False)
    return manifest


def load_model(path: Path) -> Synthesizer:
    manifest, weights = read_model_file(path)
    if manifest.get("kind") == "database":
        raise ModelFileError(
            f"{path} holds a model of a whole database, not of one table",
            hint="generate from it with: synthdb generate MODEL -o DATABASE_OR_FOLDER",
        )
    if manifest.get("kind") == "sequences":
        raise ModelFileError(
            f"{path} holds a model of one table's sequences, not of rows one by one",
            hint="load it with synthdb.SequenceModel.load, or: synthdb generate MODEL -o FILE",
        )
    return synthesizer_from_manifest(manifest, load_tensors(weights), path)


def read_model_file(path: Path) -> tuple[dict[str, Any], bytes]:
    """Manifest and weights, checked (format, version, checksum)."""
    manifest, weights = _read(path, weights=True)
    assert weights is not None
    return manifest, weights


def synthesizer_from_manifest(
    manifest: dict[str, Any], tensors: dict[str, torch.Tensor], path: Path
) -> Synthesizer:
    """Rebuild one table's model from its manifest part and its weights."""
    try:
        shape = NetworkShape.from_dict(manifest["network"])
        net = AutoregressiveNet(shape)
        net.load_state_dict(tensors)
        net.eval()
        state = FittedState(
            schema=TableSchema.from_dict(manifest["schema"]),
            encoder=TableEncoder.from_dict(manifest["encoder"]),
            shape=shape,
            net=net,
            result=TrainingResult.from_dict(manifest["training"]),
            nulls=NullReport(**manifest["nulls"]),
            ledger=_ledger(manifest.get("privacy")),
            rules=rules_from_dicts(manifest.get("rules", [])),
        )
        config = TrainingConfig(**manifest["config"])
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, SafetensorError) as exc:
        raise ModelFileError(
            f"{path} is damaged: its manifest or weights do not fit together "
            f"({type(exc).__name__})",
            hint="train the model again",
        ) from None
    return Synthesizer.from_state(config, state)


def _ledger(data: dict[str, Any] | None) -> Ledger | None:
    if data is None:
        return None
    from synthdb.privacy.ledger import Ledger

    return Ledger.from_dict(data)


def _read(path: Path, *, weights: bool) -> tuple[dict[str, Any], bytes | None]:
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist", hint="check the path")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            blob = zf.read(WEIGHTS) if weights else None
    except (
        zipfile.BadZipFile,
        zlib.error,  # a damaged deflate stream
        NotImplementedError,  # damaged header fields: "compression method not supported"
        KeyError,
        EOFError,
        OSError,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ):
        raise ModelFileError(
            f"{path} is not a readable synthdb model file (corrupted or truncated)",
            hint="train the model again or copy the file again",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != "synthdb-model":
        raise ModelFileError(f"{path} is not a synthdb model file")
    version = str(manifest.get("format_version", "0"))
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major > int(FORMAT_VERSION.split(".")[0]):
        raise ModelFileError(
            f"{path} was written by a newer synthdb (model format {version}; "
            f"this one reads {FORMAT_VERSION})",
            hint="upgrade synthdb: pip install -U synthdb",
        )
    if blob is not None and hashlib.sha256(blob).hexdigest() != manifest.get("weights_sha256"):
        raise ModelFileError(
            f"{path} is corrupted: its weights do not match their checksum",
            hint="train the model again or copy the file again",
        )
    return manifest, blob
