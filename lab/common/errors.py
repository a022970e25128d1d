"""The one exception type whose message is meant for the user, and the funnel that reports any
error as one line that can always be written."""
from __future__ import annotations

import errno
import os
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from lab.common.safe_text import for_terminal


class LabError(Exception):
    """An error with a message written for the user: what is wrong and what to do."""


def known_message(error: BaseException) -> str | None:
    """A plain-words message for error classes that input (not a bug) can cause; None for a bug."""
    if isinstance(error, LabError):
        return str(error)
    if isinstance(error, OSError):
        named = os_fault(error)
        if named is not None:
            return named
    if isinstance(error, sqlite3.OperationalError):
        named = _sqlite_fault(error)
        if named is not None:
            return named
    if isinstance(error, OverflowError):
        return f"a number is too large to use ({error}). Use a smaller value."
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to read. Simplify it."
    if isinstance(error, MemoryError):
        return "there is not enough memory for this input. Use a smaller file."
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return "the lab file is in use by another program — try again when it finishes."
    return None


def first_line(error: BaseException) -> str:
    """The first line of an error's message without its final full stop (the class name if empty),
    to quote inside a sentence of the lab's own."""
    lines = error_text(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM}


def os_fault(error: OSError, folder: Path | None = None) -> str | None:
    """One line for the faults of an ordinary computer (disk full, quota, read-only folder, no
    permission) that says which folder and what to do; None for any other error."""
    if folder is None:
        name = error.filename2 or error.filename
        folder = Path(os.fsdecode(name)).parent if isinstance(name, (str, bytes, os.PathLike)) else None
    where = f"the folder {folder}" if folder is not None else "the lab's folder"
    if error.errno in _FULL:
        what = "the disk is full" if error.errno == errno.ENOSPC else "your disk quota is used up"
        return f"Cannot write to {where}: {what}. Free some space (or ask for a larger quota) and try again; nothing was lost."
    if error.errno == errno.EROFS:
        return f"Cannot write to {where}: it is on a read-only disk. Choose a writable folder (EMOTION_LAB_HOME, --db or another output path)."
    if error.errno in _DENIED:
        return f"Emotion Lab may not use {where} (permission denied). Choose a folder you may write to (EMOTION_LAB_HOME, --db or another output path)."
    return None


def _sqlite_fault(error: sqlite3.OperationalError) -> str | None:
    text = str(error).lower()
    if "disk is full" in text or "disk i/o error" in text:
        return "Cannot write to the lab file: the disk is full or failing. Free some space and try again; sessions already saved are kept."
    if "readonly database" in text or "read-only" in text:
        return "Cannot write to the lab file: it is on a read-only disk or folder. Open it with --read-only, or record into a writable file with --db PATH."
    if "unable to open database file" in text:
        return "Cannot open the lab file: its folder is missing or not writable. Record into a writable file with --db PATH."
    return None


def write_line(text: str, stream: TextIO | None = None) -> None:
    """Write one line, replacing what the stream cannot encode (lone surrogates too); never raises."""
    stream = stream or sys.stderr
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        line = (" ".join(for_terminal(text).split()) + "\n").encode(encoding, errors="backslashreplace").decode(encoding)
        stream.write(line)
        stream.flush()
    except Exception:  # noqa: BLE001 - the funnel must not fail; nothing else can report it
        pass


def error_text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - an exception whose message itself fails
        return "no description"
