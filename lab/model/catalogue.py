"""The model catalogue (assets/catalogue/models.yaml): a short, curated list of larger instruct models,
with what a teacher needs before downloading one: size, memory per precision (lab.model.precision),
whether a hub token is needed, and the expected speed on this computer.

The speed is an estimate from a measurement: the embedded model's plain greedy tokens/s, measured once
here (`speed_probe`, cached in the user cache), scaled by the ratio of weights; generating one token
at a time on a CPU reads every weight once, so its speed is roughly inversely proportional to the
model's size (memory-bound). It is a guide, not a promise.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
import yaml

from lab.common.errors import LabError
from lab.common.limits import MB, read_text
from lab.common.paths import asset_path, cache_dir
from lab.common.progress import Progress, SilentProgress
from lab.model.precision import DTYPES, dtype_name, memory_needed

PROBE_FILE = "speed-probe.json"
PROBE_TOKENS = 16


@dataclass(frozen=True)
class CatalogueModel:
    name: str
    hub_id: str
    family: str
    parameters: int  # approximate, from the hub page
    download_bytes: int  # approximate; the download uses the hub's exact sizes
    gated: bool
    lessons_measured: tuple[str, ...]

    def memory(self) -> dict[str, int]:
        """Bytes needed to load and run it in each precision (one truth: precision.memory_needed)."""
        return {name: memory_needed(self.parameters, dtype) for name, dtype in DTYPES.items() if name != "float16"}

    @property
    def lessons_text(self) -> str:
        return ", ".join(self.lessons_measured) if self.lessons_measured else "none measured yet"


@dataclass(frozen=True)
class SpeedProbe:
    """The embedded model's measured plain greedy speed on this computer."""

    tokens_per_s: float
    parameters: int
    dtype: str
    threads: int
    measured: str  # ISO date and time (UTC)
    load_per_core: float | None = None  # when measured; above 1 the estimate is pessimistic

    @property
    def basis(self) -> str:
        busy = " while the computer was busy (load %.1f per core), so it may be low" % self.load_per_core if (self.load_per_core or 0) > 1 else ""
        return (f"embedded model measured at {self.tokens_per_s} tokens/s in {self.dtype} on this computer ({self.measured}, "
                f"{self.threads} threads){busy}, scaled by weights")

    def estimate(self, parameters: int) -> float:
        """Tokens/s expected for a model of `parameters` weights in the same precision (memory-bound scaling)."""
        return self.tokens_per_s * self.parameters / parameters


def load_catalogue(path: Path | None = None) -> list[CatalogueModel]:
    path = path or asset_path("catalogue", "models.yaml")
    try:
        entries = yaml.safe_load(read_text(path, MB, "model catalogue"))["models"]
        return [CatalogueModel(str(e["name"]), str(e["hub_id"]), str(e["family"]), int(e["parameters"]),
                               int(e["download_bytes"]), bool(e["gated"]), tuple(e.get("lessons_measured") or ()))
                for e in entries]
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise LabError(f"The model catalogue {path} is damaged ({error}). Reinstall Emotion Lab.") from error


def resolve(name_or_id: str, catalogue: list[CatalogueModel] | None = None) -> str:
    """The hub id for a catalogue name or hub id; any other 'org/name' is taken as a hub id too."""
    wanted = name_or_id.strip()
    for model in catalogue if catalogue is not None else load_catalogue():
        if wanted.lower() in (model.name.lower(), model.hub_id.lower()):
            return model.hub_id
    parts = wanted.split("/")
    if len(parts) == 2 and all(p and not p.startswith(".") and " " not in p for p in parts):
        return wanted
    raise LabError(f"'{wanted}' is neither a catalogue model (see `python -m lab models list`) nor a hub id like 'org/name'.")


def measure_speed(lm, tokens: int = PROBE_TOKENS, bursts: int = 2) -> SpeedProbe:
    """Plain greedy generation speed of a loaded model (KV cache, no hooks): the best of `bursts` runs of
    `tokens` tokens after a warm-up step, so a moment of load from other programs counts less."""
    model = lm.model
    ids = torch.tensor([lm.chat_ids([{"role": "user", "content": "Tell me about your day."}])], device=lm.device)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(bursts):
            out = model(input_ids=ids, use_cache=True)
            past, next_id = out.past_key_values, out.logits[:, -1:].argmax(-1)
            out = model(input_ids=next_id, past_key_values=past, use_cache=True)  # warm-up step
            past, next_id = out.past_key_values, out.logits[:, -1:].argmax(-1)
            start = time.perf_counter()
            for _ in range(tokens):
                out = model(input_ids=next_id, past_key_values=past, use_cache=True)
                past, next_id = out.past_key_values, out.logits[:, -1:].argmax(-1)
            best = min(best, time.perf_counter() - start)
    return SpeedProbe(round(tokens / best, 2), int(sum(p.numel() for p in model.parameters())), dtype_name(lm.dtype),
                      torch.get_num_threads(), datetime.now(timezone.utc).isoformat(timespec="seconds"), _load())


def _load() -> float | None:
    """The 1-minute load average per core when measured (above 1: other programs competed for the CPU)."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except (OSError, AttributeError):
        return None


def cached_probe() -> SpeedProbe | None:
    """The probe measured earlier on this computer with the same number of threads, if any."""
    try:
        probe = SpeedProbe(**json.loads((cache_dir() / PROBE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return probe if probe.threads == torch.get_num_threads() and probe.tokens_per_s > 0 else None


def speed_probe(progress: Progress | None = None, again: bool = False) -> SpeedProbe:
    """The cached probe (unless `again`), else measure the embedded model now (seconds) and cache it."""
    probe = None if again else cached_probe()
    if probe is not None:
        return probe
    from lab.model.loader import load_model

    progress = progress or SilentProgress()
    lm = load_model("embedded", progress, dtype="auto")
    progress.set_status("Measuring this computer's speed (once)")
    return save_probe(measure_speed(lm))


def save_probe(probe: SpeedProbe) -> SpeedProbe:
    path = cache_dir() / PROBE_FILE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(probe)))
    tmp.replace(path)
    return probe


def speed_text(tokens_per_s: float) -> str:
    """'~12 tokens/s', '~1.6 tokens/s', '~0.35 tokens/s': two significant figures at most."""
    digits = 0 if tokens_per_s >= 10 else 1 if tokens_per_s >= 1 else 2
    return f"~{tokens_per_s:.{digits}f} tokens/s"


def listing(probe: SpeedProbe | None, catalogue: list[CatalogueModel] | None = None) -> list[dict]:
    """One row per catalogue model, as `models list --json` prints and the app's dialog shows."""
    rows = []
    for model in catalogue if catalogue is not None else load_catalogue():
        rows.append({
            "name": model.name, "hub_id": model.hub_id, "family": model.family, "parameters": model.parameters,
            "download_bytes": model.download_bytes, "sizes_approximate": True,
            "memory_bytes": model.memory(), "needs_token": model.gated,
            "estimated_tokens_per_s": round(probe.estimate(model.parameters), 2) if probe else None,
            "estimate_basis": probe.basis if probe else "not measured",
            "lessons_measured": list(model.lessons_measured),
        })
    return rows
