"""DatabaseSchema: key checks, dependency order, cycle breaking, job-file declarations."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthdb.errors import InputError, UsageError
from synthdb.schema.relations import (
    ColumnDef,
    DatabaseSchema,
    ForeignKey,
    SqlType,
    TableDeclaration,
    TableDef,
    apply_declaration,
    parse_declarations,
)

INTEGER = SqlType("integer")


def _table(name: str, *keys: ForeignKey, nullable: bool = False, pk: bool = True) -> TableDef:
    columns = [ColumnDef("id", INTEGER, nullable=False)]
    columns += [ColumnDef(c, INTEGER, nullable=nullable) for k in keys for c in k.columns]
    return TableDef(name, columns, ("id",) if pk else (), list(keys))


def test_order_puts_parents_first_and_keeps_ties_in_given_order() -> None:
    schema = DatabaseSchema.build(
        [
            _table("lines", ForeignKey(("order_id",), "orders"), ForeignKey(("item_id",), "items")),
            _table("orders", ForeignKey(("customer_id",), "customers")),
            _table("items"),
            _table("customers"),
        ]
    )

    assert schema.order == ["items", "customers", "orders", "lines"]
    assert schema.table("lines").foreign_keys[0].parent_columns == ("id",)
    assert schema.children("orders") == [("lines", schema.table("lines").foreign_keys[0])]
    assert schema.parents("orders") == [ForeignKey(("customer_id",), "customers", ("id",))]


def test_self_reference_needs_no_break() -> None:
    schema = DatabaseSchema.build([_table("staff", ForeignKey(("boss",), "staff"), nullable=True)])

    assert schema.cycle_breaks == []
    assert schema.table("staff").self_references[0].parent == "staff"
    assert schema.parents("staff") == []


def test_cycle_is_broken_at_a_nullable_key() -> None:
    a = _table("a", ForeignKey(("b_id",), "b"))
    b = _table("b", ForeignKey(("a_id",), "a"), nullable=True)

    schema = DatabaseSchema.build([a, b])

    assert [(x.table, x.key.columns) for x in schema.cycle_breaks] == [("b", ("a_id",))]
    assert schema.order == ["b", "a"]
    assert schema.is_cycle_break("b", schema.table("b").foreign_keys[0])
    assert DatabaseSchema.from_dict(schema.to_dict()).to_dict() == schema.to_dict()


def test_cycle_without_nullable_key_is_refused() -> None:
    a = _table("a", ForeignKey(("b_id",), "b"))
    b = _table("b", ForeignKey(("c_id",), "c"))
    c = _table("c", ForeignKey(("a_id",), "a"))

    with pytest.raises(InputError, match=r"a -> b -> c -> a form a cycle") as excinfo:
        DatabaseSchema.build([a, b, c])

    assert "nullable" in str(excinfo.value)


@pytest.mark.parametrize(
    ("tables", "fragment"),
    [
        ([_table("a", ForeignKey(("x",), "gone"))], "'gone' is not among"),
        ([_table("a", ForeignKey(("x",), "b")), _table("b", pk=False)], "'b' has no primary key"),
        (
            [_table("a", ForeignKey(("x",), "b", ("name",))), _table("b")],
            "not at its primary key (id)",
        ),
        ([_table("a", ForeignKey(("x", "y"), "b")), _table("b")], "2 columns point at 1"),
        (
            [TableDef("a", [ColumnDef("id", INTEGER)], ("id",), [ForeignKey(("z",), "a")])],
            "'z' is not a column of 'a'",
        ),
        ([], "has no tables"),
    ],
)
def test_bad_keys_are_one_line_errors_naming_the_table(
    tables: list[TableDef], fragment: str
) -> None:
    with pytest.raises(InputError) as excinfo:
        DatabaseSchema.build(tables, location="db")

    assert fragment in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_composite_key_listed_in_another_order_is_matched_by_name() -> None:
    parent = TableDef("p", [ColumnDef("a", INTEGER), ColumnDef("b", INTEGER)], ("a", "b"), [])
    child = TableDef(
        "c",
        [ColumnDef("x", INTEGER), ColumnDef("y", INTEGER)],
        (),
        [ForeignKey(("y", "x"), "p", ("b", "a"))],
    )

    schema = DatabaseSchema.build([child, parent])

    assert schema.table("c").foreign_keys == [ForeignKey(("x", "y"), "p", ("a", "b"))]


def test_check_rows_names_the_empty_child() -> None:
    child = _table("c", ForeignKey(("p_id",), "p"))
    child.rows = 0
    parent = _table("p")
    parent.rows = 3
    schema = DatabaseSchema.build([child, parent])

    with pytest.raises(InputError, match="child table 'c' has no rows"):
        schema.check_rows()
    schema.check_rows({"c": 5})


def test_declarations_parse_every_spelling(tmp_path: Path) -> None:
    raw = {
        "orders": {
            "path": "orders.csv",
            "primary_key": "id",
            "max_epochs": 20,
            "foreign_keys": [
                {"columns": "customer_id", "references": "customers.id"},
                {"columns": ["a", "b"], "references": {"table": "parts", "columns": ["x", "y"]}},
                {"columns": "shop_id", "references": "shops"},
            ],
        },
        "customers": None,
    }

    declared = parse_declarations(raw, base=tmp_path)

    orders = declared["orders"]
    assert orders.path == tmp_path / "orders.csv"
    assert orders.primary_key == ("id",)
    assert orders.foreign_keys == (
        ForeignKey(("customer_id",), "customers", ("id",)),
        ForeignKey(("a", "b"), "parts", ("x", "y")),
        ForeignKey(("shop_id",), "shops", ()),
    )
    assert orders.settings == {"max_epochs": 20}
    assert declared["customers"] == TableDeclaration("customers")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ([1], "tables must map table names"),
        ({"t": 3}, "tables.t must be a mapping"),
        ({"t": {"primary_key": []}}, "tables.t.primary_key must be a column name"),
        ({"t": {"foreign_keys": {"a": 1}}}, "tables.t.foreign_keys must be a list"),
        ({"t": {"foreign_keys": [{"columns": "a"}]}}, "foreign_keys[0] must have columns"),
        (
            {"t": {"foreign_keys": [{"columns": "a", "references": ".x"}]}},
            "must be table or table.column",
        ),
        (
            {"t": {"foreign_keys": [{"columns": ["a", "b"], "references": "p.x"}]}},
            "2 columns reference 1",
        ),
    ],
)
def test_bad_declarations_name_the_key(raw: object, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_declarations(raw, base=tmp_path)

    assert fragment in str(excinfo.value)


def test_declaration_adds_keys_and_makes_the_primary_key_not_null() -> None:
    table = TableDef("t", [ColumnDef("id"), ColumnDef("p")], (), [])
    declared = TableDeclaration("t", primary_key=("id",), foreign_keys=(ForeignKey(("p",), "u"),))

    result = apply_declaration(table, declared)

    assert result.primary_key == ("id",)
    assert not result.column("id").nullable
    assert result.column("p").nullable
    assert result.foreign_keys == [ForeignKey(("p",), "u")]
    assert table.primary_key == ()
