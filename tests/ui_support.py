"""Shared set-up for the app tests: an isolated lab home and the real main window, model loaded.

The lab home is a temporary EMOTION_LAB_HOME whose cache links to the user's real cache, so the
model and its directions load in seconds while sessions, user emotions and settings written by
the tests stay out of the user's folders.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

LOAD_TIMEOUT_MS = 300_000


def isolated_home(tmp_path_factory) -> Iterator[Path]:
    from lab.common.paths import cache_dir

    real_cache = cache_dir()
    home = tmp_path_factory.mktemp("lab-home")
    (home / "cache").symlink_to(real_cache, target_is_directory=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTION_LAB_HOME", str(home))
        yield home


def wait_for(qapp, condition, timeout_ms: int) -> None:
    from PySide6.QtCore import QDeadlineTimer, QEventLoop

    deadline = QDeadlineTimer(timeout_ms)
    while not condition():
        if deadline.hasExpired():
            raise TimeoutError("condition not met in time")
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def loaded_window(qapp, folder: Path):
    """The real main window, shown at once, with the embedded model loaded in the background."""
    from PySide6.QtCore import QSettings

    from ui.shell.main_window import MainWindow

    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow("embedded", settings=settings)
    win.show()
    win.models.start_loading()
    assert win.progress.isVisible() and win.isVisible(), "the window shows at once, with a progress bar"
    wait_for(qapp, lambda: win.state.engine is not None or bool(win.errors.messages), LOAD_TIMEOUT_MS)
    assert win.state.engine is not None, win.errors.messages
    return win
