"""Raking a network's heads to given marginals: what it generates afterwards matches them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.privacy.calibration import calibrate_heads

CARDS = (3, 6, 4, 2)


def _net(seed: int) -> AutoregressiveNet:
    """A network with random weights, its heads pushed far from any sensible marginal."""
    torch.manual_seed(seed)
    net = AutoregressiveNet(NetworkShape(cardinalities=CARDS, hidden=16, embedding_dim=4))
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0.0, 0.5)
    return net


def _targets(seed: int) -> list[np.ndarray | None]:
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.full(c, 2.0)) for c in CARDS]


def _marginals(net: AutoregressiveNet, rows: int, seed: int) -> list[np.ndarray]:
    tokens = net.sample(rows, torch.Generator().manual_seed(seed)).numpy()
    return [np.bincount(tokens[:, j], minlength=c) / rows for j, c in enumerate(CARDS)]


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_marginals_match_the_targets_after_raking(seed: int) -> None:
    net, targets = _net(seed), _targets(seed)
    before = [_tvd(m, t) for m, t in zip(_marginals(net, 100_000, 9), targets, strict=True)]
    assert max(before) > 0.1  # random heads miss: the test can fail

    done = calibrate_heads(net, targets, torch.Generator().manual_seed(3))

    # Counted on fresh draws (not the ones raked on): sampling noise at 100,000 rows is ~0.003.
    after = [_tvd(m, t) for m, t in zip(_marginals(net, 100_000, 11), targets, strict=True)]
    assert max(after) < 0.015
    assert done.columns == len(CARDS)
    assert done.tvd_after < done.tvd_before / 5
    assert done.max_tvd_after < 0.015


def test_sub_columns_without_a_target_are_left_as_trained() -> None:
    net = _net(4)
    targets = _targets(4)
    targets[1] = None
    untouched = net.heads[1].bias.detach().clone()  # type: ignore[union-attr]
    done = calibrate_heads(net, targets, torch.Generator().manual_seed(3))
    assert done.columns == 3
    assert torch.equal(net.heads[1].bias, untouched)  # type: ignore[union-attr]


def test_calibration_keeps_the_dependence_between_columns() -> None:
    """Only biases move: which value of column 1 goes with which value of column 0 survives."""
    net = _net(5)
    tokens = net.sample(50_000, torch.Generator().manual_seed(1)).numpy()
    before = np.corrcoef(tokens[:, 0], tokens[:, 1])[0, 1]
    calibrate_heads(net, _targets(5), torch.Generator().manual_seed(3))
    tokens = net.sample(50_000, torch.Generator().manual_seed(1)).numpy()
    after = np.corrcoef(tokens[:, 0], tokens[:, 1])[0, 1]
    assert abs(before) > 0.05
    assert np.sign(after) == np.sign(before)


def test_a_target_of_the_wrong_size_or_with_zeros_is_refused() -> None:
    net = _net(6)
    wrong = _targets(6)
    wrong[0] = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="sub-column 0"):
        calibrate_heads(net, wrong, torch.Generator().manual_seed(3))
    zeros = _targets(6)
    zeros[2] = np.array([1.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="sub-column 2"):
        calibrate_heads(net, zeros, torch.Generator().manual_seed(3))
