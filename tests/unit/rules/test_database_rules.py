"""Rules across foreign keys, on a constructed shop: found, not found when they nearly hold,
and kept in frames drawn without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdb.rules.database import (
    Positions,
    discover_database_rules,
    keep_database_rules,
    rule_share,
)
from synthdb.rules.model import Rule
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef

CUSTOMERS, ORDERS, PRODUCTS = 300, 1_500, 40


def _schema() -> DatabaseSchema:
    def table(name: str, columns: list[str], key: str, *fks: ForeignKey) -> TableDef:
        return TableDef(name, [ColumnDef(c) for c in columns], (key,), list(fks))

    return DatabaseSchema.build(
        [
            table("customer", ["id", "city", "country", "orders_placed"], "id"),
            table("product", ["id", "price"], "id"),
            table(
                "orders",
                ["id", "customer_id", "ship_city", "ship_country", "via", "total"],
                "id",
                ForeignKey(("customer_id",), "customer", ("id",)),
            ),
            table(
                "line",
                ["id", "order_id", "product_id", "price", "quantity", "role", "slot"],
                "id",
                ForeignKey(("order_id",), "orders", ("id",)),
                ForeignKey(("product_id",), "product", ("id",)),
            ),
        ]
    )


def _shop(seed: int = 0, copy_share: float = 1.0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cities = [f"city{i}" for i in range(60)]
    city = rng.choice(cities, CUSTOMERS)
    customer = pd.DataFrame(
        {"id": np.arange(CUSTOMERS), "city": city, "country": [c[-1] for c in city]}
    )
    product = pd.DataFrame(
        {"id": np.arange(PRODUCTS), "price": rng.choice([0.99, 1.99, 4.5], PRODUCTS)}
    )
    owner = np.sort(rng.integers(0, CUSTOMERS, ORDERS))
    ship_city = customer["city"].to_numpy()[owner].copy()
    moved = rng.uniform(size=ORDERS) >= copy_share
    ship_city[moved] = rng.choice(cities, int(moved.sum()))
    via = rng.choice(["air", "sea", "road"], CUSTOMERS)[owner]  # one carrier per customer
    orders = pd.DataFrame(
        {
            "id": np.arange(ORDERS),
            "customer_id": owner,
            "ship_city": ship_city,
            "ship_country": customer["country"].to_numpy()[owner],
            "via": via,
        }
    )
    per_order = rng.integers(1, 5, ORDERS)
    order_of = np.repeat(np.arange(ORDERS), per_order)
    product_of = rng.integers(0, PRODUCTS, len(order_of))
    quantity = rng.integers(1, 4, len(order_of))
    first = np.r_[True, order_of[1:] != order_of[:-1]]
    # a slot per line, never twice in one order (drawn without replacement, uneven weights)
    slots = np.array(["s1", "s2", "s3", "s4", "s5", "s6"])
    weights = np.array([6, 5, 4, 3, 2, 1]) / 21
    slot = np.concatenate([rng.choice(slots, n, replace=False, p=weights) for n in per_order])
    line = pd.DataFrame(
        {
            "id": np.arange(len(order_of)),
            "order_id": order_of,
            "product_id": product_of,
            "price": product["price"].to_numpy()[product_of],
            "quantity": quantity,
            "role": np.where(first, "main", "extra"),  # exactly one main line per order
            "slot": slot,
        }
    )
    orders["total"] = np.round(
        np.bincount(order_of, weights=line["price"] * line["quantity"], minlength=ORDERS), 2
    )
    customer["orders_placed"] = np.bincount(owner, minlength=CUSTOMERS)
    return {"customer": customer, "product": product, "orders": orders, "line": line}


def _texts(frames: dict[str, pd.DataFrame]) -> dict[str, Rule]:
    return {r.text: r for r in discover_database_rules(_schema(), frames)}


def test_each_kind_is_found_in_the_shop() -> None:
    found = _texts(_shop())
    assert "orders.ship_city = customer.city (via customer_id)" in found
    assert "orders.ship_country = customer.country (via customer_id)" in found
    assert found["line.price = product.price (via product_id)"].kind == "lookup"
    assert "orders.total = sum(line.price * quantity) (via order_id)" in found
    assert "customer.orders_placed = count(orders) (via customer_id)" in found
    assert "orders.via: one value per customer (via customer_id)" in found
    assert "line: 1 row(s) with role = main per orders (via order_id)" in found
    assert "line.slot: distinct within each orders (via order_id)" in found
    assert all(rule.share == 1.0 for rule in found.values())


def test_a_copy_of_a_grandparent_is_found_along_the_key_path() -> None:
    frames = _shop(copy_share=0.5)  # the order's ship city is no copy of its customer's
    frames["line"]["city"] = frames["customer"]["city"].to_numpy()[
        frames["orders"]["customer_id"].to_numpy()[frames["line"]["order_id"]]
    ]
    schema = _schema()
    schema.tables["line"].columns.append(ColumnDef("city"))
    texts = {r.text for r in discover_database_rules(schema, frames)}
    assert "line.city = customer.city (via order_id, customer_id)" in texts


def test_a_copy_in_98_percent_of_rows_keeps_its_share_and_60_percent_is_no_rule() -> None:
    rule = _texts(_shop(copy_share=0.98))["orders.ship_city = customer.city (via customer_id)"]
    assert rule.share == pytest.approx(0.98, abs=0.01)
    assert not [t for t in _texts(_shop(copy_share=0.6)) if t.startswith("orders.ship_city =")]


def test_a_total_broken_in_one_parent_of_ten_is_not_found() -> None:
    frames = _shop()
    broken = np.random.default_rng(1).uniform(size=ORDERS) < 0.1
    frames["orders"].loc[broken, "total"] += 1.0
    assert not [t for t in _texts(frames) if t.startswith("orders.total")]


def test_a_slot_repeated_in_one_order_of_ten_is_no_distinct_rule() -> None:
    frames = _shop()
    line = frames["line"]
    rng = np.random.default_rng(2)
    second = np.flatnonzero(line["order_id"].duplicated().to_numpy())
    repeat = second[rng.uniform(size=len(second)) < 0.25]  # about 1 order in 10
    line.loc[repeat, "slot"] = line["slot"].to_numpy()[repeat - 1]
    rule = Rule(
        kind="distinct_per_parent",
        table="line",
        column="slot",
        related="orders",
        path=[["order_id"]],
    )
    share = rule_share(rule, Positions(_schema(), frames))
    assert share is not None and 0.85 < share < 0.95
    assert rule.text not in _texts(frames)


def _scrambled(frames: dict[str, pd.DataFrame], seed: int = 3) -> dict[str, pd.DataFrame]:
    """Every non-key column drawn on its own, as a model that knew no rules might draw it."""
    rng = np.random.default_rng(seed)
    keys = {"id", "customer_id", "order_id", "product_id"}
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for column in frame.columns:
            if column not in keys:
                frame[column] = rng.permutation(frame[column].to_numpy())
        out[name] = frame
    # second parents drawn at random, as the twin draws them
    out["line"]["product_id"] = rng.integers(0, PRODUCTS, len(out["line"]))
    return out


@pytest.mark.parametrize("drawn_under_order", [True, False])
def test_every_rule_holds_after_keeping_them(drawn_under_order: bool) -> None:
    schema = _schema()
    rules = discover_database_rules(schema, _shop())
    twin = _scrambled(_shop(seed=5))
    before = Positions(schema, twin)
    assert all(rule_share(r, before) < 0.95 for r in rules), [
        (r.text, rule_share(r, before)) for r in rules if rule_share(r, before) >= 0.95
    ]
    contexts = {"orders": ["customer_id"]}
    if drawn_under_order:
        contexts["line"] = ["order_id"]
    keep_database_rules(rules, schema, twin, contexts, np.random.default_rng(0))
    after = Positions(schema, twin)
    for rule in rules:
        assert rule_share(rule, after) == 1.0, rule.text
    # keys still point at rows that exist
    assert twin["line"]["order_id"].isin(twin["orders"]["id"]).all()


def test_a_rule_below_one_is_kept_at_about_its_share() -> None:
    schema = _schema()
    rule = Rule(
        kind="copy",
        table="orders",
        column="ship_city",
        source="city",
        related="customer",
        path=[["customer_id"]],
        share=0.9,
    )
    twin = _scrambled(_shop(seed=7))
    keep_database_rules([rule], schema, twin, {}, np.random.default_rng(0))
    assert rule_share(rule, Positions(schema, twin)) == pytest.approx(0.9, abs=0.01)


def test_text_and_numbers_compare_alike() -> None:
    """A CSV source (every value text) finds the same rules as a typed one."""
    typed = _texts(_shop())
    text = _texts({n: f.astype(str) for n, f in _shop().items()})
    assert set(text) == set(typed)


def test_a_trained_database_model_keeps_its_rules_and_its_file_keeps_them(tmp_path: Path) -> None:
    """End to end: a model that learned nothing (one epoch) still writes a consistent twin."""
    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel

    schema = _schema()
    frames = _shop()
    model = DatabaseModel(TrainingConfig(max_epochs=1)).fit(schema, frames)
    texts = {r.text for r in model.rules}
    assert "orders.ship_city = customer.city (via customer_id)" in texts
    path = tmp_path / "shop.synthdb"
    model.save(path)
    loaded = DatabaseModel.load(path)
    assert [r.text for r in loaded.all_rules()] == [r.text for r in model.all_rules()]
    twin = loaded.generate(seed=3)
    positions = Positions(schema, twin)
    for rule in loaded.rules:
        assert rule_share(rule, positions) == pytest.approx(1.0), rule.text
    again = loaded.generate(seed=3)
    assert all(twin[name].equals(again[name]) for name in twin)  # deterministic by seed


#: A copy rule as a job file declares it (``rules.add``).
DECLARED_COPY = {
    "kind": "copy",
    "table": "orders",
    "column": "ship_city",
    "related": "customer",
    "source": "city",
    "path": [["customer_id"]],
}


def test_job_file_rules_drop_and_switch_off_discovery() -> None:
    from synthdb.config import TrainingConfig
    from synthdb.relational.model import DatabaseModel

    copy = "orders.ship_city = customer.city (via customer_id)"
    config = TrainingConfig(max_epochs=1, rules={"drop": [copy]})
    model = DatabaseModel(config)
    kept = model._database_rules(_schema(), _shop())
    assert copy not in {r.text for r in kept} and kept
    off = DatabaseModel(
        TrainingConfig(
            max_epochs=1,
            rules={
                "discover": False,
                "add": [dict(DECLARED_COPY)],
            },
        )
    )
    assert [r.text for r in off._database_rules(_schema(), _shop())] == [copy]


@pytest.mark.parametrize(
    ("field", "typo", "where"),
    [
        ("column", "ship_cty", "orders"),
        ("source", "cty", "customer"),
        ("path", "cust_id", "orders"),
    ],
)
def test_a_declared_rule_naming_a_missing_column_is_a_one_line_error(
    field: str, typo: str, where: str
) -> None:
    from synthdb.config import TrainingConfig
    from synthdb.errors import UsageError
    from synthdb.relational.model import DatabaseModel

    rule: dict[str, object] = dict(DECLARED_COPY)
    rule[field] = [[typo]] if field == "path" else typo
    model = DatabaseModel(TrainingConfig(max_epochs=1, rules={"add": [rule]}))

    with pytest.raises(UsageError, match=f"names column '{typo}', which {where} lacks"):
        model._database_rules(_schema(), _shop())


def test_re_pointing_children_by_kind_leaves_parents_that_keep_the_rule_alone() -> None:
    """Most orders have their one main line already; the few without one (or with two) are
    mended by moving lines of other broken orders, never by robbing an order that was fine."""
    schema = _schema()
    frames = _shop()
    rule = next(r for r in discover_database_rules(schema, frames) if r.kind == "count_by_kind")
    twin = {name: frame.copy() for name, frame in frames.items()}
    lines = twin["line"]
    rng = np.random.default_rng(12)
    moved = rng.choice(np.flatnonzero(lines["role"] == "main"), 60, replace=False)
    lines.loc[moved, "order_id"] = rng.integers(0, ORDERS, 60)  # 60 main lines re-pointed
    before = Positions(schema, twin)
    assert rule_share(rule, before) < 0.97
    mains = lines["role"].eq("main").to_numpy()
    orders = lines["order_id"].to_numpy().copy()
    per_order = np.bincount(orders[mains], minlength=ORDERS)
    fine = mains & (per_order[orders] == 1)
    keep_database_rules([rule], schema, twin, {}, np.random.default_rng(0))
    assert rule_share(rule, Positions(schema, twin)) == 1.0
    after = twin["line"]["order_id"].to_numpy()
    assert (after[fine] == orders[fine]).all()  # their orders were fine: untouched


# ------------------------------------------------------------------ dates along keys
def _dated(broken_share: float = 0.0, seed: int = 0) -> tuple[DatabaseSchema, dict]:
    """Customers join, then place orders (days later), which ship days after that; each
    customer was born decades before joining."""
    rng = np.random.default_rng(seed)
    people, orders = 400, 2_000
    day = np.datetime64("2020-01-01")
    joined = day + rng.integers(0, 700, people).astype("timedelta64[D]")
    born = joined - rng.integers(20 * 365, 60 * 365, people).astype("timedelta64[D]")
    owner = rng.integers(0, people, orders)
    placed = joined[owner] + rng.integers(0, 200, orders).astype("timedelta64[D]")
    early = rng.uniform(size=orders) < broken_share
    placed[early] = joined[owner][early] - rng.integers(1, 90, int(early.sum())).astype(
        "timedelta64[D]"
    )
    shipped = placed + rng.integers(1, 10, orders).astype("timedelta64[D]")
    text = lambda values: pd.Series(values).dt.strftime("%Y-%m-%d")  # noqa: E731
    frames = {
        "customer": pd.DataFrame({"id": range(people), "joined": text(joined), "born": text(born)}),
        "orders": pd.DataFrame({"id": range(orders), "customer_id": owner, "placed": text(placed)}),
        "parcel": pd.DataFrame(
            {"id": range(orders), "order_id": range(orders), "shipped": text(shipped)}
        ),
    }
    schema = DatabaseSchema.build(
        [
            TableDef("customer", [ColumnDef(c) for c in frames["customer"]], ("id",), []),
            TableDef(
                "orders",
                [ColumnDef(c) for c in frames["orders"]],
                ("id",),
                [ForeignKey(("customer_id",), "customer", ("id",))],
            ),
            TableDef(
                "parcel",
                [ColumnDef(c) for c in frames["parcel"]],
                ("id",),
                [ForeignKey(("order_id",), "orders", ("id",))],
            ),
        ]
    )
    return schema, frames


def test_a_child_dated_after_its_ancestor_is_found_and_unrelated_dates_are_not() -> None:
    schema, frames = _dated()
    found = {r.text: r for r in discover_database_rules(schema, frames) if r.kind == "order_across"}
    assert found["customer.joined <= orders.placed (via customer_id)"].share == 1.0
    # the closest ancestor date is the one kept: the order's, not the customer's
    assert set(found) == {
        "customer.joined <= orders.placed (via customer_id)",
        "orders.placed <= parcel.shipped (via order_id)",
    }  # birth dates sit decades before every order: no overlap, no rule


def test_a_date_order_broken_in_one_row_of_ten_is_no_rule() -> None:
    schema, frames = _dated(broken_share=0.1)
    texts = {r.text for r in discover_database_rules(schema, frames)}
    assert "customer.joined <= orders.placed (via customer_id)" not in texts


def test_dates_before_their_ancestor_are_moved_after_it_in_the_source_format() -> None:
    from synthdb.rules.database import keep_orders_across
    from synthdb.schema.inference import infer_schema

    schema, frames = _dated()
    rules = [r for r in discover_database_rules(schema, frames) if r.kind == "order_across"]
    rng = np.random.default_rng(5)
    twin = {name: frame.copy() for name, frame in frames.items()}
    twin["orders"]["placed"] = rng.permutation(twin["orders"]["placed"].to_numpy())
    twin["parcel"]["shipped"] = rng.permutation(twin["parcel"]["shipped"].to_numpy())
    positions = Positions(schema, twin)
    assert all(rule_share(r, positions) < 0.9 for r in rules)
    joined = pd.to_datetime(twin["customer"]["joined"].to_numpy()[twin["orders"]["customer_id"]])
    early = (pd.to_datetime(twin["orders"]["placed"]) < joined).to_numpy()
    schemas = {name: infer_schema(frame, name) for name, frame in frames.items()}
    keep_orders_across(rules, schemas, twin, schema, rng)
    positions = Positions(schema, twin)
    assert all(rule_share(r, positions) == 1.0 for r in rules)
    assert twin["orders"]["placed"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    # a repaired date gets a gap the source has: 0 to 199 days after joining
    gaps = (pd.to_datetime(twin["orders"]["placed"]) - joined).dt.days.to_numpy()[early]
    assert early.sum() > 100 and gaps.min() >= 0 and gaps.max() <= 199
