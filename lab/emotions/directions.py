"""Emotion directions: one unit vector per (layer, emotion), calibrated and validated per layer.

Methods
  mean_diff  (Anthropic 2026): mean activation over each emotion's texts, minus the mean over all
             emotions, with the top neutral principal components (50% of variance) projected out.
  pca_diff   (RepE / repeng style): first principal direction of the differences between each
             emotion text and a neutral text, sign chosen so the emotion's texts project higher.
Part of each emotion's texts (every 5th) is held out and classified at every layer; the reading
layer is the layer that classifies them best.

Readings are z-scores against neutral tokens (0 = as on neutral text). Emotions differ in how far
their neutral baseline sits from emotional text, so "which emotion is this?" is answered by
`contrast_scores`: readings relative to the average emotional text, in units of its spread.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lab.emotions.activations import NeutralStats, text_means
from lab.emotions.definitions import Emotion, data_hash, load_emotions, load_neutral_texts
from lab.common.errors import LabError
from lab.model.loader import LoadedModel
from lab.common.paths import cache_dir
from lab.common.progress import Progress, SilentProgress

METHODS = ("mean_diff", "pca_diff")
HOLDOUT_EVERY = 5
NEUTRAL_VARIANCE_REMOVED = 0.5
HOOK_POINT = "decoder_layer_output"
FORMAT_VERSION = 1


@dataclass
class DirectionSet:
    """Per-layer unit directions with everything needed to read and steer with them."""

    emotions: list[str]
    descriptions: dict[str, str]
    method: str
    vectors: torch.Tensor  # [depth, n_emotions, width], unit length
    layer_norms: torch.Tensor  # [depth] typical residual norm: strength 1.0 adds this much
    calib_mean: torch.Tensor  # [depth, n_emotions] neutral projection mean
    calib_std: torch.Tensor  # [depth, n_emotions] neutral projection std
    accuracy: torch.Tensor  # [depth, n_emotions] held-out classification accuracy
    contrast_mean: torch.Tensor  # [depth, n_emotions] mean reading over emotional training texts
    contrast_std: torch.Tensor  # [depth, n_emotions] spread of those readings
    reading_layer: int
    steering_layers: tuple[int, ...]
    model_identity: str
    data_hash: str
    hook_point: str = HOOK_POINT
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.vectors.shape[0]

    def overall_accuracy(self) -> torch.Tensor:
        """Held-out accuracy per layer, averaged over emotions: [depth]."""
        return self.accuracy.mean(dim=1)

    def index(self, emotion: str) -> int:
        try:
            return self.emotions.index(emotion)
        except ValueError:
            raise LabError(f"Unknown emotion '{emotion}'. Known emotions: {', '.join(self.emotions)}.") from None

    def project(self, hidden: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """Calibrated readings of hidden states [..., width] -> [..., n_emotions]."""
        layer = self.reading_layer if layer is None else layer
        raw = hidden.float() @ self.vectors[layer].T.to(hidden.device)
        return (raw - self.calib_mean[layer].to(hidden.device)) / self.calib_std[layer].to(hidden.device)

    def project_delta(self, delta: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """How much adding `delta` [..., width] to the residual moves each reading: [..., n_emotions]."""
        layer = self.reading_layer if layer is None else layer
        return (delta.float() @ self.vectors[layer].T.to(delta.device)) / self.calib_std[layer].to(delta.device)

    def contrast_scores(self, readings: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """Readings [..., n_emotions] relative to the average emotional text; argmax = top emotion."""
        layer = self.reading_layer if layer is None else layer
        return (readings - self.contrast_mean[layer]) / self.contrast_std[layer]

    def top_emotion(self, readings: torch.Tensor, layer: int | None = None) -> str:
        return self.emotions[int(self.contrast_scores(readings, layer).argmax())]

    def map_coordinates(self, layer: int | None = None) -> tuple[np.ndarray, float]:
        """The directions on their top two principal components ([n_emotions, 2]) and the variance share kept.

        In the research, the first two components track valence and arousal."""
        layer = self.reading_layer if layer is None else layer
        vectors = self.vectors[layer].double().numpy()
        centred = vectors - vectors.mean(axis=0, keepdims=True)
        _, singular, basis = np.linalg.svd(centred, full_matrices=False)
        share = float((singular[:2] ** 2).sum() / max((singular**2).sum(), 1e-12))
        return centred @ basis[:2].T, share

    def steering_basis(self, layer: int) -> torch.Tensor:
        """[n_emotions, width]: strength 1.0 of an emotion adds its row at this layer."""
        return self.vectors[layer] * self.layer_norms[layer]

    # ---- native file format: safetensors tensors + JSON metadata --------------------------------
    def save(self, path: Path) -> None:
        meta = {
            "format": "emotion-lab-directions",
            "version": FORMAT_VERSION,
            "emotions": self.emotions,
            "descriptions": self.descriptions,
            "method": self.method,
            "reading_layer": self.reading_layer,
            "steering_layers": list(self.steering_layers),
            "model_identity": self.model_identity,
            "data_hash": self.data_hash,
            "hook_point": self.hook_point,
            "normalisation": "unit vectors; strength x layer_norms[layer] is added; readings (proj - calib_mean) / calib_std",
            "extras": self.extras,
        }
        tensors = {
            "vectors": self.vectors.contiguous(),
            "layer_norms": self.layer_norms.contiguous(),
            "calib_mean": self.calib_mean.contiguous(),
            "calib_std": self.calib_std.contiguous(),
            "accuracy": self.accuracy.contiguous(),
            "contrast_mean": self.contrast_mean.contiguous(),
            "contrast_std": self.contrast_std.contiguous(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        save_file(tensors, str(tmp), metadata={"emotion_lab": json.dumps(meta)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "DirectionSet":
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as handle:
                meta = json.loads((handle.metadata() or {}).get("emotion_lab", "null"))
            tensors = load_file(str(path))
        except (OSError, SafetensorError, ValueError) as error:
            raise LabError(f"Could not read direction file {path}: {error}. Export it again from Emotion Lab.") from error
        if not isinstance(meta, dict) or meta.get("format") != "emotion-lab-directions":
            raise LabError(f"{path.name} is not an Emotion Lab direction file.")
        if meta["version"] > FORMAT_VERSION:
            raise LabError(f"{path.name} was written by a newer Emotion Lab. Update the app to read it.")
        return cls(
            emotions=list(meta["emotions"]),
            descriptions=dict(meta["descriptions"]),
            method=meta["method"],
            vectors=tensors["vectors"],
            layer_norms=tensors["layer_norms"],
            calib_mean=tensors["calib_mean"],
            calib_std=tensors["calib_std"],
            accuracy=tensors["accuracy"],
            contrast_mean=tensors["contrast_mean"],
            contrast_std=tensors["contrast_std"],
            reading_layer=int(meta["reading_layer"]),
            steering_layers=tuple(meta["steering_layers"]),
            model_identity=meta["model_identity"],
            data_hash=meta["data_hash"],
            hook_point=meta.get("hook_point", HOOK_POINT),
            extras=dict(meta.get("extras", {})),
        )


def default_steering_layers(depth: int) -> tuple[int, ...]:
    """The middle band of the network (layers 6-19 of 30), where steering changes content coherently."""
    return tuple(range(round(0.2 * depth), round(0.65 * depth)))


def split_holdout(examples: tuple[str, ...]) -> tuple[list[str], list[str]]:
    train = [t for i, t in enumerate(examples) if i % HOLDOUT_EVERY != HOLDOUT_EVERY - 1]
    held = [t for i, t in enumerate(examples) if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1]
    return train, held


def _neutral_components(covariance: torch.Tensor) -> torch.Tensor:
    """Top principal components of neutral activations explaining NEUTRAL_VARIANCE_REMOVED: [k, width]."""
    values, vectors = torch.linalg.eigh(covariance)
    values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
    explained = values.cumsum(0) / values.sum()
    k = int((explained < NEUTRAL_VARIANCE_REMOVED).sum()) + 1
    return vectors[:, :k].T.float()


def _mean_diff(train: list[torch.Tensor], stats: NeutralStats, layer: int) -> torch.Tensor:
    centroids = torch.stack([t[:, layer].mean(0) for t in train])  # [E, W]
    vectors = centroids - centroids.mean(0, keepdim=True)
    components = _neutral_components(stats.covariance[layer])
    return vectors - (vectors @ components.T) @ components


def _pca_diff(train: list[torch.Tensor], neutral_means: torch.Tensor, layer: int) -> torch.Tensor:
    rows = []
    for texts in train:
        pairs = neutral_means[torch.arange(len(texts)) % len(neutral_means), layer]
        diffs = texts[:, layer] - pairs
        direction = torch.linalg.svd(diffs, full_matrices=False).Vh[0]
        rows.append(direction if (diffs @ direction).mean() > 0 else -direction)
    return torch.stack(rows)


def _calibrate(vectors: torch.Tensor, stats: NeutralStats, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    mean = vectors @ stats.mean[layer]
    variance = torch.einsum("ew,wv,ev->e", vectors.double(), stats.covariance[layer], vectors.double())
    return mean, variance.clamp(min=1e-12).sqrt().float()


def _pick_reading_layer(accuracy: torch.Tensor) -> int:
    """Best held-out accuracy (smoothed over neighbours); ties go to the layer nearest 2/3 depth."""
    overall = accuracy.mean(dim=1)
    smoothed = torch.nn.functional.avg_pool1d(overall[None, None], 3, stride=1, padding=1, count_include_pad=False)[0, 0]
    score = overall + smoothed
    target = 2 * len(overall) / 3
    best = max(range(len(overall)), key=lambda l: (round(float(score[l]), 6), -abs(l - target)))
    return best


def extract(lm: LoadedModel, emotions: list[Emotion], neutral: tuple[str, ...], method: str = "mean_diff", progress: Progress | None = None) -> DirectionSet:
    """Extract, calibrate and validate directions for `emotions` on `lm`."""
    if method not in METHODS:
        raise LabError(f"Unknown extraction method '{method}'. Choose one of: {', '.join(METHODS)}.")
    if len(emotions) < 2:
        raise LabError("At least two emotions are needed to extract directions.")
    progress = progress or SilentProgress()
    splits = [split_holdout(e.examples) for e in emotions]
    all_texts = [t for train, held in splits for t in train + held] + list(neutral)
    progress.set_status("Reading example texts")
    neutral_count = len(neutral)
    emotion_texts = all_texts[:-neutral_count]
    means, _ = text_means(lm, emotion_texts, progress)
    progress.set_status("Reading neutral texts")
    neutral_means, stats = text_means(lm, list(neutral), progress, neutral=True)
    assert stats is not None
    train, held, offset = [], [], 0
    for train_texts, held_texts in splits:
        train.append(means[offset : offset + len(train_texts)])
        offset += len(train_texts)
        held.append(means[offset : offset + len(held_texts)])
        offset += len(held_texts)
    depth, n = lm.depth, len(emotions)
    vectors = torch.zeros(depth, n, lm.width)
    calib_mean, calib_std = torch.zeros(depth, n), torch.ones(depth, n)
    accuracy = torch.zeros(depth, n)
    contrast_mean, contrast_std = torch.zeros(depth, n), torch.ones(depth, n)
    all_train = torch.cat(train)
    for layer in range(depth):
        raw = _mean_diff(train, stats, layer) if method == "mean_diff" else _pca_diff(train, neutral_means, layer)
        unit = raw / raw.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        vectors[layer] = unit
        calib_mean[layer], calib_std[layer] = _calibrate(unit, stats, layer)
        train_readings = (all_train[:, layer] @ unit.T - calib_mean[layer]) / calib_std[layer]
        contrast_mean[layer], contrast_std[layer] = train_readings.mean(0), train_readings.std(0).clamp(min=1e-6)
        for e, texts in enumerate(held):
            readings = (texts[:, layer] @ unit.T - calib_mean[layer]) / calib_std[layer]
            scores = (readings - contrast_mean[layer]) / contrast_std[layer]
            accuracy[layer, e] = (scores.argmax(dim=1) == e).float().mean()
    return DirectionSet(
        emotions=[e.name for e in emotions],
        descriptions={e.name: e.description for e in emotions},
        method=method,
        vectors=vectors,
        layer_norms=stats.norm,
        calib_mean=calib_mean,
        calib_std=calib_std,
        accuracy=accuracy,
        contrast_mean=contrast_mean,
        contrast_std=contrast_std,
        reading_layer=_pick_reading_layer(accuracy),
        steering_layers=default_steering_layers(depth),
        model_identity=lm.identity,
        data_hash=data_hash(emotions, neutral),
        extras={"builtin": [e.name for e in emotions if e.builtin]},
    )


def merge_imported(directions: DirectionSet, lm: LoadedModel, imported: dict[str, dict[int, torch.Tensor]], progress: Progress | None = None) -> DirectionSet:
    """Add imported (unvalidated) emotions, calibrated against the neutral texts on `lm`."""
    new = {name: vectors for name, vectors in imported.items() if name not in directions.emotions}
    if not new:
        return directions
    from lab.emotions.control_vectors import fill_layers

    progress = progress or SilentProgress()
    progress.set_status("Calibrating imported emotions")
    _, stats = text_means(lm, list(load_neutral_texts()), progress, neutral=True)
    assert stats is not None
    added = torch.stack([fill_layers(v, lm.depth, lm.width) for v in new.values()], dim=1)  # [depth, k, width]
    calibration = [_calibrate(added[layer], stats, layer) for layer in range(lm.depth)]
    k = len(new)
    return DirectionSet(
        emotions=directions.emotions + list(new),
        descriptions={**directions.descriptions, **{name: f"Imported direction '{name}' (not validated: it came without example texts)." for name in new}},
        method=directions.method,
        vectors=torch.cat([directions.vectors, added], dim=1),
        layer_norms=directions.layer_norms,
        calib_mean=torch.cat([directions.calib_mean, torch.stack([c[0] for c in calibration])], dim=1),
        calib_std=torch.cat([directions.calib_std, torch.stack([c[1] for c in calibration])], dim=1),
        accuracy=torch.cat([directions.accuracy, torch.zeros(lm.depth, k)], dim=1),
        contrast_mean=torch.cat([directions.contrast_mean, torch.zeros(lm.depth, k)], dim=1),
        contrast_std=torch.cat([directions.contrast_std, torch.ones(lm.depth, k)], dim=1),
        reading_layer=directions.reading_layer,
        steering_layers=directions.steering_layers,
        model_identity=directions.model_identity,
        data_hash=directions.data_hash,
        extras={**directions.extras, "imported": list(new)},
    )


def cache_path(model_identity: str, emotions_hash: str, method: str) -> Path:
    return cache_dir() / "directions" / f"{model_identity[:16]}-{emotions_hash[:16]}-{method}.safetensors"


def load_or_extract(lm: LoadedModel, method: str = "mean_diff", progress: Progress | None = None) -> DirectionSet:
    """The directions for the current emotion set on `lm`, from the cache when possible."""
    from lab.emotions.imported import ModelShape, load_imported

    emotions, neutral, imported = load_emotions(), load_neutral_texts(), load_imported(ModelShape(lm.identity, lm.depth, lm.width))
    key = data_hash(emotions, neutral) + "".join(f"{n}:{float(sum(v.sum() for v in vs.values()))}" for n, vs in imported.items())
    path = cache_path(lm.identity, hashlib.sha256(key.encode()).hexdigest(), method)
    if path.is_file():
        try:
            return DirectionSet.load(path)
        except LabError:
            path.unlink(missing_ok=True)  # damaged cache: rebuild below
    directions = merge_imported(extract(lm, emotions, neutral, method, progress), lm, imported, progress)
    directions.save(path)
    return directions
