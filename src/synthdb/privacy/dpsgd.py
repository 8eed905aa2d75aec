"""DP-SGD for the column-autoregressive network: Poisson batches, clipped groups, Gaussian noise.

One step (Abadi et al. 2016, with TF Privacy's micro-batches): every row joins the batch with
probability ``sample_rate``; the batch's rows are split into groups, each group's *mean*
gradient is clipped to L2 norm ``clip``, the clipped gradients are summed, Gaussian noise of
standard deviation ``noise_std`` is added to every coordinate, and the sum is divided by the
expected number of groups.

Groups: per-example clipping (the default) makes every sampled row its own group; removing a
row then changes the sum by at most ``clip``. With fewer micro-batches each sampled row picks
one of ``microbatches`` groups uniformly at random, independently of the data and of the other
rows, so removing a row touches its own group only; but that group's clipped mean can move from
one vector of norm ``clip`` to another, so the sensitivity is ``2 * clip`` and the accountant is
given ``noise_std / (2 * clip)`` as the noise multiplier.

Speed: per-example gradients are never materialised. Every parameter's gradient is an outer
product of a layer's input activations and its output gradients (an embedding's is a one-hot
row), so a group's squared gradient norm is ``sum_{i,i'} (a_i . a_i') (g_i . g_i')`` over its
rows ("ghost clipping", Goodfellow 2015; Li et al. 2022). One forward pass and one backward pass
to the layer outputs give all of them; the clipped sum is then one weighted matrix product per
layer. The masked first layer needs the norm of its visible prefix per hidden block, which is a
running sum over the embedding blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from synthdb.model.network import AutoregressiveNet


@dataclass(frozen=True)
class StepSettings:
    clip: float
    #: standard deviation of the Gaussian noise added to the sum of clipped group gradients
    noise_std: float
    #: groups per batch; None: every sampled row is its own group (per-example clipping)
    microbatches: int | None
    #: the divisor: expected rows per batch (per-example) or ``microbatches``
    expected_groups: float
    #: groups are subjects (all of one subject's rows in a table): removing a subject removes
    #: its whole group, so the sensitivity stays ``clip`` (see :class:`PoissonSteps`)
    by_subject: bool = False

    @property
    def sensitivity(self) -> float:
        """L2 change of the noised sum when one row is added or removed."""
        return self.clip if self.microbatches is None else 2.0 * self.clip

    @property
    def noise_multiplier(self) -> float:
        """What the accountant needs: noise std over sensitivity."""
        return self.noise_std / self.sensitivity


@dataclass
class _Taps:
    """Layer inputs and outputs of one forward pass, for norms and weighted gradients."""

    loss: Tensor  # (B,) per-row loss
    embedded: list[Tensor]  # E_j (B, d_j): embedding rows before dropout (outputs)
    x: Tensor  # (B, D): first-layer input
    pre: Tensor  # (B, H): first-layer output
    #: per block: [(input, output)] for each deep layer, then the head
    layers: list[list[tuple[Tensor, Tensor]]]


def _forward(net: AutoregressiveNet, tokens: Tensor) -> _Taps:
    """The network's forward pass (``AutoregressiveNet.forward``), keeping every layer's I/O.

    A unit test checks that it computes the same loss as ``net.row_loss``.
    """
    p, training = net.dropout.p, net.training
    embedded = [
        cast(nn.Embedding, emb).weight[tokens[:, j]] for j, emb in enumerate(net.embeddings)
    ]
    x = F.dropout(torch.cat(embedded, dim=1), p, training)
    pre = F.linear(x, net.w1 * net.mask1, net.b1)
    loss = torch.zeros(tokens.shape[0])
    layers: list[list[tuple[Tensor, Tensor]]] = []
    for j in range(len(net.cards)):
        hidden = F.dropout(F.relu(pre[:, net.h_off[j] : net.h_off[j + 1]]), p, training)
        block: list[tuple[Tensor, Tensor]] = []
        for deep in net.deep:
            out = cast(nn.Linear, cast(nn.ModuleList, deep)[j])(hidden)
            block.append((hidden, out))
            hidden = F.dropout(F.relu(out), p, training)
        logits = cast(nn.Linear, net.heads[j])(hidden)
        block.append((hidden, logits))
        layers.append(block)
        # a context sub-column is given, not learned (``AutoregressiveNet.row_loss``); kept in
        # the graph at weight 0 so that every tapped output has a (zero) gradient
        weight = 0.0 if j < net.shape.context else 1.0
        loss = loss + weight * F.cross_entropy(logits, tokens[:, j], reduction="none")
    return _Taps(loss, embedded, x, pre, layers)


def _linears(net: AutoregressiveNet, j: int) -> list[nn.Linear]:
    return [cast(nn.Linear, cast(nn.ModuleList, d)[j]) for d in net.deep] + [
        cast(nn.Linear, net.heads[j])
    ]


class PrivateGradient:
    """Computes the noised, clipped gradient of one Poisson batch into ``p.grad``."""

    def __init__(
        self, net: AutoregressiveNet, settings: StepSettings, generator: torch.Generator
    ) -> None:
        self.net = net
        self.settings = settings
        self.generator = generator
        # visibility[j, c] = 1 when block j's first-layer weights see input column c
        self._visible = net.mask1[torch.tensor(net.h_off[:-1], dtype=torch.long)].t()
        self._h_blocks = torch.zeros(net.h_off[-1], len(net.cards))
        for j in range(len(net.cards)):
            self._h_blocks[net.h_off[j] : net.h_off[j + 1], j] = 1.0

    # ------------------------------------------------------------------ norms
    def _example_sqnorms(self, taps: _Taps, grads: list[Tensor]) -> Tensor:
        """Squared gradient norm of every row (per-example clipping)."""
        n_emb = len(taps.embedded)
        total = torch.zeros(taps.x.shape[0])
        for g in grads[:n_emb]:
            total += g.square().sum(1)
        g_pre = grads[n_emb]
        prefix = taps.x.square() @ self._visible  # (B, J): visible input norm per block
        total += ((g_pre.square() @ self._h_blocks) * prefix).sum(1) + g_pre.square().sum(1)
        outputs = iter(grads[n_emb + 1 :])
        for block in taps.layers:
            for a, _ in block:
                g = next(outputs)
                total += g.square().sum(1) * (a.square().sum(1) + 1.0)
        return total

    def _group_sqnorms(
        self, taps: _Taps, grads: list[Tensor], tokens: Tensor, pad: _Padding
    ) -> Tensor:
        """Squared norm of every group's gradient *sum*, from per-group Gram matrices."""
        net = self.net
        total = torch.zeros(pad.groups)
        n_emb = len(taps.embedded)
        for j, g in enumerate(grads[:n_emb]):
            gram = pad.gram(g)
            tok = pad.pad(tokens[:, j : j + 1].float()).squeeze(2)
            same = tok[:, :, None] == tok[:, None, :]
            total += (gram * same).sum((1, 2))
        g_pre = grads[n_emb]
        hidden = set(net.shape.hidden_inputs)
        seen = torch.zeros(pad.groups, pad.width, pad.width)
        for j in range(len(net.cards)):
            gram_out = pad.gram(g_pre[:, net.h_off[j] : net.h_off[j + 1]])
            total += (gram_out * (seen + 1.0)).sum((1, 2))
            if j not in hidden:
                seen = seen + pad.gram(taps.x[:, net.d_off[j] : net.d_off[j + 1]])
        outputs = iter(grads[n_emb + 1 :])
        for block in taps.layers:
            for a, _ in block:
                g = next(outputs)
                total += (pad.gram(g) * (pad.gram(a) + 1.0)).sum((1, 2))
        return total

    # ------------------------------------------------------------------ step
    def clipped_sum(
        self, tokens: Tensor, subjects: Tensor | None = None
    ) -> tuple[list[Tensor], Tensor]:
        """Sum over groups of clipped mean gradients, one tensor per parameter, and the norms.

        ``subjects`` (0..k-1 per row) makes each subject's rows one group, whatever
        ``microbatches`` says. The norms (one per non-empty group, before clipping) are
        returned for tests only.
        """
        net = self.net
        params = list(net.parameters())
        rows = tokens.shape[0]
        if rows == 0:
            return [torch.zeros_like(p) for p in params], torch.zeros(0)
        taps = _forward(net, tokens)
        outputs = [t for block in taps.layers for _, t in block]
        grads = list(torch.autograd.grad(taps.loss.sum(), [*taps.embedded, taps.pre, *outputs]))
        clip = self.settings.clip
        with torch.no_grad():
            if self.settings.microbatches is None and subjects is None:
                norms = self._example_sqnorms(taps, grads).sqrt()
                weights = torch.clamp(clip / (norms + 1e-12), max=1.0)
            else:
                if subjects is not None:
                    group, count = subjects, int(subjects.max()) + 1
                else:
                    count = cast(int, self.settings.microbatches)
                    group = torch.randint(0, count, (rows,), generator=self.generator)
                pad = _Padding(group, count)
                size = torch.bincount(group, minlength=pad.groups).float()
                sums = self._group_sqnorms(taps, grads, tokens, pad).sqrt()
                mean_norm = sums / size.clamp(min=1.0)
                factor = torch.clamp(clip / (mean_norm + 1e-12), max=1.0) / size.clamp(min=1.0)
                weights = factor[group]
                norms = mean_norm[size > 0]
            return self._weighted(taps, grads, tokens, weights), norms

    def _weighted(
        self, taps: _Taps, grads: list[Tensor], tokens: Tensor, weights: Tensor
    ) -> list[Tensor]:
        """``sum_i weights_i * grad_i`` for every parameter, in ``net.parameters()`` order."""
        net = self.net
        out: dict[int, Tensor] = {}
        n_emb = len(taps.embedded)
        w = weights[:, None]
        for j, emb in enumerate(net.embeddings):
            weight = cast(nn.Embedding, emb).weight
            out[id(weight)] = torch.zeros_like(weight).index_add_(0, tokens[:, j], w * grads[j])
        g_pre = w * grads[n_emb]
        out[id(net.w1)] = (g_pre.t() @ taps.x) * net.mask1
        out[id(net.b1)] = g_pre.sum(0)
        outputs = iter(grads[n_emb + 1 :])
        for j, block in enumerate(taps.layers):
            for layer, (a, _) in zip(_linears(net, j), block, strict=True):
                g = w * next(outputs)
                out[id(layer.weight)] = g.t() @ a
                out[id(layer.bias)] = g.sum(0)
        return [out[id(p)] for p in net.parameters()]

    def step(self, tokens: Tensor, subjects: Tensor | None = None) -> None:
        """Set every parameter's ``.grad`` to the private gradient of this batch."""
        sums, _ = self.clipped_sum(tokens, subjects)
        std = self.settings.noise_std
        scale = 1.0 / self.settings.expected_groups
        with torch.no_grad():
            for param, total in zip(self.net.parameters(), sums, strict=True):
                noise = torch.randn(total.shape, generator=self.generator) * std
                param.grad = (total + noise) * scale


class _Padding:
    """Rows scattered into a (groups, width, ...) tensor, width the largest group, zeros elsewhere.

    Zero rows add nothing to a Gram matrix, so shapes stay fixed without changing any norm.
    """

    def __init__(self, group: Tensor, groups: int) -> None:
        self.groups = groups
        order = torch.argsort(group, stable=True)
        size = torch.bincount(group, minlength=groups)
        start = torch.cumsum(size, 0) - size
        position = torch.empty_like(group)
        position[order] = torch.arange(group.numel()) - start[group[order]]
        self.group, self.position = group, position
        self.width = max(int(size.max()), 1) if group.numel() else 1

    def pad(self, values: Tensor) -> Tensor:
        out = values.new_zeros(self.groups, self.width, values.shape[1])
        out[self.group, self.position] = values
        return out

    def gram(self, values: Tensor) -> Tensor:
        padded = self.pad(values)
        return padded @ padded.transpose(1, 2)


class PoissonSteps:
    """The training loop's step strategy under DP (:class:`synthdb.training.loop.StepStrategy`):
    every row joins each step with probability ``sample_rate`` (Poisson sampling, which the
    accountant assumes), the batch's gradient is clipped and noised by
    :class:`PrivateGradient`, and Adam steps on it (post-processing).

    With ``subjects`` (each row's subject, 0..n-1: user-level DP-SGD, as in McMahan et al.
    2018 "Learning differentially private recurrent language models"), each *subject* joins
    with probability ``sample_rate`` together with all of its rows, and each subject's rows are
    one clipped group: adding or removing a subject with every row it has changes the noised
    sum by at most ``clip``, which is what the accountant is told.

    The loss is not reported (NaN): it is an exact function of the data.
    """

    def __init__(
        self,
        tokens: np.ndarray,
        sample_rate: float,
        steps_per_epoch: int,
        settings: StepSettings,
        learning_rate: float,
        generator: torch.Generator,
        subjects: np.ndarray | None = None,
    ) -> None:
        self.data = torch.from_numpy(tokens.astype(np.int64))
        self.subjects = None if subjects is None else torch.from_numpy(subjects.astype(np.int64))
        self.subject_count = 0 if subjects is None else int(subjects.max(initial=-1)) + 1
        self.sample_rate = sample_rate
        self.steps_per_epoch = steps_per_epoch
        self.settings = settings
        self.learning_rate = learning_rate
        self.generator = generator
        self.batch_size = round(settings.expected_groups)

    def start(self, net: AutoregressiveNet) -> None:
        self.gradient = PrivateGradient(net, self.settings, self.generator)
        self.optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)

    def start_epoch(self) -> None:
        pass

    def step(self, net: AutoregressiveNet) -> float:
        if self.subjects is None:
            batch = self.data[poisson_batch(self.data.shape[0], self.sample_rate, self.generator)]
            self.gradient.step(batch)
        else:
            rows, groups = subject_batch(
                self.subjects, self.subject_count, self.sample_rate, self.generator
            )
            self.gradient.step(self.data[rows], groups)
        self.optimizer.step()
        return float("nan")

    def end_epoch(self, val_loss: float | None) -> None:
        pass


def poisson_batch(rows: int, sample_rate: float, generator: torch.Generator) -> Tensor:
    """Indices of the rows that join this step, each independently with ``sample_rate``."""
    return torch.nonzero(torch.rand(rows, generator=generator) < sample_rate).squeeze(1)


def subject_batch(
    subjects: Tensor, count: int, sample_rate: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Rows of the subjects that join this step (each subject independently with
    ``sample_rate``), and each row's group: its subject renumbered 0..k-1 within the batch."""
    chosen = torch.rand(count, generator=generator) < sample_rate
    rows = torch.nonzero(chosen[subjects]).squeeze(1)
    _, groups = torch.unique(subjects[rows], return_inverse=True)
    return rows, groups


def steps_per_epoch(sample_rate: float) -> int:
    """Steps that touch every row once in expectation."""
    return max(1, math.ceil(1.0 / sample_rate - 1e-9))
