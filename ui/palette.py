"""Colours: one stable colour per emotion (plots, panel) and the token tint for a reading."""
from __future__ import annotations

from matplotlib import colormaps
from matplotlib.colors import to_hex
from PySide6.QtGui import QColor

Z_LIMIT = 3.0  # readings at or beyond +-3 (calibrated z-score) get the strongest tint
_ABOVE = (214, 39, 40)  # red: above neutral
_BELOW = (31, 119, 180)  # blue: below neutral


def emotion_color(index: int) -> str:
    """Hex colour of the emotion at `index` in the direction set (same in every view)."""
    return to_hex(colormaps["tab20"](2 * index if index < 10 else (2 * (index - 10) + 1) % 20))


def tint(reading: float, strength: float = 0.75) -> QColor:
    """Background for a token: red above neutral, blue below, transparent at 0."""
    r, g, b = _ABOVE if reading >= 0 else _BELOW
    alpha = min(abs(reading) / Z_LIMIT, 1.0) * strength
    return QColor(r, g, b, round(255 * alpha))
