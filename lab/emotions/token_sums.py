"""What reading a batch of texts yields: per-text means and, for neutral texts, token sums per layer.

The same functions run on the local model's hooks and inside an nnsight trace (on the server
when it is remote), so only these sums ever leave the model. The sum of token outer products
is sent whole (`outer`, [width, width] per layer) for narrow models; for wide ones
(lab.runtime.nnsight_reader) each batch sends a rank-k factor of its tokens instead (`factor`,
from an SVD: outer ~ factor^T factor) plus the energy the factor leaves out (`residual`), which
is spread evenly over all directions so the total variance stays exact.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

LayerSums = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # token sum, norm sum, outer or factor, residual


@dataclass
class Batch:
    """One right-padded batch: ids and attention [rows, length]; content marks tokens that count (no sink, no padding)."""

    ids: torch.Tensor
    attention: torch.Tensor
    content: torch.Tensor


@dataclass
class BatchSums:
    """A batch's per-text means [rows, depth, width] and, for neutral texts, its token sums per layer."""

    means: torch.Tensor
    count: int = 0  # content tokens
    token_sum: torch.Tensor | None = None  # [depth, width] float64
    norm_sum: torch.Tensor | None = None  # [depth] float64
    square: torch.Tensor | None = None  # [depth, width, width] outer sum, or [depth, k, width] factor when low_rank
    residual: torch.Tensor | None = None  # [depth] energy outside the factor (0 when the outer sum is whole)
    low_rank: bool = False

    @staticmethod
    def collect(means: torch.Tensor, per_layer: list[LayerSums], count: int, low_rank: bool = False) -> "BatchSums":
        """Stack per-layer sums (empty for texts that are not neutral)."""
        if not per_layer:
            return BatchSums(means=means)
        sums, norms, squares, residuals = (torch.stack([layer[i].cpu().double() for layer in per_layer]) for i in range(4))
        return BatchSums(means, count, sums, norms, squares, residuals, low_rank)

    def outer_sum(self) -> torch.Tensor:
        """The sum of token outer products per layer: [depth, width, width] float64."""
        assert self.square is not None and self.residual is not None
        if not self.low_rank:
            return self.square
        width = self.square.shape[-1]
        spread = (self.residual / width)[:, None, None] * torch.eye(width, dtype=torch.float64)
        return self.square.transpose(1, 2) @ self.square + spread


ActivationReader = Callable[[Batch, bool], BatchSums]  # (batch, neutral) -> sums


def text_mean(hidden: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Each row's mean over its content tokens: [rows, width] float32."""
    weights = content.unsqueeze(-1).float()
    return (hidden.float() * weights).sum(1) / weights.sum(1)


def token_sums(tokens: torch.Tensor, rank: int | None = None) -> LayerSums:
    """One layer's sums over content tokens [n, width]: (sum, sum of norms, outer sum or rank-`rank` factor, residual)."""
    tokens = tokens.double()
    total, norms = tokens.sum(0), tokens.norm(dim=-1).sum()
    if rank is None:
        return total, norms, tokens.T @ tokens, torch.zeros((), dtype=torch.float64, device=tokens.device)
    _, values, right = torch.linalg.svd(tokens, full_matrices=False)
    return total, norms, (values[:rank, None] * right[:rank]).float(), (values[rank:] ** 2).sum()
