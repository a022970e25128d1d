"""Emotion Lab desktop app (PySide6). Views only: all science lives in `lab`."""
import ctypes
import os
import sys

os.environ.setdefault("QT_API", "pyside6")  # matplotlib's Qt canvas must use the same binding


def _keep_singletons_alive() -> None:
    """Work around PySide6 6.12 on Python < 3.12.

    That build treats None/True/False as immortal (as they are from Python 3.12 on) and drops a
    reference to them on every void call, signal emit or failed disconnect. On Python 3.11 None
    would be freed after some thousand calls and the process would abort ("deallocating None").
    A practically endless reference count makes them immortal here too.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40


_keep_singletons_alive()
