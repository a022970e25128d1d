"""What the commands share: the common options (model, precision, engine; the lab file) and opening
what they name (the engine, the lab file, a text file of lines)."""
from __future__ import annotations

import argparse
from pathlib import Path

from lab.common.errors import LabError
from lab.model.precisions import DTYPE_CHOICES


def lab_file_options() -> argparse.ArgumentParser:
    """The parent parser of commands that only open the lab file (argparse `parents=`)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("lab file")
    group.add_argument("--db", default=None, metavar="PATH", help="the lab file (SQLite) of recordings; default sessions/lab.db")
    group.add_argument("--no-wal", action="store_true", help="use a rollback journal instead of WAL (network folders)")
    return options


def common_options() -> argparse.ArgumentParser:
    """The parent parser of every command that loads a model (and may record into the lab file)."""
    common = argparse.ArgumentParser(add_help=False, parents=[lab_file_options()])
    group = common.add_argument_group("model")
    group.add_argument("--model", default="embedded", help="'embedded' (default), a model folder, a .gguf file or a hub id")
    group.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES,
                       help=f"model precision: auto (float32 on CPUs, bfloat16 on GPUs; EMOTION_LAB_DTYPE changes it), {', '.join(DTYPE_CHOICES[1:])}")
    group.add_argument("--engine", default="local", choices=["local", "nnsight"],
                       help="local (default: streamed, live steering) or nnsight (one nnsight trace per reply, same results)")
    group.add_argument("--remote", action="store_true", help="run the model (a hub id) on NDIF through nnsight; needs NDIF_API_KEY")
    group.add_argument("--ndif-host", default=None, metavar="URL", help="a self-hosted NDIF server (default: NDIF_HOST, else https://api.ndif.us)")
    group.add_argument("--method", default="mean_diff", choices=["mean_diff", "pca_diff"], help="direction extraction method")
    group.add_argument("--no-record", action="store_true", help="do not record this command as a session in the lab file")
    return common


def open_engine(args: argparse.Namespace):
    """The model and its emotion directions, as the common options name them."""
    from lab.cli.models import engine_options, open_cli_engine

    return open_cli_engine(args.model, args.method, args.dtype, **engine_options(args))


def open_lab_file(args: argparse.Namespace, read_only: bool = False):
    """The lab file named by --db (default sessions/lab.db), as a context manager."""
    from lab.store.lab_file import open_store

    return open_store(args.db, wal=not args.no_wal, read_only=read_only or getattr(args, "read_only", False))


def read_lines(path: str) -> list[str]:
    """The non-empty lines of a text file; a LabError when there are none."""
    from lab.common.limits import TEXT_FILE_BYTES, read_text

    lines = [line.strip() for line in read_text(Path(path), TEXT_FILE_BYTES, "text file").splitlines() if line.strip()]
    if not lines:
        raise LabError(f"{path} holds no text. Put one text per line.")
    return lines
