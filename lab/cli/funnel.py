"""The command line's error funnel: every error ends as one line on stderr; a bug's traceback goes to a log file."""
from __future__ import annotations

import traceback
from pathlib import Path

from lab.common.atomic import write_text
from lab.common.errors import error_text, known_message, write_line


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
