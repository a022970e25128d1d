"""Colours: one stable colour per emotion (plots, panel) and the token tint for a reading."""
from __future__ import annotations

from PySide6.QtGui import QColor

# Distinct, saturated colours that read on white and on the black presentation background.
EMOTION_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#a8a81a", "#3949ab", "#00897b", "#f9a825", "#6d4c41", "#c2185b", "#558b2f", "#5e35b1",
)
Z_LIMIT = 3.0  # readings at or beyond +-3 (calibrated z-score) get the strongest tint
_ABOVE = (214, 39, 40)  # red: above neutral
_BELOW = (31, 119, 180)  # blue: below neutral


def emotion_color(index: int) -> str:
    """Hex colour of the emotion at `index` in the direction set (same in every view)."""
    return EMOTION_COLORS[index % len(EMOTION_COLORS)]


def tint(reading: float, strength: float = 0.75) -> QColor:
    """Background for a token: red above neutral, blue below, transparent at 0."""
    r, g, b = _ABOVE if reading >= 0 else _BELOW
    alpha = min(abs(reading) / Z_LIMIT, 1.0) * strength
    return QColor(r, g, b, round(255 * alpha))
