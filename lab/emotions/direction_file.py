"""The native direction file: safetensors tensors + JSON metadata (what, for which model, how made).

Nothing in a file is executed: tensors are plain arrays and the metadata is JSON, checked key by key.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from lab.common.atomic import write_bytes
from lab.common.errors import LabError
from lab.emotions.direction_set import DirectionSet
from lab.emotions.picture import BuiltinPicture

FORMAT = "emotion-lab-directions"
FORMAT_VERSION = 2
TENSORS = ("vectors", "read_vectors", "layer_norms", "calib_mean", "calib_std", "classifier_weights", "classifier_bias", "accuracy")
MAX_EMOTIONS = 1000
META_KEYS = ("emotions", "descriptions", "method", "reading_layer", "steering_layers", "model_identity", "data_hash")


def save_directions(directions: DirectionSet, path: Path) -> None:
    """Write atomically (a partial file never replaces a good one)."""
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "emotions": directions.emotions,
        "descriptions": directions.descriptions,
        "method": directions.method,
        "reading_layer": directions.reading_layer,
        "steering_layers": list(directions.steering_layers),
        "model_identity": directions.model_identity,
        "data_hash": directions.data_hash,
        "hook_point": directions.hook_point,
        "normalisation": "vectors: unit steering directions, strength x layer_norms[layer] is added; "
                         "readings: (read_vectors . h - calib_mean) / calib_std",
        "extras": directions.extras,
    }
    tensors = {name: getattr(directions, name).contiguous() for name in TENSORS}
    if directions.picture is not None:
        tensors.update(directions.picture.tensors())
    write_bytes(path, save(tensors, metadata={"emotion_lab": json.dumps(meta)}))


def load_directions(path: Path) -> DirectionSet:
    """Read a direction file, with a clear message for anything that is not one we can use."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("emotion_lab", "null"))
            _check_names(meta, path)  # before any tensor is read
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (OSError, SafetensorError, ValueError) as error:
        raise LabError(f"Could not read direction file {path.name}: {error}. Export it again from Emotion Lab.") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise LabError(f"{path.name} is not an Emotion Lab direction file.")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise LabError(f"{path.name} was written by a newer Emotion Lab. Update the app to read it.")
    if version < FORMAT_VERSION:
        raise LabError(f"{path.name} was written by an older Emotion Lab (format {version}). Export it again from an up-to-date lab.")
    missing = [key for key in META_KEYS if key not in meta] + [name for name in TENSORS if name not in tensors]
    if missing:
        raise LabError(f"{path.name} is incomplete (missing {', '.join(missing)}). Export it again from Emotion Lab.")
    try:
        directions = DirectionSet(
            emotions=[str(e) for e in meta["emotions"]],
            descriptions={str(k): str(v) for k, v in dict(meta["descriptions"]).items()},
            method=str(meta["method"]),
            reading_layer=int(meta["reading_layer"]),
            steering_layers=tuple(int(layer) for layer in meta["steering_layers"]),
            model_identity=str(meta["model_identity"]),
            data_hash=str(meta["data_hash"]),
            hook_point=str(meta.get("hook_point", "decoder_layer_output")),
            extras=dict(meta.get("extras") or {}),
            **{name: tensors[name].float() for name in TENSORS},
        )
        width = directions.vectors.shape[-1]
        n_builtin = len(directions.extras.get("builtin", []))
        directions.picture = BuiltinPicture.from_tensors(tensors, len(directions.layer_norms), width, n_builtin)
    except (TypeError, ValueError, OverflowError) as error:
        raise LabError(f"{path.name} has malformed metadata ({error}). Export it again from Emotion Lab.") from None
    _check_shapes(directions, path)
    return directions


def _check_names(meta: object, path: Path) -> None:
    """At most MAX_EMOTIONS names, none twice (counted in one pass)."""
    names = meta.get("emotions") if isinstance(meta, dict) else None
    if not isinstance(names, list):
        return
    if len(names) > MAX_EMOTIONS:
        raise LabError(f"{path.name} holds {len(names)} emotions; the limit is {MAX_EMOTIONS}.")
    if len(set(map(str, names))) != len(names):
        raise LabError(f"{path.name} names an emotion twice. Export it again from Emotion Lab.")


def _check_shapes(d: DirectionSet, path: Path) -> None:
    depth, n = len(d.layer_norms), len(d.emotions)
    width = d.vectors.shape[-1] if d.vectors.dim() == 3 else -1
    expected = {
        "vectors": (depth, n, width), "read_vectors": (depth, n, width), "calib_mean": (depth, n), "calib_std": (depth, n),
        "classifier_weights": (depth, n + 1, width), "classifier_bias": (depth, n + 1), "accuracy": (depth, n),
    }
    wrong = [name for name, shape in expected.items() if tuple(getattr(d, name).shape) != shape]
    if wrong or not 0 <= d.reading_layer < depth or any(not 0 <= layer < depth for layer in d.steering_layers):
        raise LabError(f"{path.name} is inconsistent ({', '.join(wrong) or 'layer numbers'} do not fit). Export it again from Emotion Lab.")
    if not all(bool(torch.isfinite(getattr(d, name)).all()) for name in ("vectors", "read_vectors", "layer_norms", "calib_mean", "calib_std")):
        raise LabError(f"{path.name} contains invalid numbers (NaN or infinity). Export it again from Emotion Lab.")
