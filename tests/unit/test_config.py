from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from synthdb.config import TrainingConfig, make_config
from synthdb.errors import UsageError

OneLine = Callable[..., str]


@pytest.mark.parametrize(
    ("purpose", "epochs", "nulls"),
    [("testing", 15, "replace"), ("analytics", 35, "drop"), ("ml", 75, "drop")],
)
def test_purpose_presets_fill_epochs_and_null_policy(purpose: str, epochs: int, nulls: str) -> None:
    config = TrainingConfig(purpose=purpose)  # type: ignore[arg-type]

    assert (config.max_epochs, config.nulls) == (epochs, nulls)


def test_the_default_purpose_is_analytics() -> None:
    config = TrainingConfig()

    assert (config.purpose, config.max_epochs, config.nulls) == ("analytics", 35, "drop")


@pytest.mark.parametrize("purpose", ["testing", "analytics", "ml"])
def test_explicit_values_win_over_the_preset(purpose: str) -> None:
    config = TrainingConfig(purpose=purpose, max_epochs=3, nulls="keep")  # type: ignore[arg-type]

    assert (config.max_epochs, config.nulls) == (3, "keep")


def test_an_explicit_value_equal_to_another_presets_default_still_wins() -> None:
    config = TrainingConfig(purpose="ml", max_epochs=35, nulls="replace")

    assert (config.max_epochs, config.nulls) == (35, "replace")


def test_unset_values_passed_as_none_fall_back_to_the_preset() -> None:
    # the CLI passes every flag, unset ones as None
    config = make_config(purpose="testing", max_epochs=None, nulls=None, max_time=None)

    assert (config.max_epochs, config.nulls, config.max_time) == (15, "replace", None)


def test_a_config_survives_a_json_round_trip() -> None:
    config = TrainingConfig(
        purpose="testing", max_epochs=3, columns={"zip": {"kind": "categorical"}}
    )

    again = TrainingConfig(**config.model_dump(mode="json"))

    assert again == config


def test_config_is_frozen() -> None:
    config = TrainingConfig()

    with pytest.raises(ValidationError):
        config.max_epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"max_epochs": 0}, ("`max_epochs`", "(got 0)")),
        ({"max_epochs": -1}, ("`max_epochs`", "(got -1)")),
        ({"max_epochs": "many"}, ("`max_epochs`", "'many'")),
        ({"nulls": "ignore"}, ("`nulls`", "'replace'", "'keep'", "'ignore'")),
        ({"purpose": "fun"}, ("`purpose`", "'fun'")),
        ({"max_time": 0}, ("`max_time`",)),
        ({"patience": 0}, ("`patience`",)),
        ({"validation_share": 0.5}, ("`validation_share`",)),
        ({"learning_rate": -0.1}, ("`learning_rate`",)),
        ({"epochs": 3}, ("`epochs`", "extra")),
    ],
)
def test_bad_values_are_a_one_line_usage_error_naming_the_flag(
    values: dict[str, Any], fragments: tuple[str, ...], one_line: OneLine
) -> None:
    with pytest.raises(UsageError) as excinfo:
        make_config(**values)

    one_line(excinfo.value, *fragments)


def test_good_values_pass_through_make_config() -> None:
    config = make_config(purpose="ml", max_epochs=5, nulls="keep", max_time=30.0, seed=4)

    assert (config.max_epochs, config.nulls, config.max_time, config.seed) == (5, "keep", 30.0, 4)
