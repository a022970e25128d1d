"""How well the directions recognise emotions, as counts with 95% intervals, never bare percentages.

Made once at extraction and kept in the direction file (`extras["evaluation"]`):
  per emotion   held-out (1-in-5 split, same style as training) and style-shifted validation
                (short messages, dialogue lines, phrases; never used to choose anything)
  core six      happy, sad, afraid, angry, calm, desperate among themselves
  neutral       neutral texts read as "no clear emotion", emotional texts keeping an emotion
  user-made     cross-validated (5 folds) over their own examples; under 20 examples the lab says
                "too few examples to judge" instead of a rate
  estimators    the comparison behind the choice of reading estimator (docs/instrument.md)
"""
from __future__ import annotations

import torch

from lab.common.stats import Estimate, wilson
from lab.emotions.direction_set import DirectionSet
from lab.emotions.lda import SHRINKAGES, Corpus, LayerModel, predict
from lab.emotions.placement import TOO_FEW

CORE = ("happy", "sad", "afraid", "angry", "calm", "desperate")
BAND = 2  # layers either side of the centre for band readings


def rate(counts: list[int] | tuple[int, int]) -> Estimate:
    """[correct, total] -> the rate with its Wilson interval."""
    return wilson(int(counts[0]), int(counts[1]))


def describe(counts: list[int] | tuple[int, int], min_total: int = 1) -> str:
    """'31 of 33 (94%, 95% CI 80-98%)', or 'too few examples to judge' under `min_total`."""
    k, n = int(counts[0]), int(counts[1])
    if n < min_total or n == 0:
        return f"too few examples to judge ({n})"
    estimate = wilson(k, n)
    return f"{k} of {n} ({estimate.value:.0%}, 95% CI {estimate.low:.0%}-{estimate.high:.0%})"


def _counts(predicted: torch.Tensor, target: int) -> list[int]:
    return [int((predicted == target).sum()), len(predicted)]


def _keep_counts(predicted: torch.Tensor, neutral_class: int) -> list[int]:
    return [int((predicted != neutral_class).sum()), len(predicted)]


def evaluate(directions: DirectionSet, corpus: Corpus, layer_models: dict[int, LayerModel]) -> DirectionSet:
    """Fill `directions.extras["evaluation"]` for the built-in emotions; returns `directions`.
    (User-made emotions are cross-validated when placed: lab.emotions.placement.)"""
    layer = directions.reading_layer
    n_builtin = len(corpus.train)
    weights, bias = directions.classifier_weights[layer].double(), directions.classifier_bias[layer].double()
    emotion_rows = list(range(n_builtin))
    with_neutral = emotion_rows + [len(directions.emotions)]
    neutral_class = len(with_neutral) - 1
    core = [directions.emotions.index(name) for name in CORE if name in directions.emotions[:n_builtin]]
    per_emotion: dict[str, dict] = {}
    totals = {"held_out": [0, 0], "validation": [0, 0], "core_held_out": [0, 0], "core_validation": [0, 0],
              "emotional_kept_held_out": [0, 0], "emotional_kept_validation": [0, 0]}
    for e in range(n_builtin):
        entry = {}
        for split, texts in (("held_out", corpus.held[e]), ("validation", corpus.validation[e])):
            entry[split] = _counts(predict(weights[emotion_rows], bias[emotion_rows], texts, layer), e)
            kept = _keep_counts(predict(weights[with_neutral], bias[with_neutral], texts, layer), neutral_class)
            _add(totals[split], entry[split])
            _add(totals[f"emotional_kept_{split}"], kept)
            if e in core:
                _add(totals[f"core_{split}"], _counts(predict(weights[core], bias[core], texts, layer), core.index(e)))
        per_emotion[directions.emotions[e]] = entry
    neutral = {
        "held_out": _counts(predict(weights[with_neutral], bias[with_neutral], corpus.neutral_held, layer), neutral_class),
        "validation": _counts(predict(weights[with_neutral], bias[with_neutral], corpus.neutral_validation, layer), neutral_class),
    }
    directions.extras["evaluation"] = {
        "layer": layer,
        "emotions": per_emotion,
        "totals": totals,
        "neutral": neutral,
        "estimators": compare_estimators(corpus, layer_models),
    }
    return directions


def _add(total: list[int], counts: list[int]) -> None:
    total[0] += counts[0]
    total[1] += counts[1]


def compare_estimators(corpus: Corpus, layer_models: dict[int, LayerModel]) -> list[dict]:
    """Held-out and style-shifted 20-way accuracy of each reading estimator at its best held-out layer."""
    depth = len(layer_models)
    chosen = next(iter(layer_models.values())).shrinkage
    candidates = {"mean difference (paper), one layer": lambda layer: _mean_diff_scores(layer_models[layer], corpus, layer)}
    for shrinkage in SHRINKAGES:
        candidates[f"LDA, shrinkage {shrinkage}, one layer"] = lambda layer, s=shrinkage: _lda_scores(layer_models[layer].shrink(s), corpus, layer)
    rows = []
    for name, scores_at in candidates.items():
        per_layer = {layer: scores_at(layer) for layer in range(depth)}
        best = max(range(depth), key=lambda layer: _accuracy(per_layer[layer][0]))
        rows.append({"estimator": name, "layer": best, "held_out": _accuracy(per_layer[best][0]), "validation": _accuracy(per_layer[best][1])})
        band = [layer for layer in range(best - BAND, best + BAND + 1) if 0 <= layer < depth]
        summed = [[sum(per_layer[layer][split][e] for layer in band) for e in range(len(corpus.held))] for split in (0, 1)]
        rows.append({"estimator": name.replace("one layer", f"band of layers {band[0]}-{band[-1]}"), "layer": best,
                     "held_out": _accuracy(summed[0]), "validation": _accuracy(summed[1])})
    for model in layer_models.values():
        model.shrink(chosen)
    return rows


def _accuracy(scores: list[torch.Tensor]) -> float:
    correct = sum(int((s.argmax(1) == e).sum()) for e, s in enumerate(scores))
    return round(correct / max(sum(len(s) for s in scores), 1), 4)


def _mean_diff_scores(model: LayerModel, corpus: Corpus, layer: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Projections on mean-difference directions, standardised by the training texts' spread per emotion."""
    vectors = model.steering(model.centroids)
    train = torch.cat(corpus.train)[:, layer].double() @ vectors.T
    mean, std = train.mean(0), train.std(0).clamp(min=1e-9)

    def standardise(texts: torch.Tensor) -> torch.Tensor:
        return ((texts[:, layer].double() @ vectors.T - mean) / std) if len(texts) else torch.zeros(0, len(vectors))

    return [standardise(t) for t in corpus.held], [standardise(t) for t in corpus.validation]


def _lda_scores(model: LayerModel, corpus: Corpus, layer: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    weights, bias = model.discriminant(model.centroids)

    def score(texts: torch.Tensor) -> torch.Tensor:
        return (texts[:, layer].double() @ weights.T + bias) if len(texts) else torch.zeros(0, len(weights))

    return [score(t) for t in corpus.held], [score(t) for t in corpus.validation]


def accuracy_summary(directions: DirectionSet, emotion: str) -> str:
    """One line on how well `emotion` is recognised, with counts and intervals (for tooltips and the CLI)."""
    kind = directions.kind(emotion)
    if kind in ("imported", "control"):
        return "not validated (imported without example texts)" if kind == "imported" else "a random control direction"
    entry = directions.evaluation().get("emotions", {}).get(emotion)
    if entry is None:
        return "not validated"
    if "cross_validated" in entry:
        return "cross-validated: " + describe(entry["cross_validated"], min_total=TOO_FEW)
    return f"held-out {describe(entry['held_out'])}; style-shifted {describe(entry['validation'])}"


def recognition_words(directions: DirectionSet, emotion: str) -> str:
    """One sentence a 15-year-old understands about how well the model recognises `emotion`'s texts."""
    kind = directions.kind(emotion)
    if kind == "imported":
        return "Imported without example texts, so the lab cannot check how well the model recognises it."
    if kind == "control":
        return "A random direction for comparison: it stands for no emotion."
    entry = directions.evaluation().get("emotions", {}).get(emotion) or {}
    counts = entry.get("cross_validated") or entry.get("held_out")
    if not counts or counts[1] < TOO_FEW:
        return "Too few examples to say whether the model recognises this emotion: add more."
    low = wilson(int(counts[0]), int(counts[1])).low
    if low > 0.5:
        return "The model clearly tells this emotion apart from the others."
    if low > 1 / max(len(directions.emotions), 1):
        return "The model picks this emotion out more often than guessing would, but often mixes it up with others."
    return "The model does not yet tell this emotion apart from the others: add more varied examples."


def overall_summary(directions: DirectionSet) -> list[str]:
    """Lines summarising the built-in set's validation (held-out, style-shifted, core six, neutral)."""
    evaluation = directions.evaluation()
    if not evaluation:
        return []
    totals, neutral = evaluation["totals"], evaluation["neutral"]
    n = len(directions.extras.get("builtin", []))
    return [
        f"{n}-way, held-out texts: {describe(totals['held_out'])} (chance {1 / max(n, 1):.0%})",
        f"{n}-way, style-shifted validation texts: {describe(totals['validation'])}",
        f"core six among themselves: held-out {describe(totals['core_held_out'])}; style-shifted {describe(totals['core_validation'])}",
        f"neutral texts read as 'no clear emotion': held-out {describe(neutral['held_out'])}; style-shifted {describe(neutral['validation'])}",
        f"emotional texts keeping an emotion: held-out {describe(totals['emotional_kept_held_out'])}; style-shifted {describe(totals['emotional_kept_validation'])}",
    ]
