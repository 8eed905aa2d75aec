"""Children of given parent rows: a database twin drawn under customers the user chose."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.config import TrainingConfig
from synthdb.errors import UsageError
from synthdb.relational.model import DatabaseModel
from synthdb.schema.relations import ColumnDef, DatabaseSchema, ForeignKey, TableDef


def _shop() -> tuple[DatabaseSchema, dict[str, pd.DataFrame]]:
    """VIP customers have 6 orders of about 500, basic ones 1 order of about 20."""
    rng = np.random.default_rng(0)
    customers = pd.DataFrame(
        {"cid": range(1, 401), "segment": rng.choice(["vip", "basic"], 400, p=[0.3, 0.7])}
    )
    vip = (customers["segment"] == "vip").to_numpy()
    owner = np.repeat(customers["cid"].to_numpy(), np.where(vip, 6, 1))
    amount = np.where(np.isin(owner, customers["cid"][vip]), 500, 20) + rng.integers(
        0, 5, len(owner)
    )
    orders = pd.DataFrame({"oid": range(1, len(owner) + 1), "customer": owner, "amount": amount})
    frames = {"customers": customers, "orders": orders}

    def table(name: str, pk: str, fks: list[ForeignKey]) -> TableDef:
        columns = [ColumnDef(c) for c in frames[name].columns]
        return TableDef(name, columns, (pk,), fks, rows=len(frames[name]))

    schema = DatabaseSchema.build(
        [
            table("customers", "cid", []),
            table("orders", "oid", [ForeignKey(("customer",), "customers")]),
        ]
    )
    return schema, frames


@pytest.fixture(scope="module")
def shop() -> DatabaseModel:
    schema, frames = _shop()
    return DatabaseModel(TrainingConfig(max_epochs=20, seed=1)).fit(schema, frames)


def test_children_follow_the_given_parents(shop: DatabaseModel) -> None:
    # Setup: 50 VIP customers with keys of our own
    given = pd.DataFrame({"cid": range(9001, 9051), "segment": ["vip"] * 50})

    # Run
    out = shop.generate(seed=2, given={"customers": given})

    # Assert: the customers as given, their orders point at them and look like a VIP's
    assert out["customers"]["cid"].tolist() == given["cid"].tolist()
    assert (out["customers"]["segment"] == "vip").all()
    orders = out["orders"]
    assert set(orders["customer"]) <= set(given["cid"])
    assert len(orders) / len(given) == pytest.approx(6, rel=0.25)
    # all of a VIP's orders are about 500; among all orders of the source, 72%
    assert (orders["amount"].astype(float) > 250).mean() > 0.8


def test_given_rows_of_a_child_table_are_refused(shop: DatabaseModel) -> None:
    with pytest.raises(UsageError, match="without a parent"):
        shop.generate(given={"orders": pd.DataFrame({"amount": [20]})})
    with pytest.raises(UsageError, match="does not hold"):
        shop.generate(given={"shops": pd.DataFrame({"x": [1]})})
