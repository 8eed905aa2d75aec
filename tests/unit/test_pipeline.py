"""The library under the CLI and the service, called from Python: train and generate a table,
a table of sequences and a database; what the listener hears; nothing half-written on failure;
errors that name parameters, never flags."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthdb import pipeline
from synthdb.config import TrainingConfig
from synthdb.errors import InputError, OutputError, SynthdbError, UsageError
from synthdb.io import read_table
from synthdb.pipeline import EventLog
from synthdb.training.loop import EpochRecord

#: small and short: these tests check the plumbing, not the model's quality
FAST = {"max_epochs": 2, "hidden": 16, "embedding_dim": 4, "batch_size": 64, "seed": 1}


@pytest.fixture(scope="module")
def table_csv(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 Adult rows, five columns, and ten NULLs in ``workclass``."""
    frame = adult.sample(300, random_state=3).reset_index(drop=True)
    frame = frame[["age", "workclass", "education", "sex", "income"]]
    frame.loc[:9, "workclass"] = None
    path = tmp_path_factory.mktemp("pipeline") / "people.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(
    table_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pipeline.TrainOutcome, EventLog]:
    log = EventLog()
    model = tmp_path_factory.mktemp("model") / "people.synthdb"
    outcome = pipeline.train(
        str(table_csv), model, TrainingConfig(**FAST, nulls="keep"), listener=log
    )
    return outcome, log


def _shop(path: Path) -> str:
    """A SQLite database of 60 customers and their 1-4 orders each, keys declared."""
    rng = np.random.default_rng(0)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, segment TEXT, age INTEGER)")
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, "
            "customer INTEGER REFERENCES customers(id), amount REAL, kind TEXT)"
        )
        order = 0
        for customer in range(1, 61):
            segment = str(rng.choice(["vip", "basic"]))
            db.execute(
                "INSERT INTO customers VALUES (?, ?, ?)",
                (customer, segment, int(rng.integers(20, 70))),
            )
            for _ in range(int(rng.integers(1, 5))):
                order += 1
                amount = round(float(rng.uniform(100, 200) if segment == "vip" else 20), 2)
                db.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?)",
                    (order, customer, amount, str(rng.choice(["web", "shop"]))),
                )
    return f"sqlite:///{path}"


# ------------------------------------------------------------------ one table
def test_train_writes_the_model_and_the_listener_hears_every_epoch(
    trained: tuple[pipeline.TrainOutcome, EventLog],
) -> None:
    outcome, log = trained

    assert outcome.model_path.is_file()
    assert (outcome.kind, outcome.rows, outcome.tables) == ("table", 300, 1)
    assert outcome.stop_reason in ("converged", "max epochs")
    kinds = [event["event"] for event in log.events]
    epochs = [event for event in log.events if event["event"] == "epoch"]
    assert kinds[kinds.index("training") + 1 : kinds.index("training") + 3] == [
        "message",
        "start",
    ], "the model's header is said just before its first epoch"
    assert [e["epoch"] for e in epochs] == list(range(1, len(epochs) + 1))
    assert 1 <= len(epochs) <= FAST["max_epochs"]
    assert all(0 < e["val_accuracy"] <= 1 for e in epochs)
    assert kinds.index("stop") > kinds.index("epoch")
    assert log.events[-1] == {"event": "message", "text": f"saved model to {outcome.model_path}"}
    assert {"event": "output", "location": str(outcome.model_path)} in log.events
    json.dumps(log.events)  # a service stores them as they are
    assert outcome.to_dict()["model_path"] == str(outcome.model_path)


def test_generate_writes_the_rows_asked_for_and_reports_them_as_written(
    trained: tuple[pipeline.TrainOutcome, EventLog], tmp_path: Path
) -> None:
    model = trained[0].model_path
    log = EventLog()

    first = pipeline.generate(model, str(tmp_path / "a.csv"), rows=250, seed=7, listener=log)
    pipeline.generate(model, str(tmp_path / "b.csv"), rows=250, seed=7)

    assert (first.kind, first.rows, first.tables) == ("table", 250, {"people": 250})
    assert len(pd.read_csv(tmp_path / "a.csv")) == 250
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    rows = [e for e in log.events if e["event"] == "rows"]
    assert rows[0] == {"event": "rows", "done": 0, "total": 250, "unit": "rows"}
    assert rows[-1]["done"] == 250
    assert [e["done"] for e in rows] == sorted(e["done"] for e in rows)
    assert {"event": "output", "location": str(tmp_path / "a.csv")} in log.events


def test_generate_without_rows_matches_the_training_data(
    trained: tuple[pipeline.TrainOutcome, EventLog], tmp_path: Path
) -> None:
    written = pipeline.generate(trained[0].model_path, str(tmp_path / "all.parquet"))

    assert written.rows == 300
    assert len(pd.read_parquet(tmp_path / "all.parquet")) == 300


def test_run_measures_against_the_rows_the_model_learned(table_csv: Path, tmp_path: Path) -> None:
    learned = len(read_table(table_csv).dropna())
    log = EventLog()

    done = pipeline.run(
        str(table_csv),
        str(tmp_path / "twin.csv"),
        TrainingConfig(**FAST, nulls="drop"),
        rows=200,
        json_path=tmp_path / "scores.json",
        listener=log,
    )

    assert done.kind == "table"
    assert done.source_rows == {"people": learned} and learned <= 290  # rows with NULL dropped
    assert done.synthetic_rows == {"people": 200}
    assert 0 < done.figures["overall"] <= 1
    assert json.loads((tmp_path / "scores.json").read_text()) == done.figures
    assert done.notes == [
        f"accuracy is measured against the {learned} source rows without NULL that the model "
        "learned (--nulls drop)"
    ]
    outputs = [e["location"] for e in log.events if e["event"] == "output"]
    assert outputs == [str(tmp_path / "twin.csv"), str(tmp_path / "scores.json")]


def test_evaluate_returns_the_figures_it_writes(
    trained: tuple[pipeline.TrainOutcome, EventLog], table_csv: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin.csv"
    pipeline.generate(trained[0].model_path, str(twin), rows=300)

    scored = pipeline.evaluate(table_csv, twin, json_path=tmp_path / "figures.json")  # Paths

    assert json.loads((tmp_path / "figures.json").read_text()) == scored.figures
    assert 0 < scored.figures["univariate"] <= 1


# ------------------------------------------------------------------ failures
class _Failing(EventLog):
    """A listener whose owner gives up during the second epoch (a web job cancelled, say)."""

    def on_epoch(self, record: EpochRecord) -> None:
        super().on_epoch(record)
        raise RuntimeError("cancelled")


def test_a_failure_during_training_leaves_no_model_and_no_temporary_file(
    table_csv: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()

    with pytest.raises(RuntimeError, match="cancelled"):
        pipeline.train(
            str(table_csv), folder / "m.synthdb", TrainingConfig(**FAST), listener=_Failing()
        )

    assert list(folder.iterdir()) == []


def test_an_existing_model_is_refused_before_training_and_left_as_it_was(
    table_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "m.synthdb"
    model.write_bytes(b"an older model")
    log = EventLog()

    with pytest.raises(OutputError):
        pipeline.train(str(table_csv), model, TrainingConfig(**FAST), listener=log)

    assert model.read_bytes() == b"an older model"
    assert not [e for e in log.events if e["event"] in ("start", "epoch")]


def test_an_interrupted_generation_writes_nothing(
    trained: tuple[pipeline.TrainOutcome, EventLog], tmp_path: Path
) -> None:
    class Interrupting(EventLog):
        def on_rows(self, done: int, total: int, unit: Any) -> None:
            if done:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.generate(
            trained[0].model_path, str(tmp_path / "out.csv"), rows=50_000, listener=Interrupting()
        )

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda m, t: pipeline.generate(m, str(t / "o.csv"), rows=0), ["`rows`"]),
        (lambda m, t: pipeline.generate(m, str(t / "o.csv"), seed=-1), ["`seed`"]),
        (lambda m, t: pipeline.generate(m, str(t / "o.csv"), scale=2.0), ["`scale`", "`rows`"]),
        (lambda m, t: pipeline.generate(m, str(t / "o.csv"), sequences=3), ["`sequences`"]),
        (
            lambda m, t: pipeline.run(str(m), str(t / "o.csv"), sample_seed=-1),
            ["`sample_seed`"],
        ),
        (
            lambda m, t: pipeline.train("x.csv", t / "m", order_by=["day"]),
            ["`order_by`", "`sequence_key`"],
        ),
        (
            lambda m, t: pipeline.evaluate("a.csv", "b.csv", target="income"),
            ["`target`", "`holdout`"],
        ),
        (
            lambda m, t: pipeline.report("a.csv", "b.csv", t / "r.html", json_path=t / "r.html"),
            ["`json_path`"],
        ),
    ],
)
def test_errors_name_parameters_and_never_flags(
    trained: tuple[pipeline.TrainOutcome, EventLog], tmp_path: Path, call: Any, names: list[str]
) -> None:
    with pytest.raises(UsageError) as caught:
        call(trained[0].model_path, tmp_path)

    message = str(caught.value)
    assert "\n" not in message
    assert "--" not in message, message
    for name in names:
        assert name in message, message
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ sequences and databases
def test_a_table_of_sequences_is_trained_and_drawn_as_whole_sequences(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"P{plane:03d}", day, str(rng.choice(["a", "b"])), int(rng.integers(0, 9)))
        for plane in range(60)
        for day in sorted(rng.choice(200, int(rng.integers(2, 6)), replace=False))
    ]
    source = tmp_path / "flights.csv"
    pd.DataFrame(rows, columns=["plane", "day", "kind", "delay"]).to_csv(source, index=False)
    log = EventLog()

    trained = pipeline.train(
        str(source),
        tmp_path / "flights.synthdb",
        TrainingConfig(**FAST),
        sequence_key="plane",
        order_by="day",
        listener=log,
    )
    written = pipeline.generate(
        trained.model_path, str(tmp_path / "more.csv"), sequences=15, listener=log
    )

    assert (trained.kind, trained.rows) == ("sequences", len(rows))
    assert [e["label"] for e in log.events if e["event"] == "training"] == [
        "sequences",
        "events",
    ]
    drawn = pd.read_csv(tmp_path / "more.csv")
    assert (written.kind, written.sequences, written.rows) == ("sequences", 15, len(drawn))
    assert drawn["plane"].nunique() == 15
    assert [e for e in log.events if e["event"] == "rows"][-1] == {
        "event": "rows",
        "done": 15,
        "total": 15,
        "unit": "sequences",
    }


def test_a_database_is_trained_and_generated_with_its_keys_intact(tmp_path: Path) -> None:
    source = _shop(tmp_path / "shop.db")
    log = EventLog()

    trained = pipeline.train(
        source, tmp_path / "shop.synthdb", TrainingConfig(**FAST), listener=log
    )
    written = pipeline.generate(
        trained.model_path, f"sqlite:///{tmp_path / 'twin.db'}", scale=0.5, seed=2
    )

    assert (trained.kind, trained.tables) == ("database", 2)
    labels = [e["label"] for e in log.events if e["event"] == "training"]
    assert sorted(labels) == ["customers", "orders"]
    assert written.kind == "database"
    assert written.tables["customers"] == 30
    with sqlite3.connect(tmp_path / "twin.db") as db:
        orders = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        orphans = db.execute(
            "SELECT COUNT(*) FROM orders WHERE customer NOT IN (SELECT id FROM customers)"
        ).fetchone()[0]
    assert orders == written.tables["orders"] > 0
    assert orphans == 0
    assert written.rows == 30 + orders


def test_a_database_refuses_what_only_a_table_takes(tmp_path: Path) -> None:
    source = _shop(tmp_path / "shop.db")

    with pytest.raises(UsageError, match="`sequence_key` is for one table"):
        pipeline.train(source, tmp_path / "m.synthdb", sequence_key="customer")
    with pytest.raises(UsageError, match="`holdout` is for a single table"):
        pipeline.run(source, str(tmp_path / "twin"), holdout="other.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]


def test_a_job_given_as_a_mapping_declares_what_the_database_does_not(tmp_path: Path) -> None:
    """``job`` takes a job file's settings as a dict too: here the keys of a database that
    declares none, and one table's own max epochs."""
    with sqlite3.connect(tmp_path / "loose.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER, segment TEXT)")
        db.execute("CREATE TABLE orders (id INTEGER, customer INTEGER, amount REAL)")
        db.executemany("INSERT INTO customers VALUES (?, ?)", [(i, f"s{i % 2}") for i in range(40)])
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 40, i * 1.5) for i in range(120)]
        )
    job = {
        "tables": {
            "customers": {"primary_key": "id"},
            "orders": {
                "primary_key": "id",
                "foreign_keys": [{"columns": "customer", "references": "customers.id"}],
                "max-epochs": 3,
            },
        }
    }
    log = EventLog()

    pipeline.train(
        f"sqlite:///{tmp_path / 'loose.db'}",
        tmp_path / "loose.synthdb",
        TrainingConfig(**FAST),
        job=job,
        listener=log,
    )

    epochs = [e for e in log.events if e["event"] in ("training", "stop")]
    assert [(e.get("label"), e.get("epochs")) for e in epochs] == [
        ("customers", None),
        (None, 2),
        ("orders", None),
        (None, 3),
    ]
    with pytest.raises(UsageError, match=r"^job: tables.orders.primary_key must be"):
        pipeline.train(
            f"sqlite:///{tmp_path / 'loose.db'}",
            tmp_path / "bad.synthdb",
            job={"tables": {"orders": {"primary_key": 5}}},
        )


def test_run_labels_name_the_report_page_s_inputs(table_csv: Path, tmp_path: Path) -> None:
    done = pipeline.run(
        str(table_csv),
        str(tmp_path / "twin.csv"),
        TrainingConfig(**FAST, nulls="keep"),
        rows=100,
        model_path=tmp_path / "m.synthdb",
        report_path=tmp_path / "report.html",
        labels={"real": "people.csv", "synthetic": "a sample", "model": "model.synthdb"},
    )

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert done.report_path == tmp_path / "report.html"
    assert "real <code>people.csv</code>" in page and "<code>a sample</code>" in page
    assert str(tmp_path) not in page


def test_training_config_reads_a_job_file_under_the_values_given(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("purpose: testing\nmax-epochs: 4\nnulls: keep\nrows: 10\n")
    log = EventLog()

    config = pipeline.training_config(job=job, listener=log, max_epochs=3, nulls=None)
    spelt = pipeline.training_config(**{"max-epochs": 7, "learning-rate": 0.01})

    assert (config.purpose, config.max_epochs, config.nulls) == ("testing", 3, "keep")
    assert (spelt.max_epochs, spelt.learning_rate) == (7, 0.01)
    assert log.events == [
        {
            "event": "message",
            "text": f"warning: {job}: rows ignored; give them on the command line",
        }
    ]


def test_missing_input_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SynthdbError) as caught:
        pipeline.train(str(tmp_path / "absent.csv"), tmp_path / "m.synthdb")

    assert isinstance(caught.value, InputError | UsageError)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
