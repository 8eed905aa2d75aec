"""A small constructed database with every kind of relation, trained and generated for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.errors import ModelFileError
from synthdb.relational import model as relational
from synthdb.relational.model import DatabaseModel
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, SqlType, TableDef


def _database(seed: int = 0) -> tuple[DatabaseSchema, dict[str, pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    staff = pd.DataFrame({"id": range(1, 13), "boss": [None, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]})
    staff["boss"] = staff["boss"].astype("Int64")
    staff["grade"] = rng.choice(["a", "b"], len(staff))
    customers = pd.DataFrame(
        {
            "cid": range(100, 400),
            "rep": rng.integers(1, 13, 300),
            "segment": rng.choice(["vip", "basic"], 300, p=[0.3, 0.7]),
        }
    )
    products = pd.DataFrame({"pid": range(1, 31), "price": rng.integers(1, 50, 30) * 10})
    per_customer = np.where(customers["segment"] == "vip", 6, 1)
    owner = np.repeat(customers["cid"].to_numpy(), per_customer)
    orders = pd.DataFrame(
        {
            "oid": range(1, len(owner) + 1),
            "customer": owner,
            "product": rng.choice(products["pid"], len(owner), p=np.r_[[0.5], [0.5 / 29] * 29]),
        }
    )
    vip = set(customers.loc[customers["segment"] == "vip", "cid"])
    orders["amount"] = np.where(orders["customer"].isin(vip), 500, 20) + rng.integers(
        0, 5, len(orders)
    )
    tags = pd.DataFrame({"tid": range(1, 6), "label": list("pqrst")})
    pairs = [(o, t) for o in orders["oid"][:200] for t in rng.choice(5, 2, replace=False) + 1]
    order_tags = pd.DataFrame(pairs, columns=["order_id", "tag_id"])
    frames = {
        "staff": staff,
        "customers": customers,
        "products": products,
        "orders": orders,
        "tags": tags,
        "order_tags": order_tags,
    }

    def table(name: str, pk: tuple[str, ...], fks: list[ForeignKey]) -> TableDef:
        columns = [ColumnDef(c, nullable=c == "boss") for c in frames[name].columns]
        return TableDef(name, columns, pk, fks, rows=len(frames[name]))

    schema = DatabaseSchema.build(
        [
            table(
                "order_tags",
                ("order_id", "tag_id"),
                [ForeignKey(("order_id",), "orders"), ForeignKey(("tag_id",), "tags")],
            ),
            table(
                "orders",
                ("oid",),
                [ForeignKey(("customer",), "customers"), ForeignKey(("product",), "products")],
            ),
            table("customers", ("cid",), [ForeignKey(("rep",), "staff")]),
            table("staff", ("id",), [ForeignKey(("boss",), "staff")]),
            table("products", ("pid",), []),
            table("tags", ("tid",), []),
        ]
    )
    return schema, frames


@pytest.fixture(scope="module")
def trained() -> tuple[DatabaseSchema, dict[str, pd.DataFrame], DatabaseModel]:
    schema, frames = _database()
    model = DatabaseModel(TrainingConfig(max_epochs=25, seed=1)).fit(schema, frames)
    return schema, frames, model


def _keys_are_intact(schema: DatabaseSchema, out: dict[str, pd.DataFrame]) -> None:
    for name, table in schema.tables.items():
        frame = out[name]
        assert not frame.duplicated(list(table.primary_key)).any(), f"{name}: duplicate keys"
        for key in table.foreign_keys:
            parent = out[key.parent]
            values = frame[list(key.columns)].dropna()
            known = set(map(tuple, parent[list(key.parent_columns)].astype(str).to_numpy()))
            given = set(map(tuple, values.astype(str).to_numpy()))
            assert given <= known, f"{key.describe(name)} points nowhere"


def test_every_key_is_unique_and_every_reference_points_to_a_row(trained) -> None:
    schema, _, model = trained

    out = model.generate(seed=3)

    _keys_are_intact(schema, out)
    assert list(out) == schema.order
    for name, table in schema.tables.items():
        assert list(out[name].columns) == table.names


def test_a_twin_drawn_in_shards_elsewhere_is_the_same(
    trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``generate --ray`` relies on: each table's draw cut into runs of whole batches,
    drawn apart (here, as soon as asked) and joined, gives the same twin."""
    _, _, model = trained
    monkeypatch.setattr(relational, "DRAW_BATCH", 64)
    asked: list[str] = []

    def draws(table: str, context: np.ndarray, seed: int) -> Any:
        synthesizer = model.models[table].synthesizer
        parts = [
            part
            for start in range(0, len(context), 128)
            for part in synthesizer.given_batches(
                context[start : start + 128], seed=seed, batch_rows=64, first_batch=start // 64
            )
        ]
        asked.append(table)
        return lambda: synthesizer.joined(parts)

    sharded = model.generate(seed=3, draws=draws)

    expected = model.generate(seed=3)
    assert "orders" in asked
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(sharded[name], frame)


def test_row_counts_follow_the_source_and_the_scale(trained) -> None:
    _, frames, model = trained

    same = model.generate(seed=4)
    half = model.generate(scale=0.5, seed=4)

    for name in ("customers", "orders", "order_tags"):
        assert len(same[name]) == pytest.approx(len(frames[name]), rel=0.1), name
        assert len(half[name]) == pytest.approx(len(frames[name]) / 2, rel=0.15), name


def test_children_per_parent_depend_on_the_parent_as_in_the_source(trained) -> None:
    # Setup: vip customers have 6 orders of about 500, basic ones 1 order of about 20
    _, _, model = trained

    # Run
    out = model.generate(seed=5)
    orders = out["orders"].merge(out["customers"], left_on="customer", right_on="cid")

    # Assert: the parent's segment still drives both how many orders and their amounts
    per_customer = orders.groupby("cid").size()
    segment = out["customers"].set_index("cid")["segment"]
    vip_orders = per_customer.reindex(segment[segment == "vip"].index, fill_value=0).mean()
    basic_orders = per_customer.reindex(segment[segment == "basic"].index, fill_value=0).mean()
    assert vip_orders > 3 * basic_orders
    vip_amount = orders.loc[orders["segment"] == "vip", "amount"].median()
    basic_amount = orders.loc[orders["segment"] == "basic", "amount"].median()
    assert vip_amount > 300 > basic_amount


def test_a_second_parent_keeps_its_popularity(trained) -> None:
    # product 1 holds half of all orders in the source
    _, _, model = trained
    out = model.generate(seed=6)

    top = out["orders"]["product"].value_counts(normalize=True).iloc[0]

    assert top > 0.3  # a uniform draw among 30 products would give about 0.05


def test_self_references_have_roots_and_no_cycles(trained) -> None:
    _, _, model = trained
    staff = model.generate(seed=7)["staff"]

    boss = dict(zip(staff["id"], staff["boss"], strict=True))
    assert staff["boss"].isna().sum() >= 1
    for start in boss:
        seen = set()
        node = start
        while not pd.isna(node):
            assert node not in seen, "cycle"
            seen.add(node)
            node = boss[node]


def test_the_same_seed_gives_the_same_database(trained) -> None:
    _, _, model = trained

    first, again = model.generate(seed=8), model.generate(seed=8)

    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])


def test_a_saved_model_generates_the_same_database(trained, tmp_path: Path) -> None:
    _, _, model = trained
    path = tmp_path / "db.synthdb"

    model.save(path)
    loaded = DatabaseModel.load(path)

    for name, frame in model.generate(seed=9).items():
        pd.testing.assert_frame_equal(frame, loaded.generate(seed=9)[name])


def test_a_table_model_file_is_not_read_as_a_database(tmp_path: Path) -> None:
    from synthdb import Synthesizer

    path = tmp_path / "one.synthdb"
    frame = pd.DataFrame({"x": [1, 2, 3, 4] * 10})
    Synthesizer(TrainingConfig(max_epochs=1)).fit(frame).save(path)

    with pytest.raises(ModelFileError, match="one table"):
        DatabaseModel.load(path)


def test_dangling_and_null_keys_come_out_null_at_the_source_share() -> None:
    # Setup: 30% of the flights name a plane that is not in the planes table, 10% none at all;
    # the flights table has no primary key
    rng = np.random.default_rng(3)
    planes = pd.DataFrame(
        {"tail": [f"N{i}" for i in range(40)], "seats": rng.integers(50, 300, 40)}
    )
    tails = rng.choice(planes["tail"], 1_000).astype(object)
    tails[:300] = [f"X{i}" for i in range(300)]  # dangling
    tails[300:400] = None  # NULL
    flights = pd.DataFrame({"id": range(1_000), "tail": tails, "delay": rng.integers(0, 60, 1_000)})
    schema = DatabaseSchema.build(
        [
            TableDef("planes", [ColumnDef("tail"), ColumnDef("seats")], ("tail",)),
            TableDef(  # no primary key, as nycflights13's flights
                "flights",
                [ColumnDef("id"), ColumnDef("tail"), ColumnDef("delay")],
                (),
                [ForeignKey(("tail",), "planes")],
            ),
        ]
    )
    model = DatabaseModel(TrainingConfig(max_epochs=3)).fit(
        schema, {"planes": planes, "flights": flights}
    )

    # Run
    out = model.generate(seed=1)

    # Assert: no key points nowhere; rows without a parent are NULL, at the source's share
    flights_out = out["flights"]
    present = flights_out["tail"].dropna()
    assert set(present) <= set(out["planes"]["tail"])
    assert flights_out["tail"].isna().mean() == pytest.approx(0.4, abs=0.05)
    assert len(flights_out) == pytest.approx(1_000, rel=0.1)


def test_empty_tables_get_no_model_and_come_out_empty_with_their_columns(tmp_path: Path) -> None:
    # Setup: 'promos' has no rows; 'orders' may point at a promo (NULL in every row, as an
    # enforced key must be), 'coupons' must (its source rows point nowhere: keys not enforced),
    # 'uses' hangs below 'coupons' by a nullable key; 'tree' is empty and references itself
    rng = np.random.default_rng(4)
    shops = pd.DataFrame({"sid": range(1, 21), "city": rng.choice(["a", "b"], 20)})
    promos = pd.DataFrame({"pid": pd.Series([], dtype="int64"), "name": pd.Series([], dtype=str)})
    orders = pd.DataFrame(
        {
            "oid": range(1, 61),
            "shop": rng.integers(1, 21, 60),
            "promo": pd.Series([None] * 60, dtype="Int64"),
            "amount": rng.integers(1, 100, 60),
        }
    )
    coupons = pd.DataFrame({"cid": range(1, 6), "promo": [1, 2, 3, 1, 2], "code": list("vwxyz")})
    uses = pd.DataFrame({"uid": range(1, 11), "coupon": [1, 2, 3, 4, 5] * 2, "n": [1, 2] * 5})
    tree = pd.DataFrame({"id": pd.Series([], dtype="int64"), "up": pd.Series([], dtype="Int64")})
    frames = {
        "shops": shops,
        "promos": promos,
        "orders": orders,
        "coupons": coupons,
        "uses": uses,
        "tree": tree,
    }
    not_null = {("orders", "shop"), ("coupons", "promo")}

    def table(name: str, pk: str, keys: list[ForeignKey]) -> TableDef:
        columns = [
            ColumnDef(c, nullable=c != pk and (name, c) not in not_null)
            for c in frames[name].columns
        ]
        return TableDef(name, columns, (pk,), keys, rows=len(frames[name]))

    schema = DatabaseSchema.build(
        [
            table("shops", "sid", []),
            table("promos", "pid", []),
            table(
                "orders",
                "oid",
                [ForeignKey(("shop",), "shops"), ForeignKey(("promo",), "promos")],
            ),
            table("coupons", "cid", [ForeignKey(("promo",), "promos")]),
            table("uses", "uid", [ForeignKey(("coupon",), "coupons")]),
            table("tree", "id", [ForeignKey(("up",), "tree")]),
        ]
    )

    # Run
    model = DatabaseModel(TrainingConfig(max_epochs=1, seed=2)).fit(schema, frames)
    out = model.generate(seed=1)
    path = tmp_path / "empty.synthdb"
    model.save(path)
    again = DatabaseModel.load(path).generate(seed=1)

    # Assert: nothing learned for the empty tables, which come out empty with every column
    for name in ("promos", "coupons", "tree"):
        assert model.models[name].synthesizer is None, name
        assert len(out[name]) == 0, name
        assert list(out[name].columns) == schema.table(name).names, name
    assert model.models["shops"].synthesizer is not None
    assert len(out["shops"]) == 20 and len(out["uses"]) == 10
    assert len(out["orders"]) == pytest.approx(60, rel=0.2)
    # keys that can only point at the empty tables are NULL; the others point at rows
    assert out["orders"]["promo"].isna().all() and out["uses"]["coupon"].isna().all()
    assert set(out["orders"]["shop"]) <= set(out["shops"]["sid"])
    assert any("'coupons' is left empty" in note for note in model.notes)
    assert any("'promos' has no rows" in note for note in model.notes)
    assert {name: len(frame) for name, frame in again.items()} == {
        name: len(frame) for name, frame in out.items()
    }


def test_declared_numeric_scales_and_digits_only_dates_survive_a_twin() -> None:
    # Setup: amounts declared numeric(10,2) whose values show one decimal (as Berka's orders in
    # SQLite), more of them than get exact tokens, and YYMMDD dates in an integer column
    rng = np.random.default_rng(4)
    accounts = pd.DataFrame({"account_id": range(1, 201)})
    days = pd.Timestamp("1993-01-01") + pd.to_timedelta(rng.integers(0, 1_800, 600), "D")
    orders = pd.DataFrame(
        {
            "order_id": range(1, 601),
            "account_id": rng.integers(1, 201, 600),
            "amount": np.round(rng.uniform(10, 9_000, 600), 1),
            "date": days.strftime("%y%m%d").astype(int),
        }
    )
    numeric = SqlType("numeric", precision=10, scale=2)
    schema = DatabaseSchema.build(
        [
            TableDef("accounts", [ColumnDef("account_id", SqlType("integer"))], ("account_id",)),
            TableDef(
                "orders",
                [
                    ColumnDef("order_id", SqlType("integer")),
                    ColumnDef("account_id", SqlType("integer")),
                    ColumnDef("amount", numeric),
                    ColumnDef("date", SqlType("integer")),
                ],
                ("order_id",),
                [ForeignKey(("account_id",), "accounts")],
            ),
        ]
    )

    # Run
    model = DatabaseModel(TrainingConfig(max_epochs=1)).fit(
        schema, {"accounts": accounts, "orders": orders}
    )
    out = model.generate(seed=2)["orders"]

    # Assert
    synthesizer = model.models["orders"].synthesizer
    assert synthesizer is not None
    assert synthesizer.state.schema.column("amount").decimals == 2
    assert synthesizer.state.schema.column("date").datetime_format == "%y%m%d"
    amounts = out["amount"].to_numpy()
    assert np.allclose(amounts, np.round(amounts, 2), rtol=0, atol=1e-9)
    assert out["date"].dtype == np.int64
    parsed = pd.to_datetime(out["date"].astype(str), format="%y%m%d", errors="coerce")
    assert parsed.notna().all()
