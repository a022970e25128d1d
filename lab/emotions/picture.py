"""The few statistics of the built-in extraction that user-made emotions are placed against
(lab.emotions.placement), kept in the direction file beside the directions."""
from __future__ import annotations

from dataclasses import dataclass

import torch

PREFIX = "picture."  # tensor names in the direction file
FOLDS = 5  # cross-validation folds for a user-made emotion's own texts


@dataclass
class BuiltinPicture:
    """What a user-made emotion is measured against (float64, from the built-in extraction)."""

    layers: tuple[int, ...]  # layers given a steering direction: the steering band and the reading layer
    grand_means: torch.Tensor  # [L, W] mean of the built-in centroids per layer
    neutral_pcs: torch.Tensor  # [L, K, W] neutral principal components projected out (zero rows pad)
    within: torch.Tensor  # [W, W] shrunk within-emotion covariance at the reading layer
    centroids: torch.Tensor  # [E, W] built-in centroids at the reading layer
    neutral_mean: torch.Tensor  # [W] neutral-token mean at the reading layer
    neutral_cov: torch.Tensor  # [W, W] neutral-token covariance at the reading layer

    def tensors(self) -> dict[str, torch.Tensor]:
        """For the direction file (safetensors), names prefixed with PREFIX."""
        values = {name: getattr(self, name) for name in ("grand_means", "neutral_pcs", "within", "centroids", "neutral_mean", "neutral_cov")}
        values["layers"] = torch.tensor(self.layers, dtype=torch.int64)
        return {PREFIX + name: value.contiguous() for name, value in values.items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], depth: int, width: int, n_builtin: int) -> BuiltinPicture | None:
        """The picture stored in a direction file; None when absent. Raises ValueError when malformed."""
        names = ("layers", "grand_means", "neutral_pcs", "within", "centroids", "neutral_mean", "neutral_cov")
        if not any(PREFIX + name in tensors for name in names):
            return None
        if not all(PREFIX + name in tensors for name in names):
            raise ValueError("part of the built-in picture is missing")
        get = {name: tensors[PREFIX + name] for name in names}
        layers = tuple(int(layer) for layer in get["layers"].flatten().tolist())
        n = len(layers)
        expected = {"grand_means": (n, width), "within": (width, width), "centroids": (n_builtin, width),
                    "neutral_mean": (width,), "neutral_cov": (width, width)}
        wrong = [name for name, shape in expected.items() if tuple(get[name].shape) != shape]
        pcs = get["neutral_pcs"]
        if pcs.dim() != 3 or pcs.shape[0] != n or pcs.shape[2] != width:
            wrong.append("neutral_pcs")
        if wrong or not layers or any(not 0 <= layer < depth for layer in layers):
            raise ValueError(f"the built-in picture does not fit ({', '.join(wrong) or 'layer numbers'})")
        if not all(bool(torch.isfinite(value.double()).all()) for value in get.values()):
            raise ValueError("the built-in picture contains invalid numbers")
        return cls(layers, *(get[name].double() for name in names[1:]))

    def steering(self, centroids: torch.Tensor) -> torch.Tensor:
        """Unit mean-difference directions [L, k, W] for per-layer centroids [L, k, W]."""
        vectors = centroids - self.grand_means[:, None]
        vectors = vectors - torch.einsum("lkw,lpw,lpv->lkv", vectors, self.neutral_pcs, self.neutral_pcs)
        return vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def discriminant(self, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reading-layer classifier weights S^-1 mu and biases -mu.S^-1.mu/2 for centroids [k, W]."""
        weights = torch.linalg.solve(self.within, centroids.T).T
        return weights, -0.5 * (weights * centroids).sum(1)

    def reading(self, centroids: torch.Tensor) -> torch.Tensor:
        """Unit LDA reading directions S^-1 (centroid - grand mean) at the reading layer: [k, W]."""
        grand_mean = self.centroids.mean(0)
        vectors = torch.linalg.solve(self.within, (centroids - grand_mean).T).T
        return vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def calibrate(self, read: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Neutral-token mean and spread of projections on unit reading vectors [k, W]."""
        variance = torch.einsum("ew,wv,ev->e", read, self.neutral_cov, read)
        return read @ self.neutral_mean, variance.clamp(min=1e-12).sqrt()

    def cross_validate(self, texts: torch.Tensor) -> int:
        """How many of an emotion's texts [n, W] (reading layer) are recognised among the built-in
        emotions when left out of a FOLDS-fold split."""
        n = len(texts)
        folds = min(FOLDS, n)
        if folds < 2:
            return 0
        assignment = torch.arange(n) % folds
        correct = 0
        for fold in range(folds):
            rest, held = texts[assignment != fold], texts[assignment == fold]
            weights, bias = self.discriminant(torch.cat([self.centroids, rest.mean(0)[None]]))
            correct += int(((held @ weights.T + bias).argmax(1) == len(self.centroids)).sum())
        return correct
