"""A report page names its inputs; a database URL's password never reaches the page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from synthdb import pipeline


def test_the_report_page_shows_a_database_url_without_its_password(
    postgres: str, tmp_path: Path
) -> None:
    url = sa.make_url(postgres).set(password="s3cret-pw")  # trust auth: any password is let in
    rng = pd.Series(range(60))
    frame = pd.DataFrame({"age": 20 + rng % 40, "city": rng.map(lambda i: "abc"[i % 3])})
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        frame.to_sql("people", connection, index=False)
    engine.dispose()
    synthetic = tmp_path / "synthetic.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(synthetic, index=False)
    page = tmp_path / "report.html"
    pipeline.report(url.render_as_string(hide_password=False), str(synthetic), page, table="people")
    text = page.read_text(encoding="utf-8")
    assert "s3cret-pw" not in text
    assert "***" in text
