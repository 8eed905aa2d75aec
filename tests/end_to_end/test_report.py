"""``synthdb report`` and ``synthdb run --report`` end to end, the page opened in a real browser.

The browser is Debian's Chromium (``make test`` installs it), driven by Playwright without
Playwright's own browser download. Outside CI a machine without it skips the browser test; in
CI (``CI`` set) its absence is a failure, so the check cannot silently vanish.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Jobs, Result, adult, assert_one_line_error, run_cli

SECTIONS = ("summary", "accuracy", "columns", "correlations", "privacy", "utility", "training")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Disjoint Adult rows: real (the "training" data), holdout, and an independent sample
    standing in for synthetic rows, so the privacy figures have known answers."""
    folder = tmp_path_factory.mktemp("report")
    rows = adult().sample(2_000, random_state=5)
    rows[:800].to_csv(folder / "real.csv", index=False)
    rows[800:1_200].to_csv(folder / "holdout.csv", index=False)
    rows[1_200:].to_csv(folder / "synthetic.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def reported(jobs: Jobs, inputs: Path, adult_model_file: Path) -> Future[Result]:
    def work() -> Result:
        return run_cli(
            "report", inputs / "real.csv", inputs / "synthetic.csv", "-o", inputs / "page.html",
            "--holdout", inputs / "holdout.csv", "--target", "income",
            "--model", adult_model_file, "--json", inputs / "page.json",
        )  # fmt: skip

    return jobs.start("report", work)


@pytest.fixture(scope="module")
def evaluated(jobs: Jobs, inputs: Path) -> Future[Result]:
    def work() -> Result:
        return run_cli(
            "evaluate", inputs / "real.csv", inputs / "synthetic.csv",
            "--holdout", inputs / "holdout.csv", "--target", "income",
            "--json", inputs / "evaluate.json",
        )  # fmt: skip

    return jobs.start("evaluate for report", work)


@pytest.fixture(scope="module", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    wanted = {name for item in request.session.items for name in item.fixturenames}
    for name in ("reported", "evaluated", "ran"):
        if name in wanted:
            request.getfixturevalue(name)


@pytest.fixture(scope="module")
def page(reported: Future[Result], inputs: Path) -> Path:
    result = reported.result()
    assert result.code == 0, result
    assert result.stdout == "", result  # the page is the result; progress goes to stderr
    for step in ("accuracy:", "privacy:", "ML utility:", "drawing", "wrote report"):
        assert step in result.stderr, f"{step!r} not reported\n{result}"
    return inputs / "page.html"


def test_the_page_loads_offline_without_errors_and_shows_every_section(
    page: Path, browser: Any, tmp_path: Path
) -> None:
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))

    tab.goto(page.as_uri(), wait_until="load")

    assert problems == []
    assert requests == [page.as_uri()]  # the page itself and nothing else
    for name in SECTIONS:
        section = tab.locator(f'[data-section="{name}"]')
        assert section.count() == 1, name
        assert section.is_visible(), name
    assert "Synthetic data report" in tab.title() + tab.inner_text("h1")
    images = tab.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])"
    )
    assert len(images) >= 15 + 1 + 3 + 1  # columns, heat map, correlation matrices, curve
    assert all(complete and width > 100 for complete, width, _ in images), images
    shot = tmp_path / "report.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 100_000  # a full page of pictures, not a blank one
    tab.close()


def test_the_json_holds_the_figures_of_evaluate_and_the_page(
    page: Path, evaluated: Future[Result], inputs: Path
) -> None:
    result = evaluated.result()
    assert result.code == 0, result
    from_report = json.loads((inputs / "page.json").read_text())
    from_evaluate = json.loads((inputs / "evaluate.json").read_text())

    assert set(from_report) == set(from_evaluate) | {"model", "report"}
    for key, value in from_evaluate.items():
        if key != "rules":
            assert from_report[key] == value, key

    # the page shows the model's rules, named after its training table; evaluate, without a
    # model, finds the same ones in the real table and names them after that file
    def unnamed(rules: list[dict]) -> list[dict]:
        return [{**r, "rule": re.sub(r"\b(adult_600|real)\.", "", r["rule"])} for r in rules]

    assert from_evaluate["rules"] and unnamed(from_report["rules"]) == unnamed(
        from_evaluate["rules"]
    )
    assert from_report["model"]["epochs_used"] == 1
    html = page.read_text(encoding="utf-8")
    assert f'<div class="big">{from_report["overall"]:.3f}</div>' in html
    assert f"{from_report['utility']['synthetic']:.3f}" in html
    # An independent sample of the same people: no copying, DCR share about 0.5.
    privacy = from_report["privacy"]
    assert privacy["exact_match_share"] == 0.0
    assert abs(privacy["dcr_share"] - 0.5) < 0.07
    assert f"{privacy['dcr_share']:.3f}" in result.stdout  # evaluate prints it too
    assert (inputs / "page.html").stat().st_size < 10_000_000


def test_an_existing_page_is_kept_without_overwrite(page: Path, inputs: Path) -> None:
    before = page.read_bytes()

    result = run_cli("report", inputs / "real.csv", inputs / "synthetic.csv", "-o", page)

    assert_one_line_error(result, 1, "already exists", "--overwrite")
    assert page.read_bytes() == before
    assert not list(inputs.glob(".page.html.*"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("flags", "code", "fragments"),
    [
        (("--holdout", "{dir}/holdout.csv", "--target", "nope"), 2, ("'nope'", "not in")),
        (("--target", "income"), 2, ("--target needs --holdout",)),
        (("--model", "{dir}/missing.synthdb"), 1, ("does not exist",)),
        (("--json", "{dir}/new.html"), 2, ("same file",)),
    ],
)
def test_bad_flags_fail_with_one_line_and_write_nothing(
    inputs: Path, flags: tuple[str, ...], code: int, fragments: tuple[str, ...]
) -> None:
    args = [flag.format(dir=inputs) for flag in flags]

    result = run_cli(
        "report", inputs / "real.csv", inputs / "synthetic.csv", "-o", inputs / "new.html", *args
    )

    assert_one_line_error(result, code, *fragments)
    assert not (inputs / "new.html").exists()


@pytest.fixture(scope="module")
def ran(jobs: Jobs, tmp_path_factory: pytest.TempPathFactory) -> Future[tuple[Path, Result]]:
    folder = tmp_path_factory.mktemp("run-report")
    columns = ["age", "workclass", "education", "sex", "hours_per_week", "income"]
    rows = adult().sample(700, random_state=8)[columns]
    rows[:500].to_csv(folder / "adult.csv", index=False)
    rows[500:].to_csv(folder / "holdout.csv", index=False)

    def work() -> tuple[Path, Result]:
        return folder, run_cli(
            "run", folder / "adult.csv", "-o", folder / "synthetic.csv", "--max-epochs", 1,
            "--holdout", folder / "holdout.csv", "--target", "income",
            "--report", folder / "report.html", "--json", folder / "scores.json",
        )  # fmt: skip

    return jobs.start("run with report", work)


def test_run_writes_the_report_with_the_model_it_trained(
    ran: Future[tuple[Path, Result]],
) -> None:
    folder, result = ran.result()
    assert result.code == 0, result

    html = (folder / "report.html").read_text(encoding="utf-8")
    scores = json.loads((folder / "scores.json").read_text())
    assert 'data-section="training"' in html and "training curve" in html
    assert "no model file given" not in html  # the model in memory is summarised
    assert scores["utility"]["target"] == "income"
    assert f"{scores['overall']:.3f}" in html
    assert "ROC AUC" in result.stdout


def test_a_dp_model_s_page_shows_the_budget_spent_and_no_nan(
    inputs: Path, browser: Any, tmp_path: Path
) -> None:
    """A DP model records no losses or validation accuracy (they would read data outside the
    budget): the page must still build, in strict JSON, and chart the epsilon spent instead."""
    model = tmp_path / "dp.synthdb"
    trained = run_cli(
        "train", inputs / "real.csv", "-o", model, "--epsilon", "8", "--max-epochs", "2",
        "--nulls", "keep", "--quiet",
    )  # fmt: skip
    assert trained.code == 0, trained
    out = tmp_path / "dp.html"
    result = run_cli(
        "report", inputs / "real.csv", inputs / "synthetic.csv", "-o", out, "--model", model,
        "--quiet",
    )  # fmt: skip
    assert result.code == 0, result

    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.goto(out.as_uri(), wait_until="load")
    assert problems == []
    training = tab.locator('[data-section="training"]')
    assert training.is_visible()
    text = training.inner_text()
    assert "none under DP" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)
    alts = tab.eval_on_selector_all("img", "els => els.map(e => e.alt)")
    assert "privacy budget spent" in alts
    data = json.loads(tab.locator("#report-data").text_content() or "{}")
    assert data["model"]["best_accuracy"] is None  # NaN in the manifest, null in the page
    tab.close()
