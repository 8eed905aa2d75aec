"""The web app in Debian's Chromium, driven by Playwright, against a real ``synthdb serve``:
sign in, upload Adult (a 2,000-row prefix, so three epochs and the report take seconds),
train (analytics, 3 epochs, NULLs kept) watching live progress, open the report, generate
1,000 rows and download them.

With SYNTHDB_SCREENSHOTS=1 each page is saved as docs/images/serve-*.png.
"""

from __future__ import annotations

import csv
import gzip
import os
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from serve_harness import Server

from service_harness import ADULT, TOKEN, adult_prefix

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def shoot(page: Any, name: str, full_page: bool = True) -> None:
    if os.environ.get("SYNTHDB_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / f"serve-{name}.png"), full_page=full_page)


@pytest.mark.slow
def test_sign_in_upload_train_report_generate_download(browser: Any, tmp_path: Path) -> None:
    csv_path = adult_prefix(tmp_path / "adult.csv", 2000)
    server = Server(tmp_path / "data", TOKEN)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    outside: list[str] = []
    page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None
    )
    try:
        # sign in: a wrong token first
        page.goto(server.url)
        assert page.url.endswith("/signin")
        page.fill("#token", "not-the-token")
        page.click("button[type=submit]")
        assert "not valid" in page.inner_text("main")
        page.fill("#token", TOKEN)
        shoot(page, "signin")
        page.click("button[type=submit]")
        page.wait_for_url("**/datasets")

        # a binary file is refused with a message, then Adult is uploaded
        junk = tmp_path / "junk.csv"
        junk.write_bytes(bytes(range(256)) * 8)
        page.set_input_files("#file", str(junk))
        page.click("form[action='/datasets/upload'] button")
        assert "binary" in page.inner_text("#upload-error")
        page.set_input_files("#file", str(csv_path))
        page.click("form[action='/datasets/upload'] button")
        page.wait_for_url("**/datasets/*")
        schema = page.inner_text("main")
        assert "adult" in schema and "education -> adult.education_num" in schema
        assert "numeric" in schema and "categorical" in schema
        shoot(page, "dataset")

        # the form: the purpose fills max epochs; a bad value is shown next to its field
        page.click("text=Train a model")
        page.wait_for_url("**/models/new*")
        page.select_option("#purpose", "ml")
        assert page.input_value("#max_epochs") == "75"
        page.select_option("#purpose", "analytics")
        assert page.input_value("#max_epochs") == "35"
        page.fill("#max_epochs", "0")
        page.click("#train")
        assert "greater than or equal to 1" in page.inner_text("#error-max_epochs")
        shoot(page, "new-model-error", full_page=False)
        page.fill("#max_epochs", "3")
        page.select_option("#nulls", "keep")
        shoot(page, "new-model")
        page.click("#train")
        page.wait_for_url("**/jobs/*")

        # live progress: the page updates itself (no reload) until the job is done
        seen: set[str] = set()
        deadline = time.monotonic() + 240
        while page.locator("#open-model").count() == 0 or not page.is_visible("#open-model"):
            assert time.monotonic() < deadline, "training did not finish"
            try:
                status, epoch = page.evaluate(
                    "[document.getElementById('status').textContent,"
                    " (document.getElementById('m-epoch') || {}).textContent]"
                )
            except Exception:  # the page reloads itself once the job has finished
                continue
            seen.add(f"{status} {epoch}")
            time.sleep(0.2)
        assert any(s.startswith("running") and "/ 3" in s for s in seen), seen
        page.wait_for_selector("#open-model", state="visible", timeout=240_000)
        assert page.inner_text("#status") == "succeeded"
        assert page.inner_text("#m-epoch") == "3 / 3"  # patience 6: no early stop
        assert page.locator("#curve svg circle.acc").count() >= 1
        shoot(page, "job")

        # the model page with its report
        page.click("#open-model")
        page.wait_for_url("**/models/*")
        frame = page.frame_locator("#report")
        frame.locator("h1").first.wait_for(timeout=30_000)
        assert "report" in frame.locator("h1").first.inner_text().lower()
        assert page.locator("#download-model").count() == 1
        shoot(page, "model", full_page=False)
        page.locator("#report").scroll_into_view_if_needed()
        shoot(page, "report", full_page=False)  # Chromium paints iframes in view only

        # generate 1,000 rows and download them
        page.fill("#rows", "1000")
        page.fill("#seed", "5")
        page.click("#generate")
        page.wait_for_url("**/jobs/*")
        page.wait_for_selector("#download", state="visible", timeout=120_000)
        shoot(page, "generate")
        with page.expect_download() as download_info:
            page.click("#download")
        saved = tmp_path / "synthetic.csv"
        download_info.value.save_as(saved)
        with saved.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
        with gzip.open(ADULT, "rt", encoding="utf-8") as source:
            header = next(csv.reader(source))
        assert rows[0] == header
        assert len(rows) == 1 + 1000

        # the API's documentation works offline: Swagger UI from this server
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        listed = [
            t.replace("\u200b", "") for t in page.locator(".opblock-summary-path").all_inner_texts()
        ]
        assert "/api/v1/models/{model_id}/generate" in listed

        # the three refusals asked for above answer 401, 415 and 422; nothing else failed
        expected = [f"status of {code}" for code in (401, 415, 422)]
        assert [p for p in problems if not any(e in p for e in expected)] == []
        assert outside == []  # nothing fetched from anywhere else
    finally:
        context.close()
        server.stop()
