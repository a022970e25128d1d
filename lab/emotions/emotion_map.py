"""The emotion map: the emotion directions in two dimensions, with axes named only on evidence.

Two pictures of the emotion directions at the reading layer, both made from the built-in emotions
only (user-made and imported emotions are placed into them and never move the others):
  fitted     x and y are linear maps of the reading directions (the ones the readings use) fitted to
             published human valence and arousal ratings of the emotion names
             (assets/emotions/_norms.yaml) by ridge regression; each axis shows its leave-one-out
             correlation: each emotion placed by a map fitted without it, against its rating.
  principal  the top two principal components of the steering directions, each named after valence or arousal only when it
             correlates with the ratings (LABEL_MIN_R), oriented so right/up is more pleasant/aroused.
The default is the picture whose axes track the ratings better: fitted axes by their held-out r,
principal components by their own r (they are not fitted to the ratings).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.emotions.definitions import Norm
from lab.emotions.direction_set import DirectionSet, principal_axes

LABEL_MIN_R = 0.6  # |r| needed to name an axis after valence or arousal
NAMED = {"valence": "unpleasant \u2194 pleasant", "arousal": "calm \u2194 aroused"}
PICTURES = ("fitted", "principal")
MIN_FITTED = 5  # rated built-in emotions needed to fit and hold out
ROUGH_R = 0.3  # a fitted axis below LABEL_MIN_R but at least this is named as a rough guide
RIDGE = 0.01  # ridge strength, as a fraction of the rated emotions' mean squared distance from their centre


@dataclass(frozen=True)
class Axis:
    label: str
    variance_share: float  # of the built-in emotions' spread along this axis
    valence_r: float
    arousal_r: float
    held_out_r: float | None = None  # fitted axes: leave-one-out r with the ratings it was fitted to


@dataclass(frozen=True)
class EmotionMap:
    names: list[str]
    coordinates: np.ndarray  # [n, 2]
    placed: list[bool]  # True for emotions placed into the built-in picture (user-made, imported)
    axes: tuple[Axis, Axis]
    picture: str = "principal"  # one of PICTURES


def pearson(x: list[float], y: list[float]) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def emotion_map(directions: DirectionSet, norms: dict[str, Norm], layer: int | None = None, picture: str | None = None) -> EmotionMap:
    """Every emotion on the fitted or the principal axes (`picture`; None: whichever tracks the ratings better)."""
    layer = directions.reading_layer if layer is None else layer
    vectors = directions.vectors[layer].double().numpy()
    builtin = [i for i, name in enumerate(directions.emotions) if directions.kind(name) == "built-in"] or list(range(len(directions.emotions)))
    placed = [i not in builtin for i in range(len(directions.emotions))]
    principal = _principal(directions.emotions, vectors, builtin, norms, placed)
    if picture == "principal":
        return principal
    fitted = _fitted(directions.emotions, directions.read_vectors[layer].double().numpy(), builtin, norms, placed)
    if picture == "fitted" or (picture is None and fitted is not None and _tracking(fitted) > _tracking(principal)):
        return fitted if fitted is not None else principal
    return principal


def _tracking(picture: EmotionMap) -> float:
    """How well a picture's axes follow the ratings: mean r of x with valence and y with arousal
    (held-out r for fitted axes, where below 0 counts as 0; |r| for principal components)."""
    x, y = picture.axes
    if x.held_out_r is not None and y.held_out_r is not None:
        values = [max(x.held_out_r, 0.0), max(y.held_out_r, 0.0)]
    else:
        values = [abs(x.valence_r), abs(y.arousal_r)]
    return float(np.mean([v if np.isfinite(v) else 0.0 for v in values]))


def _principal(names: list[str], vectors: np.ndarray, builtin: list[int], norms: dict[str, Norm], placed: list[bool]) -> EmotionMap:
    centre, basis, shares = principal_axes(vectors[builtin])
    coordinates = (vectors - centre) @ basis.T
    rated = [i for i in builtin if names[i] in norms]
    axes = []
    for a in range(2):
        values = [float(coordinates[i, a]) for i in rated]
        valence = pearson(values, [norms[names[i]].valence for i in rated])
        arousal = pearson(values, [norms[names[i]].arousal for i in rated])
        label, sign = _label(a, valence, arousal)
        coordinates[:, a] *= sign
        axes.append(Axis(label, float(shares[a]), sign * valence, sign * arousal))
    return EmotionMap(list(names), coordinates, placed, (axes[0], axes[1]), "principal")


def _fitted(names: list[str], vectors: np.ndarray, builtin: list[int], norms: dict[str, Norm], placed: list[bool]) -> EmotionMap | None:
    """x and y fitted to valence and arousal on the rated built-in emotions; None with too few of them."""
    rated = [i for i in builtin if names[i] in norms]
    if len(rated) < MIN_FITTED:
        return None
    centred = vectors[builtin] - vectors[builtin].mean(0)
    coordinates, axes = np.zeros((len(names), 2)), []
    for a, kind in enumerate(("valence", "arousal")):
        ratings = np.array([getattr(norms[names[i]], kind) for i in rated])
        mapping = fit_rating(vectors[rated], ratings)
        coordinates[:, a] = mapping(vectors)
        r = pearson(held_out_predictions(vectors[rated], ratings).tolist(), ratings.tolist())
        direction = mapping.weights / max(float(np.linalg.norm(mapping.weights)), 1e-12)
        share = float(((centred @ direction) ** 2).sum()) / max(float((centred**2).sum()), 1e-12)
        valence = pearson(coordinates[rated, a].tolist(), [norms[names[i]].valence for i in rated])
        arousal = pearson(coordinates[rated, a].tolist(), [norms[names[i]].arousal for i in rated])
        axes.append(Axis(_fitted_label(kind, r), share, valence, arousal, r))
    return EmotionMap(list(names), coordinates, placed, (axes[0], axes[1]), "fitted")


def _fitted_label(kind: str, r: float) -> str:
    shown = "n/a" if not np.isfinite(r) else f"{r:.2f}"
    evidence = f"(fitted to human ratings; held-out r = {shown})"
    if np.isfinite(r) and r >= LABEL_MIN_R:
        return f"{NAMED[kind]} {evidence}"
    if np.isfinite(r) and r >= ROUGH_R:
        return f"{NAMED[kind]}, roughly {evidence}"
    return f"not clearly {kind} {evidence}"


@dataclass(frozen=True)
class LinearMap:
    """rating = (vector - centre) . weights + mean"""

    centre: np.ndarray
    weights: np.ndarray
    mean: float

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors - self.centre) @ self.weights + self.mean


def _fit(vectors: np.ndarray, ratings: np.ndarray, strength: float) -> LinearMap:
    """Ridge regression in the dual form (few emotions, wide vectors)."""
    centre, mean = vectors.mean(0), float(ratings.mean())
    centred = vectors - centre
    gram = centred @ centred.T
    return LinearMap(centre, centred.T @ np.linalg.solve(gram + strength * np.eye(len(gram)), ratings - mean), mean)


def fit_rating(vectors: np.ndarray, ratings: np.ndarray) -> LinearMap:
    """A linear map from direction vectors [n, width] to a rating (ridge regression, strength RIDGE)."""
    scale = float(((vectors - vectors.mean(0)) ** 2).sum(1).mean()) or 1.0
    return _fit(vectors, ratings, RIDGE * scale)


def held_out_predictions(vectors: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """Each emotion's rating predicted by a map fitted without it: [n]."""
    return np.array([fit_rating(np.delete(vectors, i, 0), np.delete(ratings, i))(vectors[i:i + 1])[0] for i in range(len(ratings))])


def _label(axis: int, valence: float, arousal: float) -> tuple[str, float]:
    """(label, orientation sign) for one principal axis from its correlations."""
    candidates = [(abs(r), kind, r) for kind, r in (("valence", valence), ("arousal", arousal)) if np.isfinite(r)]
    strength, kind, r = max(candidates, default=(0.0, "", 0.0))
    ordinal = ("first", "second")[axis]
    if strength >= LABEL_MIN_R:
        return f"{NAMED[kind]} (r = {abs(r):.2f} with human {kind} ratings)", float(np.sign(r) or 1.0)
    return f"{ordinal} principal component (tracks neither valence nor arousal: |r| = {abs(valence):.2f}, {abs(arousal):.2f})", 1.0
