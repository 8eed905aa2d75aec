"""What a database says about its tables: columns, types, keys, row counts.

Everything comes from SQLAlchemy's inspector, so SQLite, PostgreSQL and MariaDB answer through
the same calls. Only the connection's default schema is read (PostgreSQL: the first schema on
the ``search_path``, which a URL can set with ``?options=-csearch_path%3Dname``; MariaDB: the
database named in the URL).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synthdb.errors import InputError
from synthdb.io._locations import listing
from synthdb.io._sqltypes import portable, type_name
from synthdb.schema.relations import (
    ColumnDef,
    DatabaseSchema,
    ForeignKey,
    SkippedColumn,
    TableDeclaration,
    TableDef,
    apply_declaration,
)


@contextmanager
def quiet_reflection() -> Iterator[None]:
    """SQLAlchemy warns on stderr about types it does not know (``geometry``); we report those
    columns ourselves, once, as skipped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        yield


def reflect_schema(
    connection: Connection,
    *,
    location: str,
    tables: Sequence[str] | None = None,
    declared: Mapping[str, TableDeclaration] | None = None,
) -> DatabaseSchema:
    """The tables (all, or ``tables``) with their keys, plus keys a job file declares."""
    declared = dict(declared or {})
    inspector = sa.inspect(connection)
    with quiet_reflection():
        present = sorted(inspector.get_table_names())
    if not present:
        raise InputError(
            f"{location} has no tables", hint="point to a database that holds your data"
        )
    selected = list(tables) if tables is not None else present
    for name in [*selected, *declared]:
        if name not in present:
            raise InputError(
                f"no table '{name}' in {location} (tables: {listing(present)})",
                hint="check the name in --tables or the job file",
            )
    for entry in declared.values():
        if entry.path is not None:
            raise InputError(
                f"tables.{entry.name}.path is set, but {location} is a database",
                hint="give path only for tables read from files",
            )
    dialect = connection.dialect.name
    default_schema = inspector.default_schema_name
    found = []
    for name in selected:
        table = _reflect_table(connection, inspector, name, dialect, default_schema, location)
        if name in declared:
            table = apply_declaration(table, declared[name])
        found.append(table)
    return DatabaseSchema.build(found, dialect=dialect, location=location)


def _reflect_table(
    connection: Connection,
    inspector: sa.Inspector,
    name: str,
    dialect: str,
    default_schema: str | None,
    location: str,
) -> TableDef:
    columns: list[ColumnDef] = []
    skipped: list[SkippedColumn] = []
    with quiet_reflection():
        reflected = inspector.get_columns(name)
        primary = tuple(inspector.get_pk_constraint(name).get("constrained_columns") or ())
        keys = inspector.get_foreign_keys(name)
    for column in reflected:
        kind = portable(column["type"], dialect)
        if kind is None:
            skipped.append(SkippedColumn(column["name"], type_name(column["type"], connection)))
            continue
        columns.append(
            ColumnDef(
                name=column["name"],
                type=kind,
                nullable=bool(column.get("nullable", True)) and column["name"] not in primary,
                autoincrement=_autoincrement(column, primary, dialect),
            )
        )
    foreign_keys = []
    for key in keys:
        other_schema = key.get("referred_schema")
        if other_schema is not None and other_schema != default_schema:
            raise InputError(
                f"{location}: table '{name}' has a foreign key to "
                f"{other_schema}.{key['referred_table']}, in another schema",
                hint="synthdb reads one schema at a time; copy the tables into one schema",
            )
        foreign_keys.append(
            ForeignKey(
                tuple(key["constrained_columns"]),
                key["referred_table"],
                tuple(key["referred_columns"]),
            )
        )
    count = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar()
    return TableDef(
        name=name,
        columns=columns,
        primary_key=primary,
        foreign_keys=foreign_keys,
        rows=int(count or 0),
        skipped=skipped,
    )


def _autoincrement(column: Mapping[str, object], primary: tuple[str, ...], dialect: str) -> bool:
    """A one-column integer key the database numbers itself (serial, AUTO_INCREMENT)."""
    if primary != (column["name"],) or dialect == "sqlite":
        # SQLite numbers every INTEGER PRIMARY KEY; there is nothing to carry over.
        return False
    return column.get("autoincrement") is True
