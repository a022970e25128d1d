"""Imported emotions: per-layer vectors from a control vector or another direction file, kept per
model (under the model's identity) and checked against it (width and depth) before anything is
written. A stored file that no longer reads is moved to a quarantine folder with a warning,
never retried on every start.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from lab.common.atomic import write_bytes
from lab.common.errors import LabError
from lab.common.limits import DIRECTION_FILE_BYTES, check_size
from lab.common.names import check_name, inside
from lab.common.paths import user_data_dir
from lab.emotions.control_vectors import TENSOR_NAME

QUARANTINE = "quarantine"
log = logging.getLogger("lab")


@dataclass(frozen=True)
class ModelShape:
    """What an imported emotion must fit: the model's identity, depth (layers) and width."""

    identity: str
    depth: int
    width: int


@dataclass(frozen=True)
class ImportedEntry:
    name: str
    path: Path
    quarantined: bool


def model_dir(identity: str) -> Path:
    """The folder of one model's imported emotions (created on demand)."""
    path = user_data_dir() / "imported" / identity[:24]
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_fits(vectors: dict[int, torch.Tensor], shape: ModelShape, source: str) -> None:
    """LabError unless `vectors` are finite, non-zero and of the model's width on its layers."""
    if not vectors:
        raise LabError(f"{source} holds no direction vectors.")
    bad_layers = sorted(layer for layer in vectors if not 0 <= layer < shape.depth)
    if bad_layers:
        raise LabError(
            f"{source} has vectors for layer {bad_layers[0]}, but the loaded model has {shape.depth} layers "
            f"(0-{shape.depth - 1}). Import vectors made for this model."
        )
    for layer, vector in vectors.items():
        if vector.ndim != 1 or vector.numel() != shape.width:
            raise LabError(
                f"{source} does not fit the loaded model: its vectors have {vector.numel()} numbers, the model's "
                f"width is {shape.width}. Import vectors made for this model."
            )
        if not bool(torch.isfinite(vector).all()) or not bool(torch.isfinite(unit_vector(vector)).all()) or float(unit_vector(vector).norm()) < 0.5:
            raise LabError(f"{source}: the vector for layer {layer} is zero, too large or not finite. Import a working file.")


def unit_vector(vector: torch.Tensor) -> torch.Tensor:
    """`vector` scaled to length 1, computed in float64 so huge or tiny values do not round to zero."""
    wide = vector.detach().double()
    scale = wide.abs().max()
    if not bool(torch.isfinite(scale)) or float(scale) == 0.0:
        return torch.zeros_like(vector, dtype=torch.float32)
    wide = wide / scale
    return (wide / wide.norm()).float()


def save_imported(name: str, vectors: dict[int, torch.Tensor], source: str, shape: ModelShape) -> Path:
    """Check `vectors` against the model, then keep them under the model's identity (atomically)."""
    name = check_name(name, "emotion")
    check_fits(vectors, shape, source)
    path = inside(model_dir(shape.identity), f"{name}.safetensors")
    tensors = {f"direction.{layer}": v.detach().float().contiguous() for layer, v in vectors.items()}
    write_bytes(path, save(tensors, metadata={"source": source[:1000].encode("utf-8", "backslashreplace").decode("utf-8")}))
    return path


def load_imported(shape: ModelShape) -> dict[str, dict[int, torch.Tensor]]:
    """This model's imported emotions; a file that does not read or fit is quarantined with a warning."""
    imported = {}
    for path in sorted(model_dir(shape.identity).glob("*.safetensors")):
        try:
            check_name(path.stem)
            check_size(path, DIRECTION_FILE_BYTES, "direction file")
            tensors = load_file(str(path))
            vectors = {int(m.group(1)): v for k, v in tensors.items() if (m := TENSOR_NAME.match(k))}
            check_fits(vectors, shape, path.name)
        except (LabError, SafetensorError, OSError, ValueError, RuntimeError) as error:
            _quarantine(path, str(error))
            continue
        imported[path.stem] = vectors
    return imported


def list_imported(identity: str) -> list[ImportedEntry]:
    """Imported emotions of one model, then its quarantined files."""
    folder = model_dir(identity)
    entries = [ImportedEntry(p.stem, p, False) for p in sorted(folder.glob("*.safetensors"))]
    return entries + [ImportedEntry(p.stem, p, True) for p in sorted((folder / QUARANTINE).glob("*.safetensors"))]


def remove_imported(name: str, identity: str) -> Path:
    """Delete one imported emotion (or its quarantined file) of a model; the path removed."""
    name = check_name(name, "emotion")
    folder = model_dir(identity)
    for path in (inside(folder, f"{name}.safetensors"), inside(folder / QUARANTINE, f"{name}.safetensors")):
        if path.is_file():
            path.unlink()
            return path
    known = ", ".join(e.name for e in list_imported(identity)) or "none"
    raise LabError(f"There is no imported emotion '{name}' for this model (imported: {known}).")


def _quarantine(path: Path, reason: str) -> None:
    target = path.parent / QUARANTINE / path.name
    target.parent.mkdir(exist_ok=True)
    try:
        os.replace(path, target)
    except OSError:
        path.unlink(missing_ok=True)
        target = path
    log.warning("The imported emotion '%s' was set aside (%s); it is in %s. Import it again or remove it with "
                "`lab import --remove %s`.", path.stem, reason, target.parent, path.stem)


def read_direction_file(path: Path, names: list[str] | None) -> dict[str, dict[int, torch.Tensor]]:
    """Per-layer vectors of the named emotions (default: all) of a native direction file."""
    from lab.emotions.direction_file import load_directions

    check_size(path, DIRECTION_FILE_BYTES, "direction file")
    try:
        source = load_directions(path)
        emotions = [str(e) for e in source.emotions]
        vectors = source.vectors
        if vectors.ndim != 3 or vectors.shape[1] != len(emotions):
            raise ValueError(f"its vectors have shape {tuple(vectors.shape)} for {len(emotions)} emotions")
    except KeyError as error:
        raise LabError(f"{path.name} is missing the metadata key {error}. Export it again from Emotion Lab.") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as error:
        raise LabError(f"{path.name} has damaged metadata ({str(error)[:200]}). Export it again from Emotion Lab.") from None
    position = {name: i for i, name in enumerate(emotions)}  # one pass: linear in the number of names
    wanted = names or emotions
    missing = [n for n in wanted if n not in position]
    if missing:
        raise LabError(f"{path.name} has no emotion '{missing[0]}' (it holds: {', '.join(emotions[:50])}{' ...' if len(emotions) > 50 else ''}).")
    return {n: {layer: vectors[layer, position[n]] for layer in range(vectors.shape[0])} for n in wanted}
