"""The directions for a loaded model: precomputed (shipped), cached, or extracted now; imports merged.

Lookup order for the built-in emotion set on a model:
  1. assets/directions/<model>-<data>.safetensors  shipped for the embedded model (`make directions`)
  2. the user cache                                 extracted earlier on this computer, in this precision
  3. extraction                                     then saved to the cache
User-made emotions are placed into that built-in picture (lab.emotions.placement), reading only
their own texts, and the result is cached under the full emotion set's hash.
Imported emotions (per model, lab.emotions.imported) are merged on every load: they are calibrated
against neutral text but never validated (they come without example texts).
"""
from __future__ import annotations

from pathlib import Path

import torch

from lab.common.errors import LabError
from lab.common.paths import asset_path, cache_dir
from lab.common.progress import Progress, SilentProgress
from lab.emotions.activations import TextMeanCache, neutral_token_stats
from lab.emotions.token_sums import ActivationReader
from lab.emotions.control_vectors import fill_layers
from lab.emotions.definitions import data_hash, load_emotions, load_neutral
from lab.emotions.direction_file import load_directions, save_directions
from lab.emotions.direction_set import DirectionSet
from lab.emotions.extraction import extract, split_holdout
from lab.emotions.imported import ModelShape, load_imported
from lab.emotions.placement import place_user_emotions
from lab.model.loader import LoadedModel


def file_name(model_identity: str, emotions_hash: str, method: str) -> str:
    return f"{model_identity[:16]}-{emotions_hash[:16]}-{method}.safetensors"


def cache_path(model_identity: str, emotions_hash: str, method: str, precision: str) -> Path:
    """Directions extracted on this machine, kept per precision (bfloat16 readings differ slightly)."""
    return cache_dir() / "directions" / precision / file_name(model_identity, emotions_hash, method)


def precomputed_path(model_identity: str, emotions_hash: str, method: str) -> Path:
    return asset_path("directions") / file_name(model_identity, emotions_hash, method)


def current_data_hash(include_user: bool = True) -> str:
    """The hash of the emotion data extraction would read now (built-in only, or with user-made)."""
    neutral = load_neutral()
    return data_hash(load_emotions(include_user), neutral.texts + neutral.validation)


def load_or_extract(
    lm: LoadedModel, method: str = "mean_diff", progress: Progress | None = None, reader: ActivationReader | None = None,
) -> DirectionSet:
    """The directions for the current emotion set on `lm`, imported emotions included; texts are
    read through `reader` when one is needed (default: local hooks)."""
    progress = progress or SilentProgress()
    emotions, neutral = load_emotions(), load_neutral()
    texts = neutral.texts + neutral.validation
    key = data_hash(emotions, texts)
    directions = _stored(lm, key, method)
    if directions is None:
        cache = TextMeanCache(lm, reader=reader)  # one cache: what extraction reads, placement reuses
        builtin = [e for e in emotions if e.builtin]
        builtin_key = data_hash(builtin, texts)
        directions = _stored(lm, builtin_key, method)
        if directions is None or directions.picture is None:
            directions = extract(lm, builtin, neutral, method, progress, cache)
            save_directions(directions, cache_path(lm.identity, builtin_key, method, lm.runtime["dtype"]))
        user = [e for e in emotions if not e.builtin]
        if user:
            directions = place_user_emotions(directions, user, cache, key, progress)
            save_directions(directions, cache_path(lm.identity, key, method, lm.runtime["dtype"]))
    return merge_imported(directions, lm, load_imported(ModelShape(lm.identity, lm.depth, lm.width)), progress, reader)


def stored_directions(lm: LoadedModel, method: str = "mean_diff") -> DirectionSet | None:
    """The directions for the current emotion set on `lm` if shipped or cached (imports not merged)."""
    return _stored(lm, current_data_hash(), method)


def _stored(lm: LoadedModel, key: str, method: str) -> DirectionSet | None:
    cached = cache_path(lm.identity, key, method, lm.runtime["dtype"])
    for path in (precomputed_path(lm.identity, key, method), cached):
        if path.is_file():
            try:
                directions = load_directions(path)
            except LabError:
                if path == cached:
                    path.unlink(missing_ok=True)  # a damaged cache is rebuilt
                continue
            if directions.model_identity == lm.identity and directions.depth == lm.depth:
                return directions
    return None


def merge_imported(
    directions: DirectionSet, lm: LoadedModel, imported: dict[str, dict[int, torch.Tensor]], progress: Progress | None = None,
    reader: ActivationReader | None = None,
) -> DirectionSet:
    """Add imported (unvalidated) emotions, calibrated against the neutral texts on `lm`."""
    new = {name: vectors for name, vectors in imported.items() if name not in directions.emotions}
    if not new:
        return directions
    progress = progress or SilentProgress()
    progress.set_status("Calibrating imported emotions")
    stats = neutral_token_stats(lm, split_holdout(load_neutral().texts)[0], progress, reader=reader)
    unit = torch.stack([fill_layers(v, lm.depth, lm.width) for v in new.values()], dim=1)  # [depth, k, width], unit length
    mean = torch.einsum("dkw,dw->dk", unit.double(), stats.mean.double()).float()
    std = torch.einsum("dkw,dwv,dkv->dk", unit.double(), stats.covariance, unit.double()).clamp(min=1e-12).sqrt().float()
    descriptions = {name: f"Imported direction '{name}' (not validated: it came without example texts)." for name in new}
    return directions.with_directions(list(new), descriptions, unit, unit, mean, std, kind="imported")
