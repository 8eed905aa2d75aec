"""How the tables of a database fit together: columns with portable SQL types, keys, and order.

A :class:`DatabaseSchema` is what introspection finds (or a job file declares) and what
:func:`synthdb.io.write_database` recreates. It is plain data, serialisable with
:meth:`DatabaseSchema.to_dict`, and holds no location or credentials, so it can go into a model
file as it is.

Types are kept portable: each column's type is one of :data:`SQL_TYPES` (SQLAlchemy's generic
types, with length, precision and scale), so a PostgreSQL source can be written to SQLite or
MariaDB and read back with the same types. Columns of other types (binary, JSON, arrays,
geometry, intervals, ...) are not modelled: they are listed in :attr:`TableDef.skipped`.

Tables are kept in dependency order (every table after the tables its foreign keys point to),
which is the order to generate and to insert them. A foreign-key cycle is broken at a nullable
foreign key (listed in :attr:`DatabaseSchema.cycle_breaks`); a cycle without one cannot be
inserted and is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthdb.errors import InputError, SynthdbError, UsageError

#: Portable column types; every database we write maps each of them to a native type.
SQL_TYPES = (
    "smallint",
    "integer",
    "bigint",
    "real",
    "double",
    "numeric",
    "boolean",
    "string",
    "text",
    "date",
    "datetime",
    "time",
    "uuid",
)

#: Version of the dict layout written by :meth:`DatabaseSchema.to_dict`.
SCHEMA_FORMAT = 1


@dataclass(frozen=True)
class SqlType:
    """A portable column type: ``string`` with a length, ``numeric`` with precision and scale."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool = False

    def __post_init__(self) -> None:
        if self.name not in SQL_TYPES:
            raise ValueError(f"unknown SQL type {self.name!r}; known: {', '.join(SQL_TYPES)}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("length", "precision", "scale"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.timezone:
            out["timezone"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SqlType:
        return cls(
            name=str(data["name"]),
            length=data.get("length"),
            precision=data.get("precision"),
            scale=data.get("scale"),
            timezone=bool(data.get("timezone", False)),
        )

    def __str__(self) -> str:
        if self.length is not None:
            return f"{self.name}({self.length})"
        if self.precision is not None:
            scale = f",{self.scale}" if self.scale is not None else ""
            return f"{self.name}({self.precision}{scale})"
        return f"{self.name} with time zone" if self.timezone else self.name


@dataclass(frozen=True)
class ColumnDef:
    """A column as the database declares it.

    ``type`` is None when the source does not declare types (CSV files): a database sink then
    derives the type from the values written.
    """

    name: str
    type: SqlType | None = None
    nullable: bool = True
    #: the database fills it from a sequence (PostgreSQL serial, MySQL AUTO_INCREMENT)
    autoincrement: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "nullable": self.nullable}
        out["type"] = self.type.to_dict() if self.type is not None else None
        if self.autoincrement:
            out["autoincrement"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnDef:
        kind = data.get("type")
        return cls(
            name=str(data["name"]),
            type=SqlType.from_dict(kind) if kind is not None else None,
            nullable=bool(data.get("nullable", True)),
            autoincrement=bool(data.get("autoincrement", False)),
        )


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of the owning table point at ``parent_columns`` (the parent's primary key).

    ``parent_columns`` may be empty in a declaration, meaning the parent's primary key; a
    :class:`DatabaseSchema` always holds them filled in.
    """

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "parent": self.parent,
            "parent_columns": list(self.parent_columns),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForeignKey:
        return cls(
            columns=tuple(data["columns"]),
            parent=str(data["parent"]),
            parent_columns=tuple(data.get("parent_columns", ())),
        )

    def describe(self, table: str) -> str:
        """``Invoice(CustomerId) -> Customer(CustomerId)``, for messages."""
        return (
            f"{table}({', '.join(self.columns)}) -> "
            f"{self.parent}({', '.join(self.parent_columns) or 'primary key'})"
        )


@dataclass(frozen=True)
class SkippedColumn:
    """A column left out because its type is not modelled; ``type`` is the native type's name."""

    name: str
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type}


@dataclass
class TableDef:
    """One table: modelled columns in source order, keys, and the row count when known."""

    name: str
    columns: list[ColumnDef] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    #: rows in the source (None when counting would mean reading the data, as for CSV)
    rows: int | None = None
    skipped: list[SkippedColumn] = field(default_factory=list)
    #: folder sources: the file holding the table (not saved by :meth:`to_dict`)
    path: Path | None = None

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> ColumnDef:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def is_nullable(self, key: ForeignKey) -> bool:
        """A foreign key may be NULL when any of its columns may (SQL's MATCH SIMPLE)."""
        return any(self.column(name).nullable for name in key.columns)

    @property
    def self_references(self) -> list[ForeignKey]:
        return [key for key in self.foreign_keys if key.parent == self.name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": [column.to_dict() for column in self.columns],
            "primary_key": list(self.primary_key),
            "foreign_keys": [key.to_dict() for key in self.foreign_keys],
            "skipped": [column.to_dict() for column in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableDef:
        return cls(
            name=str(data["name"]),
            columns=[ColumnDef.from_dict(c) for c in data.get("columns", [])],
            primary_key=tuple(data.get("primary_key", ())),
            foreign_keys=[ForeignKey.from_dict(k) for k in data.get("foreign_keys", [])],
            rows=data.get("rows"),
            skipped=[
                SkippedColumn(str(s["name"]), str(s["type"])) for s in data.get("skipped", [])
            ],
        )


@dataclass(frozen=True)
class CycleBreak:
    """A nullable foreign key ignored when ordering tables, so that a cycle can be inserted."""

    table: str
    key: ForeignKey


@dataclass
class DatabaseSchema:
    """Tables in dependency order, parents before children; build with :meth:`build`."""

    tables: dict[str, TableDef]
    #: where the schema came from: "sqlite", "postgresql", "mysql", "mariadb", "csv", "parquet"
    dialect: str | None = None
    cycle_breaks: list[CycleBreak] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        tables: Iterable[TableDef],
        *,
        dialect: str | None = None,
        location: str = "the source",
        error: type[SynthdbError] = InputError,
    ) -> DatabaseSchema:
        """Check the keys, fill in each foreign key's parent columns, and order the tables.

        Raises ``error`` (one line, naming the table) for a foreign key to a missing table or
        column, to a table without a primary key, or to columns other than that key, and for a
        cycle that no nullable foreign key breaks.
        """
        by_name: dict[str, TableDef] = {}
        for table in tables:
            if table.name in by_name:
                raise error(f"{location}: table '{table.name}' appears twice")
            by_name[table.name] = table
        if not by_name:
            raise InputError(
                f"{location} has no tables", hint="point to a database that holds your data"
            )
        for table in by_name.values():
            _check_keys(table, by_name, location, error)
            # Databases list foreign keys in different orders (PostgreSQL by constraint name):
            # the order of their columns in the table is the same everywhere.
            position = {name: index for index, name in enumerate(table.names)}
            table.foreign_keys.sort(key=lambda k: ([position[c] for c in k.columns], k.parent))
        order, breaks = _dependency_order(by_name, location, error)
        return cls(
            tables={name: by_name[name] for name in order}, dialect=dialect, cycle_breaks=breaks
        )

    @property
    def order(self) -> list[str]:
        """Table names, each after every table it references (cycle breaks aside)."""
        return list(self.tables)

    def table(self, name: str) -> TableDef:
        return self.tables[name]

    def parents(self, name: str) -> list[ForeignKey]:
        """The foreign keys of ``name`` that point to other tables, cycle breaks included."""
        return [key for key in self.tables[name].foreign_keys if key.parent != name]

    def children(self, name: str) -> list[tuple[str, ForeignKey]]:
        """(child table, its foreign key) for every foreign key pointing at ``name``."""
        return [
            (child.name, key)
            for child in self.tables.values()
            for key in child.foreign_keys
            if key.parent == name and child.name != name
        ]

    def is_cycle_break(self, table: str, key: ForeignKey) -> bool:
        return any(b.table == table and b.key == key for b in self.cycle_breaks)

    @property
    def foreign_key_count(self) -> int:
        return sum(len(table.foreign_keys) for table in self.tables.values())

    def warnings(self) -> list[str]:
        """One line per skipped column, for the CLI to print."""
        return [
            f"warning: {table.name}.{column.name} has type {column.type}, which synthdb does "
            "not model; it is left out"
            for table in self.tables.values()
            for column in table.skipped
        ]

    def empty_tables(self, rows: Mapping[str, int] | None = None) -> tuple[list[str], list[str]]:
        """The tables a twin of this database holds no rows of, and one note per consequence.

        An empty table is never a reason to stop: a database may well hold a table nobody has
        filled yet, and the twin should have it too. It has nothing to learn from, so it gets no
        model and is created empty, with its keys. Its children then have no row to point at:

        - a foreign key whose columns may all be NULL is written NULL in every row (the
          source's rows can only hold NULL there as well, unless its keys are not enforced);
        - a foreign key with a column that may not be NULL leaves its table empty too, since
          no row of it could be written; and so on down the relations.

        ``rows`` overrides the counts stored in the tables (unknown for CSV until read); a table
        whose count is unknown is taken to have rows. Tables come in dependency order.
        """
        no_rows: set[str] = set()
        for table in self.tables.values():
            count = rows.get(table.name) if rows is not None else None
            if (table.rows if count is None else count) == 0:
                no_rows.add(table.name)
        empty = set(no_rows)
        # A cycle break may point at a table later in the order: repeat until nothing changes.
        changed = True
        while changed:
            changed = False
            for table in self.tables.values():
                if table.name not in empty and any(
                    key.parent in empty and not _may_be_null(table, key)
                    for key in self.parents(table.name)
                ):
                    empty.add(table.name)
                    changed = True
        notes: list[str] = []
        for table in self.tables.values():
            blocking = [
                key
                for key in self.parents(table.name)
                if key.parent in empty and not _may_be_null(table, key)
            ]
            if table.name in empty and table.name not in no_rows:
                key = blocking[0]
                notes.append(
                    f"table '{table.name}' is left empty in the twin: "
                    f"{key.describe(table.name)} may not be NULL and '{key.parent}' has no rows"
                )
            elif table.name in empty:
                notes.append(
                    f"table '{table.name}' has no rows: it is created empty in the twin, "
                    "with its keys, and gets no model"
                )
            else:
                notes.extend(
                    f"{key.describe(table.name)}: '{key.parent}' has no rows, so this key is "
                    "NULL in every row of the twin"
                    for key in self.parents(table.name)
                    if key.parent in empty
                )
        return [name for name in self.tables if name in empty], notes

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (no location, no credentials) for the model file."""
        return {
            "format": SCHEMA_FORMAT,
            "dialect": self.dialect,
            "tables": [table.to_dict() for table in self.tables.values()],
            "cycle_breaks": [
                {"table": b.table, "columns": list(b.key.columns)} for b in self.cycle_breaks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatabaseSchema:
        if data.get("format") != SCHEMA_FORMAT:
            raise ValueError(f"unknown database schema format {data.get('format')!r}")
        schema = cls.build(
            (TableDef.from_dict(t) for t in data["tables"]), dialect=data.get("dialect")
        )
        saved = {(b["table"], tuple(b["columns"])) for b in data.get("cycle_breaks", [])}
        found = {(b.table, b.key.columns) for b in schema.cycle_breaks}
        if saved != found:
            raise ValueError(
                f"cycle breaks {sorted(saved)} differ from the derived {sorted(found)}"
            )
        return schema


def _may_be_null(table: TableDef, key: ForeignKey) -> bool:
    """Whether the twin may write NULL in every column of ``key``, as it does for a row that
    has no parent: all the columns must allow it, not just one (SQL's MATCH SIMPLE would
    accept a partly NULL key, but the twin writes the whole key NULL)."""
    return all(table.column(name).nullable for name in key.columns)


def _check_keys(
    table: TableDef,
    tables: Mapping[str, TableDef],
    location: str,
    error: type[SynthdbError],
) -> None:
    names = set(table.names)
    missing = [name for name in table.primary_key if name not in names]
    if missing:
        raise error(
            f"{location}: primary key column '{missing[0]}' of table '{table.name}' is not "
            "one of its columns",
            hint=_skipped_hint(table, missing[0]),
        )
    for index, key in enumerate(table.foreign_keys):
        where = f"{location}: foreign key {key.describe(table.name)}"
        absent = [name for name in key.columns if name not in names]
        if absent:
            raise error(
                f"{where}: '{absent[0]}' is not a column of '{table.name}'",
                hint=_skipped_hint(table, absent[0]),
            )
        parent = tables.get(key.parent)
        if parent is None:
            raise error(
                f"{where}: table '{key.parent}' is not among the tables read",
                hint="include it (--tables or the job file), or drop the foreign key",
            )
        if not parent.primary_key:
            raise error(
                f"{where}: table '{key.parent}' has no primary key",
                hint=f"declare a primary key for '{key.parent}' in the job file",
            )
        columns = tuple(key.parent_columns or parent.primary_key)
        if len(key.columns) != len(columns):
            raise error(
                f"{where}: {len(key.columns)} columns point at {len(columns)}",
                hint="list as many columns as the parent's primary key has",
            )
        if columns != parent.primary_key and sorted(columns) == sorted(parent.primary_key):
            # Same key listed in another order: keep the pairs, in the parent's key order.
            pairs = dict(zip(columns, key.columns, strict=True))
            key = ForeignKey(tuple(pairs[c] for c in parent.primary_key), key.parent)
            columns = parent.primary_key
        if columns != parent.primary_key:
            raise error(
                f"{where}: it points at {key.parent}({', '.join(columns)}), not at its "
                f"primary key ({', '.join(parent.primary_key)})",
                hint="synthdb keeps foreign keys that point at a primary key only",
            )
        table.foreign_keys[index] = ForeignKey(key.columns, key.parent, columns)


def _skipped_hint(table: TableDef, column: str) -> str:
    for skipped in table.skipped:
        if skipped.name == column:
            return f"its type {skipped.type} is not supported, and keys cannot be left out"
    return "check the column names"


def _dependency_order(
    tables: Mapping[str, TableDef], location: str, error: type[SynthdbError]
) -> tuple[list[str], list[CycleBreak]]:
    """Kahn's algorithm over the foreign keys, breaking cycles at nullable foreign keys.

    Ties keep the tables' given order, so the result is deterministic.
    """
    breaks: list[CycleBreak] = []
    while True:
        pending = {
            name: {
                key.parent
                for key in table.foreign_keys
                if key.parent != name and CycleBreak(name, key) not in breaks
            }
            for name, table in tables.items()
        }
        order: list[str] = []
        while True:
            ready = [name for name, needs in pending.items() if not needs]
            if not ready:
                break
            for name in ready:
                order.append(name)
                del pending[name]
            for needs in pending.values():
                needs.difference_update(ready)
        if not pending:
            return order, breaks
        cycle = _find_cycle(pending)
        breaks.append(_break(cycle, tables, location, error))


def _find_cycle(pending: Mapping[str, set[str]]) -> list[str]:
    """Some cycle among tables that all wait on each other: walk parents until one repeats."""
    path = [min(pending)]
    while True:
        following = sorted(pending[path[-1]])[0]
        if following in path:
            return path[path.index(following) :]
        path.append(following)


def _break(
    cycle: Sequence[str],
    tables: Mapping[str, TableDef],
    location: str,
    error: type[SynthdbError],
) -> CycleBreak:
    steps = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
    for child, parent in steps:
        for key in tables[child].foreign_keys:
            if key.parent == parent and tables[child].is_nullable(key):
                return CycleBreak(child, key)
    shown = " -> ".join([*cycle, cycle[0]])
    raise error(
        f"{location}: the foreign keys {shown} form a cycle and none of them may be NULL, "
        "so no row could be inserted first",
        hint="make one of those foreign-key columns nullable, or leave a table out",
    )


# --- relations declared in a job file -----------------------------------------------------

#: Keys of a job file's ``tables.<name>`` entry that describe the table and its relations;
#: any other key (a per-table training setting) is kept in :attr:`TableDeclaration.settings`.
RELATION_KEYS = ("path", "primary_key", "foreign_keys")


@dataclass(frozen=True)
class TableDeclaration:
    """What a job file says about one table::

    tables:
      orders:
        path: orders.csv              # folder sources; relative to the job file
        primary_key: id               # or [a, b]
        foreign_keys:
          - {columns: customer_id, references: customers.id}
          - {columns: [a, b], references: {table: parts, columns: [x, y]}}
          - {columns: shop_id, references: shops}    # the parent's primary key
        max_epochs: 20                # not a relation: kept in ``settings``
    """

    name: str
    path: Path | None = None
    primary_key: tuple[str, ...] | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)


def parse_declarations(
    raw: Any, *, base: Path, where: str = "tables"
) -> dict[str, TableDeclaration]:
    """Validate a job file's ``tables`` mapping; paths are taken relative to ``base``.

    Errors are one-line :class:`~synthdb.errors.UsageError` naming the key, such as
    ``tables.orders.foreign_keys[0].references``.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise UsageError(
            f"{where} must map table names to their settings",
            hint="write tables: {orders: {path: orders.csv, primary_key: id}}",
        )
    declared: dict[str, TableDeclaration] = {}
    for name, entry in raw.items():
        here = f"{where}.{name}"
        if entry is None:
            entry = {}
        if not isinstance(entry, Mapping):
            raise UsageError(
                f"{here} must be a mapping", hint="give path, primary_key and foreign_keys"
            )
        path = entry.get("path")
        if path is not None and not isinstance(path, str):
            raise UsageError(f"{here}.path must be a file name (got {path!r})")
        keys = entry.get("foreign_keys") or []
        if not isinstance(keys, list):
            raise UsageError(
                f"{here}.foreign_keys must be a list",
                hint="write foreign_keys: [{columns: customer_id, references: customers.id}]",
            )
        primary = entry.get("primary_key")
        declared[str(name)] = TableDeclaration(
            name=str(name),
            path=(base / path) if path is not None else None,
            primary_key=_names(primary, f"{here}.primary_key") if primary is not None else None,
            foreign_keys=tuple(
                _declared_key(key, f"{here}.foreign_keys[{index}]")
                for index, key in enumerate(keys)
            ),
            settings={k: v for k, v in entry.items() if k not in RELATION_KEYS},
        )
    return declared


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, str) and item for item in value)
        and len(set(value)) == len(value)
    ):
        return tuple(value)
    raise UsageError(f"{where} must be a column name or a list of distinct names (got {value!r})")


def _declared_key(raw: Any, where: str) -> ForeignKey:
    if not isinstance(raw, Mapping) or "columns" not in raw or "references" not in raw:
        raise UsageError(
            f"{where} must have columns and references",
            hint="write {columns: customer_id, references: customers.id}",
        )
    columns = _names(raw["columns"], f"{where}.columns")
    target = raw["references"]
    if isinstance(target, Mapping) and isinstance(target.get("table"), str):
        parent = target["table"]
        parent_columns = (
            _names(target["columns"], f"{where}.references.columns")
            if target.get("columns") is not None
            else ()
        )
    elif isinstance(target, str) and target:
        parent, dot, column = target.rpartition(".")
        if not dot:
            parent, parent_columns = target, ()
        elif not parent or not column:
            raise UsageError(f"{where}.references '{target}' must be table or table.column")
        else:
            parent_columns = (column,)
    else:
        raise UsageError(
            f"{where}.references must be 'table', 'table.column' or "
            f"{{table: ..., columns: [...]}} (got {target!r})"
        )
    if parent_columns and len(parent_columns) != len(columns):
        raise UsageError(
            f"{where}: {len(columns)} columns reference {len(parent_columns)}",
            hint="list the same number of columns on both sides",
        )
    return ForeignKey(columns, parent, parent_columns)


def apply_declaration(table: TableDef, declared: TableDeclaration) -> TableDef:
    """The table with the job file's primary key (if given) and foreign keys added to its own."""
    keys = list(table.foreign_keys)
    for key in declared.foreign_keys:
        if not any(k.columns == key.columns and k.parent == key.parent for k in keys):
            keys.append(key)
    primary = declared.primary_key if declared.primary_key is not None else table.primary_key
    columns = [
        ColumnDef(c.name, c.type, nullable=False, autoincrement=c.autoincrement)
        if c.name in primary
        else c
        for c in table.columns
    ]
    return TableDef(
        name=table.name,
        columns=columns,
        primary_key=primary,
        foreign_keys=keys,
        rows=table.rows,
        skipped=list(table.skipped),
        path=table.path,
    )
