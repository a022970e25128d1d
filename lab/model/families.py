"""The model families the lab supports, one table: per transformers model_type, its name for people,
where its decoder layers are and the transformers packages it needs. The loader, its messages, the
self-test and the app bundle (build.spec, which imports this torch-free module) all read it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.common.errors import LabError

if TYPE_CHECKING:
    from torch import nn

DECODER = ("model", "layers")


@dataclass(frozen=True)
class Family:
    name: str  # as a person reads it
    layers: tuple[str, ...]  # attribute path from the CausalLM to its list of decoder layers
    packages: tuple[str, ...]  # the transformers.models.<package>s its model and tokenizer live in


FAMILIES: dict[str, Family] = {
    "llama": Family("Llama", DECODER, ("llama",)),
    "mistral": Family("Mistral", DECODER, ("mistral",)),
    "qwen2": Family("Qwen2", DECODER, ("qwen2",)),
    "qwen3": Family("Qwen3", DECODER, ("qwen3",)),
    "gemma2": Family("Gemma2", DECODER, ("gemma2", "gemma")),  # gemma holds the Gemma tokenizer
    "gemma3_text": Family("Gemma3", DECODER, ("gemma3", "gemma")),  # gemma3_text lives in gemma3
    "gemma3": Family("Gemma3", ("model", "language_model", "layers"), ("gemma3", "gemma")),
    "phi3": Family("Phi-3", DECODER, ("phi3",)),
    "gpt2": Family("GPT-2", ("transformer", "h"), ("gpt2",)),
}
LAYER_PATHS = {model_type: family.layers for model_type, family in FAMILIES.items()}
_NAMES = list(dict.fromkeys(family.name for family in FAMILIES.values()))
SUPPORTED_FAMILIES = f"{', '.join(_NAMES[:-1])} and {_NAMES[-1]}"
TRANSFORMERS_PACKAGES = tuple(dict.fromkeys(package for family in FAMILIES.values() for package in family.packages))


def check_family(model_type: str) -> None:
    """Refuse a model type the lab cannot find the decoder layers of, naming the ones it can."""
    if model_type not in FAMILIES:
        raise LabError(f"Model type '{model_type}' is not supported. Emotion Lab supports {SUPPORTED_FAMILIES} models.")


def decoder_layers(model: nn.Module, model_type: str) -> nn.ModuleList:
    """The model's list of decoder layers, found along its family's attribute path."""
    node: object = model
    for attribute in FAMILIES[model_type].layers:
        node = getattr(node, attribute, None)
        if node is None:
            raise LabError(f"Could not find the decoder layers of this {model_type} model. {SUPPORTED_FAMILIES} models are supported.")
    return node  # type: ignore[return-value]
