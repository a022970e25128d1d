"""Size limits on every file the lab reads, and reads that never go past them.

A file over its limit (or a device such as /dev/zero that never ends) is refused with a LabError
that names the limit; nothing is read beyond limit + 1 bytes.
"""
from __future__ import annotations

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
    try:
        if not path.is_file():
            raise LabError(f"{path} is not a regular file. Give the path of a {what}.")
        size = path.stat().st_size
    except OSError as error:
        raise LabError(f"Cannot read {path}: {error.strerror}.") from error
    if size > limit:
        raise LabError(f"{path.name} is larger than the {describe(limit)} limit for a {what}. Use a smaller file.")


def read_bytes(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path`, refused (LabError naming the limit) if there are more than `limit`."""
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except IsADirectoryError:
        raise LabError(f"{path} is a folder. Give the path of a {what}.") from None
    except OSError as error:
        raise LabError(f"Cannot read {path}: {error.strerror}.") from error
    if len(data) > limit:
        raise LabError(f"{path.name} is larger than the {describe(limit)} limit for a {what}. Use a smaller file.")
    return data


def read_text(path: Path, limit: int, what: str) -> str:
    """UTF-8 text of `path` within `limit` bytes; a LabError for anything else."""
    try:
        return read_bytes(path, limit, what).decode("utf-8")
    except UnicodeDecodeError:
        raise LabError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and try again.") from None
