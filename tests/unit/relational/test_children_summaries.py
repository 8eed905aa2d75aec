"""What keeps siblings consistent and small tables near their expectation: hidden summaries of
the children on their parent, keys drawn among parents that hold the copied value, and
balanced draws of small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.relational.balance import balanced_choice
from synthdb.relational.keys import draw_matching_references
from synthdb.relational.model import DatabaseModel
from synthdb.relational.summaries import children_summaries, hidden_column
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef


def test_summaries_hold_each_parents_mode_share_and_mean() -> None:
    children = pd.DataFrame(
        {"kind": ["a", "a", "b", "b", "b", None], "price": [1.0, 3.0, 2.0, 2.0, 5.0, 7.0]}
    )
    pointing = np.array([0, 0, 2, 2, 2, -1])  # parent 1 has no children; the last row no parent
    out = children_summaries(children, pointing, 3, "line", ["kind"], ["price"])
    assert list(out.columns) == ["__mode__line.kind", "__share__line.kind", "__mean__line.price"]
    assert out["__mode__line.kind"].tolist()[0] == "a"
    assert out["__mode__line.kind"].tolist()[2] == "b"
    assert out["__share__line.kind"].tolist()[0] == 1.0
    assert out["__mean__line.price"].tolist()[0] == 2.0
    assert out["__mean__line.price"].tolist()[2] == 3.0
    assert out.iloc[1].isna().all()
    assert all(hidden_column(c) for c in out.columns) and not hidden_column("price")


def test_keys_are_drawn_among_parents_that_hold_the_childs_value() -> None:
    rng = np.random.default_rng(0)
    parents = np.array([0, 0, 0, 1, 1, 2])  # codes of the parents' copied value
    weights = np.array([5.0, 1.0, 1.0, 3.0, 0.0, 2.0])
    children = np.array([0] * 70 + [1] * 30 + [3] * 10)  # code 3: no parent holds it
    drawn = draw_matching_references(weights, children, parents, rng)
    assert (parents[drawn[:100]] == children[:100]).all()
    # within a value, parents keep their popularity: 5:1:1 for code 0
    first = np.bincount(drawn[:70], minlength=6)[:3]
    assert first[0] > 3 * max(first[1], first[2])
    assert (drawn[70:100] == 3).all()  # parent 4 has weight 0: never drawn while 3 can be
    assert set(drawn[100:]) <= set(range(6))  # no holder: any parent


def test_a_balanced_draw_keeps_each_value_near_its_expected_count() -> None:
    slots, candidates = 59, 100
    values = np.array(["usa", "canada", "france", "brazil"] + [f"rare{i}" for i in range(40)])
    p = np.r_[[0.25, 0.15, 0.1, 0.1], np.full(40, 0.4 / 40)]
    worst_plain, worst_balanced, rare_kinds = 0.0, 0.0, []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        codes = rng.choice(len(values), size=candidates * slots, p=p)
        expected = np.bincount(codes, minlength=len(values))[:4] / candidates
        chosen = balanced_choice(codes[None, :], slots, rng)
        assert (chosen % slots == np.arange(slots)).all()  # every slot keeps one of its own
        balanced = np.bincount(codes[chosen], minlength=len(values))
        plain = np.bincount(codes[:slots], minlength=len(values))
        worst_balanced = max(worst_balanced, float(np.abs(balanced[:4] - expected).max()))
        worst_plain = max(worst_plain, float(np.abs(plain[:4] - expected).max()))
        # the rare values are balanced as one group, and stay varied within it
        assert abs(balanced[4:].sum() - 0.4 * slots) <= 2
        rare_kinds.append(int((balanced[4:] > 0).sum()))
    assert worst_balanced < 1.0 < worst_plain
    assert min(rare_kinds) >= 12  # about 23 rare rows over 40 values: no collapse onto a few


# ------------------------------------------------------------------ a shop of songs and videos
ORDERS, PRODUCTS = 400, 60


def _shop(seed: int = 0) -> tuple[DatabaseSchema, dict[str, pd.DataFrame]]:
    """Songs cost 0.99 and videos 1.99; one order in ten buys only videos, the rest only
    songs; a line's price is its product's."""
    rng = np.random.default_rng(seed)
    video = np.arange(PRODUCTS) < 8
    product = pd.DataFrame({"pid": np.arange(PRODUCTS), "price": np.where(video, 1.99, 0.99)})
    of_videos = rng.uniform(size=ORDERS) < 0.1
    orders = pd.DataFrame({"oid": np.arange(ORDERS), "channel": rng.choice(["web", "app"], ORDERS)})
    size = rng.integers(1, 7, ORDERS)
    order_of = np.repeat(np.arange(ORDERS), size)
    pick = np.where(
        of_videos[order_of],
        rng.integers(0, 8, len(order_of)),
        rng.integers(8, PRODUCTS, len(order_of)),
    )
    line = pd.DataFrame(
        {
            "lid": np.arange(len(order_of)),
            "oid": order_of,
            "pid": pick,
            "price": product["price"].to_numpy()[pick],
        }
    )
    frames = {"product": product, "orders": orders, "line": line}

    def table(name: str, key: str, *fks: ForeignKey) -> TableDef:
        return TableDef(name, [ColumnDef(c) for c in frames[name].columns], (key,), list(fks))

    schema = DatabaseSchema.build(
        [
            table("product", "pid"),
            table("orders", "oid"),
            table(
                "line",
                "lid",
                ForeignKey(("oid",), "orders", ("oid",)),
                ForeignKey(("pid",), "product", ("pid",)),
            ),
        ]
    )
    return schema, frames


def _mixed_orders(line: pd.DataFrame) -> float:
    prices = line.groupby("oid")["price"].agg(["min", "max"])
    return float((prices["min"] != prices["max"]).mean())


@pytest.fixture(scope="module")
def shop_twins() -> dict[bool, dict[str, pd.DataFrame]]:
    schema, frames = _shop()
    config = TrainingConfig(max_epochs=30, seed=0)
    out = {}
    for summarise in (True, False):
        model = DatabaseModel(config, contexts={"line": "orders"}, summarise=summarise)
        model.fit(schema, frames)
        out[summarise] = model.generate(seed=0)
    return out


def test_orders_keep_to_one_kind_of_product(shop_twins) -> None:
    twin = shop_twins[True]
    line = twin["line"]
    assert not any(hidden_column(c) for name in twin for c in twin[name].columns)
    # every line costs what its product costs (the lookup), and orders do not mix kinds
    price = twin["product"].set_index("pid")["price"]
    assert np.allclose(line["price"].to_numpy(), price.loc[line["pid"]].to_numpy())
    assert _mixed_orders(line) <= 0.06  # source: 0; 0.28 without the summaries (below)
    with_videos = (line.groupby("oid")["price"].max() > 1).mean()
    assert 0.05 <= with_videos <= 0.16  # source: about 0.10
    # without the summaries, lines are drawn one by one and videos spread over many orders
    assert _mixed_orders(shop_twins[False]["line"]) > 3 * max(_mixed_orders(line), 0.02)
