"""Extraction: example texts -> a validated DirectionSet.

Built-in emotions define the picture: their grand mean, their within-emotion covariance, the
reading layer and the classifier. User-made emotions are placed into that fixed picture afterwards
(their own mean against the built-in grand mean), so adding one never moves the others.

Per layer, from per-text activation means (sink token excluded, cached per text):
  steering  mean_diff: centroid - built-in grand mean, top neutral PCs (50% variance) projected out
            pca_diff:  first principal direction of (emotion text - neutral text) differences
  reading   S^-1 (centroid - grand mean), S the within-emotion covariance shrunk towards a scaled
            identity (LDA); the shrinkage and the reading layer are chosen on held-out texts
  classify  linear discriminant over the emotions plus a neutral class; the neutral class's
            threshold is the most generous that keeps 95% of held-out emotional texts labelled
Every fifth example text is held out; the style-shifted validation texts are never used to choose.
"""
from __future__ import annotations

import torch

from lab.common.errors import LabError
from lab.common.progress import Progress, SilentProgress
from lab.emotions.activations import TextMeanCache, neutral_token_stats
from lab.emotions.definitions import Emotion, NeutralTexts, data_hash
from lab.emotions.direction_set import DirectionSet
from lab.emotions.evaluation import evaluate
from lab.emotions.lda import SHRINKAGES, Corpus, LayerModel, gather, predict, split_holdout, unit
from lab.emotions.picture import BuiltinPicture
from lab.emotions.placement import place_user_emotions
from lab.model.loader import LoadedModel

METHODS = ("mean_diff", "pca_diff")
NEUTRAL_OFFSETS = torch.linspace(-40, 40, 161)
KEEP_EMOTIONAL = 0.95  # share of held-out emotional texts that must keep an emotion


def default_steering_layers(depth: int) -> tuple[int, ...]:
    """The middle band of the network (layers 6-19 of 30), where steering changes content coherently."""
    return tuple(range(round(0.2 * depth), round(0.65 * depth)))


def _pca_diff(corpus: Corpus, layer: int) -> torch.Tensor:
    neutral = corpus.neutral_train[:, layer].double()
    rows = []
    for texts in corpus.train:
        diffs = texts[:, layer].double() - neutral[torch.arange(len(texts)) % len(neutral)]
        direction = torch.linalg.svd(diffs, full_matrices=False).Vh[0]
        rows.append(direction if (diffs @ direction).mean() > 0 else -direction)
    return torch.stack(rows)


def held_out_correct(layer_model: LayerModel, corpus: Corpus) -> torch.Tensor:
    """Per built-in emotion, held-out texts classified correctly among the emotions: [E]."""
    weights, bias = layer_model.discriminant(layer_model.centroids)
    return torch.tensor([int((predict(weights, bias, texts, layer_model.layer) == e).sum()) for e, texts in enumerate(corpus.held)])


def choose_layer_and_shrinkage(layer_models: dict[int, LayerModel], corpus: Corpus) -> tuple[int, float, torch.Tensor]:
    """The (layer, shrinkage) with the best held-out accuracy (smoothed over neighbouring layers;
    ties go to the layer nearest 2/3 depth), and the per-layer accuracy [depth, E] at that shrinkage.
    Leaves every layer model at the chosen shrinkage."""
    depth = len(layer_models)
    totals = torch.tensor([len(t) for t in corpus.held]).clamp(min=1)
    best: tuple[float, int, float, torch.Tensor] | None = None
    for shrinkage in SHRINKAGES:
        accuracy = torch.stack([held_out_correct(layer_models[layer].shrink(shrinkage), corpus) / totals for layer in range(depth)])
        overall = accuracy.mean(1)
        smoothed = torch.nn.functional.avg_pool1d(overall[None, None].float(), 3, stride=1, padding=1, count_include_pad=False)[0, 0]
        score = overall + smoothed
        layer = max(range(depth), key=lambda i: (round(float(score[i]), 6), -abs(i - 2 * depth / 3)))
        if best is None or float(score[layer]) > best[0] + 1e-9:
            best = (float(score[layer]), layer, shrinkage, accuracy)
    assert best is not None
    for model in layer_models.values():
        model.shrink(best[2])
    return best[1], best[2], best[3]


def calibrate_neutral_offset(weights: torch.Tensor, bias: torch.Tensor, corpus: Corpus, layer: int) -> float:
    """The neutral class's bias offset: the largest that still leaves KEEP_EMOTIONAL of the held-out
    emotional texts with an emotion, so "no clear emotion" is said as often as that allows."""
    emotional = torch.cat(corpus.held)[:, layer].double() @ weights.T + bias
    emotional_margin = emotional[:, -1] - emotional[:, :-1].max(1).values  # read as neutral when margin + offset > 0
    allowed = [offset for offset in NEUTRAL_OFFSETS.tolist() if float((emotional_margin + offset <= 0).double().mean()) >= KEEP_EMOTIONAL]
    return max(allowed, default=float(NEUTRAL_OFFSETS[0]))


def extract(
    lm: LoadedModel,
    emotions: list[Emotion],
    neutral: NeutralTexts | tuple[str, ...],
    method: str = "mean_diff",
    progress: Progress | None = None,
    cache: TextMeanCache | None = None,
) -> DirectionSet:
    """Extract, calibrate and validate directions for `emotions` on `lm`."""
    if method not in METHODS:
        raise LabError(f"Unknown extraction method '{method}'. Choose one of: {', '.join(METHODS)}.")
    neutral = neutral if isinstance(neutral, NeutralTexts) else NeutralTexts(tuple(neutral))
    builtin = [e for e in emotions if e.builtin]
    user = [e for e in emotions if not e.builtin]
    if len(builtin) < 2:
        raise LabError("At least two built-in emotions are needed to extract directions.")
    progress = progress or SilentProgress()
    cache = cache or TextMeanCache(lm)
    progress.set_status("Reading example texts")
    corpus = gather(cache, builtin, neutral, progress)
    progress.set_status("Reading neutral texts")
    stats = neutral_token_stats(lm, split_holdout(neutral.texts)[0], progress, folder=cache.path.parent, reader=cache.reader)
    progress.set_status("Choosing the reading layer")
    layer_models = {layer: LayerModel(corpus, stats, layer) for layer in range(lm.depth)}
    reading_layer, shrinkage, accuracy = choose_layer_and_shrinkage(layer_models, corpus)
    depth, n, width = lm.depth, len(builtin), lm.width
    steer, read = torch.zeros(depth, n, width), torch.zeros(depth, n, width)
    calib_mean, calib_std = torch.zeros(depth, n), torch.ones(depth, n)
    class_w, class_b = torch.zeros(depth, n + 1, width), torch.zeros(depth, n + 1)
    for layer, model in layer_models.items():
        steer[layer] = (model.steering(model.centroids) if method == "mean_diff" else unit(_pca_diff(corpus, layer))).float()
        read[layer] = model.reading(model.centroids).float()
        calib_mean[layer], calib_std[layer] = model.calibrate(read[layer].double())
        weights, bias = model.discriminant(torch.cat([model.centroids, model.neutral_centroid[None]]))
        class_w[layer], class_b[layer] = weights.float(), bias.float()
    offset = calibrate_neutral_offset(class_w[reading_layer].double(), class_b[reading_layer].double(), corpus, reading_layer)
    class_b[:, -1] += offset
    steering_layers = default_steering_layers(depth)
    directions = DirectionSet(
        emotions=[e.name for e in builtin],
        descriptions={e.name: e.description for e in builtin},
        method=method,
        vectors=steer,
        read_vectors=read,
        layer_norms=stats.norm,
        calib_mean=calib_mean,
        calib_std=calib_std,
        classifier_weights=class_w,
        classifier_bias=class_b,
        accuracy=accuracy,
        reading_layer=reading_layer,
        steering_layers=steering_layers,
        model_identity=lm.identity,
        data_hash=data_hash(builtin, neutral.texts + neutral.validation),
        extras={"builtin": [e.name for e in builtin], "shrinkage": shrinkage, "neutral_offset": offset,
                "precision": lm.runtime["dtype"]},
        picture=builtin_picture(layer_models, reading_layer, steering_layers),
    )
    progress.set_status("Validating")
    directions = evaluate(directions, corpus, layer_models)
    if not user:
        return directions
    return place_user_emotions(directions, user, cache, data_hash(emotions, neutral.texts + neutral.validation), progress)


def builtin_picture(layer_models: dict[int, LayerModel], reading_layer: int, steering_layers: tuple[int, ...]) -> BuiltinPicture:
    """What user-made emotions are placed against (lab.emotions.placement)."""
    layers = tuple(sorted({*steering_layers, reading_layer}))
    pcs = [layer_models[layer].neutral_components() for layer in layers]
    padded = torch.zeros(len(layers), max(len(p) for p in pcs), pcs[0].shape[-1], dtype=torch.float64)
    for i, components in enumerate(pcs):
        padded[i, : len(components)] = components
    reading = layer_models[reading_layer]
    return BuiltinPicture(
        layers=layers,
        grand_means=torch.stack([layer_models[layer].grand_mean for layer in layers]),
        neutral_pcs=padded,
        within=reading.within.clone(),
        centroids=reading.centroids.clone(),
        neutral_mean=reading.stats.mean[reading_layer].double(),
        neutral_cov=reading.stats.covariance[reading_layer].double(),
    )
