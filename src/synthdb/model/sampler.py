"""Fast ancestral sampling from a trained :class:`~synthdb.model.network.AutoregressiveNet`.

Why a separate object: generation speed is a product feature (a million rows in seconds), and
the network's training layout wastes work at sampling time. Two rewrites make it cheap:

- An embedding followed by a linear layer is a lookup table: the first layer's contribution of
  sub-column k's token to block j is ``E_k[token] @ W1[j, k]^T``, a row of a small
  ``(cardinality_k, h_j)`` table computed once. Block j's pre-activation is then a sum of j
  table rows, one ``embedding_bag`` per block, instead of a dense product over the whole
  embedding prefix (about ten times fewer operations on Adult).
- Rows are processed in chunks that stay in the CPU cache, and every intermediate is updated
  in place.

The draws are the same uniforms the network's reference path uses, so the two agree token for
token up to float rounding (summation order differs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from synthdb.model.network import AutoregressiveNet

#: Rows per inner chunk: the logits of the widest head stay within a few MB.
CHUNK_ROWS = 8_192
#: A sub-column whose inputs can take at most rows / this many distinct values is computed
#: once per distinct input prefix (see ``Sampler._shared``).
SHARED_PREFIX_RATIO = 4
#: A cap on the count of distinct prefixes, far above any chunk's rows.
MANY_PREFIXES = 2**40


@dataclass
class _Block:
    """What sub-column j needs: its input tables, hidden layers and head, ready to use."""

    card: int
    bias: Tensor  # first-layer bias of the block (h_j,)
    table: Tensor | None  # stacked lookup tables of the visible earlier sub-columns
    inputs: list[int]  # those earlier sub-columns, in the table's order
    offsets: Tensor  # where each input's rows start in ``table``
    deep: list[tuple[Tensor, Tensor]]  # (weight^T, bias) of the further layers
    head: tuple[Tensor, Tensor]  # (weight^T, bias) of the output head
    #: how many distinct input prefixes there can be (product of the inputs' cardinalities)
    prefixes: int
    #: mixed-radix weights that turn an input prefix into one number
    radix: Tensor


class Sampler:
    """Precomputed tables for drawing token rows; build once, sample many batches."""

    @torch.inference_mode()
    def __init__(self, net: AutoregressiveNet) -> None:
        hidden = set(net.shape.hidden_inputs)
        weight = net.w1 * net.mask1
        tables = [cast(nn.Embedding, e).weight for e in net.embeddings]
        self.context = net.shape.context
        self.blocks: list[_Block] = []
        for j, card in enumerate(net.cards):
            lo, hi = net.h_off[j], net.h_off[j + 1]
            inputs = [k for k in range(j) if k not in hidden]
            parts = [tables[k] @ weight[lo:hi, net.d_off[k] : net.d_off[k + 1]].t() for k in inputs]
            starts = [0]
            for part in parts[:-1]:
                starts.append(starts[-1] + part.shape[0])
            deep = [
                (layer.weight.t().contiguous(), layer.bias.detach())
                for layer in (cast(nn.Linear, cast(nn.ModuleList, d)[j]) for d in net.deep)
            ]
            head = cast(nn.Linear, net.heads[j])
            prefixes, radix = 1, []
            for k in reversed(inputs):
                radix.append(prefixes)
                # beyond any chunk's rows the exact count does not matter (and must fit int64)
                prefixes = min(prefixes * max(net.cards[k], 1), MANY_PREFIXES)
            self.blocks.append(
                _Block(
                    card=card,
                    bias=net.b1[lo:hi].detach().clone(),
                    table=torch.cat(parts).contiguous() if parts else None,
                    inputs=inputs,
                    offsets=torch.tensor(starts, dtype=torch.long),
                    deep=deep,
                    head=(head.weight.t().contiguous(), head.bias.detach().clone()),
                    prefixes=prefixes,
                    radix=torch.tensor(radix[::-1], dtype=torch.long),
                )
            )

    @torch.inference_mode()
    def sample(
        self, rows: int, generator: torch.Generator, context: Tensor | None = None
    ) -> Tensor:
        """``rows`` token rows (long, rows x sub-columns) from one uniform per cell.

        A conditional model needs ``context``, the tokens of its leading sub-columns (rows x
        ``context``); they are copied into the result as they are.
        """
        columns = len(self.blocks)
        tokens = torch.empty(rows, columns, dtype=torch.long)
        if self.context:
            if context is None or tuple(context.shape) != (rows, self.context):
                got = None if context is None else tuple(context.shape)
                raise ValueError(
                    f"this model needs context of shape {(rows, self.context)}, got {got}"
                )
            tokens[:, : self.context] = context
        draws = torch.rand(rows, columns, generator=generator)
        for start in range(0, rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, rows)
            self._chunk(tokens[start:stop], draws[start:stop])
        return tokens

    def _chunk(self, tokens: Tensor, draws: Tensor) -> None:
        rows = tokens.shape[0]
        for j in range(self.context, len(self.blocks)):
            block = self.blocks[j]
            if block.prefixes * SHARED_PREFIX_RATIO <= rows:
                tokens[:, j] = self._shared(block, tokens, draws[:, j])
                continue
            # inverse-CDF sampling on unnormalised probabilities: one uniform per row
            cumulative = self._logits(block, tokens)
            cumulative.sub_(cumulative.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)
            threshold = draws[:, j : j + 1] * cumulative[:, -1:]
            token = torch.searchsorted(cumulative, threshold, right=True).squeeze_(1)
            tokens[:, j] = token.clamp_(max=block.card - 1)

    def log_probs(self, j: int, tokens: Tensor) -> Tensor:
        """Log-probabilities of sub-column j's tokens (rows x cardinality) given each row's
        earlier tokens; rows that share their input prefix are computed once (see
        :meth:`_shared`), as the first sub-columns' rows mostly do."""
        block = self.blocks[j]
        if block.prefixes * SHARED_PREFIX_RATIO <= tokens.shape[0]:
            if not block.inputs:
                logits = self._logits(block, tokens[:1]).expand(tokens.shape[0], -1)
            else:
                key = (tokens[:, block.inputs] * block.radix).sum(dim=1)
                groups, inverse = torch.unique(key, return_inverse=True)
                first = torch.empty(len(groups), dtype=torch.long)
                first.scatter_(0, inverse, torch.arange(len(key)))
                logits = self._logits(block, tokens[first])[inverse]
        else:
            logits = self._logits(block, tokens)
        return F.log_softmax(logits, dim=1)

    @staticmethod
    def _logits(block: _Block, tokens: Tensor) -> Tensor:
        rows = tokens.shape[0]
        if block.table is None:
            hidden = F.relu(block.bias).expand(rows, -1)
        else:
            index = tokens[:, block.inputs] + block.offsets
            hidden = F.embedding_bag(index, block.table, mode="sum")
            hidden.add_(block.bias).relu_()
        for weight, bias in block.deep:
            hidden = torch.addmm(bias, hidden, weight).relu_()
        weight, bias = block.head
        return torch.addmm(bias, hidden, weight)

    def _shared(self, block: _Block, tokens: Tensor, draws: Tensor) -> Tensor:
        """Tokens of a sub-column whose inputs take few distinct values across the chunk.

        The first sub-columns of a row see only a few earlier values (the first sees none), so
        most rows of a chunk share their input prefix. Each distinct prefix's distribution is
        computed once; the groups' CDFs, normalised and shifted by the group's number, form one
        sorted array, so one ``searchsorted`` of ``group + uniform`` draws every row's token.
        """
        if block.inputs:
            key = (tokens[:, block.inputs] * block.radix).sum(dim=1)
            groups, inverse = torch.unique(key, return_inverse=True)
            first = torch.empty(len(groups), dtype=torch.long)
            first.scatter_(0, inverse, torch.arange(len(key)))
            logits = self._logits(block, tokens[first])
        else:
            inverse = torch.zeros(len(tokens), dtype=torch.long)
            logits = self._logits(block, tokens[:1])
        cumulative = logits.double()
        cumulative.sub_(cumulative.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)
        cumulative.div_(cumulative[:, -1:].clone())
        cumulative.add_(torch.arange(len(cumulative), dtype=torch.float64)[:, None])
        position = torch.searchsorted(
            cumulative.reshape(-1), inverse.double() + draws.double(), right=True
        )
        return (position - inverse * logits.shape[1]).clamp_(0, block.card - 1)
