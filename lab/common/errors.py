"""The one exception type whose message is meant for the user, and the funnel that reports any
error as one line that can always be written."""
from __future__ import annotations

import sqlite3
import sys
import traceback
from pathlib import Path
from typing import TextIO

from lab.common.safe_text import for_terminal


class LabError(Exception):
    """An error with a message written for the user: what is wrong and what to do."""


def known_message(error: BaseException) -> str | None:
    """A plain-words message for error classes that input (not a bug) can cause; None for a bug."""
    if isinstance(error, LabError):
        return str(error)
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
    lines = _text(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__


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


def report(error: BaseException, log: Path | None) -> int:
    """Report any error as one line on stderr; the exit status (2: input, 1: a bug, logged to `log`)."""
    message = known_message(error)
    if message is not None:
        write_line(f"error: {message}")
        return 2
    where = ""
    if log is not None:
        try:
            text = "".join(traceback.format_exception(error))
            log.write_text(text.encode("utf-8", "backslashreplace").decode("utf-8"), encoding="utf-8")
            where = f" Details were written to {log}."
        except Exception:  # noqa: BLE001 - a log that cannot be written must not hide the error
            where = ""
    write_line(f"error: unexpected problem ({type(error).__name__}: {_text(error)[:300]}).{where}")
    return 1


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - an exception whose message itself fails
        return "no description"
