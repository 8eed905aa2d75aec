"""Databases behind an SQLAlchemy URL.

Everything here goes through SQLAlchemy and pandas' SQL layer so that PostgreSQL and MariaDB need
a driver, not new code. SQLite gets three special cases, each because its defaults would hurt:
connecting to a missing file creates it (we refuse, and read through a read-only connection);
Python's sqlite3 commits CREATE TABLE outside the transaction (we switch to explicit BEGIN so a
failed write leaves the database as it was); and a database file we created for a write that then
failed is removed.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from synthdb.errors import InputError, OutputError, SynthdbError, UsageError
from synthdb.io._batches import Batch, frame_of, uniform
from synthdb.io._introspect import quiet_reflection, reflect_schema
from synthdb.io._locations import FileFormat, choose_table, one_line
from synthdb.io._sqltypes import portable
from synthdb.schema.relations import DatabaseSchema, SqlType, TableDeclaration

# Rows per fetch: bounds the driver's buffer and each intermediate frame.
READ_CHUNK_ROWS = 50_000
WRITE_CHUNK_ROWS = 10_000

_SQLITE_FILES_HINT = (
    "sqlite:///name.db is relative to the current folder, sqlite:////abs/name.db absolute"
)


# Plain scheme names mean the drivers we install with the extras (SQLAlchemy would pick
# psycopg2 and mysqlclient, which need a C compiler and system headers to install).
_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
#: driver module -> the extra that installs it
_EXTRAS = {"psycopg": "postgres", "psycopg2": "postgres", "pymysql": "mysql", "MySQLdb": "mysql"}
#: Environment variables that may hold a password; their values are masked in every message.
#: libpq reads PGPASSWORD itself; MYSQL_PWD is what the mysql client reads, and we pass it on.
PASSWORD_VARIABLES = ("SYNTHDB_DB_PASSWORD", "PGPASSWORD", "MYSQL_PWD")
_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "sslkey_password"})
# Seconds: an unreachable host should fail fast, not after the system's 2-minute TCP timeout.
_CONNECT_TIMEOUT = 10


def parse_url(location: str, error: type[SynthdbError]) -> URL:
    """The URL with our default drivers and a password from the environment if it has none.

    ``SYNTHDB_DB_PASSWORD`` (any database) or ``MYSQL_PWD`` (MySQL/MariaDB) fill in a missing
    password, so that it never has to be typed into a command line or a job file.
    """
    try:
        url = make_url(location)
    except (sa.exc.ArgumentError, ValueError) as exc:
        # The text may hold a password, and we could not parse it to hide one: show the scheme only.
        scheme = location.split("://", 1)[0]
        raise error(
            f"the {scheme}:// database URL is malformed",
            hint="write it as dialect+driver://user:password@host:port/database",
        ) from exc
    if url.drivername in _DEFAULT_DRIVERS:
        url = url.set(drivername=_DEFAULT_DRIVERS[url.drivername])
    if url.password is None and not _is_sqlite(url):
        backend = url.get_backend_name()
        password = os.environ.get("SYNTHDB_DB_PASSWORD") or (
            os.environ.get("MYSQL_PWD") if backend in ("mysql", "mariadb") else None
        )
        if password:
            url = url.set(password=password)
    return url


def display(url: URL) -> str:
    """The URL fit for messages: no password, whether in the URL itself or its query."""
    hidden = {key: "***" for key in url.query if key.lower() in _SECRET_QUERY_KEYS}
    if hidden:
        url = url.update_query_dict(hidden)
    return url.render_as_string(hide_password=True)


def secrets_of(url: URL) -> list[str]:
    """Every password this URL may be used with, longest first, to mask in messages."""
    found = [str(url.password)] if url.password else []
    found += [str(url.query[key]) for key in url.query if key.lower() in _SECRET_QUERY_KEYS]
    found += [os.environ[name] for name in PASSWORD_VARIABLES if os.environ.get(name)]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def mask(text: str, url: URL) -> str:
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return text


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
    connect_args: dict[str, Any] = {}
    if url.get_driver_name() in ("psycopg", "pymysql") and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = _CONNECT_TIMEOUT
    try:
        return sa.create_engine(url, poolclass=sa.NullPool, connect_args=connect_args)
    except sa.exc.NoSuchModuleError as exc:
        raise error(
            f"unknown database type '{url.drivername}' in {display(url)}",
            hint="use sqlite:///file.db, postgresql://... or mysql+pymysql://...",
        ) from exc
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        fix = f"pip install 'synthdb[{extra}]'" if extra else f"pip install {exc.name}"
        raise error(
            f"the {url.get_backend_name()} driver '{exc.name}' is not installed", hint=fix
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
        detail = mask(one_line(driver.orig) or type(driver.orig).__name__, url)
        path = sqlite_file(url)
        if path is not None and "file is not a database" in detail:
            fix = "choose another file name" if error is OutputError else "check the path"
            raise error(f"{path} is not an SQLite database", hint=fix) from exc
        raise error(f"cannot {doing} {display(url)}: {detail}", hint=_fix(driver, error)) from exc
    finally:
        engine.dispose()


def _fix(driver: sa.exc.DBAPIError, error: type[SynthdbError]) -> str:
    if isinstance(driver, sa.exc.IntegrityError):
        return "the rows break a key or constraint of the target; nothing was written"
    if isinstance(driver, sa.exc.OperationalError | sa.exc.InterfaceError):
        return "check that the database is reachable and the user has the rights needed"
    if error is OutputError:
        return "the database refused a statement; nothing was written"
    return "the database refused a statement; check the user's rights"


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
        chunks = list(self.read_chunks(table))
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

    def count_rows(self, table: str | None = None) -> int:
        """The table's row count (``COUNT(*)``), which decides whether it is streamed."""
        with self._connect() as connection:
            name = self._resolve(connection, table if table is not None else self._table)
            query = sa.select(sa.func.count()).select_from(sa.table(name))
            return int(connection.execute(query).scalar_one())

    def read_chunks(
        self, table: str | None = None, *, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """The table in frames of at most ``rows`` rows (always at least one frame, maybe empty).

        Memory holds one chunk: PostgreSQL and MariaDB stream through a server-side cursor.
        Columns whose type synthdb does not model are left out (see :meth:`schema`); a MySQL
        BOOLEAN comes back as bool and a UUID as text, as from the other databases.

        Rows come in primary-key order (see :func:`_read_order`), so that the same data gives
        the same frames, and a seed the same twin, on every database.
        """
        size = rows if rows is not None else READ_CHUNK_ROWS
        if size < 1:
            raise UsageError(f"chunks need at least 1 row (got {size})")
        with self._connect() as connection:
            name = self._resolve(connection, table if table is not None else self._table)
            dialect = connection.dialect.name
            inspector = sa.inspect(connection)
            with quiet_reflection():
                reflected = inspector.get_columns(name)
                primary = inspector.get_pk_constraint(name).get("constrained_columns") or []
            kinds = {c["name"]: portable(c["type"], dialect) for c in reflected}
            kept = [column for column, kind in kinds.items() if kind is not None]
            booleans = [column for column in kept if _is_boolean(kinds[column])]
            types = {c["name"]: c["type"] for c in reflected}
            source = sa.table(name, *(sa.column(column, kind) for column, kind in types.items()))
            # A table of unmodelled columns only is read whole, as pandas' read_sql_table did.
            query = sa.select(*(source.c[column] for column in kept or types)).order_by(
                *_read_order(source, primary or kept, kinds, dialect, nulls=not primary)
            )
            # stream_results asks PostgreSQL/MySQL drivers for a server-side cursor, so only
            # one chunk is ever held by the driver; SQLite streams anyway.
            connection.execution_options(stream_results=True)
            for chunk in pd.read_sql_query(query, connection, chunksize=size):
                yield _normalised(_as_pandas_types(chunk, types), booleans)

    def schema(
        self,
        tables: Sequence[str] | None = None,
        *,
        declared: Mapping[str, TableDeclaration] | None = None,
    ) -> DatabaseSchema:
        """Tables (all, or ``tables``) in dependency order with types and keys; ``declared``
        adds keys the database does not declare (from a job file)."""
        with self._connect() as connection:
            return reflect_schema(
                connection, location=self.location, tables=tables, declared=declared
            )

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
        self.packing: FileFormat | None = None
        self._overwrite = overwrite

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.write_batches(table, [frame])

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def write_batches(self, table: str, batches: Iterable[Batch]) -> int:
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
                for index, batch in enumerate(uniform(batches, self.location)):
                    frame = frame_of(batch)
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


def _read_order(
    table: sa.TableClause,
    columns: Sequence[str],
    kinds: Mapping[str, SqlType | None],
    dialect: str,
    *,
    nulls: bool,
) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms that sort rows alike on SQLite, PostgreSQL and MariaDB.

    Without ORDER BY each database returns rows in its own storage order (PostgreSQL and SQLite
    in insertion order, InnoDB by primary key), so the same data would train on rows in another
    order, and the same seed would give another twin, on each. ``columns`` is the primary key
    (every column of a composite one) or, for a table without one, every modelled column: rows
    equal in all of them are identical, so their order does not matter. ``nulls`` says whether
    the columns may hold NULL (a primary key does not, and sorts faster without the test).

    Text sorts by its UTF-8 bytes (SQLite's BINARY collation, PostgreSQL's "C", a cast to
    BINARY on MariaDB), not by each server's collation, which puts ``B`` before ``a`` on one
    and after on another; a UUID sorts as its text. NULLs come first everywhere (PostgreSQL
    puts them last by default). A text key cannot use its index for this order, so the server
    sorts the table before the first row comes; integer keys read straight from the index.
    """
    terms: list[sa.ColumnElement[Any]] = []
    is_mysql = dialect in ("mysql", "mariadb")
    for name in columns:
        column: sa.ColumnElement[Any] = table.c[name]
        kind = kinds.get(name)
        if kind is not None and kind.name in ("string", "text", "uuid"):
            if is_mysql:
                # MariaDB's own UUID type sorts by its storage order: cast to text first.
                text = sa.cast(column, sa.String()) if kind.name == "uuid" else column
                column = sa.cast(text, sa.LargeBinary())
            elif dialect == "postgresql" and kind.name != "uuid":
                # as text first: an enum takes no collation (a uuid sorts as its text already)
                column = sa.collate(sa.cast(column, sa.Text()), "C")
            elif dialect == "sqlite":
                column = sa.collate(column, "BINARY")
        if nulls:
            terms.append(sa.case((table.c[name].is_(None), 0), else_=1))
        terms.append(column)
    return terms


def _as_pandas_types(frame: pd.DataFrame, types: Mapping[str, sa.types.TypeEngine]) -> pd.DataFrame:
    """The column types pandas' ``read_sql_table`` gives, from the columns' SQL types.

    ``read_sql_table`` cannot sort, so rows are read with ``read_sql_query``, which leaves every
    column as the driver's values come; this is the conversion ``read_sql_table`` then makes
    (pandas' ``SQLTable._harmonize_columns``): dates and timestamps to datetime64 (UTC when the
    column has a time zone), floats to float64, integers and booleans to int64 and bool when
    they hold no NULL, and text to pandas' string type where pandas infers strings.
    """
    # pandas 3 infers its string type for text (pandas 2 only when asked): ask it what it does.
    infer_strings = not pd.api.types.is_object_dtype(pd.Series(["text"]).dtype)
    for name, kind in types.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        if isinstance(kind, sa.DateTime | sa.Date):
            utc = bool(getattr(kind, "timezone", False)) and isinstance(kind, sa.TIMESTAMP)
            frame[name] = _dates(values, utc=utc)
        elif isinstance(kind, sa.Float):
            frame[name] = values.astype(float)
        elif (
            infer_strings
            and isinstance(kind, sa.String)
            and pd.api.types.is_object_dtype(values.dtype)
        ):
            frame[name] = values.astype("str")
        elif len(values) == values.count():
            if isinstance(kind, sa.Integer):
                frame[name] = values.astype(np.int64)
            elif isinstance(kind, sa.Boolean):
                frame[name] = values.astype(bool)
    return frame


def _dates(values: pd.Series, *, utc: bool) -> pd.Series:
    """pandas' conversion of a date or timestamp column (``_handle_date_column``)."""
    if pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return pd.to_datetime(values, errors="coerce", unit="s", utc=utc)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.to_datetime(values, utc=True)
    return pd.to_datetime(values, errors="coerce", utc=utc)


def _is_boolean(kind: SqlType | None) -> bool:
    return kind is not None and kind.name == "boolean"


def _normalised(frame: pd.DataFrame, booleans: list[str]) -> pd.DataFrame:
    """The same Python values whichever database a table comes from.

    MySQL returns BOOLEAN columns as 0/1 and drivers return UUID objects where SQLite returns
    text; both would otherwise look like other kinds of data to the schema step.
    """
    for column in booleans:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            flags = values.map(lambda v: None if pd.isna(v) else bool(v))
            frame[column] = flags.astype("bool" if flags.notna().all() else object)
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_object_dtype(values.dtype):
            continue
        first = values.first_valid_index()
        if first is not None and isinstance(values[first], uuid.UUID):
            frame[column] = values.map(lambda v: str(v) if isinstance(v, uuid.UUID) else v)
    return frame
