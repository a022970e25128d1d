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

from dataclasses import replace

import torch

from lab.common.progress import Progress, SilentProgress
from lab.emotions.activations import TextMeanCache
from lab.emotions.definitions import Emotion
from lab.emotions.direction_set import DirectionSet

TOO_FEW = 20  # fewer user examples than this: "too few examples to judge"


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
