from __future__ import annotations

import itertools
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from synthdb.errors import ModelFileError, OutputError
from synthdb.modelfile import FORMAT_VERSION, read_manifest
from synthdb.synthesizer import Synthesizer

OneLine = Callable[..., str]


@pytest.fixture(scope="module")
def model_file(adult_model: Synthesizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "adult.synthdb"
    adult_model.save(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rewrite(source: Path, target: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of ``source`` whose manifest went through ``edit``; the weights are unchanged."""
    members = _members(source)
    manifest = json.loads(members["manifest.json"])
    edit(manifest)
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("weights.safetensors", members["weights.safetensors"])
    return target


# --- round trip -------------------------------------------------------------------------------


def test_a_loaded_model_samples_exactly_what_the_saved_one_did(
    adult_model: Synthesizer, model_file: Path
) -> None:
    loaded = Synthesizer.load(model_file)

    pd.testing.assert_frame_equal(loaded.sample(1_000, seed=5), adult_model.sample(1_000, seed=5))
    assert loaded.schema == adult_model.schema
    assert loaded.config == adult_model.config
    assert loaded.training == adult_model.training
    assert loaded.null_report == adult_model.null_report


def test_the_file_holds_exactly_a_manifest_and_safetensors_weights(model_file: Path) -> None:
    with zipfile.ZipFile(model_file) as zf:
        names = sorted(zf.namelist())

    assert names == ["manifest.json", "weights.safetensors"]


def test_the_manifest_records_what_is_needed_to_rebuild_and_explain_the_model(
    adult_model: Synthesizer, model_file: Path
) -> None:
    manifest = json.loads(_members(model_file)["manifest.json"])

    assert manifest["format"] == "synthdb-model"
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["schema"]["columns"][0]["name"] == "person_id"
    assert [c["column"] for c in manifest["encoder"]["columns"]][:2] == ["age", "workclass"]
    assert manifest["config"]["max_epochs"] == 2
    assert manifest["config"]["nulls"] == "keep"
    assert [e["epoch"] for e in manifest["training"]["epochs"]] == [1, 2]
    assert manifest["stop_reason"] == adult_model.training.stop_reason
    assert manifest["nulls"]["policy"] == "keep"
    assert {"synthdb", "python", "torch", "numpy", "pandas"} <= set(manifest["versions"])
    assert read_manifest(model_file) == manifest


# --- no pickle --------------------------------------------------------------------------------


def test_the_weights_are_pure_safetensors_with_no_room_for_a_pickle(model_file: Path) -> None:
    # Setup
    blob = _members(model_file)["weights.safetensors"]

    # Run: parse the safetensors layout by hand: u64 header size, JSON header, raw bytes
    (header_size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + header_size])
    data = blob[8 + header_size :]

    # Assert: every byte after the header belongs to a declared tensor
    spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert spans[-1][1] == len(data)


def test_no_member_is_or_contains_a_pickle(model_file: Path) -> None:
    for name, content in _members(model_file).items():
        assert not name.endswith((".pkl", ".pickle", ".pt", ".pth")), name
        # protocol 2+ pickles start with PROTO (0x80) and a protocol number; neither member may
        assert not (content[:1] == b"\x80" and content[1:2] in b"\x02\x03\x04\x05"), name
        assert b"torch._utils" not in content and b"_rebuild_tensor" not in content, name


def test_loading_never_unpickles(model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading a model file must not unpickle anything")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)

    loaded = Synthesizer.load(model_file)

    assert len(loaded.sample(10, seed=0)) == 10


# --- damaged and foreign files ----------------------------------------------------------------


def test_corrupted_bytes_are_a_model_file_error(
    model_file: Path, tmp_path: Path, one_line: OneLine
) -> None:
    # Setup: flip bytes inside each compressed member and in the zip directory
    data = model_file.read_bytes()
    with zipfile.ZipFile(model_file) as zf:
        inside = [i.header_offset + 60 for i in zf.infolist()]
    positions = [*inside, len(data) - 30]
    failures = []

    for position in positions:
        damaged = bytearray(data)
        damaged[position : position + 16] = bytes(
            b ^ 0xFF for b in damaged[position : position + 16]
        )
        path = tmp_path / f"damaged_{position}.synthdb"
        path.write_bytes(bytes(damaged))

        # Run
        try:
            Synthesizer.load(path)
        except ModelFileError as error:
            one_line(error, path.name)
        except Exception as error:  # anything else would be a traceback for the user
            failures.append(f"byte {position}: {type(error).__name__}: {error}")
        else:
            failures.append(f"byte {position}: loaded without complaint")

    # Assert
    assert failures == []


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_file_is_a_model_file_error(
    model_file: Path, tmp_path: Path, keep: float, one_line: OneLine
) -> None:
    data = model_file.read_bytes()
    path = tmp_path / "truncated.synthdb"
    path.write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(path)

    one_line(excinfo.value, "truncated.synthdb")


def test_a_newer_format_version_is_a_model_file_error_asking_for_an_upgrade(
    model_file: Path, tmp_path: Path, one_line: OneLine
) -> None:
    path = _rewrite(
        model_file, tmp_path / "future.synthdb", lambda m: m.update(format_version="99.0")
    )

    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(path)

    one_line(excinfo.value, "99.0", FORMAT_VERSION, "upgrade")
    assert excinfo.value.hint


def test_weights_that_do_not_match_their_checksum_are_a_model_file_error(
    model_file: Path, tmp_path: Path, one_line: OneLine
) -> None:
    path = _rewrite(model_file, tmp_path / "odd.synthdb", lambda m: m.update(weights_sha256="0"))

    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(path)

    one_line(excinfo.value, "checksum")


def test_a_manifest_that_does_not_fit_its_weights_is_a_model_file_error(
    model_file: Path, tmp_path: Path, one_line: OneLine
) -> None:
    def shrink(manifest: dict[str, Any]) -> None:
        manifest["network"]["cardinalities"] = [2]

    path = _rewrite(model_file, tmp_path / "mismatch.synthdb", shrink)

    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(path)

    one_line(excinfo.value, "damaged")


@pytest.mark.parametrize(
    "content",
    [b"", b"id,age\n1,42\n", b"PK\x03\x04 not really a zip"],
    ids=["empty", "csv", "fake zip"],
)
def test_a_file_that_is_not_a_model_is_a_model_file_error(
    tmp_path: Path, content: bytes, one_line: OneLine
) -> None:
    path = tmp_path / "other.synthdb"
    path.write_bytes(content)

    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(path)

    one_line(excinfo.value, "other.synthdb")


def test_a_missing_file_is_a_model_file_error(tmp_path: Path, one_line: OneLine) -> None:
    with pytest.raises(ModelFileError) as excinfo:
        Synthesizer.load(tmp_path / "nothing.synthdb")

    one_line(excinfo.value, "does not exist")


# --- writing ----------------------------------------------------------------------------------


def test_an_existing_file_is_not_overwritten_without_permission(
    adult_model: Synthesizer, tmp_path: Path, one_line: OneLine
) -> None:
    # Setup
    path = tmp_path / "taken.synthdb"
    path.write_bytes(b"precious")

    # Run
    with pytest.raises(OutputError) as excinfo:
        adult_model.save(path)
    adult_model.save(tmp_path / "other.synthdb")

    # Assert
    one_line(excinfo.value, "taken.synthdb")
    assert path.read_bytes() == b"precious"
    adult_model.save(path, overwrite=True)
    assert zipfile.is_zipfile(path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
