"""The built-in picture at one layer, as a linear discriminant (LDA) over per-text mean activations.

Every HOLDOUT_EVERY-th example text is held out (`split_holdout`); `gather` reads the per-text
means of every text by role (`Corpus`); `LayerModel` holds one layer's centroids, grand mean,
within-emotion covariance shrunk towards a scaled identity, and the neutral-token statistics, and
derives from them the steering, reading and classifier vectors; `predict` classifies texts.
Used by extraction (lab.emotions.extraction) and by its validation (lab.emotions.evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.common.progress import Progress
from lab.emotions.activations import NeutralStats, TextMeanCache
from lab.emotions.definitions import Emotion, NeutralTexts

SHRINKAGES = (0.1, 0.3, 0.6)
HOLDOUT_EVERY = 5
NEUTRAL_VARIANCE_REMOVED = 0.5


def split_holdout(texts: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """(train, held out): every HOLDOUT_EVERY-th text is held out."""
    train = [t for i, t in enumerate(texts) if i % HOLDOUT_EVERY != HOLDOUT_EVERY - 1]
    held = [t for i, t in enumerate(texts) if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1]
    return train, held


@dataclass
class Corpus:
    """Per-text means [n, depth, width] by role: built-in train/held/validation and neutral."""

    train: list[torch.Tensor]
    held: list[torch.Tensor]
    validation: list[torch.Tensor]
    neutral_train: torch.Tensor
    neutral_held: torch.Tensor
    neutral_validation: torch.Tensor


def gather(cache: TextMeanCache, builtin: list[Emotion], neutral: NeutralTexts, progress: Progress) -> Corpus:
    """Read (or take from the cache) the mean activation of every text extraction needs."""
    neutral_train, neutral_held = split_holdout(neutral.texts)
    groups: list[list[str]] = []
    for emotion in builtin:
        train, held = split_holdout(emotion.examples)
        groups += [train, held, list(emotion.validation)]
    groups += [neutral_train, neutral_held, list(neutral.validation)]
    means = cache.means([t for group in groups for t in group], progress)
    parts, offset = [], 0
    for group in groups:
        parts.append(means[offset : offset + len(group)])
        offset += len(group)
    n = len(builtin)
    return Corpus(
        train=parts[0 : 3 * n : 3], held=parts[1 : 3 * n : 3], validation=parts[2 : 3 * n : 3],
        neutral_train=parts[3 * n], neutral_held=parts[3 * n + 1], neutral_validation=parts[3 * n + 2],
    )


class LayerModel:
    """One layer's built-in picture: centroids, grand mean, shrunk within-class covariance, neutral stats."""

    def __init__(self, corpus: Corpus, stats: NeutralStats, layer: int, shrinkage: float = SHRINKAGES[0]) -> None:
        self.layer = layer
        self.centroids = torch.stack([t[:, layer].mean(0) for t in corpus.train]).double()  # [E, W]
        self.grand_mean = self.centroids.mean(0)
        self.neutral_centroid = corpus.neutral_train[:, layer].double().mean(0)
        classes = [t[:, layer].double() for t in corpus.train] + [corpus.neutral_train[:, layer].double()]
        centred = torch.cat([c - c.mean(0) for c in classes])
        self.raw_within = centred.T @ centred / len(centred)
        self.stats = stats
        self._neutral_pcs: torch.Tensor | None = None
        self.shrink(shrinkage)

    def shrink(self, shrinkage: float) -> "LayerModel":
        """Use the within-class covariance shrunk towards a scaled identity by `shrinkage` (0-1)."""
        width = self.raw_within.shape[0]
        scale = self.raw_within.trace() / width
        self.shrinkage = shrinkage
        self.within = (1 - shrinkage) * self.raw_within + shrinkage * scale * torch.eye(width, dtype=self.raw_within.dtype)
        return self

    def neutral_components(self) -> torch.Tensor:
        """Top principal components of neutral tokens explaining NEUTRAL_VARIANCE_REMOVED: [k, width]."""
        if self._neutral_pcs is None:
            values, vectors = torch.linalg.eigh(self.stats.covariance[self.layer])
            values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
            k = int(((values.cumsum(0) / values.sum()) < NEUTRAL_VARIANCE_REMOVED).sum()) + 1
            self._neutral_pcs = vectors[:, :k].T
        return self._neutral_pcs

    def steering(self, centroids: torch.Tensor) -> torch.Tensor:
        """Unit mean-difference directions for centroids [k, W], neutral PCs projected out."""
        vectors = centroids - self.grand_mean
        components = self.neutral_components()
        vectors = vectors - (vectors @ components.T) @ components
        return unit(vectors)

    def reading(self, centroids: torch.Tensor) -> torch.Tensor:
        """Unit LDA reading directions S^-1 (centroid - grand mean): [k, W]."""
        return unit(torch.linalg.solve(self.within, (centroids - self.grand_mean).T).T)

    def discriminant(self, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classifier weights S^-1 mu and biases -mu.S^-1.mu/2 for class centroids [k, W]."""
        weights = torch.linalg.solve(self.within, centroids.T).T
        return weights, -0.5 * (weights * centroids).sum(1)

    def calibrate(self, read: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Neutral-token mean and spread of projections on unit vectors [k, W]."""
        mean = read @ self.stats.mean[self.layer].double()
        variance = torch.einsum("ew,wv,ev->e", read, self.stats.covariance[self.layer], read)
        return mean.float(), variance.clamp(min=1e-12).sqrt().float()


def unit(vectors: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (zero rows stay zero)."""
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def predict(weights: torch.Tensor, bias: torch.Tensor, texts: torch.Tensor, layer: int) -> torch.Tensor:
    """Class index per text [n] for per-text means [n, depth, W]."""
    if len(texts) == 0:
        return torch.zeros(0, dtype=torch.long)
    return (texts[:, layer].double() @ weights.T + bias).argmax(1)
