"""The page as text: self-contained, every section there, user text escaped, DP ledger shown.

The browser tests (tests/end_to_end/test_report.py) check how it loads; these check what it
holds, in a fraction of the time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb import evaluate
from synthdb.report.html import TABLE_SECTIONS
from synthdb.report.model import summary_from_manifest
from synthdb.report.page import Report

HOSTILE = '<img src=x onerror="alert(1)">'


def people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            HOSTILE: rng.choice(["a", "</script><b>", None], n),
            "joined": pd.Series(
                pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
            ).dt.strftime("%Y-%m-%d"),
            "churned": rng.choice(["yes", "no"], n),
        }
    )


@pytest.fixture(scope="module")
def report() -> Report:
    real, synthetic, holdout = people(600, 1), people(600, 2), people(300, 3)
    quality = evaluate(real, synthetic, holdout, target="churned")
    manifest = {
        "config": {"max_epochs": 3, "epsilon": 1.0},
        "training": {
            "epochs": [
                {"epoch": e, "loss": 3.0 - e / 3, "val_loss": 3.1 - e / 4, "val_accuracy": 0.9,
                 "seconds": 1.0, "best": e == 2, "epsilon": 0.3 * e}
                for e in (1, 2, 3)
            ],
            "best_epoch": 2,
            "best_accuracy": 0.9,
            "seconds": 3.0,
        },
        "stop_reason": "max epochs",
        "nulls": {"policy": "replace", "rows_before": 600, "rows_after": 600,
                  "cells_replaced": {"age": 4}, "replaced_with": {"age": 41.0}},
        "privacy": {  # as synthdb.privacy.ledger.Ledger.to_dict writes it
            "accountant": "rdp",
            "delta": 1e-6,
            "target_epsilon": 1.0,
            "total_epsilon": 0.98,
            "entries": [
                {"mechanism": "category counts", "epsilon": 0.1},
                {"mechanism": "dp-sgd <noise>", "epsilon": 0.9},
            ],
        },
    }  # fmt: skip
    return Report(
        quality=quality,
        table="people",
        sources={"real": "real.csv", "synthetic": "syn.csv", "holdout": "h.csv", "model": "m"},
        model=summary_from_manifest(manifest),
    )


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return report.html()


def test_the_page_fetches_nothing(page: str) -> None:
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert sources, "no pictures found"
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources), sources
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    assert "<script>" not in page and "<script " not in page.replace(
        '<script type="application/json"', ""
    )


def test_every_section_is_there_once(page: str) -> None:
    for name, _ in (("summary", ""), *TABLE_SECTIONS, ("methods", "")):
        assert page.count(f'data-section="{name}"') == 1, name
    # 4 columns, the accuracy heat map, 3 correlation matrices, the training curve
    assert page.count("<img ") == 4 + 1 + 3 + 1


def test_user_text_is_escaped(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "</script><b>" not in page


def test_the_embedded_json_is_the_reports_json(page: str, report: Report) -> None:
    block = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert block is not None
    assert json.loads(block.group(1)) == json.loads(json.dumps(report.to_dict()))


def test_the_privacy_ledger_and_epsilon_curve_are_shown(page: str, report: Report) -> None:
    assert "Epsilon ledger" in page and "total epsilon 0.98" in page
    assert "category counts" in page and "dp-sgd &lt;noise&gt;" in page
    assert "epsilon spent so far" in page
    curve = report.to_dict()["model"]["epsilon_by_epoch"]
    assert np.allclose(curve, [[1.0, 0.3], [2.0, 0.6], [3.0, 0.9]])


def test_figures_on_the_page_match_the_json(page: str, report: Report) -> None:
    data = report.to_dict()
    assert f'<div class="big">{data["overall"]:.3f}</div>' in page
    assert f"{data['privacy']['dcr_share']:.3f}" in page
    assert f"{data['utility']['synthetic']:.3f}" in page


def test_a_page_without_holdout_or_model_says_what_is_missing(tmp_path: Path) -> None:
    quality = evaluate(people(300, 4), people(300, 5))
    page = Report(quality, "people", {"real": "a", "synthetic": "b"}).html()

    assert "Pass --holdout to see the ceiling" in page
    assert "no model file given" in page
    assert "Needs --holdout." in page
    for name, _ in TABLE_SECTIONS:
        assert f'data-section="{name}"' in page


def test_a_dp_null_report_is_not_shown_as_zero_rows_dropped() -> None:
    from synthdb.report.html import _null_summary

    dp = {"policy": "drop", "rows_before": 45_211, "rows_after": 45_211, "rows_dropped": 0}
    assert _null_summary({**dp, "estimated": True}) == (
        "drop: rows with a NULL removed, about 45,211 left"
    )
    plain = {"policy": "drop", "rows_before": 48_842, "rows_after": 45_222, "rows_dropped": 3_620}
    assert _null_summary(plain) == "drop: 3,620 of 48,842 rows dropped"
