"""Size limits on every file the lab reads, and reads that never go past them.

A file over its limit (or a device such as /dev/zero that never ends) is refused with a LabError
that names the limit; nothing is read beyond limit + 1 bytes.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from lab.common.errors import LabError

MB = 1_000_000
TEXT_FILE_BYTES = 10 * MB  # `read FILE`, `add-emotion --examples`
SCENARIO_BYTES = 4 * MB
EMOTION_FILE_BYTES = 5 * MB  # emotion definitions (assets/emotions/, user-made ones)
SESSION_IMPORT_BYTES = 500 * MB  # a JSON export with raw residuals
DIRECTION_FILE_BYTES = 1000 * MB  # native direction files and imported emotions
CONTROL_VECTOR_BYTES = 1000 * MB
TEMPLATE_BYTES = 4 * MB  # agentic-misalignment templates and configs


def describe(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit // 1000} kB"


def check_size(path: Path, limit: int, what: str) -> None:
    """Raise LabError if `path` is not a regular file or is larger than `limit` bytes."""
    _check_regular(path, limit, what, _stat(path))


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as error:
        raise LabError(f"Cannot read {path}: {error.strerror}.") from error


def _check_regular(path: Path, limit: int, what: str, info: os.stat_result) -> None:
    """Folders, named pipes, devices and sockets are refused at once (they can block or never end)."""
    if stat.S_ISDIR(info.st_mode):
        raise LabError(f"{path} is a folder. Give the path of a {what}.")
    if not stat.S_ISREG(info.st_mode):
        raise LabError(f"{path} is not a regular file (a pipe, device or socket). Give the path of a {what}.")
    if info.st_size > limit:
        raise LabError(f"{path.name} is larger than the {describe(limit)} limit for a {what}. Use a smaller file.")


def read_bytes(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path`, refused (LabError naming the limit) if there are more than `limit`, or
    if it is not a regular file: checked before opening, and again on the opened file (opened
    without blocking, so a pipe swapped in between cannot hang the read)."""
    _check_regular(path, limit, what, _stat(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise LabError(f"Cannot read {path}: {error.strerror}.") from error
    with open(fd, "rb", closefd=True) as file:
        try:
            _check_regular(path, limit, what, os.fstat(fd))
            data = file.read(limit + 1)
        except OSError as error:
            raise LabError(f"Cannot read {path}: {error.strerror}.") from error
    if data is None or len(data) > limit:
        raise LabError(f"{path.name} is larger than the {describe(limit)} limit for a {what}. Use a smaller file.")
    return data


def read_text(path: Path, limit: int, what: str) -> str:
    """UTF-8 text of `path` within `limit` bytes; a LabError for anything else."""
    try:
        return read_bytes(path, limit, what).decode("utf-8")
    except UnicodeDecodeError:
        raise LabError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and try again.") from None
