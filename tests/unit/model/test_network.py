from __future__ import annotations

import itertools

import pytest
import torch

from synthdb.model import network
from synthdb.model.network import (
    AutoregressiveNet,
    NetworkShape,
    _Dropout,
    _keep_mask,
    _prefix_groups,
    _PrefixLinear,
)

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


# --------------------------------------------------------------------- the training layout
# A training step computes the plain layout of the module docstring with less work (the
# first layer per group of blocks, dropout in place). The reference below is that plain
# layout, written out from the parameters, as the network computed it before.

SHAPES = [
    NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8),
    NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, depth=3, hidden_inputs=(1, 3)),
    NetworkShape((40, 3, 900, 16, 2, 75), embedding_dim=8, hidden=16, hidden_inputs=(3,)),
    NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, depth=2, context=2),
]


def _plain_logits(net: AutoregressiveNet, tokens: torch.Tensor) -> list[torch.Tensor]:
    """Embeddings of every sub-column, one dense product with the masked weight, per-block
    relu, further layers and heads: the layout of the module docstring, no dropout."""
    state = net.state_dict()
    embedded = [state[f"embeddings.{j}.weight"][tokens[:, j]] for j in range(len(net.cards))]
    pre = torch.cat(embedded, dim=1) @ (state["w1"] * net.mask1).t() + state["b1"]
    blocks = [torch.relu(b) for b in torch.split(pre, net.h, dim=1)]
    for depth in range(net.shape.depth - 1):
        blocks = [
            torch.relu(b @ state[f"deep.{depth}.{j}.weight"].t() + state[f"deep.{depth}.{j}.bias"])
            for j, b in enumerate(blocks)
        ]
    return [
        b @ state[f"heads.{j}.weight"].t() + state[f"heads.{j}.bias"] for j, b in enumerate(blocks)
    ]


def _tokens_for(shape: NetworkShape, rows: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.stack(
        [torch.randint(0, c, (rows,), generator=generator) for c in shape.cardinalities], dim=1
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_a_state_dict_of_the_plain_layout_loads_and_gives_its_logits(
    shape: NetworkShape,
) -> None:
    # Setup: weights under the plain layout's names and shapes, as every model file holds
    # them, drawn at random (not from the network's own initialisation)
    torch.manual_seed(5)
    plain = AutoregressiveNet(shape)
    generator = torch.Generator().manual_seed(6)
    state = {k: torch.randn(v.shape, generator=generator) for k, v in plain.state_dict().items()}
    tokens = _tokens_for(shape, 300, seed=7)

    # Run
    net = AutoregressiveNet(shape).eval()
    net.load_state_dict(state)  # strict: no name missing, none unexpected
    with torch.no_grad():
        logits, expected = net(tokens), _plain_logits(net, tokens)

    # Assert
    assert list(net.state_dict()) == list(state)
    for j, (got, want) in enumerate(zip(logits, expected, strict=True)):
        assert torch.allclose(got, want, atol=1e-4, rtol=1e-5), f"sub-column {j}"


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_are_the_plain_layouts(shape: NetworkShape) -> None:
    # Setup
    torch.manual_seed(8)
    net = AutoregressiveNet(shape).eval()  # eval: no dropout, so both are deterministic
    tokens = _tokens_for(shape, 200, seed=9)
    params = dict(net.named_parameters())

    # Run
    net.loss(tokens).backward()  # type: ignore[no-untyped-call]
    got = {k: p.grad for k, p in params.items()}
    for p in params.values():
        p.grad = None
    logits = _plain_logits_with_grad(net, tokens)
    plain_loss = sum(
        torch.nn.functional.cross_entropy(logits[j], tokens[:, j], reduction="none")
        for j in range(shape.context, len(shape.cardinalities))
    )
    plain_loss.mean().backward()  # type: ignore[union-attr]

    # Assert: an embedding no block sees gets no gradient instead of a zero one
    for name, p in params.items():
        want = p.grad if p.grad is not None else torch.zeros_like(p)
        have = got[name] if got[name] is not None else torch.zeros_like(p)
        assert torch.allclose(have, want, atol=1e-6, rtol=1e-4), name


def _plain_logits_with_grad(net: AutoregressiveNet, tokens: torch.Tensor) -> list[torch.Tensor]:
    """:func:`_plain_logits` on the parameters themselves, so that gradients flow."""
    embedded = [e.weight[tokens[:, j]] for j, e in enumerate(net.embeddings)]  # type: ignore[union-attr]
    pre = torch.cat(embedded, dim=1) @ (net.w1 * net.mask1).t() + net.b1
    blocks = [torch.relu(b) for b in torch.split(pre, net.h, dim=1)]
    for layer in net.deep:
        blocks = [torch.relu(layer[j](b)) for j, b in enumerate(blocks)]  # type: ignore[index]
    return [net.heads[j](b) for j, b in enumerate(blocks)]


def test_the_grouped_first_layer_passes_gradcheck() -> None:
    # Setup: blocks of 3, 4, 2 and 5 rows seeing 0, 2, 5 and 6 input columns, in groups
    rows, seen = [3, 4, 2, 5], [0, 2, 5, 6]
    groups = _prefix_groups(rows, seen)
    mask = torch.zeros(14, 6, dtype=torch.float64)
    start = 0
    for width, cols in zip(rows, seen, strict=True):
        mask[start : start + width, :cols] = 1.0
        start += width
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(7, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    weight = torch.randn(14, 6, dtype=torch.float64, generator=generator) * mask
    weight.requires_grad_()
    bias = torch.randn(14, dtype=torch.float64, generator=generator, requires_grad=True)

    def layer(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _PrefixLinear.apply(x, weight * mask, bias, groups)  # type: ignore[no-untyped-call]

    # Run / Assert: against finite differences, and against the dense product
    assert torch.autograd.gradcheck(layer, (x, weight, bias))
    assert torch.allclose(layer(x, weight, bias), x @ (weight * mask).t() + bias)


@pytest.mark.parametrize("most", [1, 2, 8])
def test_groups_cover_every_block_once_and_see_what_their_blocks_see(
    most: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(network, "MAX_GROUPS", most)
    rows = [0, 0, 42, 67, 96, 48, 103, 48, 192, 24]  # two given sub-columns: no rows
    seen = [0, 7, 16, 16, 27, 35, 35, 47, 69, 69]

    groups = _prefix_groups(rows, seen)

    assert 1 <= len(groups) <= most
    assert groups[0][0] == 0 and groups[-1][1] == sum(rows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(groups))
    starts = network._offsets(rows)
    for j, width in enumerate(rows):
        if width:
            (cols,) = [c for lo, hi, c in groups if lo <= starts[j] < hi]
            assert cols >= seen[j]


def test_dropout_drops_its_share_and_keeps_the_mean() -> None:
    torch.manual_seed(0)

    keep, scale = _keep_mask((1_000, 1_000), 0.1)

    assert keep.dtype == torch.uint8
    share = float(keep.double().mean())
    assert abs(share - 0.9) < 0.002  # standard error 0.0003
    assert abs(share * scale - 1.0) < 0.003
    assert scale * (1 - round(0.1 * 2**15) / 2**15) == pytest.approx(1.0, abs=1e-12)
    # no structure across the 16-bit lanes of a random word
    lanes = keep.reshape(-1)[:999_996].reshape(-1, 4).double().mean(dim=0)
    assert float((lanes - 0.9).abs().max()) < 0.004


def test_dropout_near_one_still_keeps_a_few_values() -> None:
    keep, scale = _keep_mask((1_000, 100), 0.99999)  # the config allows any p < 1

    assert scale == 2**15
    assert 0 < int(keep.sum()) < 30  # about 3 of 100,000


def test_training_with_dropout_is_reproducible_under_the_seed() -> None:
    shape = NetworkShape(CARDINALITIES, embedding_dim=4, hidden=8, dropout=0.3)
    tokens = _tokens_for(shape, 64, seed=1)

    def loss(seed: int) -> float:
        torch.manual_seed(0)
        net = AutoregressiveNet(shape).train()
        torch.manual_seed(seed)
        return float(net.loss(tokens).detach())

    assert loss(1) == loss(1)
    assert loss(1) != loss(2)


def test_a_dropped_hidden_value_gets_no_gradient_and_a_kept_one_is_scaled() -> None:
    # Setup
    torch.manual_seed(3)
    pre = torch.randn(500, 40)
    leaf = pre.clone().requires_grad_()

    # Run: the function works in place on a fresh tensor, as the network hands it one
    out = _Dropout.apply(leaf * 1.0, 0.25, True)  # type: ignore[no-untyped-call]
    out.backward(torch.ones_like(out))

    # Assert
    scale = 2**15 / (2**15 - round(0.25 * 2**15))
    kept = out != 0
    assert torch.allclose(out[kept], pre[kept] * scale)
    assert bool((pre[kept] > 0).all())
    assert torch.equal(leaf.grad, kept.float() * scale)
    assert abs(float((~kept & (pre > 0)).sum()) / float((pre > 0).sum()) - 0.25) < 0.03
