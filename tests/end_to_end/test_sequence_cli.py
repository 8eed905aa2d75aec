"""One table learned as sequences from the command line: train, generate, run with the report,
a job file's ``sequence_key``, and the one-line errors of every flag misused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_harness import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Patients with 2-6 visits each, rows in date order across patients (as an export has
    them): a ward constant per patient, a score that walks, visits 1-3 weeks apart."""
    rng = np.random.default_rng(0)
    rows = []
    for patient in range(120):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        ward = str(rng.choice(["north", "south", "east"]))
        score = int(rng.integers(20, 80))
        for _ in range(int(rng.integers(2, 7))):
            rows.append((f"P{patient:04d}X", ward, day.strftime("%Y-%m-%d"), score))
            day += pd.Timedelta(days=int(rng.integers(7, 22)))
            score += int(rng.integers(-3, 4))
    frame = pd.DataFrame(rows, columns=["patient", "ward", "visit_date", "score"])
    path = tmp_path_factory.mktemp("visits") / "visits.csv"
    frame.sort_values("visit_date", kind="stable").to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model(visits: Path) -> Path:
    path = visits.parent / "visits.synthdb"
    result = run_cli(
        "train",
        visits,
        "-o",
        path,
        "--sequence-key",
        "patient",
        "--order-by",
        "visit_date",
        "--max-epochs",
        3,
        "--quiet",
    )
    assert result.code == 0, result
    return path


def test_generate_writes_the_sequences_asked_for_each_in_order(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "more.csv"
    result = run_cli("generate", model, "-o", out, "--sequences", 40, "--seed", 3)
    assert result.code == 0, result
    assert "wrote 40 sequences" in result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["patient", "ward", "visit_date", "score"]
    assert frame["patient"].nunique() == 40
    assert frame["patient"].str.fullmatch(r"P0\d{3}X|P\d{4}X").all()  # the source's shape
    dates = pd.to_datetime(frame["visit_date"])
    assert dates.groupby(frame["patient"]).apply(lambda d: d.is_monotonic_increasing).all()
    assert (frame.groupby("patient")["ward"].nunique() == 1).all()
    again = tmp_path / "again.csv"
    assert run_cli("generate", model, "-o", again, "--sequences", 40, "--seed", 3).code == 0
    assert again.read_bytes() == out.read_bytes()


def test_run_scores_the_sequences_and_the_report_draws_them(
    visits: Path, tmp_path: Path, browser: Any
) -> None:
    figures, page = tmp_path / "figures.json", tmp_path / "report.html"
    result = run_cli(
        "run",
        visits,
        "-o",
        tmp_path / "twin.csv",
        "--sequence-key",
        "patient",
        "--order-by",
        "visit_date",
        "--max-epochs",
        2,
        "--json",
        figures,
        "--report",
        page,
    )
    assert result.code == 0, result
    assert "sequences (coherence" in result.stdout
    data = json.loads(figures.read_text())
    [sequence] = data["sequences"]
    assert sequence["order_by"] == ["visit_date"]
    assert sequence["in_order_synthetic"] == 1.0
    assert sequence["real_sequences"] == 120
    assert 0 < sequence["coherence"] <= 1
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.goto(page.as_uri(), wait_until="load")
    section = tab.locator('[data-section="sequences"]')
    assert section.is_visible() and problems == []
    text = section.inner_text()
    assert "patient" in text and "ordered by visit_date" in text
    assert "coherence (mean of the scores)" in text
    pictures = tab.eval_on_selector_all(
        '[data-figure="sequence-pictures"] img',
        "els => els.map(e => [e.complete, e.naturalWidth, e.alt])",
    )
    assert len(pictures) == 2  # lengths histogram, and a number column along sequences
    assert all(done and width > 300 for done, width, _ in pictures), pictures
    assert "score along" in pictures[1][2]
    rows = tab.locator('[data-figure="sequence-rows"] table')
    assert rows.count() == 2  # a real and a synthetic sequence, side by side
    tab.close()


def test_a_job_file_names_the_sequence_key_and_order(visits: Path, tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text("max-epochs: 1\nsequence_key: patient\norder_by: [visit_date]\n")
    result = run_cli("train", visits, "-o", tmp_path / "m.synthdb", "--job", job)
    assert result.code == 0, result
    assert "as sequences by patient, ordered by visit_date" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--order-by", "visit_date"], ["needs --sequence-key"]),
        (["--sequence-key", "visit"], ["sequence key 'visit' is not a column"]),
        (["--sequence-key", "patient", "--order-by", "ward"], ["'ward' is categorical"]),
        (["--sequence-key", "patient", "--epsilon", "1"], ["not available for sequences"]),
        (["--sequence-key", "patient", "--rows", "5"], ["pass --sequences N"]),
        (["--sequences", "5"], ["--sequences is for a model of sequences"]),
    ],
)
def test_misused_sequence_flags_get_one_line(
    visits: Path, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    result = run_cli("run", visits, "-o", tmp_path / "x.csv", "--max-epochs", 1, *args)
    assert_one_line_error(result, 2, *fragments)
    assert not (tmp_path / "x.csv").exists()


def test_generate_refuses_rows_for_sequences_and_sequences_for_rows(
    model: Path, adult_model_file: Path, tmp_path: Path
) -> None:
    result = run_cli("generate", model, "-o", tmp_path / "a.csv", "--rows", 10)
    assert_one_line_error(result, 2, "--rows", "--sequences N")
    result = run_cli("generate", adult_model_file, "-o", tmp_path / "b.csv", "--sequences", 10)
    assert_one_line_error(result, 2, "--sequences is for a model of sequences")


def test_evaluate_and_report_score_sequences_of_a_model_or_named_by_flags(
    visits: Path, model: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin.csv"
    assert run_cli("generate", model, "-o", twin, "--quiet").code == 0
    figures = tmp_path / "figures.json"
    result = run_cli(
        "evaluate", visits, twin, "--sequence-key", "patient", "--order-by", "visit_date",
        "--json", figures,
    )  # fmt: skip
    assert result.code == 0, result
    assert "sequences (coherence" in result.stdout
    assert json.loads(figures.read_text())["sequences"][0]["in_order_synthetic"] == 1.0
    # the model file says how the rows form sequences: no flag needed
    page, page_json = tmp_path / "page.html", tmp_path / "page.json"
    result = run_cli("report", visits, twin, "-o", page, "--model", model, "--json", page_json)
    assert result.code == 0, result
    data = json.loads(page_json.read_text())
    assert data["sequences"][0]["order_by"] == ["visit_date"]
    assert data["model"]["sequences"]["sequence_key"] == "patient"
    assert 'data-section="sequences"' in page.read_text()


def test_inspect_names_the_summarised_columns_and_hides_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = [
        (f"S{entity:03d}", step, str(rng.choice(["red", "green", "blue"])), step * 1.5)
        for entity in range(40)
        for step in range(int(rng.integers(2, 6)))
    ]
    source = tmp_path / "steps.csv"
    pd.DataFrame(rows, columns=["entity", "step", "colour", "value"]).to_csv(source, index=False)
    path = tmp_path / "steps.synthdb"
    trained = run_cli(
        "train", source, "-o", path, "--sequence-key", "entity", "--order-by", "step",
        "--max-epochs", 1, "--quiet",
    )  # fmt: skip
    assert trained.code == 0, trained
    shown = run_cli("inspect", path)
    assert shown.code == 0, shown
    assert "learned with each sequence: the most frequent value and its share of colour" in (
        shown.stdout
    )
    assert "__mode__" not in shown.stdout and "__share__" not in shown.stdout
