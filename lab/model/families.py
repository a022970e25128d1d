"""The model architectures the lab supports, and where each keeps its decoder layers."""
from __future__ import annotations

from torch import nn

from lab.common.errors import LabError

# model_type -> attribute path from the CausalLM to its list of decoder layers
LAYER_PATHS: dict[str, tuple[str, ...]] = {
    "llama": ("model", "layers"),
    "mistral": ("model", "layers"),
    "qwen2": ("model", "layers"),
    "qwen3": ("model", "layers"),
    "gemma2": ("model", "layers"),
    "gemma3_text": ("model", "layers"),
    "gemma3": ("model", "language_model", "layers"),
    "phi3": ("model", "layers"),
    "gpt2": ("transformer", "h"),
}
SUPPORTED_FAMILIES = "Llama, Mistral, Qwen2, Qwen3, Gemma2, Gemma3, Phi-3 and GPT-2"


def check_family(model_type: str) -> None:
    if model_type not in LAYER_PATHS:
        raise LabError(f"Model type '{model_type}' is not supported. Emotion Lab supports {SUPPORTED_FAMILIES} models.")


def decoder_layers(model: nn.Module, model_type: str) -> nn.ModuleList:
    node: object = model
    for attribute in LAYER_PATHS[model_type]:
        node = getattr(node, attribute, None)
        if node is None:
            raise LabError(f"Could not find the decoder layers of this {model_type} model. {SUPPORTED_FAMILIES} models are supported.")
    return node  # type: ignore[return-value]
