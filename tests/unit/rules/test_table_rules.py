"""Rules within one table: found where they hold, not where they nearly do, and kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdb.rules.model import Rule, declared, select
from synthdb.rules.table import (
    complete,
    datetime_part,
    discover_table_rules,
    keep_table_rules,
    rule_share,
)
from synthdb.schema.inference import infer_schema
from synthdb.schema.values import to_typed

ROWS = 3_000


def _typed(frame: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    schema = infer_schema(frame, "t")
    return to_typed(frame, schema), schema


def _found(frame: pd.DataFrame) -> dict[str, Rule]:
    typed, schema = _typed(frame)
    return {rule.text: rule for rule in discover_table_rules(typed, schema)}  # type: ignore[arg-type]


def _orders(broken_share: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 1_000, ROWS)
    gap = rng.integers(1, 30, ROWS)
    end = start + gap
    flip = rng.uniform(size=ROWS) < broken_share
    end[flip] = start[flip] - gap[flip]
    return pd.DataFrame({"start": start.astype(str), "end": end.astype(str)})


def test_an_order_that_always_holds_is_found_with_its_gaps() -> None:
    rules = _found(_orders(0.0))
    rule = rules["t.start <= t.end"]
    assert rule.kind == "order" and rule.share == 1.0
    assert rule.gaps is not None and rule.gaps[0] >= 1 and rule.gaps[-1] <= 29


def test_an_order_broken_in_one_row_of_ten_is_not_found() -> None:
    assert not [t for t in _found(_orders(0.10)) if "<=" in t]


def test_an_order_found_in_97_percent_of_rows_keeps_its_share() -> None:
    rules = _found(_orders(0.03))
    assert rules["t.start <= t.end"].share == pytest.approx(0.97, abs=0.01)


def test_an_order_between_columns_of_different_units_is_not_found() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "years": rng.integers(1, 16, ROWS).astype(str),
            "age": rng.integers(17, 90, ROWS).astype(str),
        }
    )
    assert not _found(frame)  # always ordered, but so is any shuffle of them


def test_a_function_is_found_and_its_near_miss_is_not() -> None:
    rng = np.random.default_rng(2)
    level = rng.choice(["low", "mid", "high", "top"], ROWS)
    code = pd.Series(level).map({"low": "1", "mid": "2", "high": "3", "top": "4"})
    noisy = code.copy()
    noisy[rng.uniform(size=ROWS) < 0.4] = rng.choice(["1", "2", "3", "4"], ROWS)[
        : int((rng.uniform(size=ROWS) < 0.4).sum())
    ][0]
    rules = _found(pd.DataFrame({"level": level, "code": code}))
    assert "t.level -> t.code" in rules
    assert rules["t.level -> t.code"].mapping == [
        [k, v] for k, v in sorted({"high": 3.0, "low": 1.0, "mid": 2.0, "top": 4.0}.items())
    ]
    # 40% of the codes rewritten at random: no longer a function
    scrambled = code.where(
        rng.uniform(size=ROWS) >= 0.4, pd.Series(rng.choice(["1", "2", "3", "4"], ROWS))
    )
    assert not [t for t in _found(pd.DataFrame({"level": level, "code": scrambled})) if "->" in t]


def test_a_column_of_nearly_distinct_values_determines_nothing() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"name": [f"n{i}" for i in range(ROWS)], "kind": rng.choice(["a", "b"], ROWS)}
    )
    frame.loc[: ROWS // 10, "name"] = "shared"  # not all distinct: a category, not a key
    assert not _found(frame)


def test_a_datetime_part_is_found_in_utc_and_in_a_time_zone() -> None:
    stamps = pd.date_range("2013-01-01", periods=ROWS, freq="37min", tz="UTC")
    local = stamps.tz_convert("America/New_York")
    frame = pd.DataFrame(
        {
            "time": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "month": stamps.month.astype(str),
            "hour": local.hour.astype(str),
            "other": np.random.default_rng(4).integers(0, 24, ROWS).astype(str),
        }
    )
    rules = _found(frame)
    assert "t.month = month(t.time)" in rules
    hour = rules["t.hour = hour(t.time)"]
    zone = hour.value
    # a zone on New York's clock, whichever of its names comes first
    assert zone is not None
    seconds = stamps.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.float64)
    assert np.array_equal(datetime_part(seconds, "hour", zone), local.hour.to_numpy(dtype=float))
    assert not [t for t in rules if t.startswith("t.other")]


def test_a_part_that_needs_the_zone_an_hour_column_shows_is_found_too() -> None:
    # the day comes before the hour in the table: its UTC day misses the evening flights
    # (New York 20:00 is 01:00 the next day in UTC), and only the hour reveals the zone
    stamps = pd.date_range("2013-01-01", periods=ROWS, freq="53min", tz="UTC")
    local = stamps.tz_convert("America/New_York")
    frame = pd.DataFrame(
        {
            "day": local.day.astype(str),
            "hour": local.hour.astype(str),
            "time_hour": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    rules = _found(frame)
    assert rules["t.day = day(t.time_hour)"].value == rules["t.hour = hour(t.time_hour)"].value
    assert rules["t.day = day(t.time_hour)"].share == 1.0


def test_kept_rules_hold_in_every_row_of_a_generated_frame() -> None:
    rng = np.random.default_rng(5)
    frame = _orders(0.0)
    frame["level"] = rng.choice(["a", "b", "c"], ROWS)
    frame["code"] = frame["level"].map({"a": "10", "b": "20", "c": "30"})
    typed, schema = _typed(frame)
    rules = discover_table_rules(typed, schema)  # type: ignore[arg-type]
    # a "generated" frame: every column drawn on its own
    drawn = typed.apply(lambda c: pd.Series(rng.permutation(c.to_numpy()), index=c.index))
    assert rule_share(rules[0], drawn) < 0.9
    kept = keep_table_rules(rules, drawn, np.random.default_rng(0))
    for rule in rules:
        assert rule_share(rule, kept) == 1.0, rule.text
    repaired = (drawn["start"] > drawn["end"]).to_numpy()
    gaps = (kept["end"] - kept["start"])[repaired]
    assert repaired.sum() > 100
    assert gaps.min() >= 1 and gaps.max() <= 29  # repaired with the source's gaps


def test_a_rule_below_one_is_kept_at_about_its_share() -> None:
    rule = Rule(kind="order", table="t", column="b", source="a", share=0.9, gaps=[1.0, 2.0])
    rng = np.random.default_rng(6)
    drawn = pd.DataFrame({"a": rng.uniform(0, 10, 10_000), "b": rng.uniform(0, 10, 10_000)})
    kept = keep_table_rules([rule], drawn, np.random.default_rng(0))
    assert rule_share(rule, kept) == pytest.approx(0.9, abs=0.005)
    # rows that kept the rule already are left alone
    held = drawn["a"] <= drawn["b"]
    assert (kept.loc[held, "b"] == drawn.loc[held, "b"]).all()


def test_declared_rules_replace_found_ones_and_drops_win() -> None:
    found = [Rule(kind="order", table="t", column="b", source="a", share=0.97)]
    given = declared([{"kind": "order", "source": "a", "column": "b"}], "t")
    assert select(found, given, [], True)[0].declared
    assert select(found, [], ["t.a <= t.b"], True) == []
    assert select(found, given, [], False) == given
    with pytest.raises(ValueError):
        complete(declared([{"kind": "function", "source": "x", "column": "y"}], "t")[0], None)


def test_a_kept_part_matches_its_datetime_in_the_zone_found() -> None:
    rule = Rule(
        kind="part", table="t", column="hour", source="time", part="hour", value="Europe/Paris"
    )
    rng = np.random.default_rng(8)
    seconds = rng.uniform(1.3e9, 1.4e9, 5_000).round()
    drawn = pd.DataFrame({"time": seconds, "hour": rng.integers(0, 24, 5_000).astype(float)})
    kept = keep_table_rules([rule], drawn, np.random.default_rng(0))
    paris = pd.to_datetime(seconds, unit="s", utc=True).tz_convert("Europe/Paris").hour
    assert np.array_equal(kept["hour"].to_numpy(), paris.to_numpy(dtype=float))
    assert rule_share(rule, kept) == 1.0


def test_a_column_of_mostly_one_row_values_is_redrawn_to_fit_what_it_determines() -> None:
    """Cities of few customers each: the model pools them and draws them back at random, so
    the rule is kept by choosing a city of the row's country, not a country for the city."""
    rng = np.random.default_rng(9)
    countries = {f"city{i}": f"country{i % 12}" for i in range(150)}
    cities = np.r_[rng.choice(list(countries), 170), [f"city{i}" for i in range(10)]]
    frame = pd.DataFrame({"city": cities, "country": [countries[c] for c in cities]})
    rules = _found(frame)
    rule = rules["t.city -> t.country"]
    assert rule.reverse and rule.share == 1.0
    typed, _ = _typed(frame)
    drawn = typed.assign(city=rng.permutation(typed["city"].to_numpy()))
    kept = keep_table_rules([rule], drawn, np.random.default_rng(0))
    assert (kept["country"] == drawn["country"]).all()  # the country is the model's
    assert all(countries[c] == k for c, k in zip(kept["city"], kept["country"], strict=True))


def test_precision_and_format_are_listed_and_measured_as_written() -> None:
    from synthdb.evaluation.rules import table_rule_shares

    rng = np.random.default_rng(10)
    days = pd.Timestamp("1993-01-01") + pd.to_timedelta(rng.integers(0, 2_000, ROWS), unit="D")
    real = pd.DataFrame(
        {
            "amount": [f"{v:.2f}" for v in rng.uniform(1, 500, ROWS)],
            "date": days.strftime("%y%m%d").astype(int),
        }
    )
    texts = set(_found(real))
    assert {"t.amount: at most 2 decimals", "t.date: written as %y%m%d"} <= texts
    twin = real.copy()
    twin.loc[: ROWS // 4 - 1, "amount"] = "1.23456"  # a quarter with too many decimals
    twin.loc[: ROWS // 2 - 1, "date"] = 931349  # half of them impossible dates
    shares = {s.rule: s for s in table_rule_shares(real, twin, table="t")}
    assert shares["t.amount: at most 2 decimals"].synthetic_share == pytest.approx(0.75)
    assert shares["t.date: written as %y%m%d"].source_share == 1.0
    assert shares["t.date: written as %y%m%d"].synthetic_share == pytest.approx(0.5)


def test_redrawn_values_fit_every_determined_column_even_when_the_row_contradicts_itself() -> None:
    rng = np.random.default_rng(11)
    country = {f"city{i}": f"country{i % 12}" for i in range(150)}
    region = {f"city{i}": f"region{i % 36}" for i in range(150)}
    cities = np.r_[rng.choice(list(country), 170), [f"city{i}" for i in range(10)]]
    frame = pd.DataFrame(
        {
            "city": cities,
            "region": [region[c] for c in cities],
            "country": [country[c] for c in cities],
        }
    )
    rules = [r for r in _found(frame).values() if r.source == "city"]
    assert {r.column for r in rules} == {"region", "country"} and all(r.reverse for r in rules)
    typed, _ = _typed(frame)
    # the "model" draws region and country on their own: most rows contradict themselves
    drawn = typed.apply(lambda c: pd.Series(rng.permutation(c.to_numpy()), index=c.index))
    kept = keep_table_rules(rules, drawn, np.random.default_rng(0))
    for rule in rules:
        assert rule_share(rule, kept) == 1.0, rule.text
    # the column of fewest values is the one kept as drawn
    assert (kept["country"] == drawn["country"]).all()


def _loans(broken_share: float, seed: int = 0) -> pd.DataFrame:
    """A loan's amount is its months times its monthly payment (2 decimals), and a fee plus
    the amount is what is owed; ``broken_share`` of amounts are off by a few percent."""
    rng = np.random.default_rng(seed)
    months = rng.choice([12, 24, 36, 48, 60], ROWS)
    payment = np.round(rng.uniform(300, 9_000, ROWS), 2)
    amount = np.round(months * payment)
    off = rng.uniform(size=ROWS) < broken_share
    amount[off] = np.round(amount[off] * rng.uniform(1.02, 1.2, int(off.sum())))
    fee = rng.integers(0, 500, ROWS)
    return pd.DataFrame(
        {
            "months": months,
            "payment": [f"{p:.2f}" for p in payment],
            "amount": amount.astype(int),
            "fee": fee,
            "owed": amount.astype(int) + fee,
        }
    )


def test_a_product_and_a_sum_within_a_row_are_found() -> None:
    rules = _found(_loans(0.0))
    product = rules["t.amount = t.months * t.payment"]
    assert product.kind == "arithmetic" and product.share == 1.0 and product.decimals == 0
    assert rules["t.owed = t.amount + t.fee"].share == 1.0


def test_a_product_broken_in_one_row_of_ten_is_not_found() -> None:
    assert not [t for t in _found(_loans(0.10)) if "t.amount =" in t]


def test_kept_arithmetic_holds_in_every_row_and_at_its_share() -> None:
    typed, schema = _typed(_loans(0.0))
    found = discover_table_rules(typed, schema)  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    scrambled = typed.assign(
        amount=rng.permutation(typed["amount"].to_numpy()),
        owed=rng.permutation(typed["owed"].to_numpy()),
    )
    kept = keep_table_rules(found, scrambled, rng)
    for rule in (r for r in found if r.kind == "arithmetic"):
        assert rule_share(rule, kept) == 1.0
    partial = next(r for r in found if r.column == "amount")
    partial.share = 0.9
    kept = keep_table_rules([partial], scrambled, rng)
    assert rule_share(partial, kept) == pytest.approx(0.9, abs=0.01)
