"""Build a causal language model from its files (lab.model.sources) and give uniform access to its decoder layers.

A spec is "embedded", a model folder, a .gguf file or a hub id (see lab.model.sources). Weights come
only from safetensors or GGUF and `trust_remote_code` is never enabled. A model that runs on NDIF is
built empty (load_shape): its config and tokenizer, its layers on the meta device, no weights.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from torch import nn

from lab.common.errors import LabError, first_line
from lab.common.progress import Progress, SilentProgress
from lab.model import sources
from lab.model.families import SUPPORTED_FAMILIES, check_family, decoder_layers
from lab.model.precision import ModelTooLarge, check_fits, choose_dtype, dtype_name, gib, weight_count

END_OF_TURN_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")
META = torch.device("meta")


@dataclass
class LoadedModel:
    """A model ready for reading and steering."""

    model: nn.Module
    tokenizer: object
    spec: str
    identity: str  # content hash (same weights, same identity on every machine); a remote model: hub id + commit
    family: str
    layers: nn.ModuleList
    device: torch.device
    stop_token_ids: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    adapter: dict[str, str] = field(default_factory=dict)  # the LoRA adapter switched on (lab.model.adapter), if any

    @property
    def runtime(self) -> dict[str, str]:
        """Where and how the model runs (recorded with every session): device ("remote" for a model built
        empty), dtype and any adapter."""
        return {"device": "remote" if self.device == META else self.device.type, "dtype": dtype_name(self.dtype), **self.adapter}

    @property
    def input_device(self) -> torch.device:
        """Where inputs are made: the model's device, or the CPU for a model built empty (they travel to NDIF)."""
        return torch.device("cpu") if self.device == META else self.device

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def width(self) -> int:
        return int(self.model.config.get_text_config().hidden_size)

    @property
    def sink_text(self) -> str:
        """A fixed first token for every text, so the attention sink never lands on content."""
        return self.tokenizer.bos_token or self.tokenizer.eos_token or ""

    def chat_ids(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> list[int]:
        """Token ids of a conversation, via the tokenizer's chat template (or a plain fallback)."""
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=add_generation_prompt
            )
        else:
            text = self.sink_text + "".join(f"{m['role'].title()}: {m['content']}\n" for m in messages)
            text += "Assistant:" if add_generation_prompt else ""
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def text_ids(self, text: str) -> list[int]:
        """Token ids of a plain text, behind the fixed sink token (position 0)."""
        return self.tokenizer(self.sink_text + text, add_special_tokens=False).input_ids


def choose_device() -> torch.device:
    wanted = os.environ.get("EMOTION_LAB_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_model(spec: str = "embedded", progress: Progress | None = None, dtype: str = "auto") -> LoadedModel:
    """Load `spec` (lab.model.sources) in `dtype` (lab.model.precision), raising LabError with a
    clear message on any problem, including a model that will not fit in memory."""
    progress = progress or SilentProgress()
    torch_dtype = choose_dtype(dtype, choose_device())
    spec = spec.strip()
    if not spec:
        raise LabError("No model given. Use 'embedded', a model folder, a .gguf file or a hub id like 'org/name'.")
    path = sources.embedded_gguf_path() if spec == "embedded" else Path(spec).expanduser()
    if spec == "embedded" or path.suffix.lower() == ".gguf" or path.is_file():
        if not path.is_file():
            raise LabError(f"GGUF file not found: {path}. Check the path and try again.")
        return _load_gguf(path, spec, progress, torch_dtype)
    if path.is_dir():
        folder, identity = path, sources.folder_identity(path)
    elif sources.looks_like_hub_id(spec):
        folder = sources.hub_folder(spec, progress)
        identity = sources.folder_identity(folder)
    else:
        raise LabError(
            f"'{spec}' is not a model: no such file or folder, and not a hub id like 'org/name'. "
            "Use 'embedded', a model folder, a .gguf file or a hub id."
        )
    return _load_folder(folder, spec, identity, progress, torch_dtype)


def load_shape(repo_id: str, progress: Progress | None = None) -> tuple[LoadedModel, str]:
    """A hub model built empty for running on NDIF: its config and tokenizer from the hub (no weights),
    its layers on the meta device (as nnsight's `dispatch=False`), its identity from the hub id and
    commit; with that commit."""
    from transformers import AutoModelForCausalLM

    progress = progress or SilentProgress()
    repo_id = repo_id.strip()
    if not sources.looks_like_hub_id(repo_id):
        raise LabError(f"'{repo_id}' is not a hub id like 'org/name'. A remote model is named by its hub id.")
    folder, commit = sources.hub_shape_folder(repo_id, progress)
    config, tokenizer = _config_and_tokenizer(folder)
    progress.set_status(f"Building {repo_id} empty (its weights stay on the NDIF server)")
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    dtype = dtype if isinstance(dtype, torch.dtype) else torch.float32
    with META, sources.quiet():
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    lm = _loaded(model.eval(), tokenizer, repo_id, sources.hub_identity(repo_id, commit), config.model_type, META, dtype)
    return lm, commit


def _load_gguf(path: Path, spec: str, progress: Progress, dtype: torch.dtype) -> LoadedModel:
    """Load a GGUF file through its safetensors cache; a damaged cache is rebuilt once."""
    folder, identity = sources.gguf_folder(path, progress)
    try:
        return _load_folder(folder, spec, identity, progress, dtype)
    except ModelTooLarge:
        raise  # not damage: the conversion is fine
    except LabError:
        sources.forget_conversion(folder)
        folder, identity = sources.gguf_folder(path, progress)
        return _load_folder(folder, spec, identity, progress, dtype)


def _config_and_tokenizer(folder: Path) -> tuple[object, object]:
    from transformers import AutoConfig, AutoTokenizer

    if not (folder / "config.json").is_file():
        raise LabError(f"{folder} is not a model folder: it has no config.json.")
    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    except (ValueError, KeyError, OSError) as error:
        raise LabError(f"Could not read {folder / 'config.json'}: {first_line(error)}. {SUPPORTED_FAMILIES} models are supported.") from error
    check_family(config.model_type)
    try:
        with sources.quiet():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    except (ValueError, KeyError, OSError) as error:
        raise LabError(f"Could not read the tokenizer in {folder}: {first_line(error)}.") from error
    return config, tokenizer


def _load_folder(folder: Path, spec: str, identity: str, progress: Progress, dtype: torch.dtype) -> LoadedModel:
    from transformers import AutoModelForCausalLM

    if (folder / "config.json").is_file() and not any(folder.glob("*.safetensors")):
        raise LabError(f"{folder} has no .safetensors weights. Emotion Lab only loads safetensors or GGUF weights.")
    config, tokenizer = _config_and_tokenizer(folder)
    device = choose_device()
    parameters = weight_count(folder)
    needed = check_fits(spec, parameters, dtype, device)
    progress.set_status(f"Loading model ({parameters / 1e9:.2f} billion weights, about {gib(needed)} in {dtype_name(dtype)})")
    try:
        with sources.quiet():
            model = AutoModelForCausalLM.from_pretrained(
                str(folder), config=config, dtype=dtype, use_safetensors=True, trust_remote_code=False
            )
    except (ValueError, KeyError, OSError, RuntimeError, SafetensorError) as error:
        raise LabError(f"Could not load the model in {folder}: {first_line(error)}.") from error
    model.to(device).eval()
    return _loaded(model, tokenizer, spec, identity, config.model_type, device, dtype)


def _loaded(model: nn.Module, tokenizer, spec: str, identity: str, family: str, device: torch.device, dtype: torch.dtype) -> LoadedModel:
    return LoadedModel(
        model=model, tokenizer=tokenizer, spec=spec, identity=identity, family=family,
        layers=decoder_layers(model, family), device=device, stop_token_ids=_stop_token_ids(tokenizer), dtype=dtype,
    )


def _stop_token_ids(tokenizer) -> tuple[int, ...]:
    """EOS plus every known end-of-turn token in the vocabulary (GGUF conversions may mislabel EOS)."""
    vocab = tokenizer.get_vocab()
    ids = {vocab[token] for token in END_OF_TURN_TOKENS if token in vocab}
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return tuple(sorted(ids))
