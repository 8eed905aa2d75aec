"""Databases behind an SQLAlchemy URL.

Everything here goes through SQLAlchemy and pandas' SQL layer so that PostgreSQL and MariaDB need
a driver, not new code. SQLite gets three special cases, each because its defaults would hurt:
connecting to a missing file creates it (we refuse, and read through a read-only connection);
Python's sqlite3 commits CREATE TABLE outside the transaction (we switch to explicit BEGIN so a
failed write leaves the database as it was); and a database file we created for a write that then
failed is removed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from synthdb.errors import InputError, OutputError, SynthdbError, UsageError
from synthdb.io._batches import uniform
from synthdb.io._locations import choose_table, one_line

# Rows per fetch: bounds the driver's buffer and each intermediate frame.
READ_CHUNK_ROWS = 50_000
WRITE_CHUNK_ROWS = 10_000

_SQLITE_FILES_HINT = (
    "sqlite:///name.db is relative to the current folder, sqlite:////abs/name.db absolute"
)


def parse_url(location: str, error: type[SynthdbError]) -> URL:
    try:
        return make_url(location)
    except (sa.exc.ArgumentError, ValueError) as exc:
        # The text may hold a password, and we could not parse it to hide one: show the scheme only.
        scheme = location.split("://", 1)[0]
        raise error(
            f"the {scheme}:// database URL is malformed",
            hint="write it as dialect+driver://user:password@host:port/database",
        ) from exc


def display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The file behind an SQLite URL; None for in-memory and sqlite3 URI forms we leave alone."""
    database = url.database
    if not _is_sqlite(url) or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _use_transactional_ddl(engine: Engine) -> None:
    """SQLAlchemy's documented recipe: let SQLite, not pysqlite, decide where transactions begin."""

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def _engine(url: URL, error: type[SynthdbError], *, read_only: bool) -> Engine:
    if _is_sqlite(url):
        path = sqlite_file(url)
        if read_only and path is not None:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            engine = sa.create_engine(
                "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=sa.NullPool
            )
        else:
            engine = sa.create_engine(url, poolclass=sa.NullPool)
        _use_transactional_ddl(engine)
        return engine
    try:
        return sa.create_engine(url)
    except sa.exc.NoSuchModuleError as exc:
        raise error(
            f"unknown database type '{url.drivername}' in {display(url)}",
            hint="use sqlite:///file.db, postgresql://... or mysql+pymysql://...",
        ) from exc
    except ModuleNotFoundError as exc:
        raise error(
            f"the {url.get_backend_name()} driver '{exc.name}' is not installed",
            hint=f"pip install {exc.name}",
        ) from exc


def _driver_error(exc: BaseException) -> sa.exc.DBAPIError | None:
    """The database's own error, which pandas may have wrapped in its DatabaseError."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, sa.exc.DBAPIError):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def _connect(
    url: URL, error: type[SynthdbError], *, read_only: bool, doing: str
) -> Iterator[Connection]:
    """A connection whose database errors come out as one-line, password-free SynthdbErrors."""
    engine = _engine(url, error, read_only=read_only)
    try:
        with engine.connect() as connection:
            yield connection
    except Exception as exc:
        driver = _driver_error(exc)
        if driver is None:
            raise
        detail = one_line(driver.orig) or type(driver.orig).__name__
        if url.password:
            detail = detail.replace(str(url.password), "***")
        path = sqlite_file(url)
        if path is not None and "file is not a database" in detail:
            fix = "choose another file name" if error is OutputError else "check the path"
            raise error(f"{path} is not an SQLite database", hint=fix) from exc
        raise error(
            f"cannot {doing} {display(url)}: {detail}",
            hint="check that the database is reachable and the user has the rights needed",
        ) from exc
    finally:
        engine.dispose()


class SqlSource:
    """Tables of one database; each read streams rows in chunks inside one transaction."""

    def __init__(self, url: URL, *, table: str | None = None) -> None:
        self._url = url
        self.location = display(url)
        self._table = table
        if _is_sqlite(url):
            path = sqlite_file(url)
            if path is None and not url.database:
                raise InputError(
                    f"{self.location} is an empty in-memory database",
                    hint="point to a file: sqlite:///path/to/data.db",
                )
            if path is not None and not path.is_file():
                problem = "is a folder" if path.is_dir() else "does not exist"
                raise InputError(f"{path} {problem}", hint=f"check the path; {_SQLITE_FILES_HINT}")
        # Fail now, not hours later, on a bad connection or a wrong --table.
        with self._connect() as connection:
            if table is None:
                sa.inspect(connection).get_table_names()
            else:
                self._resolve(connection, table)

    def tables(self) -> list[str]:
        with self._connect() as connection:
            return sorted(sa.inspect(connection).get_table_names())

    def read(self, table: str | None = None) -> pd.DataFrame:
        with self._connect() as connection:
            name = self._resolve(connection, table if table is not None else self._table)
            # stream_results asks PostgreSQL/MySQL drivers for a server-side cursor, so only
            # one chunk is ever held by the driver; SQLite streams anyway.
            connection.execution_options(stream_results=True)
            chunks = list(pd.read_sql_table(name, connection, chunksize=READ_CHUNK_ROWS))
            if not chunks:
                return pd.read_sql_table(name, connection)
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

    def _connect(self) -> AbstractContextManager[Connection]:
        return _connect(self._url, InputError, read_only=True, doing="read")

    def _resolve(self, connection: Connection, table: str | None) -> str:
        inspector = sa.inspect(connection)
        return choose_table(
            table,
            sorted(inspector.get_table_names()),
            self.location,
            also_readable=inspector.get_view_names(),
        )


def check_sql_output(url: URL, *, table: str | None, overwrite: bool) -> None:
    """Raise OutputError now if writing ``table`` would fail later."""
    location = display(url)
    if _is_sqlite(url):
        path = sqlite_file(url)
        if path is None:
            if not url.database or url.database == ":memory:":
                raise OutputError(
                    f"{location} is an in-memory database, which vanishes when we finish",
                    hint="write to a file: sqlite:///out.db",
                )
            return
        if not path.parent.is_dir():
            raise OutputError(
                f"folder {path.parent} does not exist",
                hint=f"create it first, or fix the path; {_SQLITE_FILES_HINT}",
            )
        if path.is_dir():
            raise OutputError(f"{path} is a folder", hint="name a database file: sqlite:///out.db")
        if not path.exists():
            return
    with _connect(url, OutputError, read_only=True, doing="connect to") as connection:
        if table is None:
            sa.inspect(connection).get_table_names()  # proves the file is a database
        else:
            _write_mode(connection, table, None, overwrite=overwrite, location=location)


def _write_mode(
    connection: Connection,
    table: str,
    columns: list[str] | None,
    *,
    overwrite: bool,
    location: str,
) -> Literal["append", "replace"]:
    """Append into a missing or empty matching table (keeping a user's own DDL); else replace."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(table):
        return "append"
    query = sa.select(sa.literal(1)).select_from(sa.table(table)).limit(1)
    has_rows = connection.execute(query).first() is not None
    existing = sorted(column["name"] for column in inspector.get_columns(table))
    matches = columns is None or existing == sorted(columns)
    if not has_rows and matches:
        return "append"
    if overwrite:
        return "replace"
    problem = "already has rows" if has_rows else "exists with other columns"
    raise OutputError(
        f"table '{table}' in {location} {problem}",
        hint="pass --overwrite to replace it, or choose another --table",
    )


class SqlSink:
    """Writes each table in one transaction: on any failure the database is as it was.

    Batches are inserted as they arrive, so memory holds one batch, not the table.
    """

    def __init__(self, url: URL, *, overwrite: bool = False) -> None:
        self._url = url
        self.location = display(url)
        self._overwrite = overwrite

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.write_batches(table, [frame])

    def write_batches(self, table: str, batches: Iterable[pd.DataFrame]) -> int:
        if not table:
            raise UsageError(
                f"writing to {self.location} needs a table name", hint="pass --table NAME"
            )
        path = sqlite_file(self._url)
        created = path is not None and not path.exists()
        rows = 0
        try:
            with (
                _connect(self._url, OutputError, read_only=False, doing="write to") as connection,
                connection.begin(),
            ):
                for index, frame in enumerate(uniform(batches, self.location)):
                    mode: Literal["append", "replace"] = "append"
                    if index == 0:
                        mode = _write_mode(
                            connection,
                            table,
                            [str(column) for column in frame.columns],
                            overwrite=self._overwrite,
                            location=self.location,
                        )
                    frame.to_sql(
                        table, connection, if_exists=mode, index=False, chunksize=WRITE_CHUNK_ROWS
                    )
                    rows += len(frame)
        except BaseException:
            if created and path is not None:
                for leftover in (path, *(Path(f"{path}{end}") for end in ("-journal", "-wal"))):
                    leftover.unlink(missing_ok=True)
            raise
        return rows
