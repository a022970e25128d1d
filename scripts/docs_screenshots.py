"""The screenshots in docs/images/: the real app on the embedded model, driven as in a first lesson.

Run on an X display, e.g. `xvfb-run -s "-screen 0 1366x768x24" .venv/bin/python scripts/docs_screenshots.py`;
sessions and settings go to a temporary lab home (its cache links to the user's, so the model loads in seconds).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QDeadlineTimer, QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGES = ROOT / "docs" / "images"
PROMPT = "How was your day?"
SEED = 1


def wait_for(app: QApplication, condition, seconds: float = 600) -> None:
    deadline = QDeadlineTimer(int(seconds * 1000))
    while not condition():
        if deadline.hasExpired():
            raise TimeoutError("the app did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def settle(app: QApplication, seconds: float = 1.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def shoot(app: QApplication, widget, name: str) -> None:
    """Save `widget` as a PNG of at most 128 colours (a screenshot stays well under 150 kB)."""
    from PIL import Image

    settle(app)
    path = IMAGES / name
    widget.grab().save(str(path), "PNG")
    Image.open(path).convert("RGB").quantize(colors=128, dither=Image.Dither.NONE).save(path, optimize=True)
    print("saved", path, path.stat().st_size, "bytes")


def main() -> int:
    from lab.common.paths import cache_dir

    home = Path(tempfile.mkdtemp(prefix="lab-shots-"))
    (home / "cache").symlink_to(cache_dir(), target_is_directory=True)
    os.environ["EMOTION_LAB_HOME"] = str(home)
    app = QApplication(sys.argv[:1])
    from ui.shell.main_window import MainWindow

    window = MainWindow("embedded", settings=QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    window.models.start_loading()
    wait_for(app, lambda: window.state.engine is not None or bool(window.errors.messages))
    if window.state.engine is None:
        print(window.errors.messages, file=sys.stderr)
        return 1
    window.tint.setCurrentText("happy")
    window.sampling.max_tokens.setValue(40)
    window.sampling.seed.setValue(SEED)

    window.chat.prompt.setPlainText(PROMPT)  # 1: an unsteered reply, tinted by happy
    window.chat.send_button.click()
    wait_for(app, lambda: not window.chat.generating)
    shoot(app, window, "first-reply.png")

    window.emotions.rows["happy"].spin.setValue(0.03)  # 2: the same question, happy steered up
    window.chat.prompt.setPlainText(PROMPT)
    window.chat.send_button.click()
    wait_for(app, lambda: not window.chat.generating)
    shoot(app, window, "steered-reply.png")

    window.tabs.setCurrentWidget(window.compare)  # 3: both side by side, same seed
    window.compare.prompt.setPlainText(PROMPT)
    window.compare.run_button.click()
    wait_for(app, lambda: not window.compare.generating)
    shoot(app, window, "compare.png")

    dialog = window.lessons_dialog  # 4: Help → Lessons, the embedded model's verdicts
    dialog.show()
    dialog.page.numbers_button.setChecked(True)
    shoot(app, dialog, "lessons.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
