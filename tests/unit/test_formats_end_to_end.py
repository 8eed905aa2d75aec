"""A model trained on digits-only dates, compact timestamps, millisecond timestamps and float
amounts generates values in the source's encodings and precision: with and without
differential privacy, after a save and load, and from SQLite REAL columns."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb.config import Privacy, TrainingConfig
from synthdb.io import read_table, write_table
from synthdb.synthesizer import Synthesizer

ROWS = 1_500
SMALL = {"batch_size": 256, "hidden": 16, "embedding_dim": 4, "seed": 1, "nulls": "keep"}


def _valid_dates(values: pd.Series, fmt: str, width: int) -> bool:
    """Every non-NULL value is a real date in ``fmt``, written with ``width`` digits (an
    integer column drops the leading zero of years 2000-2009, as the source's would)."""
    for value in values.dropna():
        digits = str(value).zfill(width)
        try:
            if len(digits) != width or dt.datetime.strptime(digits, fmt).strftime(fmt) != digits:
                return False
        except ValueError:
            return False
    return True


def _decimals_at_most(values: pd.Series, places: int) -> bool:
    numbers = values.dropna().to_numpy(dtype=np.float64)
    return bool(np.allclose(numbers, np.round(numbers, places), rtol=0.0, atol=1e-9))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    days = pd.Timestamp("1993-01-01") + pd.to_timedelta(rng.integers(0, 2_000, ROWS), "D")
    booked = pd.Series(days.strftime("%Y%m%d"), dtype=object)
    booked[rng.random(ROWS) < 0.05] = None
    millis = rng.integers(0, 86_400_000, ROWS)
    seen = days + pd.to_timedelta(millis, "ms")
    return pd.DataFrame(
        {
            "opened": days.strftime("%y%m%d").astype(np.int64),  # Berka's account.date
            "booked": booked,
            "issued": pd.Series(days.strftime("%y%m%d 00:00:00"), dtype=object),
            "seen": pd.Series(seen.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3], dtype=object),
            "amount": np.round(rng.lognormal(7, 1, ROWS), 2),  # a REAL money column
            "segment": rng.choice(["a", "b", "c"], ROWS),
        }
    )


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> Synthesizer:
    return Synthesizer(TrainingConfig(max_epochs=2, **SMALL)).fit(frame)  # type: ignore[arg-type]


def _check_formats(out: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert out["opened"].dtype == np.int64
    assert _valid_dates(out["opened"], "%y%m%d", 6)
    assert _valid_dates(out["booked"], "%Y%m%d", 8)
    assert out["booked"].dropna().map(type).eq(str).all()
    assert _valid_dates(out["issued"].str[:6], "%y%m%d", 6)
    assert out["issued"].str.endswith(" 00:00:00").all()
    assert out["seen"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}").all()
    assert _decimals_at_most(out["amount"], 2)
    assert not _decimals_at_most(out["amount"], 1)


def test_generated_values_keep_the_source_encodings_and_precision(
    model: Synthesizer, frame: pd.DataFrame
) -> None:
    out = model.sample(3_000, seed=4)

    _check_formats(out, frame)
    assert out["opened"].between(frame["opened"].min(), frame["opened"].max()).all()
    assert out["booked"].isna().any()  # NULLs are learned, not turned into dates


def test_a_saved_model_keeps_the_formats(model: Synthesizer, tmp_path: Path) -> None:
    path = tmp_path / "m.synthdb"
    model.save(path)

    loaded = Synthesizer.load(path)

    assert loaded.schema == model.schema
    pd.testing.assert_frame_equal(loaded.sample(500, seed=2), model.sample(500, seed=2))


def test_a_model_file_from_before_the_new_fields_still_loads(
    model: Synthesizer, tmp_path: Path
) -> None:
    # Setup: the manifest as an older synthdb wrote it, with no fraction_digits
    path = tmp_path / "m.synthdb"
    model.save(path)
    with zipfile.ZipFile(path) as packed:
        members = {name: packed.read(name) for name in packed.namelist()}
    manifest = json.loads(members["manifest.json"])
    for column in manifest["schema"]["columns"]:
        column.pop("fraction_digits", None)
    old = tmp_path / "old.synthdb"
    with zipfile.ZipFile(old, "w") as packed:
        packed.writestr("manifest.json", json.dumps(manifest))
        packed.writestr("weights.safetensors", members["weights.safetensors"])

    # Run
    loaded = Synthesizer.load(old)
    out = loaded.sample(500, seed=2)

    # Assert: the same rows; fractions written as before (trailing zeros dropped)
    expected = model.sample(500, seed=2)
    pd.testing.assert_frame_equal(out.drop(columns="seen"), expected.drop(columns="seen"))
    assert loaded.schema.column("seen").fraction_digits is None
    stamps = pd.to_datetime(out["seen"], format="ISO8601")
    assert (stamps == pd.to_datetime(expected["seen"], format="ISO8601")).all()


def test_a_private_model_keeps_the_formats_and_saves(frame: pd.DataFrame, tmp_path: Path) -> None:
    config = TrainingConfig(max_epochs=1, privacy=Privacy(epsilon=4.0, noise_seed=1), **SMALL)  # type: ignore[arg-type]
    model = Synthesizer(config).fit(frame)

    out = model.sample(2_000, seed=1)
    model.save(tmp_path / "dp.synthdb")
    again = Synthesizer.load(tmp_path / "dp.synthdb").sample(2_000, seed=1)

    _check_formats(out, frame)
    # the DP range may be wider than the source's, never past what two-digit years can say
    years = pd.to_datetime(out["opened"].astype(str).str.zfill(6), format="%y%m%d").dt.year
    assert years.between(1969, 2068).all()
    pd.testing.assert_frame_equal(out, again)


def test_amounts_from_an_sqlite_real_column_come_back_with_two_decimals(tmp_path: Path) -> None:
    # Setup: money with 2 decimals in a REAL column, too many distinct values for exact tokens
    rng = np.random.default_rng(2)
    source = tmp_path / "shop.db"
    with sqlite3.connect(source) as connection:
        connection.execute("CREATE TABLE sale (amount REAL, kind TEXT)")
        amounts = [round(float(v), 2) for v in rng.uniform(1, 5_000, 800)]
        kinds = [str(k) for k in rng.choice(["x", "y"], 800)]
        connection.executemany(
            "INSERT INTO sale VALUES (?, ?)", list(zip(amounts, kinds, strict=True))
        )
    real = read_table(f"sqlite:///{source}")
    assert real["amount"].dtype == np.float64

    # Run
    model = Synthesizer(TrainingConfig(max_epochs=1, **SMALL)).fit(real)  # type: ignore[arg-type]
    write_table(model.sample(800, seed=3), f"sqlite:///{tmp_path / 'twin.db'}", table="sale")

    # Assert: what is stored is 2-decimal amounts, as the source's
    with sqlite3.connect(tmp_path / "twin.db") as connection:
        stored = [row[0] for row in connection.execute("SELECT amount FROM sale")]
    assert model.schema.column("amount").decimals == 2
    assert all(repr(v) == repr(round(v, 2)) for v in stored)
    assert any(len(repr(v).split(".")[1]) == 2 for v in stored)
