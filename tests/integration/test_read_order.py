"""Rows come back in primary-key order, the same on SQLite, PostgreSQL and MariaDB.

The same small database is loaded into each with its rows inserted in a scrambled order. Left
to themselves the three return rows in different orders (SQLite and PostgreSQL in insertion
order, InnoDB by key under its case-insensitive collation, MariaDB's UUID type in its own
storage order), so a seed would give another twin on each. PostgreSQL's text columns get a
linguistic ICU collation where the server has one, so that its own order differs too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from synthdb.io.database import open_database

CODES = [("z", 2), ("a", 10), ("B", 2), ("é", 1), ("a", 2), ("B", 10), ("Ab", 1)]
ITEMS = [7, 3, 12, 1, 5]
TOKENS = [
    "00000000-0000-4000-8000-00000000000b",
    "10000000-0000-4000-8000-000000000001",
    "00000001-0000-1000-8000-000000000000",
    "00000000-0000-4000-8000-00000000000a",
    "0f000000-0000-4000-8000-000000000002",
    "00000000-0000-1000-8000-000000000001",
]
LOOSE = [("b", 1), (None, 2), ("B", None), ("a", 3), ("é", 1), ("a", 3), (None, None), ("b", None)]


def _load(url: str, kind: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        collate = ""
        if (
            kind == "postgresql"
            and connection.exec_driver_sql(
                "SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'"
            ).first()
        ):
            collate = ' COLLATE "und-x-icu"'
        uuid = {"postgresql": "UUID", "mariadb": "UUID"}.get(kind, "CHAR(36)")
        for statement in (
            f"CREATE TABLE codes (region VARCHAR(10){collate} NOT NULL, n INTEGER NOT NULL, "
            "PRIMARY KEY (region, n))",
            f"CREATE TABLE items (id INTEGER PRIMARY KEY, tag VARCHAR(10){collate})",
            f"CREATE TABLE tokens (u {uuid} PRIMARY KEY, n INTEGER)",
            f"CREATE TABLE loose (name VARCHAR(10){collate}, size INTEGER)",
        ):
            connection.exec_driver_sql(statement)
        insert: list[tuple[str, list[dict[str, Any]]]] = [
            ("codes", [{"region": r, "n": n} for r, n in CODES]),
            ("items", [{"id": i, "tag": f"t{i}"} for i in ITEMS]),
            ("tokens", [{"u": u, "n": i} for i, u in enumerate(TOKENS)]),
            ("loose", [{"name": name, "size": size} for name, size in LOOSE]),
        ]
        for table, rows in insert:
            clause = sa.table(table, *(sa.column(name) for name in rows[0]))
            for row in rows:  # one statement per row: the insertion order is the scrambled one
                connection.execute(clause.insert(), [row])
    engine.dispose()


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, str | int) else str(value)


def _read(url: str, table: str, rows: int | None = None) -> list[tuple[Any, ...]]:
    source = open_database(url)
    frames = list(source.read_chunks(table, rows=rows)) if rows else [source.read(table)]
    return [
        tuple(_plain(value) for value in row)
        for frame in frames
        for row in frame.astype(object).itertuples(index=False)
    ]


def _byte_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """NULL first, then text by its UTF-8 bytes and numbers by value, column by column."""
    return tuple(
        (value is not None, value.encode() if isinstance(value, str) else value or 0)
        for value in row
    )


EXPECTED = {
    "codes": sorted(CODES, key=_byte_order),
    "items": [(i, f"t{i}") for i in sorted(ITEMS)],
    "tokens": sorted(((u, i) for i, u in enumerate(TOKENS)), key=_byte_order),
    "loose": sorted(LOOSE, key=_byte_order),
}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_rows_come_back_in_key_order_on_every_database(
    kind: str, new_database: Callable[[str], str]
) -> None:
    # Setup
    url = new_database(kind)
    _load(url, kind)

    # Run / Assert: whole reads and chunked reads alike
    for table, expected in EXPECTED.items():
        assert _read(url, table) == expected, (kind, table)
        assert _read(url, table, rows=3) == expected, (kind, table)
