"""The real app (`python -m ui`, Qt's X11 plugin, not offscreen) opens a non-blank "Emotion Lab"
window on a virtual X display (Xvfb, installed by `make`'s set-up: scripts/ensure-qt-libs.sh)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.common.paths import cache_dir

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-ui"
GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
image = app.primaryScreen().grabWindow(0).toImage()
image.save(sys.argv[1])
values = [image.pixelColor(x, y).lightness() for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)]
mean = sum(values) / len(values)
print(sum((v - mean) ** 2 for v in values) / len(values))
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Xvfb is an X11 (Linux) tool")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed and the set-up could not install it "
                    "(run `bash scripts/ensure-qt-libs.sh` as root, or apt-get install xvfb x11-utils)")
    return path


@pytest.fixture
def display():
    """A fresh Xvfb display, e.g. ':5'."""
    xvfb = _need("Xvfb")
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def _window_titled(env: dict[str, str], title: str, deadline: float) -> bool:
    xwininfo = _need("xwininfo")
    while time.monotonic() < deadline:
        tree = subprocess.run([xwininfo, "-root", "-tree"], env=env, capture_output=True, text=True).stdout
        if f'"{title}"' in tree:
            return True
        time.sleep(0.5)
    return False


def test_real_app_opens_a_window_on_x11(display: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(cache_dir(), target_is_directory=True)  # the converted model, if set up
    env = {**os.environ, "DISPLAY": display, "EMOTION_LAB_HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    app = subprocess.Popen([sys.executable, "-m", "ui"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        appeared = _window_titled(env, "Emotion Lab", time.monotonic() + 60)
        if not appeared:
            app.kill()
            pytest.fail("no window titled 'Emotion Lab' appeared; the app said: " + (app.communicate()[0] or "")[-2000:])
        time.sleep(2)  # let it paint
        SHOTS.mkdir(exist_ok=True)
        shot = SHOTS / "xvfb-window.png"
        grab = subprocess.run([sys.executable, "-c", GRAB, str(shot)], env={**env, "QT_QPA_PLATFORM": "xcb"},
                              capture_output=True, text=True, timeout=60)
        assert grab.returncode == 0, grab.stderr[-2000:]
        variance = float(grab.stdout.split()[-1])
        assert variance > 50, f"the screen looks blank (lightness variance {variance:.1f}); see {shot}"
        assert app.poll() is None, "the app exited: " + (app.communicate()[0] or "")[-2000:]
    finally:
        if app.poll() is None:
            app.terminate()
            try:
                app.wait(15)
            except subprocess.TimeoutExpired:
                app.kill()
