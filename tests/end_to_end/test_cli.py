"""``synthdb`` as a user runs it: exit codes, one-line errors, nothing half-written, outputs
that keep the source's columns and types, and the same seed giving the same bytes."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_harness import (
    ADULT_ROWS,
    TIMEOUT,
    Jobs,
    Result,
    adult,
    assert_one_line_error,
    run_cli,
    snapshot,
)

# ---------------------------------------------------------------- small tables
AGES = [39, 50, 38, 53, 28, 37, 49, 52]
ALL_NULL_CSV = "age,sex,bonus\n" + "".join(f"{AGES[i % 8]},{'MF'[i % 2]},\n" for i in range(40))
# No column is entirely NULL, yet every row has a NULL somewhere.
HOLEY_CSV = "age,workclass\n" + "".join(
    f"{AGES[i % 8]},\n" if i % 2 else ",Private\n" for i in range(20)
)
SINGLE_ROW_CSV = "age,workclass,hours_per_week\n39,State-gov,40\n"
ONE_COLUMN_CSV = "occupation\n" + "\n".join(
    ["Adm-clerical", "Exec-managerial", "Handlers-cleaners", "Prof-specialty"] * 10
)


def _flipped(data: bytes, count: int) -> bytes:
    """``data`` with ``count`` bytes in its middle inverted."""
    middle = len(data) // 2
    inverted = bytes(b ^ 0xFF for b in data[middle : middle + count])
    return data[:middle] + inverted + data[middle + count :]


def _zip_with(model: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    """The model file rebuilt with each member passed through ``change(name, content)``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(model)) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(name, change(name, source.read(name)))
    return buffer.getvalue()


def _future_version(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["format_version"] = "99.0"
    return json.dumps(manifest).encode()


def _tampered_weights(name: str, data: bytes) -> bytes:
    return data if name == "manifest.json" else _flipped(data, 16)


def _flipped_bytes(model: bytes) -> bytes:
    return _flipped(model, 64)


def _sqlite_with_rows(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (age INTEGER)")
        connection.execute("INSERT INTO people VALUES (42)")


# ---------------------------------------------------------------- failures
@dataclass(frozen=True)
class Failure:
    """One bad invocation, run in its own folder: ``{dir}`` and ``{model}`` are filled in."""

    id: str
    args: tuple[str, ...]
    code: int
    fragments: tuple[str, ...]
    #: files to create first: bytes, or a function of the shared model's bytes
    files: dict[str, bytes | Callable[[bytes], bytes]] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


TRAIN = ("train", "{dir}/data.csv", "-o", "{dir}/model.synthdb", "--max-epochs", "1")

BAD_INPUT = [
    Failure("missing-file", TRAIN, 1, ("data.csv", "does not exist", "check the path")),
    Failure("empty-file", TRAIN, 1, ("empty", "0 bytes"), {"data.csv": b""}),
    Failure("header-only", TRAIN, 1, ("no rows",), {"data.csv": b"age,sex,income\n"}),
    Failure(
        "ragged-short-row",
        TRAIN,
        1,
        ("line 3 has 2 fields, expected 3",),
        {"data.csv": b"age,sex,income\n39,Male,<=50K\n50,Male\n38,Female,>50K\n"},
    ),
    Failure(
        "ragged-long-row",
        TRAIN,
        1,
        ("line 3 has 4 fields, expected 3",),
        {"data.csv": b"age,sex,income\n39,Male,<=50K\n50,Male,<=50K,x\n38,Female,>50K\n"},
    ),
    Failure(
        "not-utf-8",
        TRAIN,
        1,
        ("not valid utf-8", "line 2", "--encoding latin-1"),
        {"data.csv": "name,city\nJosé,München\n".encode("latin-1")},
    ),
    Failure(
        "binary-named-csv",
        TRAIN,
        1,
        ("binary", "not csv"),
        {"data.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16},
    ),
    Failure(
        "all-null-column-nulls-drop",
        (*TRAIN, "--nulls", "drop"),
        1,
        ("--nulls drop would remove every row", "bonus", "entirely null", "--nulls keep"),
        {"data.csv": ALL_NULL_CSV.encode()},
    ),
    Failure(
        "nulls-drop-removes-every-row",
        (*TRAIN, "--nulls", "drop"),
        1,
        ("--nulls drop would remove every row", "--nulls keep"),
        {"data.csv": HOLEY_CSV.encode()},
    ),
    Failure(
        "output-folder-missing",
        ("train", "{dir}/data.csv", "-o", "{dir}/no/such/folder/model.synthdb"),
        1,
        ("folder", "does not exist", "mkdir -p"),
        {"data.csv": SINGLE_ROW_CSV.encode()},
    ),
    Failure(
        "output-exists",
        TRAIN,
        1,
        ("model.synthdb already exists", "--overwrite"),
        {"data.csv": SINGLE_ROW_CSV.encode(), "model.synthdb": b"an older model\n"},
    ),
    Failure(
        "evaluate-json-folder-missing",
        ("evaluate", "{dir}/data.csv", "{dir}/data.csv", "--json", "{dir}/no/scores.json"),
        1,
        ("does not exist",),
        {"data.csv": SINGLE_ROW_CSV.encode()},
    ),
    Failure(
        "evaluate-columns-differ",
        ("evaluate", "{dir}/data.csv", "{dir}/other.csv"),
        1,
        ("lacks columns", "hours_per_week"),
        {"data.csv": SINGLE_ROW_CSV.encode(), "other.csv": b"age,workclass\n40,Private\n"},
    ),
    Failure("inspect-missing-file", ("inspect", "{dir}/data.csv"), 1, ("does not exist",)),
]

BAD_USAGE = [
    Failure("max-epochs-zero", (*TRAIN, "--max-epochs", "0"), 2, ("--max-epochs", "1")),
    Failure("max-epochs-negative", (*TRAIN, "--max-epochs", "-3"), 2, ("--max-epochs", "-3")),
    Failure("unknown-purpose", (*TRAIN, "--purpose", "fun"), 2, ("--purpose", "analytics")),
    Failure("unknown-nulls", (*TRAIN, "--nulls", "ignore"), 2, ("--nulls", "replace", "keep")),
    Failure("patience-out-of-range", (*TRAIN, "--patience", "0"), 2, ("--patience",)),
    Failure("epochs-not-a-number", (*TRAIN, "--max-epochs", "many"), 2, ("--max-epochs",)),
    Failure("unknown-option", (*TRAIN, "--epochs", "3"), 2, ("--epochs", "--help")),
    Failure("missing-output", ("train", "{dir}/data.csv"), 2, ("--output",)),
    Failure("unknown-command", ("fit", "{dir}/data.csv"), 2, ("fit",)),
    Failure("unknown-encoding", (*TRAIN, "--encoding", "klingon"), 2, ("klingon", "utf-8")),
    Failure(
        "generate-rows-zero",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv", "--rows", "0"),
        2,
        ("--rows", "at least 1"),
    ),
    Failure(
        "generate-rows-negative",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv", "--rows", "-5"),
        2,
        ("--rows", "-5"),
    ),
    Failure(
        "generate-seed-negative",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv", "--seed", "-1"),
        2,
        ("--seed",),
    ),
    Failure(
        "run-rows-zero",
        ("run", "{dir}/data.csv", "-o", "{dir}/out.csv", "--rows", "0"),
        2,
        ("--rows",),
    ),
]

BAD_MODEL = [
    Failure(
        "model-missing",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv"),
        1,
        ("does not exist",),
    ),
    Failure(
        "model-truncated",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv"),
        1,
        ("not a readable synthdb model file", "truncated"),
        {"model.synthdb": lambda model: model[: len(model) // 2]},
    ),
    Failure(
        "model-corrupted",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv"),
        1,
        ("corrupted",),
        {"model.synthdb": _flipped_bytes},
    ),
    Failure(
        "model-weights-tampered",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv"),
        1,
        ("corrupted", "checksum"),
        {"model.synthdb": lambda model: _zip_with(model, _tampered_weights)},
    ),
    Failure(
        "model-future-version",
        ("generate", "{dir}/model.synthdb", "-o", "{dir}/out.csv"),
        1,
        ("newer synthdb", "99.0", "upgrade"),
        {"model.synthdb": lambda model: _zip_with(model, _future_version)},
    ),
    Failure(
        "generate-output-exists",
        ("generate", "{model}", "-o", "{dir}/out.csv", "--rows", "10"),
        1,
        ("out.csv already exists", "--overwrite"),
        {"out.csv": b"age\n1\n"},
    ),
    Failure(
        "generate-output-folder-missing",
        ("generate", "{model}", "-o", "{dir}/missing/out.csv", "--rows", "10"),
        1,
        ("does not exist", "mkdir -p"),
    ),
    Failure(
        "generate-unknown-format",
        ("generate", "{model}", "-o", "{dir}/out.xlsx", "--rows", "10"),
        1,
        ("unsupported file type '.xlsx'", ".parquet"),
    ),
    Failure(
        "generate-sql-table-exists",
        ("generate", "{model}", "-o", "sqlite:///{dir}/out.db", "--table", "people"),
        1,
        ("people", "--overwrite"),
        setup=lambda folder: _sqlite_with_rows(folder / "out.db"),
    ),
]

Outcome = tuple[Result, dict[str, bytes], dict[str, bytes]]


def _start_failures(
    jobs: Jobs, root: Path, failures: list[Failure], model: Path | None = None
) -> dict[str, Future[Outcome]]:
    model_bytes = model.read_bytes() if model is not None else b""
    started = {}
    for failure in failures:
        folder = root / failure.id
        folder.mkdir()
        for name, content in failure.files.items():
            data = content if isinstance(content, bytes) else content(model_bytes)
            (folder / name).write_bytes(data)
        if failure.setup is not None:
            failure.setup(folder)
        args = [arg.format(dir=folder, model=model) for arg in failure.args]

        def work(folder: Path = folder, args: list[str] = args) -> Outcome:
            before = snapshot(folder)
            return run_cli(*args, cwd=folder), before, snapshot(folder)

        started[failure.id] = jobs.start(f"failure {failure.id}", work)
    return started


@pytest.fixture(scope="module")
def plain_failures(
    jobs: Jobs, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[Outcome]]:
    return _start_failures(jobs, tmp_path_factory.mktemp("failures"), BAD_INPUT + BAD_USAGE)


@pytest.fixture(scope="module")
def model_failures(
    jobs: Jobs, tmp_path_factory: pytest.TempPathFactory, adult_model_file: Path
) -> dict[str, Future[Outcome]]:
    return _start_failures(
        jobs, tmp_path_factory.mktemp("model-failures"), BAD_MODEL, adult_model_file
    )


# ---------------------------------------------------------------- successes on edge tables
@dataclass(frozen=True)
class EdgeTable:
    id: str
    csv: str
    train: tuple[str, ...]


EDGE_TABLES = [
    EdgeTable("single-row", SINGLE_ROW_CSV, ()),
    EdgeTable("one-column", ONE_COLUMN_CSV, ()),
    EdgeTable("all-null-column-nulls-keep", ALL_NULL_CSV, ("--nulls", "keep")),
    EdgeTable("all-null-column-nulls-replace", ALL_NULL_CSV, ("--nulls", "replace")),
]


@pytest.fixture(scope="module")
def edge_runs(
    jobs: Jobs, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[tuple[Path, Result]]]:
    root = tmp_path_factory.mktemp("edge")
    started = {}
    for table in EDGE_TABLES:
        folder = root / table.id
        folder.mkdir()
        (folder / "data.csv").write_text(table.csv, encoding="utf-8")

        def work(folder: Path = folder, table: EdgeTable = table) -> tuple[Path, Result]:
            # run = train + generate + evaluate in one process: one PyTorch start-up, not two
            result = run_cli(
                "run", folder / "data.csv", "-o", folder / "out.csv", "--rows", 25,
                "--max-epochs", 2, *table.train,
            )  # fmt: skip
            return folder, result

        started[table.id] = jobs.start(f"edge {table.id}", work)
    return started


# ---------------------------------------------------------------- typed sources
@pytest.fixture(scope="module")
def typed_runs(
    jobs: Jobs, tmp_path_factory: pytest.TempPathFactory
) -> Future[tuple[Path, list[Result]]]:
    """A Parquet table with real types, through a model to Parquet and to SQLite."""
    folder = tmp_path_factory.mktemp("typed")
    rng = np.random.default_rng(0)
    rows = 200
    frame = pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "age": rng.integers(17, 90, rows).astype("int32"),
            "hours": rng.normal(40, 8, rows).round(1),
            "married": rng.random(rows) > 0.5,
            "sex": rng.choice(["Female", "Male"], rows),
            "joined": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 50_000, rows), unit="h"),
        }
    )
    frame.to_parquet(folder / "source.parquet", index=False)

    def work() -> tuple[Path, list[Result]]:
        database = f"sqlite:///{folder / 'out.db'}"
        model = folder / "m.synthdb"
        trained = run_cli("run", folder / "source.parquet", "-o", database, "--table", "t",
                          "--model", model, "--max-epochs", 1, "-q")  # fmt: skip
        generated = run_cli("generate", model, "-o", folder / "out.parquet", "-n", 50, "-q")
        return folder, [trained, generated]

    return jobs.start("typed", work)


# ---------------------------------------------------------------- train + generate + evaluate
@pytest.fixture(scope="module")
def run_result(jobs: Jobs, tmp_path_factory: pytest.TempPathFactory) -> Future[tuple[Path, Result]]:
    folder = tmp_path_factory.mktemp("run")
    columns = ["age", "workclass", "education", "sex", "hours_per_week", "income"]
    rows = adult().sample(600, random_state=2)
    source, holdout = folder / "adult.csv", folder / "holdout.csv"
    rows[columns][:300].to_csv(source, index=False)
    rows[columns][300:].to_csv(holdout, index=False)  # real rows the model never sees

    job = folder / "job.yaml"
    job.write_text("purpose: testing\nmax-epochs: 5\n", encoding="utf-8")

    def work() -> tuple[Path, Result]:
        result = run_cli(
            "run", source, "-o", folder / "synthetic.csv", "--model", folder / "m.synthdb",
            "--json", folder / "scores.json", "--holdout", holdout, "--job", job,
            "--max-epochs", 1,  # a flag wins over the job file
        )  # fmt: skip
        return folder, result

    return jobs.start("run", work)


# ---------------------------------------------------------------- generation from the shared model
GENERATIONS = {
    "seed 7": ("seed7.csv", "--rows", "1000", "--seed", "7"),
    # over an older file: --overwrite must replace it whole
    "seed 7 again": ("seed7-again.csv", "--rows", "1000", "--seed", "7", "--overwrite"),
    "seed 8": ("seed8.csv", "--rows", "1000", "--seed", "8", "--quiet"),
    "parquet": ("synthetic.parquet",),
    "sqlite": ("sqlite:///{dir}/synthetic.db", "--table", "people", "--rows", "500"),
}


@pytest.fixture(scope="module")
def generated(
    jobs: Jobs, tmp_path_factory: pytest.TempPathFactory, adult_model_file: Path
) -> tuple[Path, dict[str, Future[Result]]]:
    folder = tmp_path_factory.mktemp("generated")
    (folder / "seed7-again.csv").write_text("an older output, longer than the new one\n" * 10**5)
    started = {}
    for name, (output, *flags) in GENERATIONS.items():
        target = output.format(dir=folder) if output.startswith("sqlite") else folder / output
        started[name] = jobs.start(
            f"generate {name}",
            lambda target=target, flags=flags: run_cli(
                "generate", adult_model_file, "-o", target, *flags
            ),
        )
    return folder, started


@pytest.fixture(scope="module", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the independent runs of the selected tests before the first test waits on one."""
    wanted = {name for item in request.session.items for name in item.fixturenames}
    for name in ("plain_failures", "edge_runs", "typed_runs", "run_result"):
        if name in wanted:
            request.getfixturevalue(name)


# ================================================================ tests
def _option_blocks(help_text: str) -> dict[str, str]:
    """``--flag`` -> its help text, joined across the lines typer wrapped it on."""
    blocks: dict[str, str] = {}
    current: str | None = None
    for line in help_text.splitlines():
        match = re.match(r"^  (?:-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current is not None and line.startswith("   "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return {flag: " ".join(text.split()) for flag, text in blocks.items()}


@pytest.mark.parametrize(
    "command", ["train", "generate", "impute", "run", "evaluate", "report", "inspect"]
)
def test_help_documents_every_option_with_its_range_and_default(command: str) -> None:
    from typer.main import get_command

    from synthdb.cli.app import app

    # Setup: the options the command really has
    params = get_command(app).commands[command].params  # type: ignore[attr-defined]
    flags = [p.opts[0] if p.opts[0].startswith("--") else p.opts[-1] for p in params]
    options = {
        f for p in params for f in p.opts if f.startswith("--") and p.param_type_name == "option"
    }

    # Run
    result = run_cli(command, "--help")

    # Assert
    assert result.code == 0, result
    blocks = _option_blocks(result.stdout)
    assert options <= set(blocks), f"undocumented: {options - set(blocks)}\n{result.stdout}"
    for flag in options:
        text = blocks[flag]
        assert "Default:" in text or "[required]" in text, f"{flag} has no default: {text}"
        assert text.count("efault") <= 1, f"{flag} states its default twice: {text}"
        if re.search(r"<(int|float)>", text):
            assert "Range:" in text, f"{flag} has no range: {text}"
    assert flags


def test_top_level_help_lists_commands_exit_codes_and_debug() -> None:
    result = run_cli("--help")
    version = run_cli("--version")

    assert result.code == 0, result
    for word in ("train", "generate", "evaluate", "run", "inspect", "--debug", "130"):
        assert word in result.stdout
    assert version.code == 0 and re.fullmatch(r"synthdb \d+\.\d+\.\d+\S*\n", version.stdout)


@pytest.mark.parametrize("failure", BAD_INPUT + BAD_USAGE, ids=lambda f: f.id)
def test_bad_input_gives_one_line_and_leaves_nothing_behind(
    failure: Failure, plain_failures: dict[str, Future[Outcome]]
) -> None:
    result, before, after = plain_failures[failure.id].result(timeout=TIMEOUT)

    assert_one_line_error(result, failure.code, *failure.fragments)
    assert after == before, "the output folder changed"
    assert result.stdout == ""


@pytest.mark.parametrize("failure", BAD_MODEL, ids=lambda f: f.id)
def test_bad_model_or_output_gives_one_line_and_leaves_nothing_behind(
    failure: Failure, model_failures: dict[str, Future[Outcome]]
) -> None:
    result, before, after = model_failures[failure.id].result(timeout=TIMEOUT)

    assert_one_line_error(result, failure.code, *failure.fragments)
    assert after == before, "the output folder changed"


@pytest.mark.parametrize("where", ["before the command", "after the command"])
def test_debug_flag_shows_the_traceback(where: str, tmp_path: Path) -> None:
    args = ["train", tmp_path / "missing.csv", "-o", tmp_path / "m.synthdb"]
    args = ["--debug", *args] if where == "before the command" else [*args, "--debug"]

    result = run_cli(*args)

    assert result.code == 1, result
    assert "Traceback (most recent call last)" in result.stderr
    assert "InputError" in result.stderr
    assert result.lines[-1].startswith("error: ") and "does not exist" in result.lines[-1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("table", EDGE_TABLES, ids=lambda t: t.id)
def test_edge_tables_train_and_generate(
    table: EdgeTable, edge_runs: dict[str, Future[tuple[Path, Result]]]
) -> None:
    folder, result = edge_runs[table.id].result(timeout=TIMEOUT)

    assert result.code == 0, result
    assert "wrote 25 rows" in result.stderr and "overall" in result.stdout, result
    source = pd.read_csv(folder / "data.csv", dtype=str, keep_default_na=False)
    output = pd.read_csv(folder / "out.csv", dtype=str, keep_default_na=False)
    assert list(output.columns) == list(source.columns)
    assert len(output) == 25
    assert sorted(p.name for p in folder.iterdir()) == ["data.csv", "out.csv"]
    if table.id.startswith("all-null"):
        assert (output["bonus"] == "").all(), "an entirely NULL column must stay NULL"
        assert set(output["sex"]) <= {"M", "F"}
    if table.id.endswith("replace"):
        assert "warning: column 'bonus' is entirely NULL" in result.stderr, result
    if table.id == "single-row":
        assert (output == source.iloc[0]).all().all()
    if table.id == "one-column":
        assert set(output["occupation"]) <= set(source["occupation"])


def test_typed_parquet_source_keeps_its_types_in_parquet_and_sqlite(
    typed_runs: Future[tuple[Path, list[Result]]],
) -> None:
    folder, results = typed_runs.result(timeout=TIMEOUT)

    for result in results:
        assert result.code == 0, result
    source = pd.read_parquet(folder / "source.parquet")
    parquet = pd.read_parquet(folder / "out.parquet")
    assert len(parquet) == 50
    assert parquet.dtypes.to_dict() == source.dtypes.to_dict()
    with sqlite3.connect(folder / "out.db") as connection:
        declared = {row[1]: row[2] for row in connection.execute("PRAGMA table_info(t)")}
        count = connection.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    assert list(declared) == list(source.columns)
    assert count == len(source), "without --rows, as many rows as the training data"
    assert declared["id"] in ("INTEGER", "BIGINT") and declared["age"] in ("INTEGER", "BIGINT")
    assert declared["hours"] in ("FLOAT", "REAL", "DOUBLE")
    assert declared["married"] == "BOOLEAN"
    assert declared["sex"] in ("TEXT", "VARCHAR")
    assert declared["joined"] in ("DATETIME", "TIMESTAMP")


def test_run_trains_generates_and_evaluates(run_result: Future[tuple[Path, Result]]) -> None:
    folder, result = run_result.result(timeout=TIMEOUT)

    assert result.code == 0, result
    assert "Traceback" not in result.stderr
    assert "purpose testing, max 1 epochs, nulls replace" in result.stderr, result
    assert "saved model to" in result.stderr
    scores = json.loads((folder / "scores.json").read_text())
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        assert 0.0 <= scores[key] <= 1.0
        assert f"{scores[key]:.4f}" in result.stdout, "the table shows the JSON's figures"
        assert 0.0 <= scores["holdout"][key] <= 1.0
    synthetic = pd.read_csv(folder / "synthetic.csv", dtype=str, keep_default_na=False)
    source = pd.read_csv(folder / "adult.csv", dtype=str, keep_default_na=False)
    assert list(synthetic.columns) == list(source.columns)
    assert len(synthetic) == len(source)
    assert (folder / "m.synthdb").is_file()
    assert sorted(p.name for p in folder.iterdir()) == [
        "adult.csv", "holdout.csv", "job.yaml", "m.synthdb", "scores.json", "synthetic.csv",
    ]  # fmt: skip


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    generated: tuple[Path, dict[str, Future[Result]]], adult_csv: Path
) -> None:
    folder, started = generated
    for name in ("seed 7", "seed 7 again"):
        result = started[name].result(timeout=TIMEOUT)
        assert result.code == 0, result
        assert "wrote 1,000 rows" in result.stderr, result
    quiet = started["seed 8"].result(timeout=TIMEOUT)
    assert quiet.code == 0, quiet
    assert quiet.stdout == "" and quiet.stderr == "", f"--quiet printed something\n{quiet}"

    first = (folder / "seed7.csv").read_bytes()
    assert first == (folder / "seed7-again.csv").read_bytes()
    assert first != (folder / "seed8.csv").read_bytes()
    synthetic = pd.read_csv(folder / "seed7.csv")
    source = pd.read_csv(adult_csv)
    assert list(synthetic.columns) == list(source.columns)
    assert len(synthetic) == 1000
    for column in source.columns:
        assert synthetic[column].dtype.kind == source[column].dtype.kind, column


def test_parquet_output_keeps_names_order_and_types(
    generated: tuple[Path, dict[str, Future[Result]]], adult_csv: Path
) -> None:
    folder, started = generated
    result = started["parquet"].result(timeout=TIMEOUT)

    assert result.code == 0, result
    synthetic = pd.read_parquet(folder / "synthetic.parquet")
    source = pd.read_csv(adult_csv)  # pandas' own reading of the types the text holds
    assert list(synthetic.columns) == list(source.columns)
    assert len(synthetic) == ADULT_ROWS, "without --rows, as many rows as the training data"
    for column in source.columns:
        if pd.api.types.is_integer_dtype(source[column]):
            assert pd.api.types.is_integer_dtype(synthetic[column]), column
        else:
            assert pd.api.types.is_string_dtype(synthetic[column]), column


def test_sqlite_output_keeps_names_order_and_types(
    generated: tuple[Path, dict[str, Future[Result]]], adult_csv: Path
) -> None:
    folder, started = generated
    result = started["sqlite"].result(timeout=TIMEOUT)

    assert result.code == 0, result
    with sqlite3.connect(folder / "synthetic.db") as connection:
        declared = {row[1]: row[2] for row in connection.execute("PRAGMA table_info(people)")}
        rows = connection.execute("SELECT * FROM people").fetchall()
    source = pd.read_csv(adult_csv)
    assert list(declared) == list(source.columns)
    assert len(rows) == 500
    for index, column in enumerate(source.columns):
        if pd.api.types.is_integer_dtype(source[column]):
            assert declared[column] in ("INTEGER", "BIGINT"), column
            assert all(isinstance(row[index], int) for row in rows), column
        else:
            assert declared[column] in ("TEXT", "VARCHAR"), column


def test_evaluate_writes_every_figure_to_json(
    generated: tuple[Path, dict[str, Future[Result]]], adult_csv: Path, tmp_path: Path
) -> None:
    folder, started = generated
    assert started["seed 7"].result(timeout=TIMEOUT).code == 0

    result = run_cli("evaluate", adult_csv, folder / "seed7.csv", "--json", tmp_path / "s.json")

    assert result.code == 0, result
    scores = json.loads((tmp_path / "s.json").read_text())
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        assert 0.0 < scores[key] <= 1.0
        assert f"{scores[key]:.4f}" in result.stdout
    assert set(scores["per_column"]) == set(pd.read_csv(adult_csv, nrows=1).columns)


def test_inspect_prints_the_schema_of_a_csv(adult_csv: Path) -> None:
    result = run_cli("inspect", adult_csv)

    assert result.code == 0, result
    assert f"{ADULT_ROWS:,} rows" in result.stdout
    for column in pd.read_csv(adult_csv, nrows=1).columns:
        assert column in result.stdout
    assert re.search(r"age\s*│\s*numeric\s*│\s*integer", result.stdout), result.stdout
    assert re.search(r"workclass\s*│\s*categorical", result.stdout), result.stdout


def test_inspect_prints_the_summary_of_a_model(adult_model_file: Path, adult_csv: Path) -> None:
    result = run_cli("inspect", adult_model_file)

    assert result.code == 0, result
    assert "format 1.0" in result.stdout and "stop reason max epochs" in result.stdout
    for column in pd.read_csv(adult_csv, nrows=1).columns:
        assert column in result.stdout
