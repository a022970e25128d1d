"""Loading the model a command names, with a clear message when a model folder's config is broken."""
from __future__ import annotations

import json
from pathlib import Path

from lab.common.errors import LabError
from lab.common.progress import TerminalProgress


def load_cli_model(spec: str, dtype: str = "auto"):
    """The LoadedModel for `spec` in `dtype`; a config.json with wrong types or missing fields is a LabError."""
    from lab.model.loader import load_model

    _check_config(spec)
    try:
        return load_model(spec, TerminalProgress(), dtype)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        config = Path(spec).expanduser() / "config.json"
        if not config.is_file():
            raise  # not a user's model folder: a bug, reported as one
        first = " ".join(str(error).split())[:200]
        raise LabError(f"The model in {spec} could not be built from its config.json ({first}). Use an unmodified model folder.") from error


def open_cli_engine(spec: str, method: str, dtype: str = "auto", engine: str = "local", remote: bool = False, ndif_host: str | None = None):
    """The model and its emotion directions, for the CLI, generating through `engine` (on NDIF with `remote`)."""
    from lab.emotions.library import load_or_extract
    from lab.runtime.engine import Engine, open_engine

    if remote or ndif_host:
        return open_engine(spec, method, dtype=dtype, engine=engine, remote=True, ndif_host=ndif_host)
    lm = load_cli_model(spec, dtype)
    return Engine(lm=lm, directions=load_or_extract(lm, method, TerminalProgress()), backend=engine)


def engine_options(args) -> dict:
    """The --engine, --remote and --ndif-host choices of a parsed command line."""
    return {"engine": args.engine, "remote": args.remote, "ndif_host": args.ndif_host}


def _check_config(spec: str) -> None:
    """A model folder's config.json must be a JSON object with whole-number sizes."""
    config = Path(spec).expanduser() / "config.json"
    if not config.is_file():
        return
    from lab.common.limits import MB, read_text

    try:
        data = json.loads(read_text(config, 10 * MB, "model config"))
    except json.JSONDecodeError as error:
        raise LabError(f"{config} is not valid JSON ({error.msg}, line {error.lineno}). Use an unmodified model folder.") from None
    if not isinstance(data, dict):
        raise LabError(f"{config} must hold a JSON object. Use an unmodified model folder.")
    sizes = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size")
    for key in sizes:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**7):
            raise LabError(f"{config}: '{key}' must be a positive whole number, not {str(value)[:40]!r}. Use an unmodified model folder.")
