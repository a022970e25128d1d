"""Every file the lab writes, written so that nothing is lost: a temporary file in the same folder
(created exclusively, never through a link), flushed and fsynced, then renamed over the target and
the folder fsynced. On any failure the old file is left as it was and the temporary file removed.

Failures are LabErrors that name the folder and what to do (disk full, read-only, no permission).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from lab.common.errors import LabError, os_fault

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def write_bytes(path: Path | str, data: bytes) -> None:
    """Replace `path` with `data` atomically (a symlink at `path` is replaced, never followed)."""
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            raise LabError(f"{path} is a folder. Choose a file name to write.")
        tmp = folder / f".{path.name[:200]}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, _FLAGS, 0o666)
    except OSError as error:
        raise _fault(error, path) from error
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _fault(error, path) from error
        raise
    _sync_folder(folder)


def write_text(path: Path | str, text: str) -> None:
    """Replace `path` with UTF-8 `text` atomically; characters UTF-8 cannot hold (lone surrogates)
    are written as backslash escapes instead of failing half-way."""
    write_bytes(path, text.encode("utf-8", "backslashreplace"))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a file system without folder fsync is left as is."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fault(error: OSError, path: Path) -> LabError:
    message = os_fault(error, path.parent)
    if message is None:
        message = f"Cannot write {path} ({error.strerror or error}). The old file, if any, was left as it was. Choose another location."
    return LabError(message)
