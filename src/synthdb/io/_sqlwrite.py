"""Writing a whole database: tables with their keys, filled in dependency order, all or nothing.

Each table's fate is planned before anything is written: a missing table is created; an
existing one is replaced under ``overwrite``, else filled if it is empty and has the same
columns (keeping the user's own DDL), else refused.

SQLite and PostgreSQL run everything in one transaction (their DDL is transactional): drop the
replaced tables, create, insert, check every foreign key, add the foreign-key constraints (on
PostgreSQL after the data, as pg_dump does, so self-references and cycles need no insert order),
commit. Any failure rolls all of it back.

MariaDB/MySQL commit each CREATE, DROP and ALTER on their own, so the all-or-nothing is built
by hand: new tables get their final names; tables to replace are written under staging names
beside the old ones. Rows go in within one transaction and every foreign key is checked before
it commits; then the foreign-key constraints are added (InnoDB checks them again), and finally
one ``RENAME TABLE`` (atomic in MariaDB and MySQL) swaps the staging tables in and the old
ones out, which are then dropped. A failure before the rename drops what we created and empties
what we filled, so the target is as it was; the old tables are only dropped once the new ones
have taken their names. Only a crash of the process itself (power loss, SIGKILL) between these
steps can leave staging tables behind.

Staging tables are named ``_synthdb_<token>_new_<n>`` (the new rows) and
``_synthdb_<token>_old_<n>`` (the replaced tables, between the rename and their drop):
``<token>`` is 6 lowercase hexadecimal digits, one per write, ``<n>`` the table's position in
the schema (:data:`STAGING_NAME`). While it writes, a write holds the MariaDB user lock
``synthdb-staging-<token>``, which the server releases when the session ends, however it ends.
So the next write to the database removes every table whose name matches that pattern exactly
and whose lock is free: tables a killed write left behind, never those of a write still under
way, nor a user's table that only looks alike (``_synthdb_notes``). It says which it removed.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from synthdb.errors import OutputError
from synthdb.io._introspect import quiet_reflection
from synthdb.io._sql import _connect, _is_sqlite, display, sqlite_file
from synthdb.io._sqltypes import from_values, native
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, SqlType, TableDef

WRITE_CHUNK_ROWS = 10_000
_MYSQL = ("mysql", "mariadb")
#: A staging table's whole name (see the module docstring); group 1 is the write's token.
STAGING_NAME = re.compile(r"_synthdb_([0-9a-f]{6})_(?:new|old)_[0-9]+")
#: ``warn(message)``: how a write tells of something it did besides writing
Warn: TypeAlias = Callable[[str], None]

Action = Literal["create", "fill", "replace"]
#: what a table's rows may be given as: a frame, or frames one after another
Frames: TypeAlias = pd.DataFrame | Iterable[pd.DataFrame]


@dataclass
class _Target:
    """One table of the schema and where its rows go."""

    table: TableDef
    action: Action
    physical: str
    #: the table's columns, each with a type (CSV columns get theirs from the first rows)
    columns: list[ColumnDef] = field(default_factory=list)
    sql: sa.Table | None = None
    keys: list[sa.ForeignKeyConstraint] = field(default_factory=list)


def check_sql_database(url: URL, schema: DatabaseSchema, *, overwrite: bool) -> None:
    """Raise OutputError now if writing ``schema`` to ``url`` would be refused."""
    location = display(url)
    path = sqlite_file(url)
    if _is_sqlite(url):
        if path is None:
            raise OutputError(
                f"{location} is not an SQLite file", hint="write to a file: sqlite:///out.db"
            )
        if not path.parent.is_dir():
            raise OutputError(
                f"folder {path.parent} does not exist", hint="create it first, or fix the path"
            )
        if path.is_dir():
            raise OutputError(f"{path} is a folder", hint="name a database file: sqlite:///out.db")
        if not path.exists():
            return
    with _connect(url, OutputError, read_only=True, doing="connect to") as connection:
        _plan(connection, schema, overwrite=overwrite, location=location)


def write_sql_database(
    url: URL,
    schema: DatabaseSchema,
    tables: Mapping[str, Frames],
    *,
    overwrite: bool,
    warn: Warn | None = None,
) -> dict[str, int]:
    """Write every table of ``schema``; return rows written per table (see module docstring).

    ``warn`` hears of staging tables a killed write had left, which this one removed (by
    default a Python warning).
    """
    location = display(url)
    frames = _checked_frames(schema, tables)
    path = sqlite_file(url)
    created_file = path is not None and not path.exists()
    try:
        with _connect(url, OutputError, read_only=False, doing="write to") as connection:
            dialect = connection.dialect.name
            token = secrets.token_hex(3)
            if dialect in _MYSQL:
                token = _lock_staging(connection)
                _remove_stale_staging(connection, location, warn or _python_warning)
            plan = _plan(connection, schema, overwrite=overwrite, location=location, token=token)
            frames = _typed(plan, frames)
            _define(plan, dialect)
            if dialect in _MYSQL:
                try:
                    return _write_mysql(connection, plan, frames, location)
                finally:
                    # Closing the connection would release it too; a broken one may not say so.
                    with contextlib.suppress(sa.exc.SQLAlchemyError):
                        connection.execute(sa.select(sa.func.release_lock(_lock_name(token))))
            return _write_transactional(connection, plan, frames, location, dialect)
    except BaseException:
        if created_file and path is not None:
            for leftover in (path, *(Path(f"{path}{end}") for end in ("-journal", "-wal"))):
                leftover.unlink(missing_ok=True)
        raise


# --- planning -------------------------------------------------------------------------------


def _plan(
    connection: Connection,
    schema: DatabaseSchema,
    *,
    overwrite: bool,
    location: str,
    token: str | None = None,
) -> list[_Target]:
    """What happens to each table; staging names (with the write's ``token``) only where DDL
    is not transactional."""
    staging = connection.dialect.name in _MYSQL
    inspector = sa.inspect(connection)
    with quiet_reflection():
        existing = set(inspector.get_table_names())
    token = token or secrets.token_hex(3)
    plan = []
    for index, table in enumerate(schema.tables.values()):
        if table.name not in existing:
            plan.append(_Target(table, "create", table.name))
            continue
        if overwrite:
            # A short name: MySQL allows 64 characters, and the table's own may be long.
            name = f"_synthdb_{token}_new_{index}" if staging else table.name
            plan.append(_Target(table, "replace", name))
            continue
        query = sa.select(sa.literal(1)).select_from(sa.table(table.name)).limit(1)
        if connection.execute(query).first() is not None:
            raise OutputError(
                f"table '{table.name}' in {location} already has rows",
                hint="pass --overwrite to replace it, or write to another database",
            )
        with quiet_reflection():
            columns = {column["name"] for column in inspector.get_columns(table.name)}
        if columns != set(table.names):
            raise OutputError(
                f"table '{table.name}' in {location} exists with other columns",
                hint="pass --overwrite to replace it, or write to another database",
            )
        plan.append(_Target(table, "fill", table.name))
    _check_outside_references(inspector, plan, existing, location)
    connection.rollback()
    return plan


def _check_outside_references(
    inspector: sa.Inspector, plan: list[_Target], existing: set[str], location: str
) -> None:
    """Replacing a table that a table we do not write references would break that reference:
    PostgreSQL refuses to drop it, MariaDB would leave the key pointing at nothing."""
    replaced = {target.table.name for target in plan if target.action == "replace"}
    if not replaced:
        return
    ours = {target.table.name for target in plan}
    for other in sorted(existing - ours):
        if STAGING_NAME.fullmatch(other):
            continue  # left by a killed write, and removed before this one writes
        with quiet_reflection():
            keys = inspector.get_foreign_keys(other)
        for key in keys:
            if key["referred_table"] in replaced:
                raise OutputError(
                    f"table '{key['referred_table']}' in {location} is referenced by "
                    f"'{other}', which is not being written, so it cannot be replaced",
                    hint="write every related table, or write to another database",
                )


def _checked_frames(schema: DatabaseSchema, tables: Mapping[str, Frames]) -> dict[str, Iterator]:
    """One iterator of frames per table; a programming error if the tables do not match."""
    missing = [name for name in schema.tables if name not in tables]
    extra = [name for name in tables if name not in schema.tables]
    if missing or extra:
        raise ValueError(
            f"tables to write differ from the schema: missing {missing}, extra {extra}"
        )
    return {
        name: iter([frames]) if isinstance(frames, pd.DataFrame) else iter(frames)
        for name, frames in tables.items()
    }


def _typed(plan: list[_Target], frames: dict[str, Iterator]) -> dict[str, Iterator]:
    """Tables read from CSV declare no types: peek at each one's first frame to choose them.

    A foreign-key column takes its parent column's type: the database refuses a key between
    columns of other types, and an empty table (or an all-NULL key) has no values to go by.
    """
    out = dict(frames)
    chosen: dict[tuple[str, str], SqlType] = {}
    for target in plan:
        table = target.table
        target.columns = list(table.columns)
        if any(column.type is None for column in table.columns):
            first = next(frames[table.name], None)
            if first is None:
                first = pd.DataFrame({name: pd.Series(dtype=object) for name in table.names})
            typed = {
                column.name: column.type or from_values(first[column.name])
                for column in table.columns
            }
            for key in table.foreign_keys:
                for child_column, parent_column in zip(
                    key.columns, key.parent_columns, strict=True
                ):
                    parent_type = (
                        typed.get(parent_column)
                        if key.parent == table.name
                        else chosen.get((key.parent, parent_column))
                    )
                    if parent_type is not None and table.column(child_column).type is None:
                        typed[child_column] = parent_type
            target.columns = [replace(column, type=typed[column.name]) for column in table.columns]
            out[table.name] = itertools.chain([first], frames[table.name])
        for column in target.columns:
            assert column.type is not None
            chosen[(table.name, column.name)] = column.type
    return out


def _define(plan: list[_Target], dialect: str) -> None:
    """SQLAlchemy tables under their physical names; foreign keys kept aside to add last.

    Filled tables are defined too (never created): the others' foreign keys refer to them.
    """
    metadata = sa.MetaData()
    physical = {target.table.name: target.physical for target in plan}
    for target in plan:
        table = target.table
        in_keys = set(table.primary_key).union(*(key.columns for key in table.foreign_keys))
        columns = [
            sa.Column(
                column.name,
                native(column.type, dialect, key=column.name in in_keys)
                if column.type is not None
                else sa.Text(),
                nullable=column.nullable,
                autoincrement=column.autoincrement,
            )
            for column in target.columns
        ]
        constraints: list[sa.Constraint] = []
        if table.primary_key:
            constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
        target.sql = sa.Table(target.physical, metadata, *columns, *constraints)
        if target.action != "fill":  # a filled table keeps the user's own constraints
            target.keys = [_constraint(key, physical) for key in table.foreign_keys]


def _constraint(key: ForeignKey, physical: Mapping[str, str]) -> sa.ForeignKeyConstraint:
    parent = physical[key.parent]
    return sa.ForeignKeyConstraint(
        list(key.columns), [f"{parent}.{column}" for column in key.parent_columns]
    )


# --- SQLite and PostgreSQL: one transaction -------------------------------------------------


def _write_transactional(
    connection: Connection,
    plan: list[_Target],
    frames: dict[str, Iterator],
    location: str,
    dialect: str,
) -> dict[str, int]:
    rows: dict[str, int] = {}
    with connection.begin():
        replaced = [target for target in plan if target.action == "replace"]
        if replaced and dialect == "sqlite":
            for target in reversed(replaced):
                connection.exec_driver_sql(f"DROP TABLE {_quote(connection, target.physical)}")
        elif replaced:
            # One statement, so that replaced tables referencing each other go together.
            names = ", ".join(_quote(connection, target.physical) for target in replaced)
            connection.exec_driver_sql(f"DROP TABLE {names}")
        for target in plan:
            if target.action == "fill":
                continue
            assert target.sql is not None
            if dialect == "sqlite":
                # SQLite cannot add a constraint to an existing table. It does not enforce
                # them while we load (PRAGMA foreign_keys is off); we check them below.
                for key in target.keys:
                    target.sql.append_constraint(key)
                target.keys = []
            connection.execute(sa.schema.CreateTable(target.sql))
        for target in plan:
            rows[target.table.name] = _insert(connection, target, frames[target.table.name])
        _check_foreign_keys(connection, plan, location)
        _add_foreign_keys(connection, plan, commit=False)
        if dialect == "postgresql":
            _advance_sequences(connection, plan)
        if dialect == "sqlite":
            for target in plan:
                quoted = _quote(connection, target.physical)
                broken = connection.exec_driver_sql(f"PRAGMA foreign_key_check({quoted})").first()
                if broken is not None:
                    raise OutputError(
                        f"cannot write to {location}: table '{broken[0]}' breaks a foreign key",
                        hint="the rows given must keep every foreign key; nothing was written",
                    )
    return rows


def _add_foreign_keys(connection: Connection, plan: list[_Target], *, commit: bool) -> None:
    for target in plan:
        assert target.sql is not None
        for key in target.keys:
            target.sql.append_constraint(key)
            connection.execute(sa.schema.AddConstraint(key))
            if commit:
                connection.commit()


# --- MariaDB / MySQL: DDL commits on its own ------------------------------------------------


def _write_mysql(
    connection: Connection, plan: list[_Target], frames: dict[str, Iterator], location: str
) -> dict[str, int]:
    created: list[str] = []
    filled: list[str] = []
    committed = False
    rows: dict[str, int] = {}
    try:
        for target in plan:
            if target.action == "fill":
                continue
            assert target.sql is not None
            created.append(target.physical)
            connection.execute(sa.schema.CreateTable(target.sql))
            connection.commit()
        with connection.begin():
            # Off for this session while loading: rows may come child-first (self-references,
            # cycles) into tables the user created with their constraints. Checked below.
            connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            for target in plan:
                if target.action == "fill":
                    filled.append(target.physical)
                rows[target.table.name] = _insert(connection, target, frames[target.table.name])
            _check_foreign_keys(connection, plan, location)
        committed = True
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")
        _add_foreign_keys(connection, plan, commit=True)
        replaced = [target for target in plan if target.action == "replace"]
        if replaced:
            old = [target.physical.replace("_new_", "_old_") for target in replaced]
            pairs = [
                f"{_quote(connection, target.table.name)} TO {_quote(connection, name)}"
                for target, name in zip(replaced, old, strict=True)
            ] + [
                f"{_quote(connection, target.physical)} TO {_quote(connection, target.table.name)}"
                for target in replaced
            ]
            connection.exec_driver_sql("RENAME TABLE " + ", ".join(pairs))
            connection.commit()
    except BaseException:
        _undo_mysql(connection, created, filled if committed else [])
        raise
    if replaced:
        # The new tables are in place; failing to drop the old ones must not undo them.
        with contextlib.suppress(sa.exc.DBAPIError):
            _drop(connection, old)
    return rows


def _lock_name(token: str) -> str:
    return f"synthdb-staging-{token}"


def _lock_staging(connection: Connection) -> str:
    """A new token whose user lock this session holds until it ends (see module docstring)."""
    for _ in range(10):
        token = secrets.token_hex(3)
        taken = connection.execute(sa.select(sa.func.get_lock(_lock_name(token), 0))).scalar()
        if taken == 1:
            return token
    raise OutputError(
        "cannot take a lock for the staging tables",
        hint="check that the user may call GET_LOCK, then try again",
    )


def _remove_stale_staging(connection: Connection, location: str, warn: Warn) -> None:
    """Drop the staging tables of writes that are gone (their lock is free), and say so."""
    with quiet_reflection():
        names = sa.inspect(connection).get_table_names()
    stale = []
    for name in sorted(names):
        match = STAGING_NAME.fullmatch(name)
        if match is None:
            continue
        query = sa.select(sa.func.is_free_lock(_lock_name(match.group(1))))
        if connection.execute(query).scalar() == 1:
            stale.append(name)
    connection.rollback()
    if not stale:
        return
    _drop(connection, stale)
    warn(
        f"removed {len(stale)} staging tables from {location} that an interrupted synthdb "
        f"write had left behind: {', '.join(stale)}"
    )


def _python_warning(message: str) -> None:
    warnings.warn(message, stacklevel=5)  # at the caller of write_database


def _undo_mysql(connection: Connection, created: list[str], filled: list[str]) -> None:
    """Put the database back as it was: drop what we created, empty what we filled."""
    try:
        connection.rollback()
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        for name in filled:
            connection.exec_driver_sql(f"DELETE FROM {_quote(connection, name)}")
        connection.commit()
        _drop(connection, created)
    except sa.exc.DBAPIError:
        pass  # the connection itself is gone; the original error says why


def _drop(connection: Connection, names: list[str]) -> None:
    if not names:
        return
    connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    connection.exec_driver_sql(
        "DROP TABLE IF EXISTS " + ", ".join(_quote(connection, name) for name in names)
    )
    connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")
    connection.commit()


# --- shared steps ---------------------------------------------------------------------------


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _insert(connection: Connection, target: _Target, frames: Iterator[pd.DataFrame]) -> int:
    assert target.sql is not None
    table = target.table
    count = 0
    scales = _scales(target.columns)
    for frame in frames:
        if set(frame.columns) != set(table.names):
            raise ValueError(
                f"rows for table '{table.name}' have columns {list(frame.columns)}, "
                f"the schema has {table.names}"
            )
        frame = _rounded(frame, scales)
        for start in range(0, len(frame), WRITE_CHUNK_ROWS):
            chunk = frame.iloc[start : start + WRITE_CHUNK_ROWS]
            connection.execute(target.sql.insert(), _records(chunk[table.names], connection))
        count += len(frame)
    return count


def _scales(columns: list[ColumnDef]) -> dict[str, int]:
    """Declared scales of ``numeric(p, s)`` columns, by column name."""
    return {
        column.name: column.type.scale
        for column in columns
        if column.type is not None
        and column.type.name == "numeric"
        and column.type.scale is not None
    }


def _rounded(frame: pd.DataFrame, scales: Mapping[str, int]) -> pd.DataFrame:
    """Floats of ``numeric(p, s)`` columns rounded to ``s`` decimals, as PostgreSQL and MariaDB
    store them: SQLite keeps whatever REAL it is given (0.9900000000000001 in Chinook's
    ``NUMERIC(10,2)``), so without this the same rows would differ between databases."""
    rounded = {
        name: frame[name].round(scale)
        for name, scale in scales.items()
        if name in frame.columns and pd.api.types.is_float_dtype(frame[name].dtype)
    }
    return frame.assign(**rounded) if rounded else frame


def _records(frame: pd.DataFrame, connection: Connection) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values: NULL as None, timestamps as datetimes."""
    keep_zones = connection.dialect.name == "postgresql"
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype) and not keep_zones:
            # MySQL and SQLite store no zone: write the UTC instant.
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            stamps = np.array(values.dt.to_pydatetime(), dtype=object)
            stamps[values.isna().to_numpy()] = None
            columns[str(name)] = stamps.tolist()
            continue
        plain = values.astype(object).where(values.notna(), None)
        columns[str(name)] = [
            item.item() if isinstance(item, np.generic) else item for item in plain.tolist()
        ]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _check_foreign_keys(connection: Connection, plan: list[_Target], location: str) -> None:
    """Count rows whose foreign key matches no parent row (NULL in any column matches nothing
    and is allowed, as in SQL), so that the error names the table, the key and the count."""
    by_name = {target.table.name: target for target in plan}
    for target in plan:
        for key in target.table.foreign_keys:
            parent = by_name[key.parent]
            assert target.sql is not None and parent.sql is not None
            child = target.sql.alias("c")
            other = parent.sql.alias("p")
            matches = sa.and_(
                *(
                    other.c[p] == child.c[c]
                    for c, p in zip(key.columns, key.parent_columns, strict=True)
                )
            )
            query = (
                sa.select(sa.func.count())
                .select_from(child)
                .where(*(child.c[c].is_not(None) for c in key.columns))
                .where(~sa.exists().where(matches))
            )
            dangling = connection.execute(query).scalar()
            if dangling:
                raise OutputError(
                    f"cannot write to {location}: {dangling} rows of '{target.table.name}' have "
                    f"a foreign key {key.describe(target.table.name)} matching no row",
                    hint="every foreign key written must point at a row; nothing was written",
                )


def _advance_sequences(connection: Connection, plan: list[_Target]) -> None:
    """Start each serial key after the largest value written, so later inserts by the
    application that uses the twin do not collide with our rows."""
    for target in plan:
        if target.action == "fill":
            continue
        for column in target.table.columns:
            if not column.autoincrement:
                continue
            table = _quote(connection, target.table.name)
            name = _quote(connection, column.name)
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence(%(table)s, %(column)s), "
                f"COALESCE(MAX({name}), 1), MAX({name}) IS NOT NULL) FROM {table}",
                {"table": table, "column": column.name},
            )
