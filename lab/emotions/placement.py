"""User-made emotions placed into the fixed built-in picture, from a summary of that picture.

Extraction keeps, beside the built-in directions, the few statistics a new emotion is measured
against (`BuiltinPicture`): per steering layer the built-in grand mean and the neutral principal
components; at the reading layer the shrunk within-emotion covariance, the built-in centroids and
the neutral-token statistics. Placing an emotion then needs only its own example texts, so adding
one reads a few dozen texts instead of every built-in one, and gives exactly the columns a full
extraction would (tests/test_instrument.py checks this). The neutral threshold stays the built-in
one: a user-made emotion never changes when a text reads as "no clear emotion".
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from lab.common.progress import Progress, SilentProgress
from lab.emotions.activations import TextMeanCache
from lab.emotions.definitions import Emotion
from lab.emotions.direction_set import DirectionSet

FOLDS = 5  # cross-validation folds for a user-made emotion's own texts
TOO_FEW = 20  # fewer user examples than this: "too few examples to judge"
PREFIX = "picture."


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


def place_user_emotions(base: DirectionSet, user: list[Emotion], cache: TextMeanCache, data_hash: str,
                        progress: Progress | None = None) -> DirectionSet:
    """`base` (built-in emotions only, with its picture) plus `user` emotions, reading only their texts."""
    picture = base.picture
    if picture is None:
        raise ValueError("these directions carry no built-in picture to place emotions into")
    progress = progress or SilentProgress()
    progress.set_status("Reading your example texts")
    means = cache.means([text for emotion in user for text in emotion.examples], progress).double()  # [n, depth, W]
    per_emotion, offset = [], 0
    for emotion in user:
        per_emotion.append(means[offset : offset + len(emotion.examples)])
        offset += len(emotion.examples)
    layers, reading_layer = list(picture.layers), base.reading_layer
    depth, k, width = base.depth, len(user), base.vectors.shape[-1]
    centroids = torch.stack([texts.mean(0) for texts in per_emotion], dim=1)  # [depth, k, W]
    steer = torch.zeros(depth, k, width)
    steer[layers] = picture.steering(centroids[layers]).float()
    read = torch.zeros(depth, k, width)
    read[reading_layer] = picture.reading(centroids[reading_layer]).float()
    calib_mean, calib_std = torch.zeros(depth, k), torch.ones(depth, k)
    mean, std = picture.calibrate(read[reading_layer].double())
    calib_mean[reading_layer], calib_std[reading_layer] = mean.float(), std.float()
    descriptions = {e.name: e.description for e in user}
    placed = base.with_directions([e.name for e in user], descriptions, steer, read, calib_mean, calib_std, kind="user")
    weights, bias = picture.discriminant(centroids[reading_layer])
    n = len(base.emotions)
    placed.classifier_weights[reading_layer, n : n + k] = weights.float()
    placed.classifier_bias[reading_layer, n : n + k] = bias.float()
    placed.accuracy[:, n : n + k] = torch.nan  # measured at the reading layer only
    evaluation = placed.evaluation()
    emotions = dict(evaluation.get("emotions", {}))
    for column, (emotion, texts) in enumerate(zip(user, per_emotion)):
        correct = picture.cross_validate(texts[:, reading_layer])
        placed.accuracy[reading_layer, n + column] = correct / max(len(texts), 1)
        emotions[emotion.name] = {"cross_validated": [correct, len(texts)], "too_few": len(texts) < TOO_FEW}
    placed.extras["evaluation"] = {**evaluation, "emotions": emotions}
    return replace(placed, data_hash=data_hash)
