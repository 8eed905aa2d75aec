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

A training step computes the same function with less work (BENCHMARKS.md, "Throughput"):
the first layer multiplies only what its mask keeps (:class:`_PrefixLinear`), and dropout
draws its masks from cheap random bits (:func:`_keep_mask`). The parameters, their names and
shapes are those of the plain layout above, so every model file ever saved still loads.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

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


#: Most groups the first layer's hidden blocks are split into (see :func:`_prefix_groups`).
MAX_GROUPS = 8
#: What one more group costs, in multiply-adds per row: three more small matrix products per
#: step, each with a fixed overhead.
GROUP_OVERHEAD = 4_000
#: Most block boundaries considered as the end of a group.
CUT_CANDIDATES = 64
#: Dropout's masks are drawn 15 bits at a time: the probability is rounded to a multiple of
#: 2**-15 (0.1 becomes 0.100006) and the kept values are scaled by the exact inverse.
DROPOUT_BITS = 15


def _offsets(widths: list[int]) -> list[int]:
    out = [0]
    for width in widths:
        out.append(out[-1] + width)
    return out


def _prefix_groups(rows: list[int], seen: list[int]) -> list[tuple[int, int, int]]:
    """Split the hidden blocks into at most :data:`MAX_GROUPS` runs of consecutive blocks.

    Block j sees only the first ``seen[j]`` input columns (``seen`` never falls), so a run of
    blocks needs the prefix its last block sees: a run costs its rows times that prefix. The
    runs are chosen to minimise the total, plus :data:`GROUP_OVERHEAD` per run, by dynamic
    programming over where each run ends, among at most :data:`CUT_CANDIDATES` evenly spaced
    block boundaries (a table of a thousand sub-columns then costs milliseconds, not
    seconds). Returns ``(first row, end row, columns)`` per run.
    """
    count = len(rows)
    starts = _offsets(rows)
    step = max(1, -(-count // CUT_CANDIDATES))
    cuts = sorted({*range(0, count, step), count})  # block boundaries a run may end at
    last = len(cuts) - 1
    # best[g][i]: cheapest cost from boundary i to the end in at most g runs, and where the
    # first of them ends
    best = [[(math.inf, last)] * len(cuts) for _ in range(MAX_GROUPS + 1)]
    for g in range(MAX_GROUPS + 1):
        best[g][last] = (0.0, last)
    for g in range(1, MAX_GROUPS + 1):
        for i in range(last - 1, -1, -1):
            for e in range(i + 1, last + 1):
                lo, hi = cuts[i], cuts[e]
                total = (starts[hi] - starts[lo]) * seen[hi - 1] + GROUP_OVERHEAD
                total += best[g - 1][e][0]
                if total < best[g][i][0]:
                    best[g][i] = (total, e)
    groups, i, g = [], 0, MAX_GROUPS
    while i < last:
        e = best[g][i][1]
        lo, hi = cuts[i], cuts[e]
        if starts[hi] > starts[lo]:  # given sub-columns have no rows
            groups.append((starts[lo], starts[hi], seen[hi - 1]))
        i, g = e, g - 1
    return groups


class _PrefixLinear(torch.autograd.Function):
    """``x @ weight.T + bias`` for a weight that is zero right of each group's prefix.

    The first layer's mask is block lower-triangular: hidden block j sees only the embeddings
    of sub-columns k < j. A dense product multiplies the zeros too, about twice the work
    needed (Adult, nycflights13). Here each group of blocks multiplies only the columns its
    last block sees, in the forward pass and in both products of the backward pass; within a
    group the mask's zeros are still in ``weight`` (already masked by the caller), so the
    result is the dense product's, up to the order of summation.
    """

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor, groups: list[tuple[int, int, int]]
    ) -> Tensor:
        out = x.new_empty((x.shape[0], weight.shape[0]))
        for lo, hi, cols in groups:
            if cols:
                # a column slice of a row-major matrix is a valid BLAS output: no copy
                torch.addmm(bias[lo:hi], x[:, :cols], weight[lo:hi, :cols].t(), out=out[:, lo:hi])
            else:
                out[:, lo:hi] = bias[lo:hi]
        ctx.save_for_backward(x, weight)
        ctx.groups = groups
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_x = torch.zeros_like(x) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        for lo, hi, cols in ctx.groups:
            if not cols:
                continue
            if grad_x is not None:
                grad_x[:, :cols].addmm_(grad[:, lo:hi], weight[lo:hi, :cols])
            if grad_weight is not None:
                torch.mm(grad[:, lo:hi].t(), x[:, :cols], out=grad_weight[lo:hi, :cols])
        grad_bias = grad.sum(dim=0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias, None


def _keep_mask(
    shape: tuple[int, ...], p: float, device: torch.device | None = None
) -> tuple[Tensor, float]:
    """Dropout's mask (uint8, 0 with probability ``p`` rounded to :data:`DROPOUT_BITS` bits,
    else 1) and the scale of the kept values, the inverse of their probability.

    ``nn.Dropout`` draws a float per element with ``bernoulli_``: 15% of a training step on
    nycflights13. Four 15-bit draws per 64-bit word from the same generator cost a fifth of
    that, and ``torch.manual_seed`` still fixes every mask.
    """
    count = math.prod(shape)
    levels = 1 << DROPOUT_BITS
    threshold = min(round(p * levels), levels - 1)  # keep something: p < 1 in the config
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_()  # 63 bits
    draws = words.view(torch.int16)[:count].view(shape).bitwise_and_(levels - 1)
    # uint8, not bool: PyTorch multiplies a float by uint8 several times faster
    return (draws >= threshold).view(torch.uint8), levels / (levels - threshold)


class _Dropout(torch.autograd.Function):
    """Dropout (after a relu when ``relu``), in place on a tensor nothing else holds.

    One function instead of ``relu``, a mask and a product: each of those allocates a tensor
    the size of the hidden layer (8.7 MB at 1,024 rows of nycflights13), and a fresh
    allocation that large costs its page faults again. With a relu in front the backward pass
    needs only the output: a value is kept and positive exactly where the output is positive.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, p: float, relu: bool) -> Tensor:
        keep, scale = _keep_mask(tuple(x.shape), p, x.device)
        if relu:
            x.relu_()
        x.mul_(keep).mul_(scale)
        ctx.mark_dirty(x)
        ctx.save_for_backward(x if relu else keep)
        ctx.relu, ctx.scale = relu, scale
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (saved,) = ctx.saved_tensors
        # in place: within this network ``grad`` is the fresh buffer of the layer above (a
        # split's concatenation or _PrefixLinear's), held by nothing else
        if not grad.is_contiguous():  # e.g. the expanded gradient of a sum
            grad = grad.contiguous()
        if ctx.relu:
            torch.ops.aten.threshold_backward.grad_input(grad, saved, 0.0, grad_input=grad)
        else:
            grad.mul_(saved)
        return grad.mul_(ctx.scale), None, None


class AutoregressiveNet(nn.Module):
    mask1: Tensor
    mask_seen: Tensor
    seen_columns: Tensor

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
        # Training embeds only the sub-columns some block sees (not a number's position within
        # its bin, nor the last sub-column), and multiplies only what the mask keeps.
        hidden = set(shape.hidden_inputs)
        self.seen = [k for k in range(len(self.cards) - 1) if k not in hidden]
        columns = [c for k in self.seen for c in range(self.d_off[k], self.d_off[k + 1])]
        self.register_buffer("seen_columns", torch.tensor(columns, dtype=torch.long), False)
        self.register_buffer("mask_seen", mask[:, columns], persistent=False)
        seen, prefix = set(self.seen), [0]
        for k in range(len(self.cards) - 1):
            prefix.append(prefix[-1] + (self.d[k] if k in seen else 0))
        self.groups = _prefix_groups(self.h, prefix)
        with warnings.catch_warnings():
            # context sub-columns have zero-width blocks: nothing to initialise, nothing to warn
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.deep = nn.ModuleList(
                nn.ModuleList(nn.Linear(h, h) for h in self.h) for _ in range(shape.depth - 1)
            )
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

    def _drop(self, x: Tensor, relu: bool) -> Tensor:
        """Dropout, after a relu when ``relu``; ``x`` must be a fresh tensor (overwritten)."""
        if not self.training or self.dropout.p == 0:
            return F.relu(x) if relu else x
        return cast(Tensor, _Dropout.apply(x, self.dropout.p, relu))  # type: ignore[no-untyped-call]

    def _hidden(self, tokens: Tensor) -> Tensor:
        """The last hidden layer (rows x all blocks), teacher-forced on ``tokens``."""
        parts = [self.embeddings[k](tokens[:, k]) for k in self.seen]
        x = torch.cat(parts, dim=1) if parts else self.w1.new_zeros((len(tokens), 0))
        x = self._drop(x, relu=False)
        weight = self.w1.index_select(1, self.seen_columns) * self.mask_seen
        pre = _PrefixLinear.apply(x, weight, self.b1, self.groups)  # type: ignore[no-untyped-call]
        # relu and dropout over the whole layer at once; per block, a slice's backward would
        # fill a zero tensor the size of ``pre`` and add it up, once per sub-column
        hidden = self._drop(pre, relu=True)
        for layer in self.deep:
            blocks = torch.split(hidden, self.h, dim=1)
            outs = [layer[j](block) for j, block in enumerate(blocks)]  # type: ignore[index]
            hidden = self._drop(torch.cat(outs, dim=1), relu=True)
        return hidden

    def forward(self, tokens: Tensor) -> list[Tensor]:
        """Logits for every sub-column given the true previous ones (teacher forcing)."""
        blocks = torch.split(self._hidden(tokens), self.h, dim=1)
        return [cast(Tensor, head(block)) for head, block in zip(self.heads, blocks, strict=True)]

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
