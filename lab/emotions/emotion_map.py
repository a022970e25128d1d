"""The emotion map: the emotion directions in two dimensions, with axes named only on evidence.

The axes are the top two principal components of the built-in emotions' steering directions at the
reading layer. User-made and imported emotions are placed into that fixed picture and never move
the others. Each axis is correlated with published human valence and arousal ratings of the
emotion names (assets/emotions/_norms.yaml); an axis is called "unpleasant <-> pleasant" or
"calm <-> aroused" only when its correlation supports it, and is oriented so that right/up means
more pleasant / more aroused.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.emotions.definitions import Norm
from lab.emotions.direction_set import DirectionSet, principal_axes

LABEL_MIN_R = 0.6  # |r| needed to name an axis after valence or arousal
NAMED = {"valence": "unpleasant \u2194 pleasant", "arousal": "calm \u2194 aroused"}


@dataclass(frozen=True)
class Axis:
    label: str
    variance_share: float
    valence_r: float
    arousal_r: float


@dataclass(frozen=True)
class EmotionMap:
    names: list[str]
    coordinates: np.ndarray  # [n, 2]
    placed: list[bool]  # True for emotions placed into the built-in picture (user-made, imported)
    axes: tuple[Axis, Axis]


def pearson(x: list[float], y: list[float]) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def emotion_map(directions: DirectionSet, norms: dict[str, Norm], layer: int | None = None) -> EmotionMap:
    """Coordinates of every emotion on the built-in emotions' two principal axes, axes labelled on evidence."""
    layer = directions.reading_layer if layer is None else layer
    vectors = directions.vectors[layer].double().numpy()
    builtin = [i for i, name in enumerate(directions.emotions) if directions.kind(name) == "built-in"] or list(range(len(directions.emotions)))
    centre, basis, shares = principal_axes(vectors[builtin])
    coordinates = (vectors - centre) @ basis.T
    rated = [i for i in builtin if directions.emotions[i] in norms]
    axes = []
    for a in range(2):
        values = [float(coordinates[i, a]) for i in rated]
        valence = pearson(values, [norms[directions.emotions[i]].valence for i in rated])
        arousal = pearson(values, [norms[directions.emotions[i]].arousal for i in rated])
        label, sign = _label(a, valence, arousal)
        coordinates[:, a] *= sign
        axes.append(Axis(label, float(shares[a]), sign * valence, sign * arousal))
    placed = [i not in builtin for i in range(len(directions.emotions))]
    return EmotionMap(list(directions.emotions), coordinates, placed, (axes[0], axes[1]))


def _label(axis: int, valence: float, arousal: float) -> tuple[str, float]:
    """(label, orientation sign) for one axis from its correlations."""
    candidates = [(abs(r), kind, r) for kind, r in (("valence", valence), ("arousal", arousal)) if np.isfinite(r)]
    strength, kind, r = max(candidates, default=(0.0, "", 0.0))
    ordinal = ("first", "second")[axis]
    if strength >= LABEL_MIN_R:
        return f"{NAMED[kind]} (r = {abs(r):.2f} with human {kind} ratings)", float(np.sign(r) or 1.0)
    return f"{ordinal} principal component (tracks neither valence nor arousal: |r| = {abs(valence):.2f}, {abs(arousal):.2f})", 1.0
