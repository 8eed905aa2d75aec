"""A column-autoregressive network: p(x) = prod_j p(x_j | x_<j) over integer sub-columns.

Why this shape (DESIGN.md section 3): every sub-column's logits come out of ONE masked forward
pass during training (teacher forcing, as in MADE, Germain et al. 2015), and generation is one
batched step per sub-column. Memory is linear in rows and columns, and cross-entropy on a small
network is the friendliest setting for DP-SGD.

Layout, with J sub-columns:
- sub-column k has its own embedding of width ``d_k`` (wider for more categories); the
  embeddings are concatenated in column order into x;
- a masked linear layer maps x to J hidden blocks, block j (width ``h_j``) seeing only the
  embeddings of sub-columns k < j (block 0 sees nothing: it learns the first marginal);
- ``depth - 1`` further per-block layers, then one output head per block.

Generation (:mod:`synthdb.model.sampler`) turns the first layer into lookup tables, one per
pair of sub-columns, so drawing a row costs a few table sums and one head per sub-column.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from synthdb.model.sampler import Sampler


def embedding_width(cardinality: int, base: int) -> int:
    """Wider embeddings for sub-columns with more values, ``base`` for ~16 values."""
    return max(2, min(4 * base, round(base * (max(cardinality, 2) / 16) ** 0.25)))


def hidden_width(cardinality: int, base: int) -> int:
    """Wider hidden blocks where there is more to predict, ``base`` for ~16 values."""
    return max(base // 2, min(4 * base, round(base * math.sqrt(max(cardinality, 2) / 16))))


@dataclass(frozen=True)
class NetworkShape:
    """Everything needed to rebuild the network before loading its weights."""

    cardinalities: tuple[int, ...]
    embedding_dim: int = 8
    hidden: int = 48
    depth: int = 1
    dropout: float = 0.1
    #: sub-columns that later sub-columns must not see (a number's position within its bin)
    hidden_inputs: tuple[int, ...] = ()
    #: how many leading sub-columns are given, not learned: a parent row's tokens when a
    #: child table's rows are generated under it; they get no hidden block and no loss
    context: int = 0

    @property
    def embedding_widths(self) -> list[int]:
        return [embedding_width(c, self.embedding_dim) for c in self.cardinalities]

    @property
    def hidden_widths(self) -> list[int]:
        return [
            0 if j < self.context else hidden_width(c, self.hidden)
            for j, c in enumerate(self.cardinalities)
        ]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["cardinalities"] = list(self.cardinalities)
        data["hidden_inputs"] = list(self.hidden_inputs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> NetworkShape:
        values = dict(data)
        values["cardinalities"] = tuple(values["cardinalities"])  # type: ignore[arg-type]
        values["hidden_inputs"] = tuple(values.get("hidden_inputs", ()))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _offsets(widths: list[int]) -> list[int]:
    out = [0]
    for width in widths:
        out.append(out[-1] + width)
    return out


class AutoregressiveNet(nn.Module):
    mask1: Tensor

    def __init__(self, shape: NetworkShape) -> None:
        super().__init__()
        self.shape = shape
        self.cards = list(shape.cardinalities)
        self.d = shape.embedding_widths
        self.h = shape.hidden_widths
        self.d_off = _offsets(self.d)
        self.h_off = _offsets(self.h)
        self.embeddings = nn.ModuleList(
            nn.Embedding(max(c, 1), w) for c, w in zip(self.cards, self.d, strict=True)
        )
        total_d, total_h = self.d_off[-1], self.h_off[-1]
        self.w1 = nn.Parameter(torch.empty(total_h, max(total_d, 1)))
        self.b1 = nn.Parameter(torch.zeros(total_h))
        mask = torch.zeros(total_h, max(total_d, 1))
        for j in range(len(self.cards)):
            mask[self.h_off[j] : self.h_off[j + 1], : self.d_off[j]] = 1.0
        for k in shape.hidden_inputs:
            mask[:, self.d_off[k] : self.d_off[k + 1]] = 0.0
        self.register_buffer("mask1", mask, persistent=False)
        self.deep = nn.ModuleList(
            nn.ModuleList(nn.Linear(h, h) for h in self.h) for _ in range(shape.depth - 1)
        )
        with warnings.catch_warnings():
            # context sub-columns have zero-width heads: nothing to initialise, nothing to warn
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.heads = nn.ModuleList(
                nn.Linear(h, max(c, 1)) for h, c in zip(self.h, self.cards, strict=True)
            )
        self.dropout = nn.Dropout(shape.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for embedding in self.embeddings:
            nn.init.normal_(cast(nn.Embedding, embedding).weight, std=1.0)
        for j in range(len(self.cards)):
            fan_in = max(self.d_off[j], 1)
            bound = fan_in**-0.5
            nn.init.uniform_(self.w1[self.h_off[j] : self.h_off[j + 1]], -bound, bound)

    @torch.no_grad()
    def init_marginals(self, tokens: Tensor) -> None:
        """Start every head at its column's observed frequencies (log-probabilities).

        The first epochs then learn dependencies instead of re-learning marginals.
        """
        for j, module in enumerate(self.heads):
            if j < self.shape.context:
                continue
            head = cast(nn.Linear, module)
            counts = torch.bincount(tokens[:, j], minlength=head.out_features).float()
            head.bias.copy_(torch.log((counts + 0.5) / (counts.sum() + 0.5 * counts.numel())))

    def _embed(self, tokens: Tensor) -> Tensor:
        parts = [emb(tokens[:, j]) for j, emb in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1)

    def _block(self, j: int, pre: Tensor) -> Tensor:
        """Logits of sub-column j from its first-layer pre-activation."""
        hidden = self.dropout(F.relu(pre))
        for layer in self.deep:
            hidden = self.dropout(F.relu(layer[j](hidden)))  # type: ignore[index]
        return cast(Tensor, self.heads[j](hidden))

    def forward(self, tokens: Tensor) -> list[Tensor]:
        """Logits for every sub-column given the true previous ones (teacher forcing)."""
        x = self.dropout(self._embed(tokens))
        pre = F.linear(x, self.w1 * self.mask1, self.b1)
        # One split, not a slice per sub-column: a slice's backward fills a zero tensor the
        # size of ``pre`` and adds it up, 28 times per step for 28 sub-columns (59% of a
        # training step on 2 cores); a split's backward is one concatenation, with the same
        # gradients bit for bit (a slice's zeros add nothing).
        parts = torch.split(pre, self.h, dim=1)
        return [self._block(j, parts[j]) for j in range(len(self.cards))]

    def loss(self, tokens: Tensor) -> Tensor:
        """Mean over rows of the summed cross-entropy of all sub-columns (nats per row)."""
        per_row = self.row_loss(tokens)
        return per_row.mean()

    def row_loss(self, tokens: Tensor) -> Tensor:
        """Summed cross-entropy per row (B,): the per-example loss DP-SGD clips."""
        logits = self.forward(tokens)
        total = torch.zeros(tokens.shape[0], device=tokens.device)
        for j, column_logits in enumerate(logits):
            if j < self.shape.context:
                continue  # given, not learned
            total = total + F.cross_entropy(column_logits, tokens[:, j], reduction="none")
        return total

    def sample(
        self, rows: int, generator: torch.Generator, context: Tensor | None = None
    ) -> Tensor:
        """Draw ``rows`` token rows, one batched step per sub-column (dropout off).

        ``context`` (rows x ``shape.context``) gives the leading sub-columns of a conditional
        model. For many batches, build :meth:`sampler` once and call its ``sample`` instead.
        """
        return self.sampler().sample(rows, generator, context)

    def sampler(self) -> Sampler:
        """A snapshot of the current weights laid out for fast generation."""
        from synthdb.model.sampler import Sampler

        return Sampler(self)
