"""The command line's error funnel: every error ends as one line on stderr; a bug's traceback goes to
a log file; what a command prints goes out without terminal control characters."""
from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from lab.common.atomic import write_text
from lab.common.errors import error_text, known_message, write_line
from lab.common.paths import user_data_dir
from lab.common.safe_text import for_terminal

Handler = Callable[[argparse.Namespace], int]


def run(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command's handler; its exit status, or an error's (130: interrupted, see `report`)."""
    with contextlib.redirect_stdout(TerminalSafe(sys.stdout)):
        try:
            return handler(args)
        except KeyboardInterrupt:
            write_line("error: interrupted.")
            return 130
        except Exception as error:  # the funnel: one line for the user, a bug's traceback in a log file
            return report(error, _error_log())


def report(error: BaseException, log: Path | None) -> int:
    """Report any error as one line on stderr; the exit status (2: input, 1: a bug, logged to `log`)."""
    message = known_message(error)
    if message is not None:
        write_line(f"error: {message}")
        return 2
    where = ""
    if log is not None:
        try:
            write_text(log, "".join(traceback.format_exception(error)))
            where = f" Details were written to {log}."
        except Exception:  # noqa: BLE001 - a log that cannot be written must not hide the error
            where = ""
    write_line(f"error: unexpected problem ({type(error).__name__}: {error_text(error)[:300]}).{where}")
    return 1


def _error_log() -> Path | None:
    try:
        return user_data_dir() / "error.log"
    except OSError:
        return None


class TerminalSafe:
    """stdout without terminal control characters, and with unencodable characters escaped."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        encoding = getattr(self._stream, "encoding", None) or "utf-8"
        safe = for_terminal(text).encode(encoding, errors="backslashreplace").decode(encoding)
        return self._stream.write(safe)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
