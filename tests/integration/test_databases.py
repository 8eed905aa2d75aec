"""Whole databases on the real SQLite, PostgreSQL and MariaDB: introspection, writing a database
with its keys, all-or-nothing failures, refusals, bad input, and passwords kept out of messages.

Every write goes through :func:`write_database`; what it did is checked behind its back with
plain SQLAlchemy or sqlite3.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from synthdb.errors import InputError, OutputError
from synthdb.io.database import check_database_output, open_database, write_database
from synthdb.schema.relations import (
    ColumnDef,
    DatabaseSchema,
    ForeignKey,
    SqlType,
    TableDef,
    parse_declarations,
)

INTEGER = SqlType("integer")
TEXT = SqlType("string", length=40)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.NullPool)


def _tables(url: str) -> list[str]:
    engine = _engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(sa.table(table))
            return int(connection.execute(query).scalar() or 0)
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _copy(source: str, target: str, *, overwrite: bool = False, rows: int = 1000) -> dict:
    database = open_database(source)
    schema = database.schema()
    frames = {name: database.read_chunks(name, rows=rows) for name in schema.order}
    return write_database(target, schema, frames, overwrite=overwrite)


def _sorted(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    return frame.sort_values(list(key)).reset_index(drop=True)


# --- introspection --------------------------------------------------------------------------


def test_chinook_schema_has_its_tables_and_keys(chinook: str) -> None:
    schema = open_database(chinook).schema()

    assert len(schema.tables) == 11
    # The issue says 14; the DDL (and PRAGMA foreign_key_list) declares 11.
    assert schema.foreign_key_count == 11
    assert schema.table("PlaylistTrack").primary_key == ("PlaylistId", "TrackId")
    assert schema.table("Invoice").primary_key == ("InvoiceId",)
    employee = schema.table("Employee")
    assert employee.self_references == [ForeignKey(("ReportsTo",), "Employee", ("EmployeeId",))]
    customer = schema.table("Customer")
    assert customer.is_nullable(customer.foreign_keys[0])
    assert {key.parent for key in schema.table("Track").foreign_keys} == {
        "Album",
        "Genre",
        "MediaType",
    }
    for position, name in enumerate(schema.order):
        for key in schema.parents(name):
            assert schema.order.index(key.parent) < position, (name, key.parent)
    assert schema.table("Invoice").column("Total").type == SqlType("numeric", precision=10, scale=2)
    assert schema.table("Track").rows == 3503


def test_schema_dict_round_trips_and_holds_no_location(chinook: str) -> None:
    schema = open_database(chinook).schema()

    data = json.loads(json.dumps(schema.to_dict()))

    assert DatabaseSchema.from_dict(data).to_dict() == schema.to_dict()
    assert "chinook" not in json.dumps(data)


# --- writing whole databases ----------------------------------------------------------------


def test_chinook_round_trip_keeps_keys_types_and_rows(chinook: str, target: str) -> None:
    rows = _copy(chinook, target, rows=700)

    source = open_database(chinook)
    copy = open_database(target)
    assert rows == {name: table.rows for name, table in source.schema().tables.items()}
    original, written = source.schema(), copy.schema()
    assert [t.to_dict() for t in written.tables.values()] == [
        t.to_dict() for t in original.tables.values()
    ]
    for name, table in original.tables.items():
        pd.testing.assert_frame_equal(
            _sorted(copy.read(name), table.primary_key),
            _sorted(source.read(name), table.primary_key),
            check_dtype=False,
        )


def test_written_foreign_keys_are_enforced(chinook: str, target: str) -> None:
    _copy(chinook, target)

    if target.startswith("sqlite"):
        with sqlite3.connect(target.removeprefix("sqlite:///")) as connection:
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        return
    quote = "`" if "mysql" in target else '"'
    with pytest.raises(sa.exc.IntegrityError):
        _execute(
            target, f"INSERT INTO {quote}InvoiceLine{quote} VALUES (99999, 1, 987654, 0.99, 1)"
        )


def test_chunked_reads_hold_one_chunk(chinook: str, target: str) -> None:
    _copy(chinook, target)

    sizes = [len(chunk) for chunk in open_database(target).read_chunks("Track", rows=1000)]

    assert sizes == [1000, 1000, 1000, 503]


def test_refuses_tables_that_have_rows(chinook: str, target: str, check_error) -> None:
    _copy(chinook, target)
    schema = open_database(chinook).schema()

    with pytest.raises(OutputError) as excinfo:
        check_database_output(target, schema)
    check_error(excinfo, "already has rows", "--overwrite")
    with pytest.raises(OutputError):
        _copy(chinook, target)

    assert _count(target, "Track") == 3503


def test_overwrite_replaces_tables_and_leaves_nothing_behind(chinook: str, target: str) -> None:
    _copy(chinook, target)
    schema = DatabaseSchema.build(
        [TableDef("Playlist", [ColumnDef("PlaylistId", INTEGER, nullable=False)], ("PlaylistId",))]
    )
    quote = "`" if "mysql" in target else '"'
    _execute(target, f"DROP TABLE {quote}PlaylistTrack{quote}")

    write_database(
        target, schema, {"Playlist": pd.DataFrame({"PlaylistId": [1, 2]})}, overwrite=True
    )

    assert _count(target, "Playlist") == 2
    assert len(_tables(target)) == 10
    assert not [name for name in _tables(target) if name.startswith("_synthdb")]
    assert open_database(target).schema(["Playlist"]).table("Playlist").names == ["PlaylistId"]


def test_overwrite_refuses_to_break_other_tables_keys(
    chinook: str, target: str, check_error
) -> None:
    _copy(chinook, target)
    schema = DatabaseSchema.build(
        [TableDef("Genre", [ColumnDef("GenreId", INTEGER, nullable=False)], ("GenreId",))]
    )

    with pytest.raises(OutputError) as excinfo:
        write_database(target, schema, {"Genre": pd.DataFrame({"GenreId": [1]})}, overwrite=True)

    check_error(excinfo, "'Genre'", "referenced by 'Track'")
    assert _count(target, "Genre") == 25


def _failing(frame: pd.DataFrame, after: int) -> Iterator[pd.DataFrame]:
    """Frames of 100 rows, then an error: a generator that breaks in the middle of a table."""
    for start in range(0, after, 100):
        yield frame.iloc[start : start + 100]
    raise RuntimeError("generation failed")


def test_failure_mid_write_leaves_a_new_target_empty(chinook: str, target: str) -> None:
    source = open_database(chinook)
    schema = source.schema()
    frames = {name: source.read(name) for name in schema.order}
    frames["Track"] = _failing(source.read("Track"), after=1500)

    with pytest.raises(RuntimeError, match="generation failed"):
        write_database(target, schema, frames)

    if target.startswith("sqlite"):
        assert not Path(target.removeprefix("sqlite:///")).exists()
    else:
        assert _tables(target) == []


def test_failure_mid_overwrite_keeps_the_old_tables(chinook: str, target: str) -> None:
    _copy(chinook, target)
    source = open_database(chinook)
    schema = source.schema()
    frames = {name: source.read(name) for name in schema.order}
    lines = frames["InvoiceLine"].copy()
    lines.loc[5, "TrackId"] = 999_999  # dangles: found only after every row is in
    frames["InvoiceLine"] = lines
    frames["Genre"] = frames["Genre"].assign(Name="changed")

    with pytest.raises(OutputError, match="InvoiceLine") as excinfo:
        write_database(target, schema, frames, overwrite=True)

    assert "1 rows" in str(excinfo.value)
    assert "changed" not in open_database(target).read("Genre")["Name"].tolist()
    assert _count(target, "InvoiceLine") == 2240
    assert len(_tables(target)) == 11


def _staff_schema() -> DatabaseSchema:
    """A cycle (dept.manager -> emp, emp.dept -> dept) plus a self-reference (emp.boss)."""
    dept = TableDef(
        "dept",
        [ColumnDef("id", INTEGER, nullable=False), ColumnDef("manager", INTEGER)],
        ("id",),
        [ForeignKey(("manager",), "emp")],
    )
    emp = TableDef(
        "emp",
        [
            ColumnDef("id", INTEGER, nullable=False),
            ColumnDef("dept", INTEGER, nullable=False),
            ColumnDef("boss", INTEGER),
            ColumnDef("name", TEXT),
        ],
        ("id",),
        [ForeignKey(("dept",), "dept"), ForeignKey(("boss",), "emp")],
    )
    return DatabaseSchema.build([emp, dept])


def test_cycles_and_self_references_load_in_any_row_order(target: str) -> None:
    schema = _staff_schema()
    frames = {
        "dept": pd.DataFrame({"id": [1, 2], "manager": [3, None]}),
        # Subordinates come before their bosses.
        "emp": pd.DataFrame(
            {"id": [1, 2, 3], "dept": [1, 2, 1], "boss": [2, 3, None], "name": ["a", "b", "c"]}
        ),
    }

    write_database(target, schema, frames)

    assert schema.order == ["dept", "emp"]
    assert [(b.table, b.key.columns) for b in schema.cycle_breaks] == [("dept", ("manager",))]
    written = open_database(target).schema()
    assert written.foreign_key_count == 3
    assert open_database(target).read("emp")["boss"].isna().sum() == 1


def test_composite_foreign_keys_round_trip(target: str) -> None:
    part = TableDef(
        "part",
        [
            ColumnDef("maker", TEXT, nullable=False),
            ColumnDef("code", INTEGER, nullable=False),
            ColumnDef("price", SqlType("numeric", precision=8, scale=2)),
        ],
        ("maker", "code"),
    )
    line = TableDef(
        "line",
        [
            ColumnDef("id", SqlType("bigint"), nullable=False),
            ColumnDef("part_maker", TEXT),
            ColumnDef("part_code", INTEGER),
        ],
        ("id",),
        [ForeignKey(("part_maker", "part_code"), "part")],
    )
    schema = DatabaseSchema.build([line, part])
    frames = {
        "part": pd.DataFrame({"maker": ["x", "x", "y"], "code": [1, 2, 1], "price": [1.5, 2, 3]}),
        "line": pd.DataFrame(
            {"id": [10, 11, 12], "part_maker": ["x", "y", None], "part_code": [2, 1, 7]}
        ),
    }

    write_database(target, schema, frames)

    written = open_database(target).schema()
    assert written.table("line").foreign_keys == [
        ForeignKey(("part_maker", "part_code"), "part", ("maker", "code"))
    ]
    assert written.table("part").primary_key == ("maker", "code")


def test_numeric_columns_hold_their_declared_scale_on_every_database(target: str) -> None:
    # SQLite stores any REAL in a NUMERIC(10,2) column; PostgreSQL and MariaDB round. The
    # writer rounds, so a twin holds the same amounts whichever database it goes to.
    price = TableDef(
        "price",
        [
            ColumnDef("id", INTEGER, nullable=False),
            ColumnDef("amount", SqlType("numeric", precision=10, scale=2)),
        ],
        ("id",),
    )
    amounts = [0.99 * 3, 1.234999, 2452.0000000001, None]
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "amount": amounts})

    write_database(target, DatabaseSchema.build([price]), {"price": frame})

    read = _sorted(open_database(target).read("price"), ("id",))["amount"]
    assert read.iloc[:3].tolist() == [2.97, 1.23, 2452.0]
    assert pd.isna(read.iloc[3])


def test_dangling_foreign_key_writes_nothing(target: str, check_error) -> None:
    schema = _staff_schema()
    frames = {
        "dept": pd.DataFrame({"id": [1], "manager": [None]}),
        "emp": pd.DataFrame({"id": [1, 2], "dept": [1, 5], "boss": [None, 1], "name": ["a", "b"]}),
    }

    with pytest.raises(OutputError) as excinfo:
        write_database(target, schema, frames)

    check_error(excinfo, "1 rows of 'emp'", "emp(dept) -> dept(id)")
    if not target.startswith("sqlite"):
        assert _tables(target) == []


def test_fills_existing_empty_tables(target: str) -> None:
    quote = "`" if "mysql" in target else '"'
    _execute(
        target,
        f"CREATE TABLE {quote}dept{quote} (id INTEGER PRIMARY KEY, manager INTEGER)",
    )
    schema = _staff_schema()
    frames = {
        "dept": pd.DataFrame({"id": [1], "manager": [1]}),
        "emp": pd.DataFrame({"id": [1], "dept": [1], "boss": [None], "name": ["a"]}),
    }

    write_database(target, schema, frames)

    assert _count(target, "dept") == 1
    assert _count(target, "emp") == 1


# --- bad input ------------------------------------------------------------------------------


def test_unreachable_server_is_one_line_without_the_password(check_error) -> None:
    with pytest.raises(InputError) as excinfo:
        open_database("postgresql://someone:Sup3r-s3cret@127.0.0.1:9/test")

    message = check_error(excinfo, "cannot read", "127.0.0.1:9")
    assert "Sup3r-s3cret" not in message
    assert "***" in message


def test_wrong_password_is_one_line_and_masked(
    mariadb: str, check_error, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.make_url(mariadb).set(password="Wr0ng-pass-77").render_as_string(hide_password=False)
    with pytest.raises(InputError) as excinfo:
        open_database(url)
    message = check_error(excinfo, "Access denied")
    assert "Wr0ng-pass-77" not in message

    monkeypatch.setenv("SYNTHDB_DB_PASSWORD", "Env-pass-99")
    with pytest.raises(InputError) as excinfo:
        open_database(mariadb)
    assert "Env-pass-99" not in check_error(excinfo, "Access denied")


def test_unknown_postgres_user_is_one_line(postgres: str, check_error) -> None:
    url = sa.make_url(postgres).set(username="no_such_user_x").render_as_string(False)
    with pytest.raises(InputError) as excinfo:
        open_database(url)
    check_error(excinfo, "no_such_user_x")


def test_unknown_table_and_empty_database(chinook: str, target: str, check_error) -> None:
    with pytest.raises(InputError) as excinfo:
        open_database(chinook).schema(["Album", "Nope"])
    check_error(excinfo, "no table 'Nope'", "Album")

    if target.startswith("sqlite"):
        sqlite3.connect(target.removeprefix("sqlite:///")).close()
    with pytest.raises(InputError) as excinfo:
        open_database(target).schema()
    check_error(excinfo, "has no tables")


def test_selected_tables_must_include_parents(chinook: str, check_error) -> None:
    schema = open_database(chinook).schema(["Artist", "Album"])
    assert schema.order == ["Artist", "Album"]

    with pytest.raises(InputError) as excinfo:
        open_database(chinook).schema(["Album"])
    check_error(excinfo, "Album(ArtistId) -> Artist(ArtistId)", "'Artist' is not among")


def test_foreign_key_to_a_missing_table(tmp_path: Path, check_error) -> None:
    path = tmp_path / "broken.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES gone)")

    with pytest.raises(InputError) as excinfo:
        open_database(f"sqlite:///{path}").schema()

    check_error(excinfo, "child(p) -> gone", "'gone' is not among")


def test_referenced_table_without_primary_key(tmp_path: Path, check_error) -> None:
    path = tmp_path / "nopk.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE parent (code TEXT UNIQUE, name TEXT)")
        connection.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, c TEXT REFERENCES parent(code))"
        )

    with pytest.raises(InputError) as excinfo:
        open_database(f"sqlite:///{path}").schema()

    check_error(excinfo, "child(c) -> parent(code)", "'parent' has no primary key")


def test_empty_tables_are_written_with_their_keys_and_types(tmp_path: Path, target: str) -> None:
    # Setup: an empty parent with a text key, and an empty child with a composite key
    path = tmp_path / "empty.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE shop (id INTEGER PRIMARY KEY, city VARCHAR(20));
            INSERT INTO shop VALUES (1, 'Oslo'), (2, 'Rome');
            CREATE TABLE promo (code VARCHAR(8) PRIMARY KEY, label VARCHAR(20));
            CREATE TABLE promo_shop (
                code VARCHAR(8) NOT NULL REFERENCES promo(code),
                shop_id INTEGER NOT NULL REFERENCES shop(id),
                since DATE,
                PRIMARY KEY (code, shop_id));
            """
        )
    source = f"sqlite:///{path}"

    # Run
    rows = _copy(source, target)

    # Assert
    assert rows == {"shop": 2, "promo": 0, "promo_shop": 0}
    expected = open_database(source).schema()
    written = open_database(target).schema()
    assert written.order == expected.order
    for name, table in expected.tables.items():
        copy = written.table(name)
        assert copy.primary_key == table.primary_key, name
        assert copy.foreign_keys == table.foreign_keys, name
        assert [(c.name, c.type, c.nullable) for c in copy.columns] == [
            (c.name, c.type, c.nullable) for c in table.columns
        ], name
    assert _count(target, "promo") == 0 and _count(target, "promo_shop") == 0


def test_an_empty_csv_table_takes_its_key_types_from_its_parent(
    tmp_path: Path, target: str
) -> None:
    # Setup: files declare no types; the child's file has a header and no rows, so only its
    # parent's values say what its foreign key holds (PostgreSQL and MariaDB refuse a text key
    # pointing at an integer one). The parent's rows are integers, as a twin's new keys are.
    (tmp_path / "parent.csv").write_text("id,name\n1,a\n2,b\n")
    (tmp_path / "child.csv").write_text("id,parent_id,note\n")
    declared = parse_declarations(
        {
            "parent": {"primary_key": "id"},
            "child": {
                "primary_key": "id",
                "foreign_keys": [{"columns": "parent_id", "references": "parent.id"}],
            },
        },
        base=tmp_path,
    )
    database = open_database(tmp_path, declared=declared)
    schema = database.schema()

    # Run
    parent = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    rows = write_database(target, schema, {"parent": parent, "child": database.read("child")})

    # Assert
    assert rows == {"parent": 2, "child": 0}
    written = open_database(target).schema()
    assert written.table("parent").column("id").type == SqlType("bigint")
    assert written.table("child").column("parent_id").type == SqlType("bigint")
    assert written.table("child").foreign_keys == [ForeignKey(("parent_id",), "parent", ("id",))]


def test_unsupported_types_are_skipped_with_a_warning(postgres: str, mariadb: str) -> None:
    _execute(
        postgres,
        "CREATE TABLE doc (id serial PRIMARY KEY, body bytea, meta jsonb, seen timestamptz,"
        " ref uuid, ok boolean)",
        "INSERT INTO doc (body, meta, seen, ref, ok) VALUES ('\\x00', '{}', now(),"
        " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true)",
    )
    _execute(
        mariadb,
        "CREATE TABLE doc (id INTEGER AUTO_INCREMENT PRIMARY KEY, body BLOB, ok BOOLEAN)",
        "INSERT INTO doc (body, ok) VALUES ('x', true)",
    )

    for url, skipped in ((postgres, ["body", "meta"]), (mariadb, ["body"])):
        database = open_database(url)
        table = database.schema().table("doc")
        assert [column.name for column in table.skipped] == skipped
        assert database.schema().warnings()[0].startswith("warning: doc.body has type")
        frame = database.read("doc")
        assert "body" not in frame.columns
        assert frame["ok"].tolist() == [True]
        assert table.column("id").autoincrement

    pg = open_database(postgres)
    assert pg.read("doc")["ref"].tolist() == ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]
    write_database(postgres, pg.schema(), {"doc": pg.read("doc")}, overwrite=True)
    _execute(postgres, "INSERT INTO doc (ok) VALUES (false)")  # the serial key goes on at 2
    assert sorted(pg.read("doc")["id"]) == [1, 2]
    # PostgreSQL -> MariaDB -> PostgreSQL keeps the portable types and the serial key working.
    schema = pg.schema()
    write_database(mariadb, schema, {"doc": pg.read("doc")}, overwrite=True)
    back = open_database(mariadb).schema().table("doc")
    assert back.column("ok").type == SqlType("boolean")
    assert back.column("seen").type == SqlType("datetime")
    assert open_database(mariadb).read("doc")["ref"].tolist() == pg.read("doc")["ref"].tolist()


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch, check_error) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)

    with pytest.raises(InputError) as excinfo:
        open_database("mysql://root@127.0.0.1/test")

    check_error(excinfo, "driver 'pymysql' is not installed", "synthdb[mysql]")


_PEAK_MEMORY = """
import resource, sys
from synthdb.io.database import open_database
database = open_database(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(len(chunk) for chunk in database.read_chunks("big", rows=10_000))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows, (after - before) // 1024)
"""


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgres", "mariadb"])
def test_chunked_reads_stream_from_the_server(server: str, request: pytest.FixtureRequest) -> None:
    """A million rows of 64-character text are over 110 MB as Python strings alone; read in
    chunks of 10,000 through a server-side cursor, the peak grows by a fraction of that."""
    url = str(request.getfixturevalue(server))
    if server == "postgres":
        fill = "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5(g::text) AS t"
        fill += " FROM generate_series(1, 1000000) g"
    else:
        fill = "CREATE TABLE big AS SELECT seq AS id, concat(md5(seq), md5(seq)) AS t"
        fill += " FROM seq_1_to_1000000"
    _execute(url, fill)

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY, url], capture_output=True, text=True, check=True
    )

    rows, growth_mb = (int(part) for part in done.stdout.split())
    assert rows == 1_000_000
    assert growth_mb < 60, growth_mb
