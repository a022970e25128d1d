"""LoRA adapters on the loaded model (peft), injected in place and removed without a trace.

The adapter's layers are injected into the model itself (no wrapper object), so the decoder layers
the lab hooks for steering and reading stay where lab.model.loader found them. Removing the adapter
puts the original linear modules back (never merged), so with it off the model is the base model,
weight for weight and token for token. Files are safetensors with JSON metadata, one per model
identity in the user's data folder; nothing in a file is executed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from lab.common.atomic import write_bytes
from lab.common.errors import LabError
from lab.common.names import check_name, inside
from lab.common.paths import user_data_dir
from lab.model.loader import LoadedModel

FORMAT = "emotion-lab-adapter"
FORMAT_VERSION = 1
RANK = 8
ALPHA = 16


@dataclass(frozen=True)
class AdapterInfo:
    """What an adapter is, for which model, and how it was trained."""

    name: str  # e.g. "suppress-desperate"
    emotion: str
    kind: str  # "suppression" (invite prompts) or "control" (prompts that do not invite the emotion)
    steps: int
    seed: int
    model_identity: str
    rank: int = RANK
    alpha: int = ALPHA
    losses: list[float] = field(default_factory=list)  # training loss per step
    sha256: str = ""  # of the adapter's tensors, set when saved

    @property
    def runtime(self) -> dict[str, str]:
        """What a session records about the adapter it ran with (strings, like the rest of `runtime`)."""
        return {"adapter": self.name, "adapter_sha256": self.sha256[:16], "adapter_steps": str(self.steps)}


def adapter_dir(model_identity: str) -> Path:
    return user_data_dir() / "adapters" / model_identity[:24]


def adapter_path(model_identity: str, name: str) -> Path:
    """Where the adapter `name` (checked: a plain name) of a model lives."""
    return inside(adapter_dir(model_identity), f"{check_name(name, 'adapter')}.safetensors")


def has_lora(lm: LoadedModel) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return any(isinstance(module, BaseTunerLayer) for module in lm.model.modules())


def add_lora(lm: LoadedModel, rank: int = RANK, alpha: int = ALPHA) -> None:
    """Inject fresh LoRA layers (B = 0: the model still computes exactly what it did), in float32,
    into every linear layer of the decoder; only they are trainable. Replaces any adapter already there."""
    from peft import LoraConfig, inject_adapter_in_model

    remove_lora(lm)
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear")
    inject_adapter_in_model(config, lm.model)
    for parameter in lora_parameters(lm):  # float32 whatever the model's precision: small updates survive
        parameter.data = parameter.data.float()


def remove_lora(lm: LoadedModel) -> None:
    """Put every original linear module back where a LoRA layer wrapped it; the base weights were never changed."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    wrapped = [(name, module) for name, module in lm.model.named_modules() if isinstance(module, BaseTunerLayer)]
    for name, module in wrapped:
        parent_name, _, child = name.rpartition(".")
        parent = lm.model.get_submodule(parent_name) if parent_name else lm.model
        setattr(parent, child, module.get_base_layer())
    if "peft_config" in vars(lm.model):
        del lm.model.peft_config  # set by inject_adapter_in_model
    lm.adapter = {}


def lora_parameters(lm: LoadedModel) -> list[torch.nn.Parameter]:
    return [p for name, p in lm.model.named_parameters() if "lora_" in name]


def lora_state(lm: LoadedModel) -> dict[str, torch.Tensor]:
    """The adapter's tensors (peft's names, without the adapter name), on the CPU."""
    from peft import get_peft_model_state_dict

    return {name: tensor.detach().to("cpu", torch.float32).contiguous() for name, tensor in get_peft_model_state_dict(lm.model).items()}


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].numpy().tobytes())
    return digest.hexdigest()


def save_adapter(lm: LoadedModel, info: AdapterInfo, path: Path | None = None) -> AdapterInfo:
    """Write the injected adapter atomically (lab.common.atomic) and return its info with the hash."""
    tensors = lora_state(lm)
    if not tensors:
        raise LabError("There is no adapter on the model to save. Train one first.")
    info = AdapterInfo(**{**asdict(info), "sha256": tensors_sha256(tensors)})
    path = path or adapter_path(info.model_identity, info.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, **asdict(info)}
    write_bytes(path, save(tensors, metadata={"emotion_lab": json.dumps(meta)}))
    return info


def read_adapter(path: Path) -> tuple[AdapterInfo, dict[str, torch.Tensor]]:
    """An adapter file's info and tensors, checked; a clear LabError for anything else."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("emotion_lab", "null"))
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (OSError, SafetensorError, ValueError) as error:
        raise LabError(f"Could not read adapter file {path.name}: {error}. Train the adapter again.") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise LabError(f"{path.name} is not an Emotion Lab adapter file of this version. Train the adapter again.")
    try:
        info = AdapterInfo(**{key: meta[key] for key in AdapterInfo.__dataclass_fields__})
        _check_info(info)
    except (KeyError, TypeError, ValueError) as error:
        raise LabError(f"{path.name} has incomplete or malformed metadata ({error}). Train the adapter again.") from None
    if tensors_sha256({k: v.float() for k, v in tensors.items()}) != info.sha256:
        raise LabError(f"{path.name} is damaged (its tensors do not match their recorded hash). Train the adapter again.")
    return info, tensors


def _check_info(info: AdapterInfo) -> None:
    """Metadata from a file: the types the lab relies on, sizes within reason (ValueError otherwise)."""
    texts = (info.name, info.emotion, info.kind, info.model_identity, info.sha256)
    numbers = (info.steps, info.seed, info.rank, info.alpha)
    if not all(isinstance(t, str) for t in texts) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise ValueError("wrong types")
    if not (1 <= info.rank <= 1024 and 0 < info.alpha <= 4096 and info.steps >= 1) or not isinstance(info.losses, list):
        raise ValueError("sizes out of range")
    check_name(info.name, "adapter")


def load_adapter(lm: LoadedModel, path: Path) -> AdapterInfo:
    """Switch the adapter in `path` on: checked against the loaded model, injected, recorded in lm.runtime."""
    from peft import set_peft_model_state_dict

    info, tensors = read_adapter(path)
    if info.model_identity != lm.identity:
        raise LabError(f"{path.name} was trained on a different model. Train the adapter on the loaded model.")
    add_lora(lm, info.rank, info.alpha)
    expected = lora_state(lm)
    if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
        remove_lora(lm)
        raise LabError(f"{path.name} does not fit the loaded model's layers. Train the adapter again.")
    set_peft_model_state_dict(lm.model, {k: v.to(lm.device) for k, v in tensors.items()})
    lm.adapter = info.runtime
    return info


def saved_adapters(model_identity: str) -> list[Path]:
    folder = adapter_dir(model_identity)
    return sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
