"""Before Qt starts: can it open a window here? Otherwise one line says which library is missing.

Qt aborts (a core dump and several lines about "xcb") when its X11 platform plugin cannot load one
of its system libraries; this check finds them first with `ldd` on the plugin.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_PACKAGES = {"libglib-2.0": "libglib2.0-0", "libX11-xcb": "libx11-xcb1", "libX11": "libx11-6"}


def debian_package(soname: str) -> str:
    """The usual Debian/Ubuntu package of a library: libxcb-icccm.so.4 -> libxcb-icccm4."""
    base, _, version = soname.partition(".so")
    version = version.lstrip(".").split(".")[0]
    if base in _PACKAGES:
        return _PACKAGES[base]
    base = base.lower()
    return f"{base}-{version}" if base[-1:].isdigit() else f"{base}{version}"


def xcb_plugin() -> Path | None:
    from PySide6.QtCore import QLibraryInfo  # QtCore loads no platform plugin

    path = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Libraries `ldd` cannot find for `plugin` ([] when ldd is unavailable)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        output = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(set(_NOT_FOUND.findall(output)))


def window_problem() -> str | None:
    """One line explaining why no window can open here, or None (also when Qt will not use X11)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return None
    if os.environ.get("WAYLAND_DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
        return None
    if not os.environ.get("DISPLAY"):
        return ("Emotion Lab cannot open a window: no display found (DISPLAY is not set). "
                "Start it from a desktop session, or use QT_QPA_PLATFORM=offscreen for headless checks.")
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin is not None else []
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(debian_package(name) for name in missing))
    return (f"Emotion Lab cannot open a window: Qt's X11 plugin is missing {', '.join(missing)}. "
            f"Install them (Debian/Ubuntu: sudo apt-get install {packages}) or run `make run` as root.")
