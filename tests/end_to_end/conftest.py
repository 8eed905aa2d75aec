"""Shared fixtures of the end-to-end tests: a background job pool, Adult data and a model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_harness import ADULT_ROWS, Jobs, Result, adult_sample, run_cli


@pytest.fixture(scope="session")
def jobs() -> Iterator[Jobs]:
    pool = Jobs(workers=max(2, os.cpu_count() or 2))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def adult_csv(data_dir: Path) -> Path:
    return adult_sample(data_dir, ADULT_ROWS)


def _train_adult(source: Path, model: Path) -> Result:
    return run_cli("train", source, "-o", model, "--max-epochs", 1, "--quiet")


@pytest.fixture(scope="session", autouse=True)
def _start_adult_model(
    request: pytest.FixtureRequest, jobs: Jobs, adult_csv: Path, data_dir: Path
) -> None:
    """Train the shared model in the background while the first tests run."""
    here = Path(__file__).parent
    if any(
        "adult_model_file" in item.fixturenames and here in item.path.parents
        for item in request.session.items
    ):
        jobs.start("adult model", lambda: _train_adult(adult_csv, data_dir / "adult.synthdb"))


@pytest.fixture(scope="session")
def adult_model_file(jobs: Jobs, adult_csv: Path, data_dir: Path) -> Path:
    """A model trained for one epoch on the Adult sample, with --quiet."""
    model = data_dir / "adult.synthdb"
    result: Result = jobs.result("adult model", lambda: _train_adult(adult_csv, model))
    assert result.code == 0, result
    assert result.stdout == "" and result.stderr == "", f"--quiet printed something\n{result}"
    return model


#: Debian's Chromium, which 'make test' installs; the report pages are opened in it.
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium for the report tests (skipped without it, except under CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: 'make test' should have installed chromium")
        pytest.skip(f"{CHROMIUM} is not installed ('make test' installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()
