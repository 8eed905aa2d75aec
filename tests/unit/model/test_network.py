from __future__ import annotations

import pytest
import torch

from synthdb.model.network import AutoregressiveNet, NetworkShape

CARDINALITIES = (3, 5, 2, 7, 4)


def _net(depth: int = 2, seed: int = 0) -> AutoregressiveNet:
    torch.manual_seed(seed)
    net = AutoregressiveNet(
        NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, depth=depth, dropout=0.2)
    )
    return net.eval()


def _random_tokens(rows: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    columns = [torch.randint(0, c, (rows,), generator=generator) for c in CARDINALITIES]
    return torch.stack(columns, dim=1)


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("k", range(len(CARDINALITIES)))
def test_changing_sub_column_k_never_changes_the_logits_up_to_k(depth: int, k: int) -> None:
    # Setup
    net = _net(depth)
    tokens = _random_tokens(64)
    changed = tokens.clone()
    changed[:, k] = (changed[:, k] + 1) % CARDINALITIES[k]

    # Run
    with torch.no_grad():
        before, after = net(tokens), net(changed)

    # Assert: exactly equal for j <= k, and the change does reach later sub-columns
    for j in range(k + 1):
        assert torch.equal(before[j], after[j]), f"logits of {j} depend on sub-column {k}"
    if k + 1 < len(CARDINALITIES):
        assert any(not torch.equal(before[j], after[j]) for j in range(k + 1, len(CARDINALITIES)))


def test_logits_have_one_column_per_value_of_each_sub_column() -> None:
    logits = _net()(_random_tokens(10))

    assert [tuple(x.shape) for x in logits] == [(10, c) for c in CARDINALITIES]


def test_samples_are_valid_tokens_within_each_cardinality() -> None:
    samples = _net().sample(5_000, torch.Generator().manual_seed(0))

    assert samples.shape == (5_000, len(CARDINALITIES))
    assert samples.dtype == torch.long
    for j, cardinality in enumerate(CARDINALITIES):
        assert samples[:, j].min() >= 0
        assert samples[:, j].max() < cardinality
        assert len(samples[:, j].unique()) == cardinality  # every value drawn at this size


def test_the_same_generator_seed_gives_the_same_samples() -> None:
    net = _net()

    first = net.sample(1_000, torch.Generator().manual_seed(42))
    again = net.sample(1_000, torch.Generator().manual_seed(42))
    other = net.sample(1_000, torch.Generator().manual_seed(43))

    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_samples_follow_the_conditionals_the_forward_pass_computes() -> None:
    # Setup: by the law of total probability, the share of value v in sampled column j is the
    # mean over the sampled rows of p(x_j = v | x_<j) as given by the teacher-forced forward pass.
    net = _net()
    rows = 20_000

    # Run
    samples = net.sample(rows, torch.Generator().manual_seed(7))
    with torch.no_grad():
        probabilities = [torch.softmax(x, dim=1) for x in net(samples)]

    # Assert: the standard error of a share is <= 0.0036 at 20,000 rows; 0.02 is > 5 SE
    for j, cardinality in enumerate(CARDINALITIES):
        observed = torch.bincount(samples[:, j], minlength=cardinality).double() / rows
        expected = probabilities[j].double().mean(dim=0)
        assert (observed - expected).abs().max() < 0.02, f"sub-column {j}"


def test_row_loss_is_the_summed_cross_entropy_of_every_sub_column() -> None:
    net = _net()
    tokens = _random_tokens(32)

    with torch.no_grad():
        per_row = net.row_loss(tokens)
        logits = net(tokens)
    expected = sum(
        torch.nn.functional.cross_entropy(x, tokens[:, j], reduction="none")
        for j, x in enumerate(logits)
    )

    assert per_row.shape == (32,)
    assert torch.allclose(per_row, expected)
    assert torch.isclose(net.loss(tokens), per_row.mean())


def test_shape_survives_a_dict_round_trip() -> None:
    shape = NetworkShape((3, 200, 16), embedding_dim=6, hidden=24, depth=2, dropout=0.3)

    assert NetworkShape.from_dict(shape.to_dict()) == shape


@pytest.mark.parametrize(
    ("depth", "cardinalities"),
    [
        (1, CARDINALITIES),  # few distinct prefixes: each computed once (Sampler._shared)
        (3, CARDINALITIES),
        (1, (60, 50, 70, 40, 30)),  # many: computed row by row
    ],
)
def test_each_sampled_token_is_the_inverse_cdf_of_the_forward_pass_at_its_uniform(
    depth: int, cardinalities: tuple[int, ...]
) -> None:
    # Setup: the sampler rewrites the first layer as lookup tables and works in chunks; the
    # teacher-forced forward pass is the reference. Given the same uniform per cell, both must
    # pick the same token (up to float rounding at a bin edge). 10,000 rows span two chunks,
    # and sub-column 1 is hidden from later ones, as a number's position within its bin is.
    torch.manual_seed(3)
    net = AutoregressiveNet(
        NetworkShape(cardinalities, embedding_dim=4, hidden=8, depth=depth, hidden_inputs=(1,))
    ).eval()
    rows = 10_000

    # Run
    samples = net.sample(rows, torch.Generator().manual_seed(11))
    draws = torch.rand(rows, len(cardinalities), generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        logits = net(samples)

    # Assert
    for j, column_logits in enumerate(logits):
        cumulative = torch.softmax(column_logits.double(), dim=1).cumsum(dim=1)
        expected = torch.searchsorted(cumulative, draws[:, j : j + 1].double(), right=True)
        expected = expected.squeeze(1).clamp(max=cardinalities[j] - 1)
        mismatches = int((expected != samples[:, j]).sum())
        assert mismatches <= 2, f"sub-column {j}: {mismatches} of {rows} tokens differ"


def test_a_conditional_model_copies_its_context_and_samples_the_rest_by_inverse_cdf() -> None:
    # Setup: the first two sub-columns are given (a parent row's tokens)
    torch.manual_seed(4)
    net = AutoregressiveNet(NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, context=2))
    net.eval()
    rows = 4_000
    context = _random_tokens(rows, seed=9)[:, :2]

    # Run
    samples = net.sample(rows, torch.Generator().manual_seed(5), context)
    draws = torch.rand(rows, len(CARDINALITIES), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = net(samples)

    # Assert: context kept; each later token is the inverse CDF given that very context
    assert torch.equal(samples[:, :2], context)
    for j in range(2, len(CARDINALITIES)):
        cumulative = torch.softmax(logits[j].double(), dim=1).cumsum(dim=1)
        expected = torch.searchsorted(cumulative, draws[:, j : j + 1].double(), right=True)
        expected = expected.squeeze(1).clamp(max=CARDINALITIES[j] - 1)
        assert int((expected != samples[:, j]).sum()) <= 2


def test_a_conditional_model_learns_nothing_about_its_context_columns() -> None:
    net = AutoregressiveNet(NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, context=2))
    net.eval()
    tokens = _random_tokens(16)

    with torch.no_grad():
        logits = net(tokens)
        expected = sum(
            torch.nn.functional.cross_entropy(logits[j], tokens[:, j], reduction="none")
            for j in range(2, len(CARDINALITIES))
        )

    assert net.shape.hidden_widths[:2] == [0, 0]
    assert torch.allclose(net.row_loss(tokens), expected)


def test_a_conditional_model_refuses_missing_context() -> None:
    net = AutoregressiveNet(NetworkShape(CARDINALITIES, context=2))

    with pytest.raises(ValueError, match="needs context"):
        net.sample(10, torch.Generator().manual_seed(0))


def test_a_wide_table_samples_although_its_prefixes_outnumber_int64() -> None:
    # 30 sub-columns of 1,000 values: 1000**30 input prefixes, far beyond 2**63
    net = AutoregressiveNet(NetworkShape((1_000,) * 30, embedding_dim=2, hidden=4)).eval()

    samples = net.sample(100, torch.Generator().manual_seed(0))

    assert samples.shape == (100, 30)
    assert int(samples.max()) < 1_000
