"""MariaDB staging tables that a killed write left behind: the next write removes them, says so,
and leaves alone every other table, a user's look-alike or a running write's own staging.

A write that replaces tables on MariaDB stages the new rows under ``_synthdb_<token>_new_<n>``
and swaps them in with one RENAME (see synthdb.io._sqlwrite); only a killed process stops
between the two. The leftovers are made by hand here with the names a write makes, and for
real by a write killed with SIGKILL while it inserts.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "end_to_end"))
from cli_harness import run_cli

from synthdb.io._sqlwrite import STAGING_NAME
from synthdb.io.database import check_database_output, write_database
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, SqlType, TableDef

INTEGER = SqlType("integer")
STALE = ["_synthdb_0a1b2c_new_0", "_synthdb_0a1b2c_new_1", "_synthdb_0a1b2c_old_0"]
#: a user's tables that look alike, and the staging table of a write still under way
KEPT = ["_synthdb_notes_user", "_synthdb_0a1b2c_new_0_copy", "_synthdb_0A1B2C_new_0"]
LIVE = "_synthdb_d4e5f6_new_0"


def _schema() -> DatabaseSchema:
    return DatabaseSchema.build(
        [
            TableDef(
                "shop",
                [ColumnDef("id", INTEGER, nullable=False), ColumnDef("size", INTEGER)],
                ("id",),
            ),
            TableDef(
                "sale",
                [
                    ColumnDef("id", INTEGER, nullable=False),
                    ColumnDef("shop_id", INTEGER, nullable=False),
                ],
                ("id",),
                [ForeignKey(("shop_id",), "shop")],
            ),
        ]
    )


def _frames(rows: int) -> dict[str, pd.DataFrame]:
    return {
        "shop": pd.DataFrame({"id": range(1, rows + 1), "size": range(rows)}),
        "sale": pd.DataFrame({"id": range(1, rows + 1), "shop_id": range(1, rows + 1)}),
    }


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()


def _leave_stale_tables(url: str) -> None:
    """What a write killed before its RENAME leaves: new tables (one with its foreign key to a
    table the next write replaces), and a replaced table renamed out."""
    _execute(
        url,
        f"CREATE TABLE `{STALE[0]}` (id INTEGER PRIMARY KEY, size INTEGER)",
        f"CREATE TABLE `{STALE[1]}` (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL, "
        "FOREIGN KEY (shop_id) REFERENCES shop(id))",
        f"CREATE TABLE `{STALE[2]}` (id INTEGER PRIMARY KEY)",
        *(f"CREATE TABLE `{name}` (id INTEGER)" for name in KEPT),
    )


def test_the_next_write_removes_stale_staging_tables_and_only_those(mariadb: str) -> None:
    # Setup: the tables, the leftovers, and a write under way in another session (its lock)
    write_database(mariadb, _schema(), _frames(3))
    _leave_stale_tables(mariadb)
    engine = sa.create_engine(mariadb, poolclass=sa.NullPool)
    with engine.connect() as running:
        assert running.exec_driver_sql("SELECT GET_LOCK('synthdb-staging-d4e5f6', 0)").scalar()
        running.exec_driver_sql(f"CREATE TABLE `{LIVE}` (id INTEGER)")
        messages: list[str] = []

        # Run
        check_database_output(mariadb, _schema(), overwrite=True)  # not refused for them
        rows = write_database(mariadb, _schema(), _frames(5), overwrite=True, warn=messages.append)
        again: list[str] = []
        write_database(mariadb, _schema(), _frames(4), overwrite=True, warn=again.append)
        left = _tables(mariadb)
    engine.dispose()

    # Assert
    assert rows == {"shop": 5, "sale": 5}
    assert left == {"shop", "sale", *KEPT, LIVE}
    assert len(messages) == 1, messages
    assert messages[0].startswith("removed 3 staging tables from mysql+pymysql://")
    assert messages[0].endswith(", ".join(sorted(STALE)))
    assert again == []


def test_the_pattern_is_the_writers_own_names() -> None:
    assert all(STAGING_NAME.fullmatch(name) for name in STALE)
    assert not any(STAGING_NAME.fullmatch(name) for name in KEPT)


KILLED_WRITE = """
import json, sys, time
from pathlib import Path
import pandas as pd
from synthdb.io.database import write_database
from synthdb.schema.relations import DatabaseSchema

url, schema, marker = sys.argv[1], DatabaseSchema.from_dict(json.loads(sys.argv[2])), sys.argv[3]

def sales():
    yield pd.DataFrame({"id": [1], "shop_id": [1]})
    Path(marker).touch()  # staged, inserting: the moment to be killed
    time.sleep(600)

shops = pd.DataFrame({"id": [1, 2], "size": [7, 8]})
write_database(url, schema, {"shop": shops, "sale": sales()}, overwrite=True)
"""


def test_a_write_killed_by_sigkill_is_cleaned_up_by_the_next(mariadb: str, tmp_path: Path) -> None:
    # Setup: a write that replaces both tables, killed while it inserts
    write_database(mariadb, _schema(), _frames(3))
    marker = tmp_path / "staged"
    schema = json.dumps(_schema().to_dict())
    process = subprocess.Popen([sys.executable, "-c", KILLED_WRITE, mariadb, schema, str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline, "no write started"
            time.sleep(0.1)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    staged = {name for name in _tables(mariadb) if STAGING_NAME.fullmatch(name)}
    assert len(staged) == 2, staged
    messages: list[str] = []

    # Run: the server may take a moment to notice the dead session and free its lock
    for _ in range(50):
        write_database(mariadb, _schema(), _frames(4), overwrite=True, warn=messages.append)
        if messages:
            break
        time.sleep(0.2)

    # Assert
    assert _tables(mariadb) == {"shop", "sale"}
    assert messages and all(name in messages[0] for name in staged), messages


def test_the_cli_says_which_staging_tables_it_removed(mariadb: str, tmp_path: Path) -> None:
    # Setup: a small SQLite source, and a leftover in the target
    source = tmp_path / "shop.db"
    with sqlite3.connect(source) as db:
        db.executescript(
            "CREATE TABLE shop (id INTEGER PRIMARY KEY, size INTEGER);"
            "CREATE TABLE sale (id INTEGER PRIMARY KEY, "
            "shop_id INTEGER NOT NULL REFERENCES shop(id), amount INTEGER);"
        )
        db.executemany("INSERT INTO shop VALUES (?, ?)", [(i, i % 4) for i in range(1, 31)])
        db.executemany(
            "INSERT INTO sale VALUES (?, ?, ?)", [(i, 1 + i % 30, i % 7) for i in range(1, 61)]
        )
    _execute(mariadb, f"CREATE TABLE `{STALE[0]}` (id INTEGER PRIMARY KEY)")

    # Run
    result = run_cli("run", f"sqlite:///{source}", "-o", mariadb, "--max-epochs", 1)

    # Assert
    assert result.code == 0, result
    warnings = [line for line in result.lines if line.startswith("warning: removed")]
    assert len(warnings) == 1 and warnings[0].endswith(f"had left behind: {STALE[0]}"), result
    assert _tables(mariadb) == {"shop", "sale"}
