"""DP-SGD's step against a per-example reference loop, clipping bounds, and the noise's scale."""

from __future__ import annotations

import pytest
import torch

from synthdb.model.network import AutoregressiveNet, NetworkShape
from synthdb.privacy.dpsgd import (
    PrivateGradient,
    StepSettings,
    _forward,
    poisson_batch,
    subject_batch,
)

CLIP = 0.5


@pytest.fixture
def net() -> AutoregressiveNet:
    torch.manual_seed(0)
    shape = NetworkShape(
        cardinalities=(3, 5, 4, 7),
        hidden_inputs=(2,),
        embedding_dim=4,
        hidden=8,
        depth=2,
        dropout=0.0,
    )
    return AutoregressiveNet(shape)


@pytest.fixture
def tokens(net: AutoregressiveNet) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.stack([torch.randint(0, c, (16,), generator=generator) for c in net.cards], dim=1)


def reference(
    net: AutoregressiveNet, tokens: torch.Tensor, groups: list[torch.Tensor], clip: float
) -> list[torch.Tensor]:
    """The textbook loop: one autograd pass per group, clip its mean gradient, sum."""
    params = list(net.parameters())
    total = [torch.zeros_like(p) for p in params]
    for rows in groups:
        if len(rows) == 0:
            continue
        # the embeddings no block sees (a hidden input, the last sub-column) are not in the
        # training graph: their gradient is zero
        found = torch.autograd.grad(net.row_loss(tokens[rows]).mean(), params, allow_unused=True)
        grads = [
            torch.zeros_like(p) if g is None else g for p, g in zip(params, found, strict=True)
        ]
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        factor = min(1.0, clip / (float(norm) + 1e-12))
        total = [t + factor * g for t, g in zip(total, grads, strict=True)]
    return total


def largest_gap(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def test_forward_with_taps_is_the_networks_forward(net, tokens) -> None:
    assert torch.allclose(_forward(net, tokens).loss, net.row_loss(tokens), atol=1e-6)


def test_per_example_clipping_equals_a_per_example_loop(net, tokens) -> None:
    step = PrivateGradient(net, StepSettings(CLIP, 0.0, None, 16.0), torch.Generator())
    fast, _ = step.clipped_sum(tokens)
    slow = reference(net, tokens, [torch.tensor([i]) for i in range(len(tokens))], CLIP)
    assert largest_gap(fast, slow) < 1e-5


def test_microbatches_equal_a_per_group_loop(net, tokens) -> None:
    step = PrivateGradient(net, StepSettings(CLIP, 0.0, 3, 3.0), torch.Generator().manual_seed(5))
    fast, _ = step.clipped_sum(tokens)
    group = torch.randint(0, 3, (len(tokens),), generator=torch.Generator().manual_seed(5))
    slow = reference(net, tokens, [torch.nonzero(group == g).squeeze(1) for g in range(3)], CLIP)
    assert largest_gap(fast, slow) < 1e-5


def test_each_examples_contribution_is_at_most_clip(net, tokens) -> None:
    clip = 1e-2  # far below the raw gradient norms, so every example is clipped
    step = PrivateGradient(net, StepSettings(clip, 0.0, None, 16.0), torch.Generator())
    total, norms = step.clipped_sum(tokens)
    assert bool((norms > clip).all())
    parts = []
    for i in range(len(tokens)):
        alone, _ = step.clipped_sum(tokens[i : i + 1])
        norm = torch.sqrt(sum((g**2).sum() for g in alone))
        assert float(norm) == pytest.approx(clip, rel=1e-4)
        parts.append(alone)
    summed = [torch.stack(p).sum(0) for p in zip(*parts, strict=True)]
    assert largest_gap(total, summed) < 1e-6


def test_noise_has_std_noise_multiplier_times_clip(net) -> None:
    clip, multiplier, groups = 0.7, 1.3, 4.0
    settings = StepSettings(clip, multiplier * clip, None, groups)
    step = PrivateGradient(net, settings, torch.Generator().manual_seed(11))
    empty = torch.zeros(0, len(net.cards), dtype=torch.long)  # no signal: what is left is noise
    samples: list[torch.Tensor] = []
    while sum(s.numel() for s in samples) < 50_000:
        step.step(empty)
        samples.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    noise = torch.cat(samples) * groups  # undo the division by the expected number of groups
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.03)
    assert float(noise.std()) == pytest.approx(multiplier * clip, rel=0.02)


def test_poisson_sampling_includes_each_row_at_the_rate() -> None:
    generator = torch.Generator().manual_seed(3)
    sizes = [len(poisson_batch(10_000, 0.05, generator)) for _ in range(50)]
    assert sum(sizes) / len(sizes) == pytest.approx(500, rel=0.03)
    assert len(set(sizes)) > 10  # the batch size varies: it is not a fixed-size shuffle


def test_subjects_join_a_step_whole_each_at_the_rate() -> None:
    """User-level sampling: a subject's rows come all together or not at all, and each
    subject joins about ``sample_rate`` of the steps, however many rows it has."""
    generator = torch.Generator().manual_seed(4)
    rows_per_subject = torch.tensor([1] * 200 + [9] * 200)  # light and heavy subjects
    subjects = torch.repeat_interleave(torch.arange(400), rows_per_subject)
    joined = torch.zeros(400)
    for _ in range(400):
        rows, groups = subject_batch(subjects, 400, 0.1, generator)
        chosen = subjects[rows]
        present = torch.bincount(chosen, minlength=400)
        taken = present > 0
        assert bool((present[taken] == rows_per_subject[taken]).all())  # whole subjects only
        assert len(torch.unique(groups)) == int(taken.sum())  # one group per subject
        joined += taken.float()
    light, heavy = joined[:200].mean() / 400, joined[200:].mean() / 400
    assert float(light) == pytest.approx(0.1, abs=0.01)
    assert float(heavy) == pytest.approx(0.1, abs=0.01)


def test_a_subjects_rows_together_contribute_at_most_clip(net, tokens) -> None:
    """Each subject's rows are one clipped group: removing a subject with all its rows moves
    the summed gradient by at most ``clip``, what the accountant is told."""
    clip = 1e-2
    step = PrivateGradient(net, StepSettings(clip, 0.0, None, 4.0), torch.Generator())
    subjects = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3])
    total, norms = step.clipped_sum(tokens, subjects)
    assert len(norms) == 4 and bool((norms > clip).all())
    slow = reference(net, tokens, [torch.nonzero(subjects == g).squeeze(1) for g in range(4)], clip)
    assert largest_gap(total, slow) < 1e-6
    for gone in range(4):
        keep = subjects != gone
        _, renumbered = torch.unique(subjects[keep], return_inverse=True)
        without, _ = step.clipped_sum(tokens[keep], renumbered)
        moved = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(total, without, strict=True)))
        assert float(moved) <= clip * (1 + 1e-4)
