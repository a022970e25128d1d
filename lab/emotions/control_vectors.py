"""llama.cpp / repeng control-vector files (GGUF).

A control vector holds `direction.N` tensors: the vector added to the output of (0-based) layer N.
We export unit direction x layer norm, so `--control-vector-scaled FILE 0.05` in llama.cpp means
strength 0.05 in Emotion Lab units. Imported vectors become emotions (lab.emotions.imported).
"""
from __future__ import annotations

import re
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch

from lab.common.atomic import write_bytes
from lab.common.errors import LabError, os_fault
from lab.common.limits import CONTROL_VECTOR_BYTES, check_size

ARCH = "controlvector"
TENSOR_NAME = re.compile(r"^direction\.(\d+)$")


def export_control_vector(path: Path, vectors: dict[int, torch.Tensor], model_hint: str) -> None:
    """Write {layer: vector} as a llama.cpp control vector (built in a private temporary folder,
    then written atomically over `path`)."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name[:200]}."))
    except OSError as error:
        raise LabError(os_fault(error, path.parent) or f"Cannot write {path} ({error.strerror}).") from error
    try:
        writer = gguf.GGUFWriter(str(scratch / "vector.gguf"), ARCH)
        writer.add_string(f"{ARCH}.model_hint", model_hint)
        writer.add_uint32(f"{ARCH}.layer_count", len(vectors))
        for layer, vector in sorted(vectors.items()):
            writer.add_tensor(f"direction.{layer}", vector.detach().float().cpu().numpy().astype(np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        write_bytes(path, (scratch / "vector.gguf").read_bytes())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_control_vector(path: Path) -> dict[int, torch.Tensor]:
    """{layer: vector} from a llama.cpp / repeng control-vector GGUF file."""
    import gguf

    check_size(path, CONTROL_VECTOR_BYTES, "control vector")
    try:
        reader = gguf.GGUFReader(str(path))
        vectors = {}
        for tensor in reader.tensors:
            match = TENSOR_NAME.match(tensor.name)
            if match and len(match.group(1)) <= 6:
                data = np.array(tensor.data, dtype=np.float32)
                if sum(size > 1 for size in data.shape) > 1:
                    raise LabError(f"{path.name}: {tensor.name} has shape {tuple(data.shape)}; a control vector holds one vector per layer.")
                vectors[int(match.group(1))] = torch.tensor(data).flatten()
    except (OSError, ValueError, KeyError, IndexError, TypeError, OverflowError, struct.error) as error:
        raise LabError(f"{path.name} is not a readable GGUF file ({str(error)[:200]}).") from error  # truncated or damaged
    if not vectors:
        raise LabError(f"{path.name} holds no 'direction.N' tensors, so it is not a control vector.")
    return vectors


def fill_layers(vectors: dict[int, torch.Tensor], depth: int, width: int) -> torch.Tensor:
    """Unit vectors for every layer: a layer without its own vector takes the nearest layer's."""
    if any(v.numel() != width for v in vectors.values()):
        raise LabError(f"The imported vectors do not fit this model (its width is {width}). Import vectors made for this model.")
    present = sorted(vectors)
    rows = []
    for layer in range(depth):
        nearest = min(present, key=lambda p: abs(p - layer))
        vector = vectors[nearest].double()
        scale = vector.abs().max().clamp(min=1e-300)
        vector = vector / scale
        rows.append((vector / vector.norm().clamp(min=1e-300)).float())
    return torch.stack(rows)
