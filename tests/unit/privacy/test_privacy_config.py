"""The ``Privacy`` settings as flags, presets and job-file sections resolve them."""

from __future__ import annotations

import pytest

from synthdb.config import PRIVACY_PRESETS, make_config
from synthdb.errors import UsageError


@pytest.mark.parametrize(("level", "epsilon"), [("high", 1.0), ("medium", 5.0), ("low", 20.0)])
def test_presets_set_epsilon(level: str, epsilon: float) -> None:
    config = make_config(privacy=level)
    assert config.privacy is not None and config.privacy.epsilon == epsilon
    assert PRIVACY_PRESETS[level] == epsilon


def test_an_explicit_epsilon_wins_over_the_preset() -> None:
    config = make_config(privacy="medium", epsilon=3, clip=0.5, microbatches=64)
    assert config.privacy is not None
    assert (config.privacy.epsilon, config.privacy.clip, config.privacy.microbatches) == (
        3,
        0.5,
        64,
    )
    assert config.privacy.noise_multiplier == "auto"


def test_a_job_file_section_with_public_declarations() -> None:
    config = make_config(
        privacy={
            "epsilon": 1,
            "public": {"age": {"bounds": [0, 120]}, "sex": {"categories": ["F", "M"]}},
        }
    )
    assert config.privacy is not None
    assert config.privacy.public["age"].bounds == (0.0, 120.0)
    assert config.privacy.public["sex"].categories == ["F", "M"]


def test_no_privacy_unless_asked() -> None:
    assert make_config().privacy is None


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"privacy": "extreme"}, "`privacy` must be one of high, medium, low"),
        ({"epsilon": -1}, "`epsilon`"),
        ({"privacy": {"epsilon": 1, "public": {"a": {"bounds": [5, 1]}}}}, "low < high"),
    ],
)
def test_bad_privacy_settings_are_usage_errors(values: dict, fragment: str, one_line) -> None:
    with pytest.raises(UsageError) as caught:
        make_config(**values)
    one_line(caught.value, fragment)


def test_dropout_is_off_under_dp_unless_set() -> None:
    """DP-SGD's noise regularises already: dropout on top cost 0.008 accuracy on Adult."""
    assert make_config().dropout == 0.1
    assert make_config(epsilon=4).dropout == 0.0
    assert make_config(epsilon=4, dropout=0.2).dropout == 0.2
    assert make_config(dropout=0.0).dropout == 0.0
