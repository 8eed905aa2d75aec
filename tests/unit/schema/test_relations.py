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


def test_an_empty_table_is_kept_and_its_children_follow_their_keys() -> None:
    # Setup: 'promos' is empty; 'orders' may have a NULL promo, 'coupons' may not, and
    # 'uses' hangs below 'coupons' by a nullable key; 'shops' has rows and nothing empty above
    schema = DatabaseSchema.build(
        [
            _table("shops"),
            _table("promos"),
            _table("orders", ForeignKey(("shop_id",), "shops")),
            _table("coupons", ForeignKey(("promo_id",), "promos")),
            _table("uses", ForeignKey(("coupon_id",), "coupons"), nullable=True),
        ]
    )
    schema.table("orders").columns.append(ColumnDef("promo_id", INTEGER, nullable=True))
    schema.table("orders").foreign_keys.append(ForeignKey(("promo_id",), "promos", ("id",)))

    # Run
    empty, notes = schema.empty_tables({"promos": 0, "coupons": 4, "uses": 9})

    # Assert: 'coupons' cannot point anywhere and may not be NULL: empty too, and so its
    # children's nullable key is NULL; counts not given (shops, orders) are taken from rows=None
    assert empty == ["promos", "coupons"]
    assert notes == [
        "table 'promos' has no rows: it is created empty in the twin, with its keys, and "
        "gets no model",
        "orders(promo_id) -> promos(id): 'promos' has no rows, so this key is NULL in every "
        "row of the twin",
        "table 'coupons' is left empty in the twin: coupons(promo_id) -> promos(id) may not be "
        "NULL and 'promos' has no rows",
        "uses(coupon_id) -> coupons(id): 'coupons' has no rows, so this key is NULL in every "
        "row of the twin",
    ]


def test_a_partly_nullable_key_to_an_empty_table_empties_its_table() -> None:
    parent = TableDef(
        "p",
        [ColumnDef("a", INTEGER, nullable=False), ColumnDef("b", INTEGER, nullable=False)],
        ("a", "b"),
    )
    child = TableDef(
        "c",
        [
            ColumnDef("id", INTEGER, nullable=False),
            ColumnDef("x", INTEGER, nullable=True),
            ColumnDef("y", INTEGER, nullable=False),
        ],
        ("id",),
        [ForeignKey(("x", "y"), "p")],
    )
    schema = DatabaseSchema.build([child, parent])

    assert schema.empty_tables({"p": 0, "c": 3})[0] == ["p", "c"]
    assert schema.empty_tables({"p": 2, "c": 3}) == ([], [])
    # a table without rows of its own is said to have none, whatever its keys
    assert schema.empty_tables({"p": 0, "c": 0})[1] == [
        f"table '{name}' has no rows: it is created empty in the twin, with its keys, and gets "
        "no model"
        for name in ("p", "c")
    ]


def test_row_counts_stored_in_the_schema_are_used_when_none_are_given() -> None:
    child = _table("c", ForeignKey(("p_id",), "p"))
    child.rows = 0
    parent = _table("p")
    parent.rows = 3
    schema = DatabaseSchema.build([child, parent])

    assert schema.empty_tables()[0] == ["c"]
    assert schema.empty_tables({"c": 5}) == ([], [])


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
