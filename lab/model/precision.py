"""Precision and memory: which dtype a model loads in, and whether it fits before loading it.

`auto` is bfloat16 on CUDA (float16 where the GPU lacks bfloat16) and float32 on CPUs and MPS. On a
CPU, bfloat16 is not reliably faster (measured: 1.33x faster on an AVX2-only CPU, 0.89x on a CPU with
native bfloat16, AMX), it changes greedy tokens and readings slightly, and only float32 gives the same
results on every computer; bfloat16 stays one choice away for half the memory. EMOTION_LAB_DTYPE
(a choice in lab.model.precisions but auto) sets what `auto` means on one computer, e.g. to run the test suite in
bfloat16. Readings and statistics stay float32 whatever the model's dtype (DirectionSet.project casts). The memory check counts the weights in
the safetensors headers (no tensor is read) and compares them with what the device has free.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from lab.common.errors import LabError
from lab.model.precisions import DTYPE_CHOICES

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_CHOICES if name != "auto"}
OVERHEAD = 1.2  # weights plus activations, KV cache and allocator slack for a lab-sized conversation
RUNTIME_BYTES = 300 * 2**20  # libraries and buffers beside the weights


class ModelTooLarge(LabError):
    """The model will not fit in the memory free on its device."""


PRECISION_ENV = "EMOTION_LAB_DTYPE"


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU does bfloat16 in hardware (AVX512-BF16 or AMX); reported by `lab bench`."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def choose_dtype(name: str, device: torch.device) -> torch.dtype:
    """The dtype for `name` (one of DTYPE_CHOICES) on `device`."""
    if name not in DTYPE_CHOICES:
        raise LabError(f"Unknown precision '{name}'. Choose one of: {', '.join(DTYPE_CHOICES)}.")
    if name == "auto":
        name = os.environ.get(PRECISION_ENV, "").strip() or "auto"
        if name not in DTYPES and name != "auto":
            raise LabError(f"{PRECISION_ENV}={name} is not a precision. Set it to one of: {', '.join(DTYPES)}, or unset it.")
    if name != "auto":
        if device.type == "cpu" and name == "float16":
            raise LabError("float16 is not supported on the CPU. Use --dtype float32 or bfloat16.")
        return DTYPES[name]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    return next((name for name, value in DTYPES.items() if value == dtype), str(dtype).removeprefix("torch."))


def weight_count(folder: Path) -> int:
    """Parameters in a model folder's safetensors files, from their headers."""
    total = 0
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as handle:
                total += sum(math.prod(handle.get_slice(name).get_shape()) for name in handle.keys())
        except (OSError, SafetensorError, ValueError) as error:
            raise LabError(f"Could not read the weights in {path.name}: {error}. Use an unmodified model folder.") from error
    return total


def memory_needed(parameters: int, dtype: torch.dtype) -> int:
    """Bytes to load and run a model of `parameters` weights in `dtype`."""
    return int(parameters * dtype.itemsize * OVERHEAD) + RUNTIME_BYTES


def memory_free(device: torch.device) -> int | None:
    """Bytes free on `device` now; None where it cannot be known (then nothing is refused)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def gib(size: int) -> str:
    return f"{size / 2**30:.1f} GB"


def check_fits(name: str, parameters: int, dtype: torch.dtype, device: torch.device, free: int | None = None) -> int:
    """Bytes the model will need; a LabError naming the sizes when it will not fit."""
    needed = memory_needed(parameters, dtype)
    free = memory_free(device) if free is None else free
    if free is not None and needed > free:
        smaller = " Try --dtype bfloat16 (half the memory)," if dtype == torch.float32 else " Try"
        raise ModelTooLarge(f"{name} needs about {gib(needed)} in {dtype_name(dtype)} ({parameters / 1e9:.2f} billion weights) "
                       f"but only {gib(free)} is free on {device.type}.{smaller} a smaller model, or close other programs.")
    return needed
