"""DirectionSet: per-layer emotion directions for steering and for reading, with their calibration.

Two kinds of vector per (layer, emotion), chosen on evidence (docs/instrument.md, "Validation"):
  vectors       steering: mean difference (Anthropic 2026): an emotion's mean activation minus the
                mean over the built-in emotions, with the top neutral principal components
                projected out. Strength 1.0 adds `layer_norms[layer]` times the unit vector.
  read_vectors  reading: the same contrasts whitened by the within-emotion covariance (LDA with
                shrinkage), which separates emotions that mean difference confuses.
Readings are z-scores of the reading projection against neutral tokens: 0 = as on neutral text.
"Which emotion is this text?" is a linear classifier over the emotions plus a neutral class
(`classifier_*`, last row = neutral): when the neutral class wins, the text shows no clear emotion.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from lab.common.errors import LabError
from lab.emotions.picture import BuiltinPicture

NEUTRAL_LABEL = "no clear emotion"


@dataclass
class DirectionSet:
    """Per-layer unit directions with everything needed to read and steer with them."""

    emotions: list[str]
    descriptions: dict[str, str]
    method: str
    vectors: torch.Tensor  # [depth, n_emotions, width] steering directions, unit length
    read_vectors: torch.Tensor  # [depth, n_emotions, width] reading directions, unit length
    layer_norms: torch.Tensor  # [depth] typical residual norm: strength 1.0 adds this much
    calib_mean: torch.Tensor  # [depth, n_emotions] neutral-token mean of the reading projection
    calib_std: torch.Tensor  # [depth, n_emotions] neutral-token spread of the reading projection
    classifier_weights: torch.Tensor  # [depth, n_emotions + 1, width]; last row: neutral
    classifier_bias: torch.Tensor  # [depth, n_emotions + 1]
    accuracy: torch.Tensor  # [depth, n_emotions] held-out accuracy (built-in: 1-in-5 split; user-made: cross-validated)
    reading_layer: int
    steering_layers: tuple[int, ...]
    model_identity: str
    data_hash: str
    hook_point: str = "decoder_layer_output"
    extras: dict[str, object] = field(default_factory=dict)
    picture: BuiltinPicture | None = None  # what user-made emotions are placed against (built-in sets)

    @property
    def depth(self) -> int:
        return self.vectors.shape[0]

    def overall_accuracy(self) -> torch.Tensor:
        """Held-out accuracy per layer, averaged over the emotions measured there: [depth]."""
        return self.accuracy.nanmean(dim=1)

    def index(self, emotion: str) -> int:
        try:
            return self.emotions.index(emotion)
        except ValueError:
            raise LabError(f"Unknown emotion '{emotion}'. Known emotions: {', '.join(self.emotions)}.") from None

    def kind(self, emotion: str) -> str:
        """'built-in', 'user-made', 'imported' or 'control' (a random direction for control runs)."""
        for kind in ("imported", "control"):
            if emotion in self.extras.get(kind, []):
                return kind
        return "built-in" if emotion in self.extras.get("builtin", self.emotions) else "user-made"

    def project(self, hidden: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """Calibrated readings of hidden states [..., width] -> [..., n_emotions]."""
        layer = self.reading_layer if layer is None else layer
        raw = hidden.float() @ self.read_vectors[layer].T.to(hidden.device)
        return (raw - self.calib_mean[layer].to(hidden.device)) / self.calib_std[layer].to(hidden.device)

    def project_delta(self, delta: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """How much adding `delta` [..., width] to the residual moves each reading: [..., n_emotions]."""
        layer = self.reading_layer if layer is None else layer
        return (delta.float() @ self.read_vectors[layer].T.to(delta.device)) / self.calib_std[layer].to(delta.device)

    def class_scores(self, hidden_mean: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """Classifier scores of text-mean hidden states [..., width] -> [..., n_emotions + 1] (last: neutral)."""
        layer = self.reading_layer if layer is None else layer
        return hidden_mean.float() @ self.classifier_weights[layer].T + self.classifier_bias[layer]

    def classify(self, hidden_mean: torch.Tensor, layer: int | None = None) -> str:
        """The emotion a text shows (from the mean hidden state of its tokens), or NEUTRAL_LABEL."""
        best = int(self.class_scores(hidden_mean, layer).argmax())
        return NEUTRAL_LABEL if best == len(self.emotions) else self.emotions[best]

    def steering_basis(self, layer: int) -> torch.Tensor:
        """[n_emotions, width]: strength 1.0 of an emotion adds its row at this layer."""
        return self.vectors[layer] * self.layer_norms[layer]

    def evaluation(self) -> dict:
        """The validation numbers made at extraction (see lab.emotions.evaluation)."""
        return dict(self.extras.get("evaluation", {}))

    def with_directions(self, names: list[str], descriptions: dict[str, str], steer: torch.Tensor, read: torch.Tensor,
                        calib_mean: torch.Tensor, calib_std: torch.Tensor, kind: str) -> "DirectionSet":
        """A copy with extra emotions appended ([depth, k, width] vectors) that the classifier never picks."""
        depth, k = steer.shape[0], steer.shape[1]
        never = torch.full((depth, k), -torch.inf)
        neutral_w, neutral_b = self.classifier_weights[:, -1:], self.classifier_bias[:, -1:]
        extras = dict(self.extras)
        extras[kind] = list(extras.get(kind, [])) + names
        return replace(
            self,
            emotions=self.emotions + names,
            descriptions={**self.descriptions, **descriptions},
            vectors=torch.cat([self.vectors, steer], dim=1),
            read_vectors=torch.cat([self.read_vectors, read], dim=1),
            calib_mean=torch.cat([self.calib_mean, calib_mean], dim=1),
            calib_std=torch.cat([self.calib_std, calib_std], dim=1),
            classifier_weights=torch.cat([self.classifier_weights[:, :-1], torch.zeros(depth, k, steer.shape[-1]), neutral_w], dim=1),
            classifier_bias=torch.cat([self.classifier_bias[:, :-1], never, neutral_b], dim=1),
            accuracy=torch.cat([self.accuracy, torch.zeros(depth, k)], dim=1),
            extras=extras,
        )


def principal_axes(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre [width], axes [2, width], variance share of each axis [2]) of row vectors."""
    centre = vectors.mean(axis=0)
    _, singular, basis = np.linalg.svd(vectors - centre, full_matrices=False)
    shares = singular[:2] ** 2 / max(float((singular**2).sum()), 1e-12)
    return centre, basis[:2], shares
